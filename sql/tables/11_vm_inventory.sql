-- Snapshots of each VM's attributes (machine type, provisioning model, GPUs, labels), written
-- by the cost recorder when it first sees a VM and whenever they change. A Spot VM deleted on
-- preemption leaves Compute at once, but its uptime is still in Monitoring: its hours are priced
-- from its last snapshot (vm_inventory_latest). snapshot_key is project/instance_id/fingerprint.
CREATE TABLE IF NOT EXISTS `${dataset}.vm_inventory` (
  snapshot_key STRING NOT NULL,
  project_id STRING NOT NULL,
  zone STRING NOT NULL,
  region STRING NOT NULL,
  instance_id STRING NOT NULL,
  instance_name STRING NOT NULL,
  machine_type STRING NOT NULL,
  provisioning_model STRING NOT NULL,
  termination_action STRING,
  gpus JSON,
  labels JSON,
  fingerprint STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(recorded_at)
CLUSTER BY project_id, instance_id
OPTIONS (description = 'costguard: VM attribute snapshots (read vm_inventory_latest)');
