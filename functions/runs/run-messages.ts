/**
 * Slack messages for a run: one when it starts, one (threaded under it) when it ends. The
 * outcome is noticed when someone or something reads the run (GET /runs/{id}, GET /runs, or
 * the busy check of the next POST /runs), not pushed by the VM.
 */
import type { KnownBlock } from '@slack/web-api';
import type { TaskAttempts } from '../adapters/run-jobs.js';
import type { SlackMessage } from '../adapters/slack.js';
import { actionsBlock, cancelRunButton } from '../core/slack-buttons.js';
import type { RunRecord } from './run-record.js';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function duration(from: Date | undefined, to: Date | undefined): string | undefined {
  if (!from || !to) return undefined;
  const minutes = Math.max(0, Math.round((to.getTime() - from.getTime()) / 60_000));
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(parts: string[]): KnownBlock {
  return { type: 'context', elements: parts.map((text) => ({ type: 'mrkdwn', text })) };
}

/** Why the run went to its VM, when its pipeline has candidates to choose from. */
function placementNote(run: RunRecord): string[] {
  const candidates = run.placement?.candidates ?? [];
  const chosen = candidates.find((c) => c.verdict === 'chosen');
  if (!chosen) return [];
  return [
    `picked from ${candidates.length} candidate VMs: ${escape(chosen.reason.replace(/^chosen: /, ''))}`,
  ];
}

export function startedMessage(run: RunRecord, where: string, statusUrl: string): SlackMessage {
  const text = `Run ${run.runId} of ${run.pipeline} (target ${run.target}) started by ${run.caller} on ${where}`;
  return {
    text,
    blocks: [
      section(
        `:rocket: *${escape(run.pipeline)}* \`${run.target}\` started by ${escape(run.caller)} on \`${escape(where)}\``,
      ),
      context([
        `run \`${run.runId}\``,
        ...placementNote(run),
        `deadline ${run.deadline.toISOString()}`,
        ...(run.resultsPrefix ? [`results ${run.resultsPrefix}`] : []),
        `status ${statusUrl}`,
      ]),
      // Answered by slackActions, through the run service's cancel.
      actionsBlock('costguard-run', [cancelRunButton({ run: run.runId })]),
    ],
  };
}

const ICON: Record<string, string> = {
  SUCCEEDED: ':white_check_mark:',
  FAILED: ':x:',
  PREEMPTED: ':warning:',
  PREEMPTED_RETRYING: ':repeat:',
  CANCELLED: ':no_entry_sign:',
  TIMED_OUT: ':hourglass:',
};

/**
 * The replies in the run's thread for the retries of its Cloud Run task that a look found, one
 * per attempt gained since the run's last recorded attempt.
 */
export function taskRetryReplies(
  run: RunRecord,
  from: number,
  attempts: TaskAttempts,
): SlackMessage[] {
  const of = attempts.maxAttempts === undefined ? '' : ` of ${attempts.maxAttempts}`;
  // The last exit code is the failed attempt's only while the next one has not ended yet.
  const exit = attempts.lastExitCode ? ` (exit code ${attempts.lastExitCode})` : '';
  const replies: SlackMessage[] = [];
  for (let attempt = from + 1; attempt <= attempts.attempt; attempt++) {
    const why = attempt === attempts.attempt ? `its task failed${exit}` : 'its task failed';
    replies.push({
      text: `Run ${run.runId} of ${run.pipeline}: ${why}; Cloud Run retries it, attempt ${attempt}${of}`,
      ...(run.slackTs ? { threadTs: run.slackTs } : {}),
    });
  }
  return replies;
}

export function finishedMessage(run: RunRecord): SlackMessage {
  const took = duration(run.startedAt, run.finishedAt);
  const cost = run.cost
    ? `${run.cost.amount.toFixed(2)} ${run.cost.currency} (${run.cost.source})`
    : undefined;
  const text = `Run ${run.runId} of ${run.pipeline} (target ${run.target}) ${run.status}${took ? ` after ${took}` : ''}${cost ? `, cost ${cost}` : ''}`;
  return {
    text,
    ...(run.slackTs ? { threadTs: run.slackTs } : {}),
    blocks: [
      section(
        `${ICON[run.status] ?? ':information_source:'} *${escape(run.pipeline)}* \`${run.target}\` *${run.status}*${took ? ` after ${took}` : ''}`,
      ),
      context([
        `run \`${run.runId}\``,
        ...(cost ? [`cost ${cost}`] : []),
        ...(run.logsUri ? [`logs ${escape(run.logsUri)}`] : []),
        ...(run.detail ? [escape(run.detail.slice(0, 300))] : []),
      ]),
    ],
  };
}
