import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKER_VIEWS } from '../../deploy/looker-studio.js';
import { MIGRATED_VIEWS, sortedRows, ViewLedger } from './view-ledger.js';

// The functions write every ledger row under a deterministic key and may write it again (a
// retried insert, a re-run of the same hour, sweep or notification). Every view must read the
// same figures whether a row landed once or three times, and after the migration runs again.
const VIEWS = [
  ...LOOKER_VIEWS.map((v) => v.name),
  'label_compliance_daily',
  'label_compliance_checks',
];

describe('views under repeated writes', () => {
  let once: ViewLedger;
  let thrice: ViewLedger;

  beforeAll(async () => {
    once = await ViewLedger.create();
    thrice = await ViewLedger.create({ copies: 3 });
  });
  afterAll(async () => {
    await once.close();
    await thrice.close();
  });

  it('holds every fixture row three times in the tables', async () => {
    const count = async (ledger: ViewLedger): Promise<unknown> =>
      (await ledger.rows('SELECT COUNT(*) AS n FROM `${dataset}.spot_costs`'))[0]?.n;
    expect(await count(once)).toBe(12);
    expect(await count(thrice)).toBe(36);
  });

  const all = async (ledger: ViewLedger, view: string): Promise<string[]> =>
    sortedRows(await ledger.rows(`SELECT * FROM \`\${dataset}.${view}\``));

  it.each(VIEWS)('%s reads the same rows from rows written three times', async (view) => {
    const expected = await all(once, view);
    expect(expected.length).toBeGreaterThan(0);
    expect(await all(thrice, view)).toEqual(expected);
  });

  it('reads the same rows from every view after the migration runs again', async () => {
    const everyView = async (): Promise<Record<string, string[]>> => {
      const contents: Record<string, string[]> = {};
      for (const view of MIGRATED_VIEWS) contents[view] = await all(once, view);
      return contents;
    };
    const before = await everyView();
    expect(MIGRATED_VIEWS).toEqual(expect.arrayContaining([...VIEWS, 'billing_export']));
    expect(before.billing_reconciliation?.length).toBeGreaterThan(0);

    const applied = await once.migrate();

    expect(applied).toContain('views/71_billing_reconciliation.sql');
    expect(await everyView()).toEqual(before);
  });
});
