-- The hours behind a Spot cap's spend, for cap_drift: what a cap run estimated for an hour the
-- ledger had not recorded yet (kind 'estimated', with the seconds of the hour the estimate
-- covered), and what the ledger held for that hour once recorded (kind 'recorded'), both in the
-- cap's scope and currency. Append-only; each run writes its own rows (row_key names the run),
-- and cap_drift keeps the last whole-hour estimate and the latest recorded figure of each hour.
CREATE TABLE IF NOT EXISTS `${dataset}.cap_hours` (
  row_key STRING NOT NULL,
  run_id STRING NOT NULL,
  run_at TIMESTAMP NOT NULL,
  cap_name STRING NOT NULL,
  usage_hour TIMESTAMP NOT NULL,
  kind STRING NOT NULL,
  cost NUMERIC NOT NULL,
  covered_seconds INT64 NOT NULL,
  currency STRING NOT NULL
)
PARTITION BY DATE(usage_hour)
CLUSTER BY cap_name, kind
OPTIONS (description = 'costguard: Spot cap hours, estimated before the recorder closed them and recorded after');
