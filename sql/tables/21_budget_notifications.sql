-- One row per budget notification handled and what was decided about it: acted on a tier,
-- notified, incomplete (retried), already acted, below every tier, forecast warning, or out of
-- order. It is the enforcer's durable state: the highest spend seen in a period and the tiers
-- already carried out are read back from it, so reads aggregate and a repeated row changes nothing.
CREATE TABLE IF NOT EXISTS `${dataset}.budget_notifications` (
  row_key STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL,
  message_id STRING NOT NULL,
  publish_time TIMESTAMP,
  billing_account_id STRING NOT NULL,
  budget_id STRING NOT NULL,
  budget_display_name STRING,
  cost_interval_start TIMESTAMP NOT NULL,
  cost_amount NUMERIC NOT NULL,
  budget_amount NUMERIC NOT NULL,
  budget_amount_type STRING,
  currency STRING NOT NULL,
  spend_ratio FLOAT64 NOT NULL,
  alert_threshold FLOAT64,
  forecast_threshold FLOAT64,
  tier NUMERIC,
  outcome STRING NOT NULL,
  reason STRING NOT NULL,
  dry_run BOOL NOT NULL,
  stopped INT64 NOT NULL,
  failed INT64 NOT NULL,
  spared INT64 NOT NULL,
  saving_per_hour NUMERIC,
  price_currency STRING,
  slack_channel STRING,
  slack_ts STRING
)
PARTITION BY DATE(cost_interval_start)
CLUSTER BY budget_id, outcome
OPTIONS (description = 'costguard: budget notifications handled and the decision about each');
