-- How far a Spot cap's estimate of an hour not yet recorded was from what the recorder then
-- recorded for it, per cap and hour: the last estimate of the hour made when the run's window
-- covered the whole hour (so both figures are for the same 3600 seconds), against the latest
-- recorded figure. drift = recorded − estimated (positive: the estimate was low); drift_ratio is
-- drift over recorded (to 6 places). Hours estimated only in part, or not recorded yet, are left out.
-- usage_date is the day of usage_hour, the cap_hours partition column (Looker Studio's date
-- range dimension here).
CREATE OR REPLACE VIEW `${dataset}.cap_drift` AS
WITH latest AS (
  SELECT
    cap_name,
    usage_hour,
    kind,
    cost,
    run_at,
    currency,
    ROW_NUMBER() OVER (
      PARTITION BY cap_name, usage_hour, kind
      ORDER BY run_at DESC, row_key DESC
    ) AS version_rank
  FROM `${dataset}.cap_hours`
  WHERE kind = 'recorded' OR covered_seconds = 3600
)
SELECT
  DATE(e.usage_hour) AS usage_date,
  e.cap_name,
  e.usage_hour,
  e.cost AS estimated_cost,
  r.cost AS recorded_cost,
  r.cost - e.cost AS drift,
  ROUND(SAFE_DIVIDE(CAST(r.cost - e.cost AS FLOAT64), CAST(r.cost AS FLOAT64)), 6) AS drift_ratio,
  e.run_at AS estimated_at,
  r.run_at AS recorded_seen_at,
  e.currency
FROM latest AS e
JOIN latest AS r
  ON r.cap_name = e.cap_name AND r.usage_hour = e.usage_hour AND r.kind = 'recorded'
WHERE e.kind = 'estimated' AND e.version_rank = 1 AND r.version_rank = 1;
