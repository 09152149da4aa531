/**
 * The recorder's alert report: per hour, one log line per Spot-spend alert, one Slack message,
 * and the alerts recorded with where Slack put them. An hour whose message could not be posted
 * is not recorded, so the next run (the hour is still in its window) raises it again.
 */
import { postBestEffort, type Notifier } from '../adapters/slack.js';
import type { Logger } from '../core/logger.js';
import { alertMessage } from './alert-message.js';
import type { SpotAlert } from './plan-alerts.js';
import type { SpotCostLedger } from './spot-cost-ledger.js';

export interface AlertReporterDeps {
  readonly notifier: Notifier;
  readonly ledger: Pick<SpotCostLedger, 'recordAlerts'>;
  readonly logger: Logger;
  readonly config: AlertReporterConfig;
}

export interface AlertReporterConfig {
  /** Linked from alerts: the dashboard, or the spot_cost_hours view in the console. */
  readonly viewUrl: string;
  readonly slackChannel: string | undefined;
}

export interface AlertDelivery {
  readonly posted: number;
  readonly failed: number;
  /** Insert requests made to record the alerts. */
  readonly requests: number;
}

export type AlertReporter = (
  alerts: readonly SpotAlert[],
  recordedAt: Date,
) => Promise<AlertDelivery>;

function byHour(alerts: readonly SpotAlert[]): Map<string, SpotAlert[]> {
  const hours = new Map<string, SpotAlert[]>();
  for (const alert of alerts) {
    const iso = alert.hour.toISOString();
    hours.set(iso, [...(hours.get(iso) ?? []), alert]);
  }
  return hours;
}

export function createAlertReporter({
  notifier,
  ledger,
  logger,
  config,
}: AlertReporterDeps): AlertReporter {
  return async (alerts, recordedAt) => {
    let posted = 0;
    let failed = 0;
    let requests = 0;
    for (const [iso, hourAlerts] of byHour(alerts)) {
      for (const alert of hourAlerts) {
        logger.notice('Spot spend alert', {
          alertKey: alert.key,
          scope: alert.scope,
          reasons: alert.reasons,
          spend: alert.spend,
          limit: alert.limit,
          trailingAverage: alert.trailingAverage,
          currency: alert.currency,
        });
      }
      const post = await postBestEffort(
        notifier,
        logger,
        alertMessage(new Date(iso), hourAlerts, config.viewUrl),
        {
          message: 'Could not post the Spot spend alert; a later run retries it',
          context: { hour: iso },
        },
      );
      if (!post.sent) {
        failed++;
        continue;
      }
      // Without Slack configured the notifier only logs the message.
      if (notifier.enabled) posted++;
      const ts = post.posted?.ts;
      const channel = notifier.enabled ? config.slackChannel : undefined;
      const recorded = await ledger.recordAlerts(
        new Date(iso),
        hourAlerts,
        { channel, ts },
        recordedAt,
      );
      requests += recorded.requests;
    }
    return { posted, failed, requests };
  };
}
