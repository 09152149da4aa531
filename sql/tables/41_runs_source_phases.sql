-- Ledgers created before per-run sources and phase timings lack runs.source and runs.phases;
-- this adds them (and does nothing where 40_runs.sql already created them).
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS source STRING;
ALTER TABLE `${dataset}.runs` ADD COLUMN IF NOT EXISTS phases STRING;
