/**
 * The run's lifecycle steps: the snapshot each one hands the ledger, from the run as recorded
 * and what was just learnt.
 */
import { describe, expect, it } from 'vitest';
import type { StatusDecision } from '../../functions/runs/plan-status.js';
import type { RunRecord } from '../../functions/runs/run-record.js';
import {
  busyDetail,
  observedRecord,
  startedRecord,
  statusChanged,
} from '../../functions/runs/run-transitions.js';
import { at, RUNNING_RUN } from '../support/runs.js';

const running = RUNNING_RUN;

describe('observedRecord', () => {
  it.each<{ what: string; decision: StatusDecision; expected: Partial<RunRecord> }>([
    {
      what: 'a run still running keeps no end',
      decision: { status: 'RUNNING' },
      expected: { status: 'RUNNING', finishedAt: undefined, startedAt: at('00:00:10') },
    },
    {
      what: 'a run that ended at a known time ends then',
      decision: { status: 'SUCCEEDED', finishedAt: at('00:30:00'), exitMarker: '_SUCCESS' },
      expected: { status: 'SUCCEEDED', finishedAt: at('00:30:00'), exitMarker: '_SUCCESS' },
    },
    {
      what: 'a run that ended at an unknown time ends when it was seen',
      decision: { status: 'PREEMPTED', detail: 'preempted' },
      expected: { status: 'PREEMPTED', finishedAt: at('01:00:00'), detail: 'preempted' },
    },
    {
      what: 'an execution found by the run id is kept',
      decision: { status: 'STARTING', execution: 'executions/e-1' },
      expected: { status: 'STARTING', execution: 'executions/e-1', finishedAt: undefined },
    },
  ])('$what', ({ decision, expected }) => {
    expect(observedRecord(running, decision, at('01:00:00'))).toMatchObject(expected);
  });
});

describe('statusChanged', () => {
  it.each<{ what: string; after: Partial<RunRecord>; changed: boolean }>([
    { what: 'nothing new', after: {}, changed: false },
    { what: 'a new detail alone', after: { detail: 'still booting' }, changed: false },
    { what: 'a new status', after: { status: 'SUCCEEDED' }, changed: true },
    { what: 'a start time learnt', after: { startedAt: at('00:00:20') }, changed: true },
    { what: 'an execution learnt', after: { execution: 'executions/e-1' }, changed: true },
  ])('$what: $changed', ({ after, changed }) => {
    expect(statusChanged(running, { ...running, ...after })).toBe(changed);
  });
});

describe('startedRecord', () => {
  it.each<{
    what: string;
    unbounded: string | undefined;
    detail: string | undefined;
  }>([
    { what: 'a run bounded by maxRunDuration', unbounded: undefined, detail: undefined },
    {
      what: 'a run Compute would not bound',
      unbounded: 'permission denied',
      detail: 'no maxRunDuration (permission denied); the deadline is enforced on status reads',
    },
  ])('$what', ({ unbounded, detail }) => {
    const starting: RunRecord = { ...running, status: 'STARTING', startedAt: undefined };
    const started = startedRecord(starting, {
      kind: 'started',
      status: 'RUNNING',
      startedAt: at('00:01:00'),
      unbounded,
    });
    expect(started).toMatchObject({ status: 'RUNNING', startedAt: at('00:01:00'), detail });
  });
});

describe('busyDetail', () => {
  it.each([
    { activeRunId: undefined, expected: 'busy: the VM is RUNNING' },
    {
      activeRunId: 'run-ffffffffffffffffffff',
      expected: 'busy: the VM is RUNNING (run run-ffffffffffffffffffff)',
    },
  ])('names the holder $activeRunId', ({ activeRunId, expected }) => {
    expect(busyDetail('the VM is RUNNING', activeRunId)).toBe(expected);
  });
});
