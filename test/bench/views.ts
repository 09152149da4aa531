/**
 * Benchmark: every Looker Studio view over a generated ledger on the in-memory BigQuery engine
 * (DuckDB through the dialect layer, as the sandbox and npm start run them). VMS VMs recorded for
 * HOURS hours, one hour in ten recorded twice (late uptime), a label sweep per VM and day, a run
 * label on one VM in twenty, and billing export lines per project, SKU kind and hour. Prints
 * the time to load and, per view, to read it whole and to read one day. Figures describe the
 * sandbox, not BigQuery, whose cost is the bytes of the partitions a query reads.
 *
 *   npx tsx test/bench/views.ts [vms] [hours]
 */
import { performance } from 'node:perf_hooks';
import { billingExportViewSql } from '../../deploy/ledger-sql.js';
import { LOOKER_VIEWS } from '../../deploy/looker-studio.js';
import { machineLine } from './machine.js';
import {
  DATASET,
  EXPORT_DATASET,
  EXPORT_TABLE,
  EXPORT_TABLE_ID,
  NOW,
  PROJECT,
  SQL_ROOT,
  ViewLedger,
  type Row,
} from '../views/view-ledger.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const VMS = Number(process.argv[2] ?? 500);
const HOURS = Number(process.argv[3] ?? 72);
const PROJECTS = ['ml-training-prod', 'data-pipelines', 'research-sandbox'];
const TEAMS = ['vision', 'nlp', 'recsys', 'data', null];
const START = NOW.getTime() - (HOURS + 48) * 3_600_000;

function hourAt(h: number): string {
  return new Date(START + h * 3_600_000).toISOString();
}

function costRows(): Row[] {
  const rows: Row[] = [];
  for (let vm = 0; vm < VMS; vm++) {
    const project = PROJECTS[vm % PROJECTS.length] as string;
    const spot = vm % 10 !== 0;
    for (let h = 0; h < HOURS; h++) {
      const versions = (vm + h) % 10 === 0 ? [1800, 3600] : [3600];
      versions.forEach((uptime, v) => {
        const hours = uptime / 3600;
        rows.push({
          row_key: `${project}/us-central1-a/${vm}/${hourAt(h)}`,
          usage_hour: hourAt(h),
          project_id: project,
          region: 'us-central1',
          zone: 'us-central1-a',
          instance_id: String(vm),
          instance_name: `vm-${vm}`,
          machine_type: 'n2-standard-8',
          provisioning_model: spot ? 'SPOT' : 'STANDARD',
          uptime_seconds: uptime,
          cost: (hours * (spot ? 0.1 : 0.4)).toFixed(6),
          on_demand_cost: (hours * 0.4).toFixed(6),
          currency: 'USD',
          team: TEAMS[vm % TEAMS.length],
          app: vm % 3 === 0 ? null : 'job',
          cost_center: 'cc-100',
          costguard_run: vm % 20 === 0 ? `run-${vm}` : null,
          price_source: 'catalog',
          attributes_source: 'compute',
          recorded_at: new Date(START + (h + 1 + v) * 3_600_000 + 600_000).toISOString(),
        });
      });
    }
  }
  return rows;
}

function checkRows(): Row[] {
  const rows: Row[] = [];
  for (let day = 0; day * 24 < HOURS; day++) {
    const at = new Date(START + (day * 24 + 9) * 3_600_000).toISOString();
    for (let vm = 0; vm < VMS; vm++) {
      rows.push({
        row_key: `sweep-${at}|${vm}`,
        run_id: `sweep-${at}`,
        check_kind: 'sweep',
        checked_at: at,
        project_id: PROJECTS[vm % PROJECTS.length],
        zone: 'us-central1-a',
        instance_name: `vm-${vm}`,
        instance_id: String(vm),
        provisioning_model: vm % 10 !== 0 ? 'SPOT' : 'STANDARD',
        team: TEAMS[vm % TEAMS.length],
        compliant: vm % 3 !== 0,
        compliant_before: vm % 3 !== 0,
        exempt: false,
        missing_keys: vm % 3 === 0 ? ['app'] : [],
        invalid_keys: [],
        fixed_keys: [],
        action: vm % 3 === 0 ? 'mark' : 'none',
        action_status: 'done',
        dry_run: false,
        price_source: 'catalog',
        hourly_cost: '0.1',
        currency: 'USD',
        recorded_at: at,
      });
    }
  }
  return rows;
}

function runRows(): Row[] {
  const rows: Row[] = [];
  for (let vm = 0; vm < VMS; vm += 20) {
    rows.push({
      run_id: `run-${vm}`,
      event: 'observed',
      event_seq: 3,
      status: 'SUCCEEDED',
      pipeline: 'train-model',
      executor: 'vm',
      target: 'train',
      caller: 'bench@example.com',
      request_sha256: 'f'.repeat(64),
      resource: `vm:${PROJECTS[vm % PROJECTS.length]}/us-central1-a/vm-${vm}`,
      requested_at: hourAt(0),
      started_at: hourAt(0),
      finished_at: hourAt(HOURS),
      deadline: hourAt(HOURS + 1),
      recorded_at: hourAt(HOURS),
    });
  }
  return rows;
}

function exportLines(): Row[] {
  const rows: Row[] = [];
  for (const project of PROJECTS) {
    for (let h = 0; h < HOURS; h++) {
      for (const [sku, cost] of [
        ['Spot Preemptible N2 Instance Core running in Americas', 0.07 * VMS],
        ['Spot Preemptible N2 Instance Ram running in Americas', 0.025 * VMS],
      ] as const) {
        rows.push({
          service: { id: '6F81-5844-456A', description: 'Compute Engine' },
          sku: { id: 'bench', description: sku },
          usage_start_time: hourAt(h),
          usage_end_time: hourAt(h + 1),
          project: { id: project, labels: [] },
          labels: [],
          system_labels: [],
          location: { region: 'us-central1' },
          cost: cost / PROJECTS.length,
          currency: 'USD',
          credits: [],
          cost_type: 'regular',
        });
      }
    }
  }
  return rows;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

async function main(): Promise<void> {
  const ledger = await ViewLedger.create({ empty: true });
  const data = {
    spot_costs: costRows(),
    label_compliance: checkRows(),
    runs: runRows(),
  };
  const load = await timed(async () => {
    for (const [table, rows] of Object.entries(data)) {
      for (let i = 0; i < rows.length; i += 5000) {
        await ledger.insert(DATASET, table, rows.slice(i, i + 5000));
      }
    }
    await ledger.insert(EXPORT_DATASET, EXPORT_TABLE_ID, exportLines());
    await ledger.execute(
      billingExportViewSql({ project: PROJECT, dataset: DATASET }, EXPORT_TABLE, SQL_ROOT),
    );
  });
  out(machineLine());
  out(
    `ledger: ${VMS} VMs x ${HOURS} h = ${data.spot_costs.length} spot_costs rows (one hour in ten recorded twice), ${data.label_compliance.length} label checks, ${data.runs.length} runs; loaded in ${load.ms.toFixed(0)} ms`,
  );
  const day = hourAt(24).slice(0, 10);
  out(`view                            rows    whole view   one day (${day})`);
  for (const view of LOOKER_VIEWS) {
    const whole = await timed(() => ledger.rows(`SELECT * FROM \`\${dataset}.${view.name}\``));
    const oneDay = await timed(() =>
      ledger.rows(
        `SELECT * FROM \`\${dataset}.${view.name}\` WHERE ${
          view.dateColumn === 'usage_month'
            ? `usage_month = DATE_TRUNC(DATE '${day}', MONTH)`
            : `DATE(${view.dateColumn}) = DATE '${day}'`
        }`,
      ),
    );
    out(
      `${view.name.padEnd(30)} ${String(whole.value.length).padStart(6)} ${whole.ms.toFixed(0).padStart(9)} ms ${oneDay.ms.toFixed(0).padStart(9)} ms`,
    );
  }
  await ledger.close();
}

await main();
