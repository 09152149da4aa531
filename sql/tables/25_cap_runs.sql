-- One row per Spot cap per enforceSpotCap run: the cap's spend so far in its period, split into
-- what the ledger has recorded (spot_costs, through recorded_through) and the estimate of the
-- hours not yet recorded (each running VM in scope × its rate × the time since then, and each
-- VM that stopped since then for the time it ran up to its stop), the
-- forecast to the period's end and how it was made, the headroom, the tier the spend and the
-- forecast reached, and what the run decided (the shedding path's outcome: ACTED, NOTIFIED,
-- INCOMPLETE, ALREADY_ACTED, BELOW_TIERS, FORECAST_WARNING). It is the cap's durable state: the
-- tiers already carried out in a period are read back from it, so a tier acts once per period.
-- The VMs a tier stopped are in enforcement_actions (trigger_kind 'cap'). Read cap_status.
CREATE TABLE IF NOT EXISTS `${dataset}.cap_runs` (
  row_key STRING NOT NULL,
  run_id STRING NOT NULL,
  run_at TIMESTAMP NOT NULL,
  cap_name STRING NOT NULL,
  scope STRING NOT NULL,
  period STRING NOT NULL,
  period_start TIMESTAMP NOT NULL,
  period_end TIMESTAMP NOT NULL,
  cap_amount NUMERIC NOT NULL,
  currency STRING NOT NULL,
  recorded_spend NUMERIC NOT NULL,
  estimated_spend NUMERIC NOT NULL,
  spend NUMERIC NOT NULL,
  recorded_through TIMESTAMP NOT NULL,
  running_vms INT64 NOT NULL,
  fleet_rate NUMERIC NOT NULL,
  recent_rate NUMERIC,
  forecast NUMERIC NOT NULL,
  forecast_method STRING NOT NULL,
  headroom NUMERIC NOT NULL,
  spend_ratio FLOAT64 NOT NULL,
  forecast_ratio FLOAT64 NOT NULL,
  tier_reached NUMERIC,
  forecast_tier NUMERIC,
  outcome STRING NOT NULL,
  tier NUMERIC,
  reason STRING NOT NULL,
  dry_run BOOL NOT NULL,
  stopped INT64 NOT NULL,
  failed INT64 NOT NULL,
  spared INT64 NOT NULL,
  saving_per_hour NUMERIC,
  slack_channel STRING,
  slack_ts STRING
)
PARTITION BY DATE(run_at)
CLUSTER BY cap_name, period_start
OPTIONS (description = 'costguard: Spot cap runs: spend so far (recorded + estimated), forecast and decision');
