/**
 * Each simulated VM's serial port 1, as `instances.getSerialPortOutput` serves it: byte offsets
 * that only grow, the last 1 MiB kept (a `start` before that is moved up to the oldest byte
 * still held, as Compute does), and a fresh console on every boot. Whatever runs on a VM (the
 * simulated batch VM) writes to it with `writeSerial`.
 */

import { vmKey } from '../core/vm.js';
import type { SimVm } from './fleet.js';
import type { Sandbox } from './sandbox.js';

export const SERIAL_RETAINED_BYTES = 1024 * 1024;

interface SerialConsole {
  /** Bytes of this boot dropped from the front of the buffer. */
  dropped: number;
  data: Buffer;
}

function consoles(sandbox: Sandbox): Map<string, SerialConsole> {
  return sandbox.extension('serial-console', () => new Map<string, SerialConsole>());
}

function consoleOf(sandbox: Sandbox, vm: SimVm): SerialConsole {
  const all = consoles(sandbox);
  let found = all.get(vmKey(vm));
  if (!found) {
    found = { dropped: 0, data: Buffer.alloc(0) };
    all.set(vmKey(vm), found);
  }
  return found;
}

/** A new boot starts a new console. */
export function resetSerial(sandbox: Sandbox, vm: SimVm): void {
  consoles(sandbox).set(vmKey(vm), { dropped: 0, data: Buffer.alloc(0) });
}

export function writeSerial(sandbox: Sandbox, vm: SimVm, text: string): void {
  const serial = consoleOf(sandbox, vm);
  let data = Buffer.concat([serial.data, Buffer.from(text, 'utf8')]);
  if (data.length > SERIAL_RETAINED_BYTES) {
    const cut = data.length - SERIAL_RETAINED_BYTES;
    serial.dropped += cut;
    data = data.subarray(cut);
  }
  serial.data = data;
}

/** The offset after the last byte written this boot. */
export function serialEnd(sandbox: Sandbox, vm: SimVm): number {
  const serial = consoleOf(sandbox, vm);
  return serial.dropped + serial.data.length;
}

/** Output from byte `start` on (at most `limit` bytes), the actual start, and the next offset. */
export function readSerial(
  sandbox: Sandbox,
  vm: SimVm,
  start: number,
  limit = SERIAL_RETAINED_BYTES,
): { contents: string; start: number; next: number } {
  const serial = consoleOf(sandbox, vm);
  const end = serial.dropped + serial.data.length;
  const from = Math.min(Math.max(start, serial.dropped), end);
  const slice = serial.data.subarray(from - serial.dropped, from - serial.dropped + limit);
  return { contents: slice.toString('utf8'), start: from, next: from + slice.length };
}
