-- Runs that come back after a Spot preemption: each snapshot carries the attempt it belongs to
-- (1 for a run never resumed; NULL in rows written before resume existed) and, while the run
-- waits out its backoff (PREEMPTED_RETRYING), when its next attempt starts.
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS attempt INT64;
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS resume_at TIMESTAMP;
