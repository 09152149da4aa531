-- Label compliance over time: per day, project and team, the share of checked VMs and the share
-- of their recorded cost that is compliant. Each VM-day takes its last label check of the day
-- (compliant means compliant after what the check fixed; a dry run leaves the VM as found) and
-- the day's cost of that VM from spot_cost_hours. Exempt VMs are left out of both shares; cost of
-- VMs no check saw that day (outside the policy's projects or provisioning models) is
-- unchecked_cost. A VM-day's team is the checked label, else the recorded one, else
-- '(unattributed)'. Shares are per row; across rows use SUM(compliant_cost) /
-- SUM(compliant_cost + non_compliant_cost). usage_date comes from the partition columns of
-- both tables (checked_at, usage_hour), so a date range on it prunes partitions. The ledger is
-- priced in one currency (the billing account's); currency names it.
CREATE OR REPLACE VIEW `${dataset}.label_compliance_share_daily` AS
WITH last_check_of_day AS (
  SELECT * EXCEPT(rank_in_day)
  FROM (
    SELECT
      DATE(checked_at) AS usage_date,
      project_id,
      instance_id,
      team,
      compliant,
      exempt,
      ROW_NUMBER() OVER (
        PARTITION BY DATE(checked_at), project_id, instance_id
        ORDER BY checked_at DESC, recorded_at DESC
      ) AS rank_in_day
    FROM `${dataset}.label_compliance`
  )
  WHERE rank_in_day = 1
),
vm_days AS (
  SELECT
    usage_date,
    project_id,
    instance_id,
    LOGICAL_OR(checked) AS checked,
    LOGICAL_OR(compliant) AS compliant,
    LOGICAL_OR(exempt) AS exempt,
    COALESCE(MAX(NULLIF(checked_team, '')), MAX(NULLIF(recorded_team, '')), '(unattributed)') AS team,
    SUM(cost) AS cost,
    MAX(currency) AS currency
  FROM (
    SELECT
      usage_date,
      project_id,
      instance_id,
      TRUE AS checked,
      compliant,
      exempt,
      team AS checked_team,
      CAST(NULL AS STRING) AS recorded_team,
      CAST(NULL AS NUMERIC) AS cost,
      CAST(NULL AS STRING) AS currency
    FROM last_check_of_day
    UNION ALL
    SELECT
      DATE(usage_hour) AS usage_date,
      project_id,
      instance_id,
      FALSE AS checked,
      CAST(NULL AS BOOL) AS compliant,
      CAST(NULL AS BOOL) AS exempt,
      CAST(NULL AS STRING) AS checked_team,
      team AS recorded_team,
      cost,
      currency
    FROM `${dataset}.spot_cost_hours`
  )
  GROUP BY 1, 2, 3
)
SELECT
  usage_date,
  project_id,
  team,
  COUNTIF(checked) AS checked_vms,
  COUNTIF(checked AND exempt) AS exempt_vms,
  COUNTIF(checked AND compliant AND NOT exempt) AS compliant_vms,
  COUNTIF(checked AND NOT compliant AND NOT exempt) AS non_compliant_vms,
  ROUND(
    SAFE_DIVIDE(
      COUNTIF(checked AND compliant AND NOT exempt),
      COUNTIF(checked AND NOT exempt)
    ),
    4
  ) AS compliant_vm_share,
  IFNULL(SUM(cost), 0) AS cost,
  IFNULL(SUM(CASE WHEN checked AND compliant AND NOT exempt THEN cost END), 0) AS compliant_cost,
  IFNULL(SUM(CASE WHEN checked AND NOT compliant AND NOT exempt THEN cost END), 0)
    AS non_compliant_cost,
  IFNULL(SUM(CASE WHEN checked AND exempt THEN cost END), 0) AS exempt_cost,
  IFNULL(SUM(CASE WHEN NOT checked THEN cost END), 0) AS unchecked_cost,
  ROUND(
    CAST(
      SAFE_DIVIDE(
        IFNULL(SUM(CASE WHEN checked AND compliant AND NOT exempt THEN cost END), 0),
        SUM(CASE WHEN checked AND NOT exempt THEN cost END)
      ) AS FLOAT64
    ),
    4
  ) AS compliant_cost_share,
  MAX(currency) AS currency
FROM vm_days
GROUP BY 1, 2, 3;
