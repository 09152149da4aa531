-- Decisions taken from Slack (a VM restarted, a tier approved or skipped) name the Slack user who
-- took them; the enforcers' own decisions leave it empty.
ALTER TABLE `${dataset}.enforcement_actions` ADD COLUMN IF NOT EXISTS slack_user_id STRING;
