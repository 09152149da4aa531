import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runRecorderDemo } from '../../functions/sandbox/demos/recorder.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';
import { migrateRecorderTables, RECORDER_ENV, startRecorderSandbox } from './recorder-sandbox.js';

// The recorder's part of `npm start`, on the demo fleet.
describe('runRecorderDemo', () => {
  let sandbox: Sandbox;

  beforeEach(async () => {
    sandbox = await startRecorderSandbox('fleets/demo.json');
  });
  afterEach(() => sandbox.close());

  it('records the demo fleet hour by hour, every VM priced from the catalog', async () => {
    const runtime = sandboxRuntime(sandbox, {
      ...RECORDER_ENV,
      COSTGUARD_PROJECTS: [...sandbox.fleet.projects.keys()].join(','),
    });
    await migrateRecorderTables(runtime);
    const lines: string[] = [];
    const running = sandbox.fleet.live().filter((vm) => vm.status === 'RUNNING').length;
    // VM hours with uptime in the six hours the first run catches up (18:00 to midnight).
    const history = sandbox.fleet
      .live()
      .flatMap((vm) =>
        [18, 19, 20, 21, 22, 23].map((h) =>
          sandbox.fleet.uptimeSeconds(vm, Date.UTC(2026, 10, 19, h), Date.UTC(2026, 10, 19, h + 1)),
        ),
      )
      .filter((seconds) => seconds > 0).length;

    const runs = await runRecorderDemo({ sandbox, runtime, print: (l) => lines.push(l) });

    expect(runs.map((r) => r.at)).toEqual([
      '2026-11-20T00:10:00.000Z',
      '2026-11-20T01:10:00.000Z',
      '2026-11-20T02:10:00.000Z',
    ]);
    const [first, second, third] = runs.map((r) => r.summary);
    expect(first?.hoursRecorded).toHaveLength(6);
    expect(first?.rows.written).toBe(history);
    const none = { 'catalog-standard-rate': 0, 'price-book': 0, 'price-book-standard-rate': 0 };
    expect(first?.priceSources).toEqual({ catalog: history, ...none, unknown: 0 });
    // Preempted at 00:30 and deleted: its half hour of 00:00 is priced from its snapshot.
    expect(second?.attributeSources).toEqual({ compute: running - 1, inventory: 1, monitoring: 0 });
    expect(second?.priceSources).toEqual({ catalog: running, ...none, unknown: 0 });
    expect(third?.attributeSources).toEqual({ compute: running - 1, inventory: 0, monitoring: 0 });
    expect(lines[0]).toBe('recordSpotCosts, every hour at ten past:');
    expect(lines).toHaveLength(5);
  });
});
