import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKER_VIEWS } from '../../deploy/looker-studio.js';
import { ViewLedger } from './view-ledger.js';

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

  it.each(VIEWS)('%s reads the same rows from rows written three times', async (view) => {
    const all = (ledger: ViewLedger) => ledger.rows(`SELECT * FROM \`\${dataset}.${view}\``);
    const sorted = (rows: Array<Record<string, unknown>>) =>
      rows.map((r) => JSON.stringify(r)).sort();
    const expected = sorted(await all(once));
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(await all(thrice))).toEqual(expected);
  });

  it('reads the same rows after the migration runs again', async () => {
    const before = await once.view('cost_by_label_daily', 'usage_date, team, app, project_id');
    const applied = await once.migrate();
    expect(applied).toContain('views/71_billing_reconciliation.sql');
    expect(await once.view('cost_by_label_daily', 'usage_date, team, app, project_id')).toEqual(
      before,
    );
  });
});
