-- What Spot saved, per day and team: the on-demand price of the same VM hours against what they
-- cost as Spot (or legacy preemptible) VMs. Only hours priced both ways are compared. A VM hour
-- without a team label is '(unattributed)'. savings_percent is per row; a total across rows is
-- SUM(savings) / SUM(on_demand_equivalent_cost), not an average of percentages. usage_date is the
-- day of the partition column usage_hour (a date range on it prunes partitions).
CREATE OR REPLACE VIEW `${dataset}.spot_savings_daily` AS
SELECT
  DATE(usage_hour) AS usage_date,
  COALESCE(NULLIF(team, ''), '(unattributed)') AS team,
  project_id,
  currency,
  COUNT(DISTINCT instance_id) AS spot_vms,
  SUM(uptime_seconds) / 3600 AS spot_vm_hours,
  SUM(cost) AS spot_cost,
  SUM(on_demand_cost) AS on_demand_equivalent_cost,
  SUM(on_demand_cost) - SUM(cost) AS savings,
  ROUND(
    100 * SAFE_DIVIDE(
      CAST(SUM(on_demand_cost) - SUM(cost) AS FLOAT64),
      CAST(SUM(on_demand_cost) AS FLOAT64)
    ),
    2
  ) AS savings_percent
FROM `${dataset}.spot_cost_hours`
WHERE provisioning_model IN ('SPOT', 'PREEMPTIBLE')
  AND cost IS NOT NULL
  AND on_demand_cost IS NOT NULL
GROUP BY 1, 2, 3, 4;
