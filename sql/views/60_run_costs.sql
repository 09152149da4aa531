-- Cost per pipeline run: the latest snapshot of every run (runs is append-only, one snapshot per
-- event) joined with the recorder's VM hours that carried the run's costguard-run label, counted
-- once per hour through spot_cost_hours. recorded_cost is what those hours cost; reported_cost is
-- the run's own last cost figure (recorded hours plus an estimate of the time not yet recorded,
-- or only the estimate for a Cloud Run Job). requested_date is the day of the partition column
-- requested_at; a run's snapshots all carry the same requested_at, so ranking them within it
-- keeps a date filter prunable on runs (the recorded hours are read in full).
CREATE OR REPLACE VIEW `${dataset}.run_costs` AS
WITH latest_runs AS (
  SELECT * EXCEPT(snapshot_rank)
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (
        PARTITION BY requested_at, run_id
        ORDER BY
          IFNULL(attempt, 1) DESC,
          CASE status WHEN 'STARTING' THEN 1 WHEN 'RUNNING' THEN 2 ELSE 3 END DESC,
          event_seq DESC,
          recorded_at DESC
      ) AS snapshot_rank
    FROM `${dataset}.runs`
  )
  WHERE snapshot_rank = 1
),
recorded AS (
  SELECT
    costguard_run AS run_id,
    MAX(currency) AS currency,
    COUNT(DISTINCT instance_id) AS vms,
    SUM(uptime_seconds) / 3600 AS vm_hours,
    SUM(cost) AS cost,
    SUM(on_demand_cost) AS on_demand_cost,
    MIN(usage_hour) AS first_hour,
    MAX(usage_hour) AS last_hour
  FROM `${dataset}.spot_cost_hours`
  WHERE costguard_run IS NOT NULL
  GROUP BY 1
)
SELECT
  DATE(r.requested_at) AS requested_date,
  r.run_id,
  r.pipeline,
  r.executor,
  r.target,
  r.status,
  r.resource,
  r.requested_at,
  r.started_at,
  r.finished_at,
  TIMESTAMP_DIFF(r.finished_at, r.started_at, SECOND) / 60 AS duration_minutes,
  IFNULL(c.vms, 0) AS recorded_vms,
  IFNULL(c.vm_hours, 0) AS recorded_vm_hours,
  c.first_hour AS first_recorded_hour,
  c.last_hour AS last_recorded_hour,
  c.cost AS recorded_cost,
  c.on_demand_cost AS recorded_on_demand_cost,
  r.cost AS reported_cost,
  r.cost_source AS reported_cost_source,
  COALESCE(c.currency, r.currency) AS currency
FROM latest_runs AS r
LEFT JOIN recorded AS c ON c.run_id = r.run_id;
