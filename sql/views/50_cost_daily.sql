-- Daily VM cost by project, region, zone, machine type and provisioning model, read from
-- spot_cost_hours (the latest recorded version of every VM hour, so re-recorded hours count
-- once). usage_date is the day of usage_hour, the ledger's partition column: a date range on it
-- reaches spot_costs as a usage_hour filter and BigQuery reads only those days' partitions.
-- vm_hours is uptime; cost sums the priced hours, and unpriced_vm_hours is the uptime that could
-- not be priced (machine type or provisioning model unknown). Money is in `currency`.
CREATE OR REPLACE VIEW `${dataset}.cost_daily` AS
SELECT
  DATE(usage_hour) AS usage_date,
  project_id,
  IFNULL(region, '(unknown)') AS region,
  zone,
  IFNULL(machine_type, '(unknown)') AS machine_type,
  provisioning_model,
  currency,
  COUNT(DISTINCT instance_id) AS vms,
  SUM(uptime_seconds) / 3600 AS vm_hours,
  SUM(cost) AS cost,
  SUM(on_demand_cost) AS on_demand_cost,
  SUM(CASE WHEN cost IS NULL THEN uptime_seconds ELSE 0 END) / 3600 AS unpriced_vm_hours
FROM `${dataset}.spot_cost_hours`
GROUP BY 1, 2, 3, 4, 5, 6, 7;
