-- One row per Spot preemption, from the compute.instances.preempted system event (recordPreemption)
-- or, where that was missed, from Compute's zone operation (the hourly recorder's backstop).
-- Append-only and keyed: preemption_key is project/zone/instance_id/operation id, the same for
-- the event and the operation of one preemption; readers keep the first row per key
-- (a retried insert carries the same insertId, and both writers look before they write).
-- lost_seconds and lost_cost: the run time cut short, since the run's last checkpoint or the VM's
-- last start, at the VM's hourly rate (NULL when that start or the price is unknown).
CREATE TABLE IF NOT EXISTS `${dataset}.preemptions` (
  preemption_key STRING NOT NULL,
  project_id STRING NOT NULL,
  zone STRING NOT NULL,
  region STRING NOT NULL,
  instance_name STRING NOT NULL,
  instance_id STRING NOT NULL,
  machine_type STRING,
  provisioning_model STRING,
  team STRING,
  app STRING,
  cost_center STRING,
  labels JSON,
  preempted_at TIMESTAMP NOT NULL,
  running_since TIMESTAMP,
  run_id STRING,
  attempt INT64,
  lost_since TIMESTAMP,
  lost_seconds FLOAT64,
  hourly_rate NUMERIC,
  lost_cost NUMERIC,
  currency STRING,
  price_source STRING NOT NULL,
  details_source STRING NOT NULL,
  operation_id STRING NOT NULL,
  seen_by STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(preempted_at)
CLUSTER BY project_id, zone, preemption_key
OPTIONS (description = 'costguard: Spot preemptions, keyed by preemption_key (first row per key counts)');
