-- Cost per pipeline run: the latest snapshot of every run (runs is append-only, one snapshot per
-- event) joined with the recorder's hours of the run's own VM (the project, zone and instance its
-- resource names) within the run's window, from its start to its end (its deadline while it
-- runs; between attempts the preempted VM is down and accrues nothing), counted once per hour through
-- spot_cost_hours. The VM's costguard-run label decides nothing: copying it onto another VM moves
-- no cost. An hour the window covers in part counts in proportion, window seconds over the
-- VM's uptime that hour (or over the windows' sum, when runs that follow each other on the VM
-- cover more than its uptime), so two runs sharing an hour never count it twice and the VM's
-- idle time outside every window is nobody's. recorded_cost is what those shares cost;
-- reported_cost is the run's own last cost figure (recorded hours plus an estimate of the time
-- not yet recorded, or only the estimate for a Cloud Run Job). requested_date is the day of the
-- partition column requested_at; a run's snapshots all carry the same requested_at, so ranking
-- them within it keeps a date filter prunable on runs (the recorded hours are read in full).
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
vm_windows AS (
  SELECT run_id, resource, started_at AS window_start, IFNULL(finished_at, deadline) AS window_end
  FROM latest_runs
  WHERE executor = 'vm' AND started_at IS NOT NULL
),
window_hours AS (
  SELECT
    w.run_id,
    h.row_key,
    h.usage_hour,
    h.instance_id,
    h.uptime_seconds,
    h.cost,
    h.on_demand_cost,
    h.currency,
    TIMESTAMP_DIFF(
      LEAST(w.window_end, TIMESTAMP_ADD(h.usage_hour, INTERVAL 1 HOUR)),
      GREATEST(w.window_start, h.usage_hour),
      MILLISECOND
    ) / 1000 AS window_seconds
  FROM vm_windows AS w
  JOIN `${dataset}.spot_cost_hours` AS h
    ON w.resource = CONCAT('vm:', h.project_id, '/', h.zone, '/', h.instance_name)
    AND TIMESTAMP_ADD(h.usage_hour, INTERVAL 1 HOUR) > w.window_start
    AND h.usage_hour < w.window_end
),
shares AS (
  SELECT
    *,
    window_seconds / GREATEST(
      uptime_seconds,
      SUM(window_seconds) OVER (PARTITION BY usage_hour, row_key)
    ) AS share
  FROM window_hours
  WHERE window_seconds > 0
),
recorded AS (
  SELECT
    run_id,
    MAX(currency) AS currency,
    COUNT(DISTINCT instance_id) AS vms,
    SUM(uptime_seconds * share) / 3600 AS vm_hours,
    SUM(CAST(cost * share AS NUMERIC)) AS cost,
    SUM(CAST(on_demand_cost * share AS NUMERIC)) AS on_demand_cost,
    MIN(usage_hour) AS first_hour,
    MAX(usage_hour) AS last_hour
  FROM shares
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
