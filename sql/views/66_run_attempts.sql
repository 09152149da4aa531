-- Per pipeline run: how many attempts it took, how many preemptions interrupted it, the run time
-- they cut short and its cost, and the run's total cost over every attempt (run_costs: its VM's
-- hours recorded within the run's window, whichever attempt they belong to, and the run's own
-- last figure). A run never preempted has one attempt and no lost time.
CREATE OR REPLACE VIEW `${dataset}.run_attempts` AS
WITH attempts AS (
  SELECT run_id, MAX(IFNULL(attempt, 1)) AS attempts
  FROM `${dataset}.runs`
  GROUP BY run_id
),
preempted AS (
  SELECT
    run_id,
    COUNT(*) AS preemptions,
    SUM(lost_seconds) / 3600 AS lost_hours,
    SUM(lost_cost) AS lost_cost
  FROM `${dataset}.preemption_events`
  WHERE run_id IS NOT NULL
  GROUP BY run_id
)
SELECT
  c.requested_date,
  c.run_id,
  c.pipeline,
  c.executor,
  c.status,
  c.started_at,
  c.finished_at,
  a.attempts,
  IFNULL(p.preemptions, 0) AS preemptions,
  IFNULL(p.lost_hours, 0) AS lost_hours,
  p.lost_cost,
  c.recorded_cost,
  c.reported_cost,
  COALESCE(c.reported_cost, c.recorded_cost) AS total_cost,
  c.currency
FROM `${dataset}.run_costs` AS c
JOIN attempts AS a ON a.run_id = c.run_id
LEFT JOIN preempted AS p ON p.run_id = c.run_id;
