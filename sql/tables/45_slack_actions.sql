-- One row per click on a costguard Slack message that reached slackActions with a valid
-- signature: who (Slack user id and name), on which message, which action and what it acted on
-- (a budget's or Spot cap's tier, a VM, a run), what came of it (DONE, PARTIAL, NOTHING_TO_DO,
-- REFUSED for someone not allowed to act, FAILED) and, for Snooze, Restart and Exempt, until
-- when it holds. row_key is the click's identity (channel, message, action and Slack's click
-- time), so a click delivered twice is one row and acts once. The enforcers read the holds:
-- a snoozed or restarted tier records SNOOZED decisions instead of stopping VMs until hold_until.
CREATE TABLE IF NOT EXISTS `${dataset}.slack_actions` (
  row_key STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL,
  action STRING NOT NULL,
  outcome STRING NOT NULL,
  detail STRING NOT NULL,
  slack_user_id STRING NOT NULL,
  slack_user_name STRING,
  slack_team_id STRING,
  slack_channel STRING NOT NULL,
  slack_ts STRING NOT NULL,
  action_ts STRING NOT NULL,
  trigger_kind STRING,
  trigger_id STRING,
  period_start TIMESTAMP,
  tier NUMERIC,
  project_id STRING,
  zone STRING,
  instance_name STRING,
  run_id STRING,
  vms_acted INT64 NOT NULL,
  hold_until TIMESTAMP
)
PARTITION BY DATE(recorded_at)
CLUSTER BY trigger_id, action
OPTIONS (description = 'costguard: actions taken from Slack messages, who took them and when');
