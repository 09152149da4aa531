/**
 * The Slack message for one hour's Spot-spend alerts (Block Kit, with a plain-text fallback):
 * who (overall or which team), how much against what, the top VMs, and a link to the view.
 */

import type { KnownBlock } from '@slack/web-api';
import type { SlackMessage } from '../adapters/slack.js';
import type { SpotAlert } from './plan-alerts.js';

function money(amount: number, currency: string): string {
  return `${amount.toFixed(2)} ${currency}`;
}

function hourLabel(hour: Date): string {
  return `${hour.toISOString().slice(0, 13).replace('T', ' ')}:00 UTC`;
}

function who(alert: SpotAlert): string {
  return alert.team ? `Team ${alert.team}` : 'All governed projects';
}

function why(alert: SpotAlert): string {
  const parts: string[] = [];
  if (alert.reasons.includes('limit') && alert.limit !== undefined) {
    parts.push(`over the ${money(alert.limit, alert.currency)}/h limit`);
  }
  if (alert.reasons.includes('spike') && alert.trailingAverage !== undefined) {
    const times = (alert.spend / alert.trailingAverage).toFixed(1);
    parts.push(
      `${times}× the trailing 24 h average of ${money(alert.trailingAverage, alert.currency)}/h`,
    );
  }
  return parts.join('; ');
}

// Slack rejects a section text over 3000 characters; five VMs stay far below it.
function topVmLines(alert: SpotAlert): string {
  return alert.topVms
    .map(
      (vm) =>
        `• \`${vm.name}\` ${vm.machineType} in ${vm.project}/${vm.zone}${vm.team && !alert.team ? ` (team ${vm.team})` : ''}: ${money(vm.cost, alert.currency)}`,
    )
    .join('\n');
}

export function alertMessage(
  hour: Date,
  alerts: readonly SpotAlert[],
  viewUrl: string,
): SlackMessage {
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: `Spot spend alert: ${hourLabel(hour)}`, emoji: true },
    },
  ];
  for (const alert of alerts) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${who(alert)}* spent *${money(alert.spend, alert.currency)}* on Spot VMs in the hour, ${why(alert)}.`,
      },
    });
    if (alert.topVms.length > 0) {
      blocks.push({
        type: 'section',
        text: { type: 'mrkdwn', text: `Top VMs:\n${topVmLines(alert)}` },
      });
    }
  }
  blocks.push(
    { type: 'divider' },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open the Spot cost view' },
          url: viewUrl,
          action_id: 'open_spot_cost_view',
        },
      ],
    },
  );
  const text = `Spot spend alert for ${hourLabel(hour)}: ${alerts
    .map((a) => `${who(a)} ${money(a.spend, a.currency)} (${why(a)})`)
    .join('; ')}. ${viewUrl}`;
  return { text, blocks };
}
