/**
 * Cloud Billing Catalog SKUs (services.skus.list REST form) that carry a price book's component
 * prices, worded, grouped and measured as the real catalog has them: "Spot Preemptible C4D
 * Instance Ram running in Frankfurt" per GBy.h, "SSD backed Local Storage in Iowa" per GiBy.mo,
 * "RTX 6000 96GB attached to Spot Preemptible VMs running in ...". Feeding these to the sandbox
 * checks that the catalog path reads every family the way the price book prices it.
 */

import { HOURS_PER_MONTH } from '../../functions/pricing/catalog-skus.js';
import type { PriceBookFile } from '../../functions/pricing/price-book.js';

// Where the catalog's description says a region is (cloud.google.com/compute/docs/regions-zones).
const LOCATIONS: Readonly<Record<string, string>> = {
  'africa-south1': 'Johannesburg',
  'asia-east1': 'Taiwan',
  'asia-east2': 'Hong Kong',
  'asia-northeast1': 'Tokyo',
  'asia-northeast2': 'Osaka',
  'asia-northeast3': 'Seoul',
  'asia-south1': 'Mumbai',
  'asia-south2': 'Delhi',
  'asia-southeast1': 'Singapore',
  'asia-southeast2': 'Jakarta',
  'asia-southeast3': 'Bangkok',
  'australia-southeast1': 'Sydney',
  'australia-southeast2': 'Melbourne',
  'europe-central2': 'Warsaw',
  'europe-north1': 'Finland',
  'europe-north2': 'Stockholm',
  'europe-southwest1': 'Madrid',
  'europe-west1': 'Belgium',
  'europe-west2': 'London',
  'europe-west3': 'Frankfurt',
  'europe-west4': 'Netherlands',
  'europe-west6': 'Zurich',
  'europe-west8': 'Milan',
  'europe-west9': 'Paris',
  'europe-west10': 'Berlin',
  'europe-west12': 'Turin',
  'me-central1': 'Doha',
  'me-central2': 'Dammam',
  'me-west1': 'Tel Aviv',
  'northamerica-northeast1': 'Montreal',
  'northamerica-northeast2': 'Toronto',
  'northamerica-south1': 'Mexico',
  'southamerica-east1': 'Sao Paulo',
  'southamerica-west1': 'Santiago',
  'us-central1': 'Iowa',
  'us-east1': 'South Carolina',
  'us-east4': 'Northern Virginia',
  'us-east5': 'Columbus',
  'us-south1': 'Dallas',
  'us-west1': 'Oregon',
  'us-west2': 'Los Angeles',
  'us-west3': 'Salt Lake City',
  'us-west4': 'Las Vegas',
};

// The catalog's name for each series' instance SKUs (Cyclenerd's mapping.csv lists them).
const SERIES_NAMES: Readonly<Record<string, string>> = {
  a2: 'A2 Instance',
  a3: 'A3 Instance',
  c2: 'Compute optimized',
  c2d: 'C2D AMD Instance',
  c3: 'C3 Instance',
  c3d: 'C3D Instance',
  c4: 'C4 Instance',
  c4a: 'C4A Arm Instance',
  c4d: 'C4D Instance',
  c4n: 'C4N Instance',
  e2: 'E2 Instance',
  g2: 'G2 Instance',
  g4: 'G4 Instance',
  h3: 'H3 Instance',
  m1: 'Memory-optimized Instance',
  m3: 'M3 Memory-optimized Instance',
  m4: 'M4 Instance',
  'm4-ultramem-224': 'M4Ultramem224 Instance',
  n1: 'N1 Predefined Instance',
  n2: 'N2 Instance',
  n2d: 'N2D AMD Instance',
  n4: 'N4 Instance',
  n4a: 'N4A Instance',
  n4d: 'N4D Instance',
  t2a: 'T2A Arm Instance',
  t2d: 'T2D AMD Instance',
  z3: 'Z3 Instance',
};

const GPU_NAMES: Readonly<Record<string, string>> = {
  'nvidia-tesla-a100': 'Nvidia Tesla A100 GPU',
  'nvidia-a100-80gb': 'Nvidia Tesla A100 80GB GPU',
  'nvidia-h100-80gb': 'Nvidia H100 80GB GPU',
  'nvidia-h100-mega-80gb': 'Nvidia H100 80GB Mega GPU',
  'nvidia-l4': 'Nvidia L4 GPU',
  'nvidia-rtx-pro-6000': 'RTX 6000 96GB',
  'nvidia-tesla-t4': 'Nvidia Tesla T4 GPU',
  'nvidia-tesla-v100': 'Nvidia Tesla V100 GPU',
};

// Series whose RAM the catalog prices per decimal gigabyte-hour.
const RAM_PER_GB = new Set(['c4d']);
const GIB_PER_GB = 1024 ** 3 / 1e9;

interface SkuText {
  description: string;
  resourceFamily: string;
  resourceGroup: string;
  usageUnit: string;
  /** Catalog price per usage unit for a price per component-hour. */
  perUnit: (hourly: number) => number;
  /** The Spot SKU's usage type, where the catalog does not say Preemptible. */
  spotUsageType?: string;
}

const hourly = (h: number): number => h;

function skuText(item: string, spot: boolean): SkuText | undefined {
  const [series, component] = item.split('/') as [string, string];
  const spotPrefix = spot ? 'Spot Preemptible ' : '';
  if (series === 'gpu') {
    const name = GPU_NAMES[component];
    if (!name) return undefined;
    return {
      description: spot ? `${name} attached to Spot Preemptible VMs` : name,
      resourceFamily: 'Compute',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      perUnit: hourly,
    };
  }
  if (item === 'ssd/local') {
    return {
      description: spot
        ? 'SSD backed Local Storage attached to Spot Preemptible VMs'
        : 'SSD backed Local Storage',
      resourceFamily: 'Storage',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      perUnit: (h) => h * HOURS_PER_MONTH,
      // The generic Spot local SSD SKU is categorised OnDemand; its description says Spot.
      spotUsageType: 'OnDemand',
    };
  }
  if (component === 'local-ssd') {
    return {
      description: `${spotPrefix}${series.toUpperCase()} Instance Local SSD`,
      resourceFamily: 'Compute',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      perUnit: (h) => h * HOURS_PER_MONTH,
    };
  }
  if (component === 'vm') {
    const name =
      series === 'f1' ? 'Micro Instance with burstable CPU' : 'Small Instance with 1 VCPU';
    return {
      description: `${spotPrefix}${name}`,
      resourceFamily: 'Compute',
      resourceGroup: series === 'f1' ? 'F1Micro' : 'G1Small',
      usageUnit: 'h',
      perUnit: hourly,
    };
  }
  const core = /core$/.test(component);
  const resource = core ? 'Core' : 'Ram';
  const ram = (): Pick<SkuText, 'usageUnit' | 'perUnit'> =>
    RAM_PER_GB.has(series)
      ? { usageUnit: 'GBy.h', perUnit: (h) => h / GIB_PER_GB }
      : { usageUnit: 'GiBy.h', perUnit: hourly };
  const units = core ? { usageUnit: 'h', perUnit: hourly } : ram();
  const group =
    series === 'n1' && !component.startsWith('custom') ? 'N1Standard' : core ? 'CPU' : 'RAM';
  if (component.startsWith('upgrade-')) {
    return {
      description: `Memory Optimized Upgrade Premium for Memory-optimized Instance ${resource}`,
      resourceFamily: 'Compute',
      resourceGroup: group,
      ...units,
    };
  }
  if (component.startsWith('custom')) {
    const extended = component === 'custom-extended-ram' ? 'Extended ' : '';
    const stem =
      series === 'n1'
        ? ''
        : `${SERIES_NAMES[series]?.replace(/ Instance$/, '') ?? series.toUpperCase()} `;
    return {
      description: `${spotPrefix}${stem}Custom ${extended}Instance ${resource}`,
      resourceFamily: 'Compute',
      resourceGroup: group,
      ...units,
    };
  }
  const name = SERIES_NAMES[series];
  if (!name) return undefined;
  return {
    description: `${spotPrefix}${name} ${resource}`,
    resourceFamily: 'Compute',
    resourceGroup: group,
    ...units,
  };
}

function money(amount: number): { currencyCode: string; units: string; nanos: number } {
  const units = Math.floor(amount);
  return { currencyCode: 'USD', units: String(units), nanos: Math.round((amount - units) * 1e9) };
}

/** The book's prices as catalog SKUs, one per component, model and region. */
export function catalogSkusFromBook(book: PriceBookFile, effectiveTime: string): unknown[] {
  const skus: unknown[] = [];
  let n = 0;
  for (const rate of book.rates) {
    for (const region of rate.regions) {
      const location = LOCATIONS[region] ?? region;
      for (const [spot, price] of [
        [false, rate.onDemand],
        [true, rate.spot],
      ] as const) {
        if (price === undefined) continue;
        const text = skuText(rate.item, spot);
        if (!text) continue;
        n++;
        const skuId = `B00C-${String(Math.floor(n / 10000)).padStart(4, '0')}-${String(n % 10000).padStart(4, '0')}`;
        const where =
          text.resourceFamily === 'Storage' ? `in ${location}` : `running in ${location}`;
        skus.push({
          name: `services/6F81-5844-456A/skus/${skuId}`,
          skuId,
          description: `${text.description} ${where}`,
          category: {
            serviceDisplayName: 'Compute Engine',
            resourceFamily: text.resourceFamily,
            resourceGroup: text.resourceGroup,
            usageType: spot ? (text.spotUsageType ?? 'Preemptible') : 'OnDemand',
          },
          serviceRegions: [region],
          pricingInfo: [
            {
              summary: '',
              pricingExpression: {
                usageUnit: text.usageUnit,
                displayQuantity: 1,
                tieredRates: [{ startUsageAmount: 0, unitPrice: money(text.perUnit(price)) }],
              },
              currencyConversionRate: 1,
              effectiveTime,
            },
          ],
          serviceProviderName: 'Google',
          geoTaxonomy: { type: 'REGIONAL', regions: [region] },
        });
      }
    }
  }
  return skus;
}
