-- Batch pipeline runs started by triggerRun. Append-only: every event (requested, started,
-- observed, cancelled, ...) adds a complete snapshot of the run; readers take the latest per
-- run_id (highest status rank, then event_seq, then recorded_at). Rows are keyed
-- run_id/event/status, so a retried write is de-duplicated and a re-read changes nothing.
CREATE TABLE IF NOT EXISTS `${dataset}.runs` (
  run_id STRING NOT NULL,
  event STRING NOT NULL,
  event_seq INT64 NOT NULL,
  status STRING NOT NULL,
  pipeline STRING NOT NULL,
  executor STRING NOT NULL,
  target STRING NOT NULL,
  -- JSON object of the environment overrides the request set (Cloud Run Jobs only).
  params STRING,
  -- Who asked: the email of the caller's verified identity token, or "anonymous".
  caller STRING NOT NULL,
  idempotency_key_sha256 STRING,
  request_sha256 STRING NOT NULL,
  -- vm:PROJECT/ZONE/INSTANCE or job:projects/P/locations/R/jobs/J
  resource STRING NOT NULL,
  requested_at TIMESTAMP NOT NULL,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  deadline TIMESTAMP NOT NULL,
  execution STRING,
  results_prefix STRING,
  logs_uri STRING,
  exit_marker STRING,
  detail STRING,
  cost NUMERIC,
  currency STRING,
  cost_source STRING,
  slack_channel STRING,
  slack_ts STRING,
  -- The run's own source, gs://BUCKET/src/NAME.tar.gz#GENERATION (NULL: the pipeline's).
  source STRING,
  -- JSON object of the batch VM's phase timings in seconds (fetch, apt, pip, make, upload, total).
  phases STRING,
  recorded_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(requested_at)
CLUSTER BY pipeline, resource, run_id
OPTIONS (description = 'Batch pipeline runs: one complete snapshot per event, read the latest per run_id');
