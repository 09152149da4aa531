/**
 * The buttons costguard's Slack messages carry and what each click brings back. A button's
 * `action_id` names the action (`costguard_restart`, with an optional `:n` suffix so one message
 * can hold several of a kind); its `value` names what it acts on, as compact JSON that
 * `slackActions` validates again (a value is never trusted because it came back from Slack).
 * The message builders of every capability and the `slackActions` edge share this file, so a
 * button and the code that answers it cannot drift apart.
 */
import type { ActionsBlock, Button, KnownBlock } from '@slack/web-api';
import { z } from 'zod';

export const SLACK_ACTIONS = [
  'restart',
  'snooze_1h',
  'snooze_4h',
  'snooze_tomorrow',
  'exempt',
  'cancel_run',
  'approve',
  'skip',
] as const;
export type SlackActionName = (typeof SLACK_ACTIONS)[number];

const ACTION_PREFIX = 'costguard_';

/** `costguard_restart`, or `costguard_exempt:3` for the third of its kind in one message. */
export function actionId(name: SlackActionName, index?: number): string {
  return `${ACTION_PREFIX}${name}${index === undefined ? '' : `:${index}`}`;
}

/** The action an `action_id` names, or undefined for one costguard did not send. */
export function actionNameOf(id: string): SlackActionName | undefined {
  const match = /^costguard_([a-z0-9_]+)(?::\d{1,3})?$/.exec(id);
  const name = match?.[1];
  return SLACK_ACTIONS.find((a) => a === name);
}

const NAME = /^[A-Za-z0-9._:/-]{1,200}$/;

/** A tier of a budget or Spot cap in one period: what Restart, Snooze, Approve and Skip act on. */
export const tierTargetSchema = z.strictObject({
  kind: z.enum(['budget', 'cap']),
  id: z.string().regex(NAME, 'expected a budget id or cap name'),
  period: z.iso.datetime({ offset: true }),
  tier: z.number().positive().max(100),
});
export type TierTarget = z.infer<typeof tierTargetSchema>;

/** One VM: what Exempt acts on. */
export const vmTargetSchema = z.strictObject({
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'expected a project id'),
  zone: z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'expected a zone'),
  name: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected an instance name'),
});
export type VmTarget = z.infer<typeof vmTargetSchema>;

/** One run: what Cancel run acts on. */
export const runTargetSchema = z.strictObject({
  run: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected a run id'),
});
export type RunTarget = z.infer<typeof runTargetSchema>;

const VM_BLOCK_PREFIX = 'costguard-vm:';

/**
 * The block id of a VM's line: Exempt is a date picker, which carries no value of its own, so
 * the VM it acts on travels in the id of the block that holds it.
 */
export function vmBlockId(vm: VmTarget): string {
  return `${VM_BLOCK_PREFIX}${vm.project}/${vm.zone}/${vm.name}`;
}

/** The VM a block id names, as written by `vmBlockId` (unvalidated: parse it with the schema). */
export function vmOfBlockId(blockId: string): Record<string, string> | undefined {
  if (!blockId.startsWith(VM_BLOCK_PREFIX)) return undefined;
  const [project = '', zone = '', name = '', ...rest] = blockId
    .slice(VM_BLOCK_PREFIX.length)
    .split('/');
  return rest.length === 0 ? { project, zone, name } : undefined;
}

/** A VM line with an "Exempt until…" date picker. */
export function vmExemptSection(vm: VmTarget, text: string, index: number): KnownBlock {
  return {
    type: 'section',
    block_id: vmBlockId(vm),
    text: { type: 'mrkdwn', text: text.slice(0, SLACK_LIMITS.textChars) },
    accessory: {
      type: 'datepicker',
      action_id: actionId('exempt', index),
      placeholder: { type: 'plain_text', text: 'Exempt until…' },
    },
  };
}

// Slack's limits (api.slack.com/reference/block-kit): a button's value holds 2,000 characters,
// its text 75, an actions block 25 elements, a message 50 blocks, a text field 3,000 characters.
export const SLACK_LIMITS = {
  blocks: 50,
  textChars: 3000,
  actionsElements: 25,
  buttonValueChars: 2000,
  buttonTextChars: 75,
  blockIdChars: 255,
} as const;

export interface ButtonSpec {
  readonly action: SlackActionName;
  readonly text: string;
  readonly target: TierTarget | VmTarget | RunTarget;
  readonly index?: number;
  readonly style?: 'primary' | 'danger';
  /** A confirmation dialog before the click is sent. */
  readonly confirm?: string;
}

export function button(spec: ButtonSpec): Button {
  return {
    type: 'button',
    action_id: actionId(spec.action, spec.index),
    text: { type: 'plain_text', text: spec.text.slice(0, SLACK_LIMITS.buttonTextChars) },
    value: JSON.stringify(spec.target),
    ...(spec.style ? { style: spec.style } : {}),
    ...(spec.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: 'Are you sure?' },
            text: { type: 'mrkdwn', text: spec.confirm },
            confirm: { type: 'plain_text', text: spec.text.slice(0, 30) },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        }
      : {}),
  };
}

/** An actions block of buttons, with a block id the click names back (`costguard-actions-…`). */
export function actionsBlock(blockId: string, buttons: readonly ButtonSpec[]): ActionsBlock {
  return {
    type: 'actions',
    block_id: blockId.slice(0, SLACK_LIMITS.blockIdChars),
    elements: buttons.slice(0, SLACK_LIMITS.actionsElements).map(button),
  };
}

/** A Cancel run button. */
export function cancelRunButton(run: RunTarget): ButtonSpec {
  return {
    action: 'cancel_run',
    text: 'Cancel run',
    target: run,
    style: 'danger',
    confirm: `Cancel run ${run.run}?`,
  };
}

/** The buttons of a tier message: restart what it stopped and snooze its trigger. */
export function tierButtons(target: TierTarget, stoppedAny: boolean): ButtonSpec[] {
  return [
    ...(stoppedAny
      ? [
          {
            action: 'restart' as const,
            text: 'Restart what was stopped',
            target,
            style: 'primary' as const,
            confirm: 'Start again the VMs this tier stopped, and hold its shedding for 4 hours?',
          },
        ]
      : []),
    { action: 'snooze_1h', text: 'Snooze 1 h', target },
    { action: 'snooze_4h', text: 'Snooze 4 h', target },
    { action: 'snooze_tomorrow', text: 'Snooze until tomorrow', target },
  ];
}

/** The buttons of a tier asking for approval: stop what it lists, or stop nothing. */
export function approvalButtons(target: TierTarget, count: number): ButtonSpec[] {
  const vms = `${count} VM${count === 1 ? '' : 's'}`;
  return [
    {
      action: 'approve',
      text: `Approve: stop ${vms}`,
      target,
      style: 'danger',
      confirm: `Stop the ${vms} listed that are still running and still this tier's to stop?`,
    },
    { action: 'skip', text: 'Skip: stop nothing', target },
  ];
}

/**
 * Lines packed into as few sections as Slack allows (3,000 characters each), in at most
 * `maxBlocks` blocks; the lines that do not fit are summarised as `…and N more`.
 */
export function listSections(lines: readonly string[], maxBlocks: number): KnownBlock[] {
  const limit = SLACK_LIMITS.textChars;
  const texts: string[] = [];
  let current = '';
  let placed = 0;
  for (const line of lines) {
    const clipped = line.slice(0, limit - 40);
    const joined = current === '' ? clipped : `${current}\n${clipped}`;
    if (joined.length <= limit - 40) {
      current = joined;
      placed++;
      continue;
    }
    if (texts.length + 1 >= maxBlocks) break;
    texts.push(current);
    current = clipped;
    placed++;
  }
  if (placed < lines.length) current = `${current}\n…and ${lines.length - placed} more`;
  if (current !== '') texts.push(current);
  return texts.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
}

/** Whether blocks keep within Slack's published limits; the problems found, if any. */
export function blockKitProblems(blocks: readonly KnownBlock[]): string[] {
  const problems: string[] = [];
  if (blocks.length > SLACK_LIMITS.blocks) {
    problems.push(`${blocks.length} blocks (at most ${SLACK_LIMITS.blocks})`);
  }
  const actionIds = new Set<string>();
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}[${i}]`));
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if (typeof record.text === 'string' && record.text.length > SLACK_LIMITS.textChars) {
      problems.push(`${path}.text: ${record.text.length} characters`);
    }
    if (record.type === 'actions' && Array.isArray(record.elements)) {
      if (record.elements.length > SLACK_LIMITS.actionsElements) {
        problems.push(`${path}: ${record.elements.length} elements in an actions block`);
      }
    }
    if (typeof record.action_id === 'string') {
      if (actionIds.has(record.action_id)) {
        problems.push(`${path}: action_id ${record.action_id} is not unique`);
      }
      actionIds.add(record.action_id);
    }
    if (typeof record.value === 'string' && record.value.length > SLACK_LIMITS.buttonValueChars) {
      problems.push(`${path}.value: ${record.value.length} characters`);
    }
    for (const [key, child] of Object.entries(record)) visit(child, `${path}.${key}`);
  };
  visit(blocks, 'blocks');
  return problems;
}
