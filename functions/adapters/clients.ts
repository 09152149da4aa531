/**
 * The one place that builds Google and Slack clients. Each client library is imported and each
 * client constructed on first use, so an entry point pays only for what it calls and importing
 * the functions module builds nothing. With an emulator endpoint a client speaks plain HTTP to
 * it with no credentials; otherwise it uses Application Default Credentials.
 */

import type { ExecutionsClient, JobsClient, TasksClient } from '@google-cloud/run';
import type {
  GlobalOperationsClient,
  InstancesClient,
  MachineTypesClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';
import type { BigQuery } from '@google-cloud/bigquery';
import type { BudgetServiceClient } from '@google-cloud/billing-budgets';
import type { CloudCatalogClient } from '@google-cloud/billing';
import type { MetricServiceClient } from '@google-cloud/monitoring';
import type { ProjectsClient, TagBindingsClient } from '@google-cloud/resource-manager';
import type { Storage } from '@google-cloud/storage';
import type { WebClient } from '@slack/web-api';
import type * as Gax from 'google-gax';
import type { IdentityHttp } from './cloud-identity.js';
import type { EmulatorEndpoint, Endpoints, GoogleService } from './endpoints.js';
import type { ProtoNode } from './proto-subset.js';
import type { ComputeRest } from './compute-rest.js';

export interface Clients {
  instances(): Promise<InstancesClient>;
  /** Compute's REST API spoken directly (a stop storm's calls); no credentials for an emulator. */
  computeRest(): Promise<ComputeRest>;
  zoneOperations(): Promise<ZoneOperationsClient>;
  /** Operations of every scope of a project (its aggregatedList spans all zones). */
  globalOperations(): Promise<GlobalOperationsClient>;
  machineTypes(): Promise<MachineTypesClient>;
  metrics(): Promise<MetricServiceClient>;
  catalog(): Promise<CloudCatalogClient>;
  budgets(): Promise<BudgetServiceClient>;
  projects(): Promise<ProjectsClient>;
  /**
   * Tag bindings of resources in a location (a zone for a VM): Resource Manager answers for
   * zonal resources only at its location's own endpoint, `ZONE-cloudresourcemanager.googleapis.com`.
   */
  tagBindings(location: string): Promise<TagBindingsClient>;
  bigquery(projectId: string, location: string): Promise<BigQuery>;
  storage(): Promise<Storage>;
  runJobs(): Promise<JobsClient>;
  runExecutions(): Promise<ExecutionsClient>;
  runTasks(): Promise<TasksClient>;
  slack(token: string): Promise<WebClient>;
  /** Cloud Identity Groups over HTTPS with the runtime's credentials (read-only scope). */
  cloudIdentity(): Promise<IdentityHttp>;
}

type TransportOptions = {
  fallback?: boolean;
  apiEndpoint?: string;
  port?: number;
  protocol?: string;
  // Each library pins its own google-auth-library, so their AuthClient types differ nominally;
  // the pass-through client (no credentials) satisfies all of them at run time.
  authClient?: never;
};

function passThrough(client: unknown): never {
  return client as never;
}

/**
 * The google-gax the client packages resolve (one copy, which Compute's resolution names),
 * already loaded by a client's module when its options are built.
 */
async function clientsGax(): Promise<typeof Gax> {
  const { createRequire } = await import('node:module');
  const fromCompute = createRequire(
    createRequire(import.meta.url).resolve('@google-cloud/compute'),
  );
  return fromCompute('google-gax') as typeof Gax;
}

/** Options for the gax-based clients; REST transport everywhere, as Compute requires anyway. */
async function gaxOptions(endpoint: EmulatorEndpoint | undefined): Promise<TransportOptions> {
  if (!endpoint) return { fallback: true };
  // From the auth library gax loads anyway: importing the top-level copy for the sandbox's
  // pass-through client would cost a cold start a second auth library that production never loads.
  const { PassThroughClient } = (await clientsGax()).googleAuthLibrary;
  return {
    fallback: true,
    apiEndpoint: endpoint.host,
    port: endpoint.port,
    protocol: 'http',
    authClient: passThrough(new PassThroughClient()),
  };
}

async function plainHttpOptions(endpoint: EmulatorEndpoint | undefined): Promise<TransportOptions> {
  if (!endpoint) return {};
  const { PassThroughClient } = await import('google-auth-library');
  return { apiEndpoint: endpoint.origin, authClient: passThrough(new PassThroughClient()) };
}

/** Reads groups and their members, nothing else. */
const CLOUD_IDENTITY_SCOPE = 'https://www.googleapis.com/auth/cloud-identity.groups.readonly';

function memo<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}

function memoBy<T>(build: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) {
      value = build(key);
      cache.set(key, value);
      value.catch(() => cache.delete(key));
    }
    return value;
  };
}

/**
 * The google-gax module Compute's clients use, whose protobuf loader builds one root per process
 * from the services costguard calls (compute-protos.ts) instead of the whole of Compute's
 * definitions (every Compute API of two versions): each client's constructor would otherwise
 * serialise and hash the 11.7 MB JSON, and the first build a root from it, about a second of CPU
 * and 100 MiB. Passed to a client constructor as its documented `gaxInstance`.
 */
async function computeGax(): Promise<typeof Gax> {
  const { computeProtosSubset } = await import('./compute-protos.js');
  const gax = await clientsGax();
  const roots = new WeakMap<object, Gax.protobuf.Root>();
  class SubsetGrpcClient extends gax.fallback.GrpcClient {
    override loadProtoJSON(json: Gax.protobuf.INamespace) {
      let root = roots.get(json);
      if (!root) {
        // The part that the build wrote is reduced already: reducing it again keeps it as it is.
        root = gax.fallback.protobuf.Root.fromJSON(computeProtosSubset(json as ProtoNode));
        roots.set(json, root);
      }
      return root;
    }
  }
  return { ...gax, fallback: { ...gax.fallback, GrpcClient: SubsetGrpcClient } };
}

// gax clients come from their own modules, not the package index: Compute's index also loads
// v1small, v1beta and a 30 MB static protos module (about 75 MiB and a second of cold start), and
// the other indexes load every client of their API (5 to 9 MiB each).
export function createClients(endpoints: Endpoints): Clients {
  const at = (service: GoogleService): EmulatorEndpoint | undefined => endpoints.google[service];
  // Bulk reads handed over as parsed JSON (lean-gax.ts), on Compute's reduced root.
  const lean = async (gax: typeof Gax) => (await import('./lean-gax.js')).leanGax(gax);
  const gaxForCompute = memo(async () => lean(await computeGax()));
  const gaxForPlainJson = memo(async () => lean(await clientsGax()));
  // Compute's client modules load with the part of its definitions that the build wrote.
  const computeModule = async <T>(load: () => Promise<T>): Promise<T> =>
    (await import('./compute-protos.js')).importComputeModules(load);
  const bigquery = memoBy(async (key) => {
    const [projectId, location] = key.split('\u0000') as [string, string];
    const { BigQuery } = await import('@google-cloud/bigquery');
    // The Ledger retries transient failures itself (keyed, so safely); one retry layer only.
    return new BigQuery({
      projectId,
      location,
      autoRetry: false,
      ...(await plainHttpOptions(at('bigquery'))),
    });
  });
  const tagBindings = memoBy(async (location) => {
    const { TagBindingsClient } =
      await import('@google-cloud/resource-manager/build/src/v3/tag_bindings_client.js');
    const endpoint = at('resourceManager');
    return new TagBindingsClient(
      endpoint
        ? await gaxOptions(endpoint)
        : { fallback: true, apiEndpoint: `${location}-cloudresourcemanager.googleapis.com` },
    );
  });
  const slack = memoBy(async (token) => {
    const { WebClient } = await import('@slack/web-api');
    return new WebClient(token, {
      ...(endpoints.slackApiUrl ? { slackApiUrl: endpoints.slackApiUrl } : {}),
      retryConfig: { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    });
  });
  return {
    instances: memo(async () => {
      const { InstancesClient } = await computeModule(
        () => import('@google-cloud/compute/build/src/v1/instances_client.js'),
      );
      return new InstancesClient(await gaxOptions(at('compute')), await gaxForCompute());
    }),
    computeRest: memo(async () => {
      const { computeRest } = await import('./compute-rest.js');
      const emulator = at('compute');
      if (emulator) {
        return computeRest({ origin: emulator.origin, headers: () => Promise.resolve({}) });
      }
      // The auth library gax loads anyway: the stop path's listing already loaded it.
      const { GoogleAuth } = (await clientsGax()).googleAuthLibrary;
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
      return computeRest({
        headers: async () => Object.fromEntries(await auth.getRequestHeaders()),
      });
    }),
    zoneOperations: memo(async () => {
      const { ZoneOperationsClient } = await computeModule(
        () => import('@google-cloud/compute/build/src/v1/zone_operations_client.js'),
      );
      return new ZoneOperationsClient(await gaxOptions(at('compute')), await gaxForCompute());
    }),
    globalOperations: memo(async () => {
      const { GlobalOperationsClient } = await computeModule(
        () => import('@google-cloud/compute/build/src/v1/global_operations_client.js'),
      );
      return new GlobalOperationsClient(await gaxOptions(at('compute')), await gaxForCompute());
    }),
    machineTypes: memo(async () => {
      const { MachineTypesClient } = await computeModule(
        () => import('@google-cloud/compute/build/src/v1/machine_types_client.js'),
      );
      return new MachineTypesClient(await gaxOptions(at('compute')), await gaxForCompute());
    }),
    metrics: memo(async () => {
      const { MetricServiceClient } =
        await import('@google-cloud/monitoring/build/src/v3/metric_service_client.js');
      return new MetricServiceClient(await gaxOptions(at('monitoring')), await gaxForPlainJson());
    }),
    catalog: memo(async () => {
      const { CloudCatalogClient } =
        await import('@google-cloud/billing/build/src/v1/cloud_catalog_client.js');
      return new CloudCatalogClient(
        await gaxOptions(at('billingCatalog')),
        await gaxForPlainJson(),
      );
    }),
    budgets: memo(async () => {
      const { BudgetServiceClient } =
        await import('@google-cloud/billing-budgets/build/src/v1/budget_service_client.js');
      return new BudgetServiceClient(await gaxOptions(at('billingBudgets')));
    }),
    projects: memo(async () => {
      const { ProjectsClient } =
        await import('@google-cloud/resource-manager/build/src/v3/projects_client.js');
      return new ProjectsClient(await gaxOptions(at('resourceManager')));
    }),
    tagBindings,
    bigquery: (projectId, location) => bigquery(`${projectId}\u0000${location}`),
    storage: memo(async () => {
      const { Storage } = await import('@google-cloud/storage');
      return new Storage(await plainHttpOptions(at('storage')));
    }),
    runJobs: memo(async () => {
      const { JobsClient } = await import('@google-cloud/run/build/src/v2/jobs_client.js');
      return new JobsClient(await gaxOptions(at('run')));
    }),
    runExecutions: memo(async () => {
      const { ExecutionsClient } =
        await import('@google-cloud/run/build/src/v2/executions_client.js');
      return new ExecutionsClient(await gaxOptions(at('run')));
    }),
    runTasks: memo(async () => {
      const { TasksClient } = await import('@google-cloud/run/build/src/v2/tasks_client.js');
      return new TasksClient(await gaxOptions(at('run')));
    }),
    slack,
    cloudIdentity: memo(async (): Promise<IdentityHttp> => {
      const { GoogleAuth, PassThroughClient } = await import('google-auth-library');
      const endpoint = at('cloudIdentity');
      if (endpoint) {
        const client = new PassThroughClient();
        return { origin: endpoint.origin, request: (options) => client.request(options) };
      }
      const auth = new GoogleAuth({ scopes: [CLOUD_IDENTITY_SCOPE] });
      const client = await auth.getClient();
      return {
        origin: 'https://cloudidentity.googleapis.com',
        request: (options) => client.request(options),
      };
    }),
  };
}
