-- Ledgers created before Spot caps lack enforcement_actions.trigger_kind; this adds it (and
-- does nothing where 20_enforcement_actions.sql already created it).
ALTER TABLE `${dataset}.enforcement_actions` ADD COLUMN IF NOT EXISTS trigger_kind STRING;
