/**
 * How a costguard message reads after someone acted on it: the same blocks, with one line per
 * action saying who did what and when (the latest ten kept), and, once an action is final
 * (a run cancelled, a tier approved or skipped), without its buttons.
 */
import type { KnownBlock } from '@slack/web-api';
import type { SlackMessage } from '../adapters/slack.js';
import { utcMinute } from '../core/clock.js';
import { SLACK_LIMITS } from '../core/slack-buttons.js';
import type { Click } from './interaction.js';

export const HISTORY_BLOCK_ID = 'costguard-history';
/** A context block holds at most ten elements. */
const HISTORY_LINES = 10;

/** Actions after which the message's buttons no longer apply. */
const FINAL_ACTIONS: ReadonlySet<string> = new Set(['cancel_run', 'approve', 'skip']);

interface BlockLike {
  type?: unknown;
  block_id?: unknown;
  elements?: unknown;
}

export function historyLine(click: Click, summary: string, at: Date): string {
  return `<@${click.user.id}> ${summary} (${utcMinute(at)})`;
}

export function updatedMessage(
  click: Click,
  summary: string,
  at: Date,
  final: boolean = FINAL_ACTIONS.has(click.action),
): SlackMessage {
  const blocks = click.messageBlocks as BlockLike[];
  const history = blocks.find((b) => b.block_id === HISTORY_BLOCK_ID);
  const earlier = Array.isArray(history?.elements) ? (history.elements as unknown[]) : [];
  const line = {
    type: 'mrkdwn',
    text: historyLine(click, summary, at).slice(0, SLACK_LIMITS.textChars),
  };
  const kept = blocks.filter(
    (b) => b.block_id !== HISTORY_BLOCK_ID && !(final && b.type === 'actions'),
  );
  const historyBlock = {
    type: 'context',
    block_id: HISTORY_BLOCK_ID,
    elements: [...earlier, line].slice(-HISTORY_LINES),
  };
  return {
    text: click.messageText === '' ? historyLine(click, summary, at) : click.messageText,
    blocks: [...kept.slice(0, SLACK_LIMITS.blocks - 1), historyBlock] as KnownBlock[],
  };
}
