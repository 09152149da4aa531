/**
 * `slackActions`: what a person chose on a costguard message, carried out. Read top to bottom:
 * verify Slack's signature (nothing is parsed before it holds) → parse the click → decide (a
 * click already handled acts not again; someone outside the configured groups and channels is
 * refused) → act through the `ActionPerformer` port → report once: the message updated in
 * place (who did what, when), a `slack_actions` row, and an ephemeral note to the clicking user
 * where there is something only they need to know.
 *
 * Slack waits 3 s for the reply; Cloud Functions gen2 does not promise CPU after a reply is
 * sent, so the work is done before it, within `budgetMs` (2.5 s): changes are requested from
 * Compute without waiting for their operations (a wait can take minutes), an action begins no
 * new change once the budget is nearly spent, and whatever does not fit is left for the next
 * click (which finds the rest still to do, and nothing done twice). What was only requested is
 * confirmed after the reply (`followUp`), and the message updated again.
 */
import type {
  Notifier,
  PostedMessage,
  ResponseUrlMessage,
  SlackDirectory,
  SlackMessage,
} from '../adapters/slack.js';
import { KeyLock } from '../core/key-lock.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { actorVerdict, memberLists } from './actors.js';
import type { ClickOutcome, SlackActionLedger } from './action-ledger.js';
import { clickKey, parseClick, type Click } from './interaction.js';
import { updatedMessage } from './message-update.js';
import { checkSlackSignature, type SignedRequest } from './request-signature.js';

/** What an action did, for the message, the ledger and the user. */
export interface ActionResult {
  readonly outcome: Exclude<ClickOutcome, 'REFUSED'>;
  /** Past tense, after the user's name: `restarted 3 VMs stopped by tier 100% of Budget x`. */
  readonly summary: string;
  readonly vmsActed: number;
  readonly holdUntil: Date | undefined;
  /** Said to the clicking user alone (what is left to do, why nothing happened). */
  readonly note?: string;
  /**
   * What was only requested (a VM start, a label write), confirmed after the reply: its line
   * updates the message again.
   */
  readonly followUp?: () => Promise<FollowUp>;
}

export interface FollowUp {
  readonly outcome: Exclude<ClickOutcome, 'REFUSED'>;
  readonly summary: string;
}

export interface ActionContext {
  /** Milliseconds left of the reply's time budget. */
  readonly remainingMs: () => number;
  readonly now: Date;
}

/** Carries out one click; `SlackActionPerformer` is the real one. */
export interface ActionPerformer {
  perform(click: Click, context: ActionContext): Promise<ActionResult>;
}

export interface SlackActionsDeps {
  readonly ledger: SlackActionLedger;
  readonly directory: SlackDirectory;
  readonly notifier: Pick<Notifier, 'update'>;
  readonly respond: (url: string, message: ResponseUrlMessage) => Promise<void>;
  readonly performer: ActionPerformer;
  readonly logger: Logger;
  readonly clock: Clock;
  /** A monotonic millisecond clock for the reply's time budget (default `performance.now`). */
  readonly elapsed?: () => number;
  readonly config: SlackActionsConfig;
}

export interface SlackActionsConfig {
  readonly signingSecret: string;
  readonly actorGroups: readonly string[];
  readonly actorChannels: readonly string[];
  /** Default 2,500 ms: Slack gives up after 3 s. */
  readonly budgetMs?: number;
}

export type SlackActionsReply =
  | { readonly status: 200; readonly outcome: ClickOutcome | 'ALREADY_HANDLED' }
  | { readonly status: 401; readonly error: string };

export interface SlackActions {
  /** Verifies, parses, decides, acts and reports one interactivity request. */
  handle(request: SignedRequest): Promise<SlackActionsReply>;
}

export function createSlackActions(deps: SlackActionsDeps): SlackActions {
  const { ledger, directory, notifier, performer, logger, clock, config } = deps;
  const elapsed = deps.elapsed ?? (() => performance.now());
  const lock = new KeyLock();

  const tell = async (click: Click, text: string): Promise<void> => {
    if (!click.responseUrl) return;
    try {
      await deps.respond(click.responseUrl, { text, ephemeral: true });
    } catch (error) {
      logger.warn('Could not answer the Slack user', { user: click.user.id, error });
    }
  };

  /** The message updated in place; returns it as it now reads. */
  const updateMessage = async (click: Click, summary: string, at: Date) => {
    const posted: PostedMessage = { channel: click.channel, ts: click.messageTs };
    const message = updatedMessage(click, summary, at);
    try {
      await notifier.update(posted, message);
    } catch (error) {
      logger.error('Slack message not updated', { ...posted, error });
    }
    return message;
  };

  /**
   * After the reply: confirm what was only requested and update the message once more. Cloud
   * Functions gives CPU after a reply only with CPU always allocated; without it this runs when
   * the instance next has CPU, and meanwhile the message truthfully says what was requested.
   */
  const confirmLater = (click: Click, result: ActionResult, shown: SlackMessage): void => {
    if (!result.followUp) return;
    const log = logger.child({ slackUser: click.user.id, click: clickKey(click) });
    void (async () => {
      try {
        const done = await result.followUp?.();
        if (!done) return;
        log.info('Slack action confirmed', { outcome: done.outcome });
        const next = { ...click, messageBlocks: shown.blocks ?? [], messageText: shown.text };
        await updateMessage(next, done.summary, clock.now());
      } catch (error) {
        log.error('Slack action not confirmed', { error });
      }
    })();
  };

  const act = async (click: Click, started: number): Promise<SlackActionsReply> => {
    const log = logger.child({
      slackUser: click.user.id,
      action: click.action,
      click: clickKey(click),
    });
    if (await ledger.handled(click)) {
      log.info('Slack action already handled; not acted on again');
      return { status: 200, outcome: 'ALREADY_HANDLED' };
    }
    const verdict = actorVerdict(
      click.user.id,
      await memberLists(directory, { groups: config.actorGroups, channels: config.actorChannels }),
    );
    const now = clock.now();
    if (!verdict.allowed) {
      log.warn('Slack action refused: the user is in no allowed group or channel');
      await ledger.record(
        {
          click,
          outcome: 'REFUSED',
          detail: 'not a member of an allowed group or channel',
          vmsActed: 0,
          holdUntil: undefined,
        },
        now,
      );
      await tell(
        click,
        'Only members of the groups and channels costguard is configured with can act on its messages. Nothing was changed.',
      );
      return { status: 200, outcome: 'REFUSED' };
    }
    const budgetMs = config.budgetMs ?? 2_500;
    let result: ActionResult;
    try {
      result = await performer.perform(click, {
        remainingMs: () => budgetMs - (elapsed() - started),
        now,
      });
    } catch (error) {
      log.error('Slack action failed', { error });
      result = {
        outcome: 'FAILED',
        summary: `tried to ${click.action.replace(/_/g, ' ')}, which failed`,
        vmsActed: 0,
        holdUntil: undefined,
        note: `It failed: ${errorMessage(error)}. Nothing more was changed; try again.`,
      };
    }
    log.info('Slack action carried out', {
      outcome: result.outcome,
      vmsActed: result.vmsActed,
      via: verdict.via,
    });
    const shown = await updateMessage(click, result.summary, now);
    await ledger.record(
      {
        click,
        outcome: result.outcome,
        detail: `${result.summary} (allowed as a member of ${verdict.via})`,
        vmsActed: result.vmsActed,
        holdUntil: result.holdUntil,
      },
      now,
    );
    if (result.note) await tell(click, result.note);
    confirmLater(click, result, shown);
    return { status: 200, outcome: result.outcome };
  };

  return {
    async handle(request) {
      const started = elapsed();
      const verdict = checkSlackSignature(request, config.signingSecret, clock.now());
      if (!verdict.accepted) {
        logger.warn('Slack request refused', { reason: verdict.reason });
        return { status: 401, error: `Invalid Slack request: ${verdict.reason}` };
      }
      const click = parseClick(request.rawBody as Buffer);
      return lock.run(clickKey(click), () => act(click, started));
    },
  };
}
