/**
 * The recorder's pure verdicts: which projects failed and whether a retry can fix them, and the
 * HTTP status a run answers with, as tables of cases.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../functions/core/errors.js';
import { replyFor } from '../../functions/recorder/entry.js';
import { projectFailures, type RecordSummary } from '../../functions/recorder/record-summary.js';

const ok = { status: 'fulfilled', value: undefined } as const;
const failed = (reason: unknown) => ({ status: 'rejected', reason }) as const;

describe('projectFailures', () => {
  it.each([
    { case: 'every project read', outcomes: [ok, ok], failures: [] },
    {
      case: 'a project Monitoring answered 503 for',
      outcomes: [ok, failed(new TransientError('503'))],
      failures: [{ project: 'data-pipelines', retryable: true }],
    },
    {
      case: 'a project the ledger tables are missing for',
      outcomes: [failed(new PermanentError('run the ledger migration')), ok],
      failures: [{ project: 'ml-training-prod', retryable: false }],
    },
  ])('$case', ({ outcomes, failures }) => {
    const found = projectFailures(['ml-training-prod', 'data-pipelines'], outcomes);
    expect(found.map(({ project, retryable }) => ({ project, retryable }))).toEqual(failures);
  });
});

describe('replyFor', () => {
  const summary = (partial: Partial<RecordSummary>): RecordSummary =>
    ({ failures: [], gaps: [], ...partial }) as RecordSummary;
  const transient = { project: 'data-pipelines', retryable: true };
  const permanent = { project: 'data-pipelines', retryable: false };
  it.each([
    { case: 'every project recorded', failures: [], gaps: [], status: 200 },
    { case: 'a project a retry can read', failures: [transient], gaps: [], status: 503 },
    {
      case: 'a zone Compute could not list',
      failures: [],
      gaps: [{ project: 'ml-training-prod', zones: ['us-central1-a'] }],
      status: 503,
    },
    {
      case: 'one of two projects unreadable for good',
      failures: [permanent],
      gaps: [],
      status: 200,
    },
    {
      case: 'no project readable, and retrying will not help',
      failures: [permanent, { ...permanent, project: 'ml-training-prod' }],
      gaps: [],
      status: 422,
    },
  ])('$case: $status', ({ failures, gaps, status }) => {
    expect(replyFor(summary({ failures, gaps }), 2).status).toBe(status);
  });
});
