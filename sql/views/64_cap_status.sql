-- Each Spot cap per day as its last enforceSpotCap run of the day saw it: spend so far in the
-- cap's period and its two parts (recorded by the ledger, estimated for the hours not yet
-- recorded), the forecast to the period's end and how it was made, the cap, the headroom, the
-- highest tier the spend had reached and the highest tier carried out in the period so far, and
-- the day's runs and stops. run_date is the day of run_at, the cap_runs partition column (Looker
-- Studio's date range dimension here). A run's row written twice (a retried insert) counts once.
CREATE OR REPLACE VIEW `${dataset}.cap_status` AS
WITH runs AS (
  SELECT * EXCEPT(copy_rank)
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY row_key ORDER BY run_at DESC, outcome) AS copy_rank
    FROM `${dataset}.cap_runs`
  )
  WHERE copy_rank = 1
),
ranked AS (
  SELECT
    *,
    DATE(run_at) AS run_date,
    MAX(CASE WHEN outcome IN ('ACTED', 'NOTIFIED', 'INCOMPLETE') THEN tier END) OVER (
      PARTITION BY cap_name, period_start
      ORDER BY run_at
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS tier_carried_out,
    ROW_NUMBER() OVER (PARTITION BY cap_name, DATE(run_at) ORDER BY run_at DESC, row_key DESC)
      AS day_rank
  FROM runs
),
daily AS (
  SELECT
    cap_name,
    DATE(run_at) AS run_date,
    COUNT(*) AS runs,
    SUM(stopped) AS vms_stopped
  FROM runs
  GROUP BY cap_name, run_date
)
SELECT
  r.run_date,
  r.cap_name,
  r.scope,
  r.period,
  DATE(r.period_start) AS period_start,
  r.period_end,
  r.run_at AS last_run_at,
  r.cap_amount,
  r.currency,
  r.recorded_spend,
  r.estimated_spend,
  r.spend,
  r.recorded_through,
  r.running_vms,
  r.forecast,
  r.forecast_method,
  r.headroom,
  r.spend_ratio,
  r.forecast_ratio,
  CAST(r.tier_reached AS FLOAT64) AS tier_reached,
  CAST(r.tier_carried_out AS FLOAT64) AS tier_carried_out,
  r.dry_run,
  d.runs,
  d.vms_stopped
FROM ranked AS r
JOIN daily AS d ON d.cap_name = r.cap_name AND d.run_date = r.run_date
WHERE r.day_rank = 1;
