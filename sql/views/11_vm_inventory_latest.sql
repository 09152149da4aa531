-- The last known attributes of every VM the cost recorder has seen, including VMs that no
-- longer exist.
CREATE OR REPLACE VIEW `${dataset}.vm_inventory_latest` AS
SELECT * EXCEPT(snapshot_rank)
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (
      PARTITION BY project_id, instance_id
      ORDER BY recorded_at DESC, snapshot_key DESC
    ) AS snapshot_rank
  FROM `${dataset}.vm_inventory`
)
WHERE snapshot_rank = 1;
