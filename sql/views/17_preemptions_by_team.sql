-- Preemptions per day and team (the VM's team label; NULL for unlabelled VMs): how many, of how
-- many VMs and runs, the run time they cut short and what it cost. The daily Slack digest line
-- per team reads the same figures.
CREATE OR REPLACE VIEW `${dataset}.preemptions_by_team` AS
SELECT
  DATE(preempted_at) AS day,
  team,
  COUNT(*) AS preemptions,
  COUNT(DISTINCT CONCAT(project_id, '/', instance_id)) AS vms,
  COUNT(DISTINCT run_id) AS runs,
  SUM(lost_seconds) / 3600 AS lost_hours,
  SUM(lost_cost) AS lost_cost,
  MAX(currency) AS currency
FROM `${dataset}.preemption_events`
GROUP BY 1, 2;
