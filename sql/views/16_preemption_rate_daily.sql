-- How often Spot VMs are preempted where: per day, region, zone and machine family, the
-- preemptions and the Spot (and legacy preemptible) VM-hours the recorder wrote to the ledger,
-- and preemptions per 100 of those hours (NULL where no hour was recorded), with the run time
-- the preemptions cut short and its cost.
CREATE OR REPLACE VIEW `${dataset}.preemption_rate_daily` AS
WITH spot_hours AS (
  SELECT
    DATE(usage_hour) AS day,
    region,
    zone,
    SUBSTR(machine_type, 1, STRPOS(machine_type, '-') - 1) AS machine_family,
    SUM(uptime_seconds) / 3600 AS spot_vm_hours
  FROM `${dataset}.spot_cost_hours`
  WHERE provisioning_model IN ('SPOT', 'PREEMPTIBLE') AND machine_type IS NOT NULL
  GROUP BY 1, 2, 3, 4
),
preempted AS (
  SELECT
    DATE(preempted_at) AS day,
    region,
    zone,
    IFNULL(SUBSTR(machine_type, 1, STRPOS(machine_type, '-') - 1), 'unknown') AS machine_family,
    COUNT(*) AS preemptions,
    SUM(lost_seconds) / 3600 AS lost_hours,
    SUM(lost_cost) AS lost_cost,
    MAX(currency) AS currency
  FROM `${dataset}.preemption_events`
  GROUP BY 1, 2, 3, 4
)
SELECT
  COALESCE(h.day, p.day) AS day,
  COALESCE(h.region, p.region) AS region,
  COALESCE(h.zone, p.zone) AS zone,
  COALESCE(h.machine_family, p.machine_family) AS machine_family,
  IFNULL(h.spot_vm_hours, 0) AS spot_vm_hours,
  IFNULL(p.preemptions, 0) AS preemptions,
  ROUND(SAFE_DIVIDE(100 * IFNULL(p.preemptions, 0), h.spot_vm_hours), 4) AS preemptions_per_100_vm_hours,
  IF(p.day IS NULL, 0, p.lost_hours) AS lost_hours,
  p.lost_cost,
  p.currency
FROM spot_hours AS h
FULL OUTER JOIN preempted AS p
  ON p.day = h.day AND p.zone = h.zone AND p.machine_family = h.machine_family;
