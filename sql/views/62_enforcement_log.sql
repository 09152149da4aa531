-- Every enforcement decision about a VM, as it finally stands: enforcement_actions is
-- append-only and a retried decision (same trigger, period, tier and VM) shares its row_key, so
-- the latest row per key is the one kept. saving_per_hour is the hourly cost a STOPPED VM no
-- longer runs up; would_save_per_hour is the same for a dry-run WOULD_STOP. decision_date is the
-- day of recorded_at, the table's partition column; because a retry can land on a later day the
-- ranking spans the table, which holds one row per decision and stays small.
CREATE OR REPLACE VIEW `${dataset}.enforcement_log` AS
SELECT
  DATE(recorded_at) AS decision_date,
  recorded_at AS decided_at,
  DATE(cost_interval_start) AS period_start,
  -- 'budget' or 'cap'; for a cap, budget_id is the cap's name and budget_spend its spend.
  IFNULL(trigger_kind, 'budget') AS trigger_kind,
  budget_id,
  IFNULL(budget_display_name, budget_id) AS budget_name,
  CAST(tier AS FLOAT64) AS tier,
  spend_ratio,
  cost_amount AS budget_spend,
  budget_amount,
  budget_currency,
  project_id,
  zone,
  instance_name,
  IFNULL(machine_type, '(unknown)') AS machine_type,
  IFNULL(provisioning_model, '(unknown)') AS provisioning_model,
  priority,
  action,
  reason,
  dry_run,
  hourly_cost,
  CASE WHEN action = 'STOPPED' THEN IFNULL(hourly_cost, 0) ELSE 0 END AS saving_per_hour,
  CASE WHEN action = 'WOULD_STOP' THEN IFNULL(hourly_cost, 0) ELSE 0 END AS would_save_per_hour,
  price_currency AS currency
FROM (
  SELECT
    *,
    -- A STOPPING row (stop requested) or a PROPOSED one (listed for approval) gives way to
    -- what was recorded at the same moment.
    ROW_NUMBER() OVER (
      PARTITION BY row_key
      ORDER BY recorded_at DESC,
        CASE action WHEN 'STOPPING' THEN 1 WHEN 'PROPOSED' THEN 2 ELSE 0 END
    ) AS decision_rank
  FROM `${dataset}.enforcement_actions`
)
WHERE decision_rank = 1;
