-- One row per VM per label check: every sweep of enforceLabels and every instance insert seen by
-- enforceLabelsOnCreate. A re-run of the same check writes rows with the same row_key; read the
-- table through label_compliance_checks, which keeps one row per key.
CREATE TABLE IF NOT EXISTS `${dataset}.label_compliance` (
  row_key STRING NOT NULL,
  run_id STRING NOT NULL,
  check_kind STRING NOT NULL,
  checked_at TIMESTAMP NOT NULL,
  project_id STRING NOT NULL,
  zone STRING NOT NULL,
  instance_name STRING NOT NULL,
  instance_id STRING NOT NULL,
  provisioning_model STRING NOT NULL,
  vm_status STRING,
  machine_type STRING,
  team STRING,
  compliant BOOL NOT NULL,
  compliant_before BOOL NOT NULL,
  exempt BOOL NOT NULL,
  missing_keys ARRAY<STRING>,
  invalid_keys ARRAY<STRING>,
  fixed_keys ARRAY<STRING>,
  action STRING NOT NULL,
  action_status STRING NOT NULL,
  action_reason STRING,
  stop_after DATE,
  dry_run BOOL NOT NULL,
  hourly_cost NUMERIC,
  currency STRING,
  price_source STRING NOT NULL,
  error STRING,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(checked_at)
CLUSTER BY project_id, team, compliant
OPTIONS (description = 'Label policy compliance: one row per VM per check');
