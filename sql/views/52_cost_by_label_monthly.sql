-- Monthly VM cost by team, app and cost_center (and project), with the same attribution rules as
-- cost_by_label_daily: no team label is '(unattributed)'. usage_month is the first day of the
-- month of usage_hour. BigQuery prunes partitions on a filter of the partition column itself,
-- not reliably on a month computed from it, so for long ledgers a report filtered by date reads
-- cost_by_label_daily (Year Month granularity) and this view serves whole-month summaries.
CREATE OR REPLACE VIEW `${dataset}.cost_by_label_monthly` AS
SELECT
  DATE_TRUNC(DATE(usage_hour), MONTH) AS usage_month,
  COALESCE(NULLIF(team, ''), '(unattributed)') AS team,
  COALESCE(NULLIF(app, ''), '(unattributed)') AS app,
  COALESCE(NULLIF(cost_center, ''), '(unattributed)') AS cost_center,
  project_id,
  currency,
  COUNT(DISTINCT instance_id) AS vms,
  COUNT(DISTINCT DATE(usage_hour)) AS days,
  SUM(uptime_seconds) / 3600 AS vm_hours,
  SUM(cost) AS cost,
  SUM(on_demand_cost) AS on_demand_cost,
  SUM(CASE WHEN cost IS NULL THEN uptime_seconds ELSE 0 END) / 3600 AS unpriced_vm_hours
FROM `${dataset}.spot_cost_hours`
GROUP BY 1, 2, 3, 4, 5, 6;
