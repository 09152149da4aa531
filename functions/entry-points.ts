/**
 * costguard's entry points (the public target names of docs/architecture.md) and how each is
 * built from a runtime. The Functions Framework registration, `npm start`, the deploy scripts
 * and the cold import measurement all take the list from here. Importing this module loads
 * nothing else: each `load` imports its capability's entry module only when it is called.
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { Runtime } from './adapters/runtime.js';
import type { EventFunction } from './core/handlers.js';

export type EntryPoint =
  | {
      readonly name: string;
      readonly kind: 'http';
      readonly load: (runtime: Runtime) => Promise<HttpFunction>;
    }
  | {
      readonly name: string;
      readonly kind: 'event';
      readonly load: (runtime: Runtime) => Promise<EventFunction>;
    };

export const ENTRY_POINTS = [
  {
    name: 'recordSpotCosts',
    kind: 'http',
    load: async (runtime) => (await import('./recorder/entry.js')).buildRecordSpotCosts(runtime),
  },
  {
    name: 'enforceBudget',
    kind: 'event',
    load: async (runtime) => (await import('./budget/entry.js')).buildEnforceBudget(runtime),
  },
  {
    name: 'enforceLabels',
    kind: 'http',
    load: async (runtime) => (await import('./labels/entry.js')).buildEnforceLabels(runtime),
  },
  {
    name: 'enforceLabelsOnCreate',
    kind: 'event',
    load: async (runtime) =>
      (await import('./labels/entry.js')).buildEnforceLabelsOnCreate(runtime),
  },
  {
    name: 'enforceSpotCap',
    kind: 'http',
    load: async (runtime) => (await import('./caps/entry.js')).buildEnforceSpotCap(runtime),
  },
  {
    name: 'triggerRun',
    kind: 'http',
    load: async (runtime) => (await import('./runs/entry.js')).buildTriggerRun(runtime),
  },
  {
    name: 'slackActions',
    kind: 'http',
    load: async (runtime) => (await import('./slack-actions/entry.js')).buildSlackActions(runtime),
  },
  {
    name: 'recordPreemption',
    kind: 'event',
    load: async (runtime) =>
      (await import('./preemptions/entry.js')).buildRecordPreemption(runtime),
  },
] as const satisfies readonly EntryPoint[];

export type EntryPointName = (typeof ENTRY_POINTS)[number]['name'];
