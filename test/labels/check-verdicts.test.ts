/**
 * The label enforcers' pure verdicts: when a sweep asks for a retry, and which created VMs are
 * checked, as tables of cases.
 */
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../functions/core/errors.js';
import type { InstanceInsertEntry } from '../../functions/labels/audit-event.js';
import type { CheckOutcome } from '../../functions/labels/check-outcome.js';
import {
  identifyCreated,
  skipBeforeLookup,
  sweepNeedsRetry,
} from '../../functions/labels/check-verdicts.js';
import { vmWith } from '../support/stand-ins.js';

function checked(status: CheckOutcome['status'], transient = false): CheckOutcome {
  return { status, transient } as CheckOutcome;
}

const GAP = { project: 'ml-training-prod', zone: 'us-central1-a', code: 'UNREACHABLE' };

describe('sweepNeedsRetry', () => {
  it.each([
    {
      case: 'every project listed, every check done',
      failures: [],
      gaps: [],
      outcomes: [checked('done')],
      retry: false,
    },
    {
      case: 'a zone Compute could not reach',
      failures: [],
      gaps: [GAP],
      outcomes: [],
      retry: true,
    },
    {
      case: 'a project listing that failed transiently',
      failures: [{ project: 'data-pipelines', error: new TransientError('503') }],
      gaps: [],
      outcomes: [],
      retry: true,
    },
    {
      case: 'a project listing refused for good',
      failures: [{ project: 'data-pipelines', error: new Error('permission denied') }],
      gaps: [],
      outcomes: [],
      retry: false,
    },
    {
      case: 'a check that failed transiently',
      failures: [],
      gaps: [],
      outcomes: [checked('failed', true)],
      retry: true,
    },
    {
      case: 'a check that failed for good',
      failures: [],
      gaps: [],
      outcomes: [checked('failed')],
      retry: false,
    },
    {
      case: 'a VM gone before it was changed',
      failures: [],
      gaps: [],
      outcomes: [checked('gone')],
      retry: false,
    },
  ])('$case: retry $retry', ({ failures, gaps, outcomes, retry }) => {
    expect(sweepNeedsRetry({ failures, gaps }, outcomes)).toBe(retry);
  });
});

const ENTRY: InstanceInsertEntry = {
  ref: { project: 'ml-training-prod', zone: 'us-central1-a', name: 'vision-trainer-1' },
  api: 'v1',
  phase: 'last',
  operationId: 'operation-1',
  instanceId: '100000000000000001',
  principal: 'trainer@ml-training-prod.iam.gserviceaccount.com',
  failure: undefined,
};

describe('skipBeforeLookup', () => {
  it.each([
    { case: 'an insert in a governed project', entry: {}, skip: undefined },
    {
      case: 'a failed insert',
      entry: { failure: 'QUOTA_EXCEEDED' },
      skip: 'the insert failed (QUOTA_EXCEEDED)',
    },
    {
      case: 'a project outside the governed ones',
      entry: { ref: { ...ENTRY.ref, project: 'someone-else' } },
      skip: 'outside the governed projects',
    },
  ])('$case', ({ entry, skip }) => {
    expect(skipBeforeLookup({ ...ENTRY, ...entry }, ['ml-training-prod'])).toBe(skip);
  });
});

describe('identifyCreated', () => {
  const created = vmWith();
  it.each([
    { case: 'the VM the insert created', entry: {}, found: created, verdict: { vm: created } },
    {
      case: 'not visible at the first audit entry',
      entry: { phase: 'first' as const },
      found: undefined,
      verdict: { skip: 'not visible yet; the last audit entry checks it' },
    },
    {
      case: 'gone at the last audit entry',
      entry: {},
      found: undefined,
      verdict: { skip: 'the VM no longer exists' },
    },
    {
      case: 'the name reused by another instance',
      entry: {},
      found: vmWith({ id: '200000000000000002' }),
      verdict: { skip: 'the name now belongs to another instance (200000000000000002)' },
    },
    {
      case: 'an entry without an instance id',
      entry: { instanceId: undefined },
      found: vmWith({ id: '200000000000000002' }),
      verdict: { vm: vmWith({ id: '200000000000000002' }) },
    },
  ])('$case', ({ entry, found, verdict }) => {
    expect(identifyCreated({ ...ENTRY, ...entry }, found)).toEqual(verdict);
  });
});
