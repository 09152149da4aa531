-- Label compliance per day, project and team, each VM counted once with its last check of the
-- day (as label_compliance_checks reports it). A dry-run check changes nothing, so its
-- compliance is the VM's as found. Exempt VMs are counted but left out of compliance_ratio.
-- A VM without a team label is counted under '(unattributed)'.
CREATE OR REPLACE VIEW `${dataset}.label_compliance_daily` AS
WITH last_of_day AS (
  SELECT * EXCEPT(rank_in_day)
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (
        PARTITION BY DATE(checked_at), project_id, instance_id
        ORDER BY checked_at DESC, recorded_at DESC
      ) AS rank_in_day
    FROM `${dataset}.label_compliance_checks`
  )
  WHERE rank_in_day = 1
)
SELECT
  DATE(checked_at) AS day,
  project_id,
  COALESCE(NULLIF(team, ''), '(unattributed)') AS team,
  COUNT(*) AS vms,
  COUNTIF(exempt) AS exempt_vms,
  COUNTIF(compliant AND NOT exempt) AS compliant_vms,
  COUNTIF(NOT compliant AND NOT exempt) AS non_compliant_vms,
  SAFE_DIVIDE(COUNTIF(compliant AND NOT exempt), COUNTIF(NOT exempt)) AS compliance_ratio,
  COUNTIF(stop_after IS NOT NULL AND NOT compliant) AS marked_vms,
  COUNTIF(action = 'stop' AND action_status = 'done') AS stopped_vms,
  SUM(CASE WHEN NOT compliant AND NOT exempt THEN hourly_cost ELSE 0 END) AS non_compliant_hourly_cost
FROM last_of_day
GROUP BY 1, 2, 3;
