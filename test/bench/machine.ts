/**
 * The machine a benchmark runs on, as every benchmark prints it before its figures: cores, CPU,
 * Node version, the load at the start (other work inflates wall times, much less CPU times) and
 * the Node flags in effect (none beyond what runs TypeScript, so no heap cap).
 */

import { availableParallelism, cpus, loadavg } from 'node:os';

export function machineLine(): string {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, load average ${load}, node flags [${process.execArgv.join(' ')}]`;
}
