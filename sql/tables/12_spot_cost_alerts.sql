-- Every Spot-spend alert the cost recorder raised: one row per (usage hour, scope), where scope is
-- `overall` or `team:<team>`. The recorder reads it back so that an hour re-read by a later run
-- (the catch-up window) never alerts twice. `reasons` says which rules fired: `limit` (spend over
-- the configured hourly limit) and/or `spike` (over the multiple of the trailing 24 h average).
-- The daily preemption digest is recorded here too: key `DAY/preemptions`, usage_hour the day's
-- start, scope `preemptions`, reason `preemption-digest`, spend the day's lost cost, top_vms its
-- lines per team.
CREATE TABLE IF NOT EXISTS `${dataset}.spot_cost_alerts` (
  alert_key STRING NOT NULL,
  usage_hour TIMESTAMP NOT NULL,
  scope STRING NOT NULL,
  team STRING,
  reasons STRING NOT NULL,
  spend NUMERIC NOT NULL,
  hourly_limit NUMERIC,
  trailing_average NUMERIC,
  spike_multiple FLOAT64,
  currency STRING NOT NULL,
  top_vms JSON,
  slack_channel STRING,
  slack_ts STRING,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(usage_hour)
CLUSTER BY scope, alert_key
OPTIONS (description = 'costguard: hourly Spot spend alerts sent to Slack');
