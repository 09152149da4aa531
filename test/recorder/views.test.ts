import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import parser from 'node-sql-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ledger } from '../../functions/adapters/bigquery.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';
import { recorderLedger, recorderSqlRoot } from './recorder-ledger.js';
import { queryLedger, RECORDER_ENV, startRecorderSandbox } from './recorder-sandbox.js';

// The recorder's tables and views: BigQuery SQL that parses as BigQuery, migrates idempotently,
// and de-duplicates on read, checked on rows written through the real BigQuery client.
const root = recorderSqlRoot();

function costRow(
  key: string,
  recordedAt: string,
  uptime: number,
  cost: string,
): { key: string; row: Record<string, unknown> } {
  return {
    key: `${key}#${recordedAt}`,
    row: {
      row_key: key,
      usage_hour: '2026-11-20T09:00:00Z',
      project_id: 'ml-training-prod',
      zone: 'us-central1-a',
      region: 'us-central1',
      instance_id: key.split('/')[2],
      instance_name: 'vm',
      provisioning_model: 'SPOT',
      uptime_seconds: uptime,
      cost,
      currency: 'USD',
      team: 'data',
      labels: '{"team":"data"}',
      price_source: 'catalog',
      attributes_source: 'compute',
      recorded_at: recordedAt,
    },
  };
}

describe('recorder SQL', () => {
  it.each(['views/10_spot_cost_hours.sql', 'views/11_vm_inventory_latest.sql'])(
    '%s parses as BigQuery SQL',
    (file) => {
      const sql = readFileSync(join(root, file), 'utf8').replaceAll('${dataset}', 'costguard');
      expect(() => new parser.Parser().astify(sql, { database: 'bigquery' })).not.toThrow();
    },
  );

  it('keeps every table partitioned by day and clustered', () => {
    for (const file of ['10_spot_costs.sql', '11_vm_inventory.sql', '12_spot_cost_alerts.sql']) {
      const sql = readFileSync(join(root, 'tables', file), 'utf8');
      expect(sql).toMatch(/CREATE TABLE IF NOT EXISTS `\$\{dataset\}\.\w+`/);
      expect(sql).toMatch(/\nPARTITION BY DATE\(\w+\)\nCLUSTER BY \w+/);
      expect(sql).toMatch(/recorded_at TIMESTAMP NOT NULL/);
    }
  });
});

describe('recorder ledger views', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;

  beforeEach(async () => {
    sandbox = await startRecorderSandbox();
    ledger = recorderLedger(sandboxRuntime(sandbox, RECORDER_ENV), root);
    await ledger.migrate();
  });
  afterEach(() => sandbox.close());

  it('migrates again without error and without losing rows', async () => {
    await ledger.insert('spot_costs', [costRow('p/z/1/h', '2026-11-20T10:10:00Z', 3600, '0.5')]);
    const applied = await ledger.migrate();
    expect(applied).toEqual([
      'tables/10_spot_costs.sql',
      'tables/11_vm_inventory.sql',
      'tables/12_spot_cost_alerts.sql',
      'tables/15_preemptions.sql',
      'views/10_spot_cost_hours.sql',
      'views/11_vm_inventory_latest.sql',
      'views/15_preemption_events.sql',
      'views/16_preemption_rate_daily.sql',
      'views/17_preemptions_by_team.sql',
    ]);
    expect(
      await queryLedger(sandbox, 'SELECT COUNT(*) AS n FROM `costguard.spot_cost_hours`'),
    ).toEqual([{ n: 1 }]);
  });

  it('spot_cost_hours keeps the latest version of each row key', async () => {
    // Three versions of one VM hour (a partial read, a full one, a repeat), one other VM hour.
    await ledger.insert('spot_costs', [
      costRow('p/z/1/h', '2026-11-20T10:10:00Z', 2400, '0.4'),
      costRow('p/z/1/h', '2026-11-20T11:10:00Z', 3600, '0.6'),
      costRow('p/z/2/h', '2026-11-20T10:10:00Z', 3600, '1.25'),
    ]);
    await ledger.insert('spot_costs', [costRow('p/z/1/h', '2026-11-20T12:10:00Z', 3600, '0.6')]);

    expect(
      await queryLedger(
        sandbox,
        `SELECT row_key, uptime_seconds, CAST(cost AS STRING) AS cost FROM \`costguard.spot_cost_hours\` ORDER BY row_key`,
      ),
    ).toEqual([
      { row_key: 'p/z/1/h', uptime_seconds: 3600, cost: '0.600000000' },
      { row_key: 'p/z/2/h', uptime_seconds: 3600, cost: '1.250000000' },
    ]);
    expect(
      await queryLedger(
        sandbox,
        'SELECT CAST(SUM(cost) AS STRING) AS total FROM `costguard.spot_cost_hours`',
      ),
    ).toEqual([{ total: '1.850000000' }]);
    expect(await queryLedger(sandbox, 'SELECT COUNT(*) AS n FROM `costguard.spot_costs`')).toEqual([
      { n: 4 },
    ]);
  });

  it('spot_cost_hours does not let the view column version_rank leak', async () => {
    await ledger.insert('spot_costs', [costRow('p/z/1/h', '2026-11-20T10:10:00Z', 3600, '0.5')]);
    const [row] = await queryLedger(sandbox, 'SELECT * FROM `costguard.spot_cost_hours`');
    expect(Object.keys(row ?? {})).not.toContain('version_rank');
    expect(Object.keys(row ?? {})).toContain('attributes_source');
  });

  it('vm_inventory_latest keeps the last snapshot of each VM', async () => {
    const snapshot = (id: string, fingerprint: string, at: string, team: string) => ({
      key: `p/${id}/${fingerprint}`,
      row: {
        snapshot_key: `p/${id}/${fingerprint}`,
        project_id: 'p',
        zone: 'us-central1-a',
        region: 'us-central1',
        instance_id: id,
        instance_name: `vm-${id}`,
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        termination_action: 'DELETE',
        gpus: '[]',
        labels: JSON.stringify({ team }),
        fingerprint,
        recorded_at: at,
      },
    });
    await ledger.insert('vm_inventory', [
      snapshot('1', 'aaa', '2026-11-20T01:10:00Z', 'data'),
      snapshot('1', 'bbb', '2026-11-20T05:10:00Z', 'ml'),
      snapshot('2', 'ccc', '2026-11-20T01:10:00Z', 'web'),
    ]);
    expect(
      await queryLedger(
        sandbox,
        `SELECT instance_id, fingerprint, JSON_VALUE(labels, '$.team') AS team
         FROM \`costguard.vm_inventory_latest\` ORDER BY instance_id`,
      ),
    ).toEqual([
      { instance_id: '1', fingerprint: 'bbb', team: 'ml' },
      { instance_id: '2', fingerprint: 'ccc', team: 'web' },
    ]);
  });
});
