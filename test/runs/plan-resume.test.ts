import { describe, expect, it } from 'vitest';
import {
  formatRunTime,
  isResumeDue,
  planResume,
  preemptionReply,
  type ResumePolicy,
} from '../../functions/runs/plan-resume.js';
import { attemptAt } from '../../functions/runs/run-resumption.js';

const AT = new Date('2026-11-20T03:12:00Z');
const before = (seconds: number): Date => new Date(AT.getTime() - seconds * 1000);
const THREE: ResumePolicy = { maxAttempts: 3, backoffSeconds: 120 };

describe('planResume: what a preemption does to the run its VM held', () => {
  it.each([
    {
      case: 'first attempt preempted: the second after the backoff',
      run: { status: 'RUNNING', attempt: 1, attemptStartedAt: before(3600) },
      policy: THREE,
      verdict: { kind: 'retry', attempt: 2, resumeAt: new Date('2026-11-20T03:14:00Z') },
    },
    {
      case: 'second attempt preempted: the third',
      run: { status: 'RUNNING', attempt: 2, attemptStartedAt: before(60) },
      policy: THREE,
      verdict: { kind: 'retry', attempt: 3, resumeAt: new Date('2026-11-20T03:14:00Z') },
    },
    {
      case: 'no backoff: the next attempt at once',
      run: { status: 'STARTING', attempt: 1, attemptStartedAt: undefined },
      policy: { maxAttempts: 2, backoffSeconds: 0 },
      verdict: { kind: 'retry', attempt: 2, resumeAt: AT },
    },
    {
      case: 'the last attempt preempted: FAILED with the reason',
      run: { status: 'RUNNING', attempt: 3, attemptStartedAt: before(60) },
      policy: THREE,
      verdict: {
        kind: 'fail',
        detail: 'the VM was preempted on attempt 3 of 3; no attempts left',
      },
    },
    {
      case: 'a pipeline without resume: PREEMPTED, as before',
      run: { status: 'RUNNING', attempt: 1, attemptStartedAt: before(60) },
      policy: undefined,
      verdict: {
        kind: 'end',
        detail: 'the VM was preempted; the pipeline does not resume runs',
      },
    },
    {
      case: 'already waiting for its next attempt (the same preemption again)',
      run: { status: 'PREEMPTED_RETRYING', attempt: 1, attemptStartedAt: before(60) },
      policy: THREE,
      verdict: { kind: 'ignore', reason: 'the run is PREEMPTED_RETRYING' },
    },
    {
      case: 'cancelled during the backoff: the cancel wins',
      run: { status: 'CANCELLED', attempt: 2, attemptStartedAt: before(60) },
      policy: THREE,
      verdict: { kind: 'ignore', reason: 'the run is CANCELLED' },
    },
    {
      case: 'a preemption of the previous attempt, seen late',
      run: { status: 'RUNNING', attempt: 2, attemptStartedAt: new Date(AT.getTime() + 300_000) },
      policy: THREE,
      verdict: { kind: 'ignore', reason: 'the preemption was before attempt 2 started' },
    },
  ])('$case', ({ run, policy, verdict }) => {
    expect(planResume(run, AT, policy)).toEqual(verdict);
  });
});

describe('isResumeDue', () => {
  it.each([
    { case: 'backoff over', status: 'PREEMPTED_RETRYING', resumeAt: before(1), due: true },
    { case: 'backoff just over', status: 'PREEMPTED_RETRYING', resumeAt: AT, due: true },
    { case: 'still backing off', status: 'PREEMPTED_RETRYING', resumeAt: before(-1), due: false },
    { case: 'cancelled meanwhile', status: 'CANCELLED', resumeAt: before(60), due: false },
  ])('$case', ({ status, resumeAt, due }) => {
    expect(isResumeDue({ status, resumeAt }, AT)).toBe(due);
  });
});

describe('the Slack reply per preemption', () => {
  it.each([
    {
      verdict: planResume(
        { status: 'RUNNING', attempt: 1, attemptStartedAt: undefined },
        AT,
        THREE,
      ),
      ran: 3 * 3600 + 12 * 60 + 20,
      text: 'preempted after 3 h 12 m in us-east4-c; resuming, attempt 2 of 3',
    },
    {
      verdict: planResume(
        { status: 'RUNNING', attempt: 3, attemptStartedAt: undefined },
        AT,
        THREE,
      ),
      ran: 45 * 60,
      text: 'preempted after 45 m in us-east4-c; the VM was preempted on attempt 3 of 3; no attempts left: FAILED',
    },
    {
      verdict: planResume(
        { status: 'RUNNING', attempt: 1, attemptStartedAt: undefined },
        AT,
        undefined,
      ),
      ran: undefined,
      text: 'preempted in us-east4-c; the run ends PREEMPTED (its pipeline has no resume)',
    },
  ])('$text', ({ verdict, ran, text }) => {
    expect(preemptionReply(ran, 'us-east4-c', verdict, THREE)).toBe(text);
  });

  it.each([
    { seconds: 20, text: '20 s' },
    { seconds: 2700, text: '45 m' },
    { seconds: 11_520, text: '3 h 12 m' },
  ])('formats $seconds s as $text', ({ seconds, text }) => {
    expect(formatRunTime(seconds)).toBe(text);
  });
});

describe('attemptAt: the attempt a preemption cut short, however late its event comes', () => {
  const resumed = {
    attempt: 3,
    startedAt: before(7200),
    resumeAt: before(600),
    earlierAttempts: [
      { attempt: 1, startedAt: before(7200), endedAt: before(3600) },
      { attempt: 2, startedAt: before(3500), endedAt: before(900) },
    ],
  };
  it.each([
    { case: 'during the attempt under way', at: before(60), attempt: 3, startedAt: before(600) },
    { case: 'an event late by one attempt', at: before(900), attempt: 2, startedAt: before(3500) },
    { case: 'late by two attempts', at: before(3600), attempt: 1, startedAt: before(7200) },
    { case: 'before the run started', at: before(9000), attempt: 3, startedAt: before(600) },
  ])('$case', ({ at, attempt, startedAt }) => {
    expect(attemptAt(resumed, at)).toEqual({ attempt, startedAt });
  });

  it('is the first attempt for a run never resumed', () => {
    expect(attemptAt({ startedAt: before(60) }, AT)).toEqual({ attempt: 1, startedAt: before(60) });
  });
});
