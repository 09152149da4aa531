-- One row per enforcement decision about one VM: stopped, would stop (dry run), spared
-- (exempt, MIG-managed, over the tier's cap) or failed; before stops are requested, a STOPPING
-- row records the intent. Append-only; a VM decided again for the same trigger, period and tier
-- (a retry) gets the same row_key, and readers keep the latest row, the outcome before the
-- intent when both carry the same time (sql/views/62_enforcement_log.sql).
--
-- trigger_kind says what shed: 'budget' (a budget notification; NULL on rows written before
-- Spot caps existed) or 'cap' (a Spot cap run: budget_id holds the cap's name, cost_amount and
-- budget_amount its spend and amount, message_id the run, billing_account_id is empty).
CREATE TABLE IF NOT EXISTS `${dataset}.enforcement_actions` (
  row_key STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL,
  trigger_kind STRING,
  message_id STRING NOT NULL,
  billing_account_id STRING NOT NULL,
  budget_id STRING NOT NULL,
  budget_display_name STRING,
  cost_interval_start TIMESTAMP NOT NULL,
  tier NUMERIC NOT NULL,
  spend_ratio FLOAT64 NOT NULL,
  cost_amount NUMERIC NOT NULL,
  budget_amount NUMERIC NOT NULL,
  budget_currency STRING NOT NULL,
  project_id STRING NOT NULL,
  zone STRING NOT NULL,
  instance_name STRING NOT NULL,
  instance_id STRING,
  machine_type STRING,
  provisioning_model STRING,
  priority STRING NOT NULL,
  action STRING NOT NULL,
  reason STRING NOT NULL,
  hourly_cost NUMERIC,
  price_currency STRING,
  price_source STRING NOT NULL,
  dry_run BOOL NOT NULL,
  request_id STRING
)
PARTITION BY DATE(recorded_at)
CLUSTER BY budget_id, cost_interval_start, project_id
OPTIONS (description = 'costguard: every enforcement decision (budget or Spot cap) about a VM');
