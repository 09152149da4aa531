-- One row per VM per label check run (enforceLabels sweeps and enforceLabelsOnCreate inserts).
-- Of several rows for one key (a re-run, or the first and the last audit entry of one insert),
-- the one that carried out an action wins, then the newest. A re-run of a check can land on a
-- later day than the first attempt, so the ranking spans the whole table: a date filter on
-- checked_at is applied after it and does not prune partitions (label_compliance_share_daily
-- is the date-pruned view for reports).
CREATE OR REPLACE VIEW `${dataset}.label_compliance_checks` AS
SELECT * EXCEPT(rank_in_key)
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (
      PARTITION BY row_key
      ORDER BY
        CASE WHEN action_status = 'done' AND action NOT IN ('none', 'report') THEN 1 ELSE 0 END DESC,
        recorded_at DESC
    ) AS rank_in_key
  FROM `${dataset}.label_compliance`
)
WHERE rank_in_key = 1;
