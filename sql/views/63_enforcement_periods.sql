-- Enforcement per trigger (budget or Spot cap), period and tier: how many VMs each tier stopped
-- (or would have stopped in dry run), spared (exempt or critical, MIG-managed, over the tier's
-- cap) or failed to stop, and the hourly spend the stops took away. Built on enforcement_log, so
-- a retried decision counts once. One row per trigger, period start, tier and mode (dry run or
-- enforcing); a VM decided at two tiers counts at each. period_start is the period's first day
-- (Looker Studio's date range dimension here); the decisions of a period are few, so the view
-- reads them all.
CREATE OR REPLACE VIEW `${dataset}.enforcement_periods` AS
SELECT
  period_start,
  trigger_kind,
  budget_id,
  MAX(budget_name) AS budget_name,
  tier,
  dry_run,
  COUNT(*) AS decisions,
  COUNTIF(action = 'STOPPED') AS vms_stopped,
  COUNTIF(action = 'WOULD_STOP') AS vms_would_stop,
  COUNTIF(STARTS_WITH(action, 'SKIPPED_')) AS vms_spared,
  COUNTIF(action = 'FAILED') AS vms_failed,
  SUM(saving_per_hour) AS saving_per_hour,
  SUM(would_save_per_hour) AS would_save_per_hour,
  MAX(spend_ratio) AS highest_spend_ratio,
  MIN(decided_at) AS first_decided_at,
  MAX(decided_at) AS last_decided_at,
  MAX(currency) AS currency
FROM `${dataset}.enforcement_log`
GROUP BY period_start, trigger_kind, budget_id, tier, dry_run;
