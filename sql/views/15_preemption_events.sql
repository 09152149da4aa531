-- Every Spot preemption once: the first row of each preemption_key (the event's, or the
-- backstop's where the event was missed; a retried insert or a second writer adds a copy that
-- is dropped here). The other preemption views read this one.
CREATE OR REPLACE VIEW `${dataset}.preemption_events` AS
SELECT * EXCEPT(key_rank)
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (PARTITION BY preemption_key ORDER BY recorded_at, seen_by) AS key_rank
  FROM `${dataset}.preemptions`
)
WHERE key_rank = 1;
