-- One row per VM and closed hour: the VM's uptime from Cloud Monitoring, priced from the Cloud
-- Billing Catalog (or the bundled price book), attributed by its labels. Append-only: a re-run
-- that finds more uptime (late Monitoring data) or a better price source appends a new version
-- under the same row_key (project/zone/instance_id/hour); readers use the spot_cost_hours view,
-- which keeps the latest version of each row_key.
--
-- Money is per `currency`. `cost` is what the hour cost at the VM's provisioning model (NULL when
-- the VM's attributes are unknown: deleted before it was ever seen); `on_demand_cost` is what the
-- same hour would have cost on demand. `vcpus` are billable vCPUs (0.25 for e2-micro).
-- `price_source`: catalog, price-book or unknown; catalog-standard-rate and
-- price-book-standard-rate for FLEX_START and RESERVATION_BOUND VMs priced at the on-demand rate.
-- `attributes_source`: compute (live inventory), inventory (the snapshot in force that hour) or
-- monitoring (machine type only).
CREATE TABLE IF NOT EXISTS `${dataset}.spot_costs` (
  row_key STRING NOT NULL,
  usage_hour TIMESTAMP NOT NULL,
  project_id STRING NOT NULL,
  region STRING,
  zone STRING NOT NULL,
  instance_id STRING NOT NULL,
  instance_name STRING,
  machine_type STRING,
  provisioning_model STRING,
  uptime_seconds FLOAT64 NOT NULL,
  vcpus FLOAT64,
  memory_gib FLOAT64,
  gpu_type STRING,
  gpu_count INT64,
  spot_rate NUMERIC,
  on_demand_rate NUMERIC,
  cost NUMERIC,
  on_demand_cost NUMERIC,
  currency STRING NOT NULL,
  team STRING,
  app STRING,
  cost_center STRING,
  priority STRING,
  costguard_run STRING,
  labels JSON,
  price_source STRING NOT NULL,
  attributes_source STRING NOT NULL,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(usage_hour)
CLUSTER BY project_id, team, provisioning_model, row_key
OPTIONS (description = 'costguard: VM uptime per hour, priced and attributed (read spot_cost_hours)');
