-- The cost ledger as users read it: one row per VM and hour, the latest recorded version of each
-- row_key, so that re-runs and late-data corrections never count an hour twice. Filter on
-- usage_hour (the partition column; the date range dimension in Looker Studio). usage_hour is
-- part of the window's key (a row_key has one hour) so that BigQuery prunes partitions through
-- the view.
CREATE OR REPLACE VIEW `${dataset}.spot_cost_hours` AS
SELECT * EXCEPT(version_rank)
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (
      PARTITION BY usage_hour, row_key
      ORDER BY recorded_at DESC, uptime_seconds DESC
    ) AS version_rank
  FROM `${dataset}.spot_costs`
)
WHERE version_rank = 1;
