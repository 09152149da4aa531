/**
 * The settings of `slackActions`, on top of `commonSettings`: the Slack app's signing secret
 * (mounted from Secret Manager, never logged), who may act (members of Slack user groups, of
 * channels, or both; at least one must be named), and how long a Restart holds the tier's
 * shedding.
 */
import { setting } from '../core/config.js';

export const slackActionSettings = {
  signingSecret: setting.text(
    'SLACK_SIGNING_SECRET',
    "the Slack app's signing secret (from Secret Manager)",
    { pattern: /^\S{8,200}$/ },
  ),
  actorGroups: setting.list(
    'COSTGUARD_SLACK_ACTOR_GROUPS',
    'comma-separated Slack user group ids (S…) whose members may act on costguard messages',
    { default: [], item: /^S[A-Z0-9]{2,30}$/ },
  ),
  actorChannels: setting.list(
    'COSTGUARD_SLACK_ACTOR_CHANNELS',
    'comma-separated Slack channel ids (C… or G…) whose members may act on costguard messages',
    { default: [], item: /^[CG][A-Z0-9]{2,30}$/ },
  ),
  restartHoldHours: setting.number(
    'COSTGUARD_SLACK_RESTART_HOLD_HOURS',
    'hours a Restart from Slack holds further shedding of its tier, 0 to 168',
    { default: 4, min: 0, max: 168 },
  ),
};
