CREATE TABLE IF NOT EXISTS `${dataset}.readings` (
  row_key STRING NOT NULL,
  reading_hour TIMESTAMP NOT NULL,
  project_id STRING,
  cost NUMERIC,
  tags ARRAY<STRING>,
  detail STRUCT<source STRING, attempts INT64>,
  labels JSON,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(reading_hour)
CLUSTER BY project_id
OPTIONS (description = 'Contract-test table');
