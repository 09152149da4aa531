-- Runs of pipelines with several candidate VMs, and the run time of resumed runs: placement is
-- a JSON object of which candidate the start took and why (each candidate's recent preemption
-- rate, or why it could not be taken); earlier_attempts a JSON array of each earlier attempt's
-- start and preemption, so the cost estimate counts only the time the VM ran.
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS placement STRING;
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS earlier_attempts STRING;
