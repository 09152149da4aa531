-- Daily VM cost by the cost-attribution labels team, app and cost_center (and project), read
-- from spot_cost_hours so that re-recorded hours count once. A VM hour without a team label is
-- unattributed cost: its team is '(unattributed)', and so is a missing (or empty) app or
-- cost_center. usage_date is the day of the partition column usage_hour (a date range on it
-- prunes partitions). Money is in `currency`.
CREATE OR REPLACE VIEW `${dataset}.cost_by_label_daily` AS
SELECT
  DATE(usage_hour) AS usage_date,
  COALESCE(NULLIF(team, ''), '(unattributed)') AS team,
  COALESCE(NULLIF(app, ''), '(unattributed)') AS app,
  COALESCE(NULLIF(cost_center, ''), '(unattributed)') AS cost_center,
  project_id,
  currency,
  COUNT(DISTINCT instance_id) AS vms,
  SUM(uptime_seconds) / 3600 AS vm_hours,
  SUM(cost) AS cost,
  SUM(on_demand_cost) AS on_demand_cost,
  SUM(CASE WHEN cost IS NULL THEN uptime_seconds ELSE 0 END) / 3600 AS unpriced_vm_hours
FROM `${dataset}.spot_cost_hours`
GROUP BY 1, 2, 3, 4, 5, 6;
