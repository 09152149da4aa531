-- The Cloud Billing export as the reconciliation reads it, one row per export line with its
-- credits summed. The migration creates it only when it does not exist, as an empty stand-in;
-- pointing it at the real export table (sql/views/billing-export/billing_export.sql, bound to
-- PROJECT.DATASET.gcp_billing_export_v1_ACCOUNT) replaces it, and later migrations keep that.
-- Google recommends reading the export through such a normalising view: its schema grows.
CREATE VIEW IF NOT EXISTS `${dataset}.billing_export` AS
SELECT
  CAST(NULL AS TIMESTAMP) AS usage_start_time,
  CAST(NULL AS TIMESTAMP) AS usage_end_time,
  CAST(NULL AS STRING) AS project_id,
  CAST(NULL AS STRING) AS service_id,
  CAST(NULL AS STRING) AS service_description,
  CAST(NULL AS STRING) AS sku_id,
  CAST(NULL AS STRING) AS sku_description,
  CAST(NULL AS STRING) AS region,
  CAST(NULL AS STRING) AS cost_type,
  CAST(NULL AS FLOAT64) AS cost,
  CAST(NULL AS FLOAT64) AS credits,
  CAST(NULL AS FLOAT64) AS sud_credits,
  CAST(NULL AS FLOAT64) AS cud_credits,
  CAST(NULL AS FLOAT64) AS free_tier_credits,
  CAST(NULL AS FLOAT64) AS promotion_credits,
  CAST(NULL AS STRING) AS currency,
  CAST(NULL AS FLOAT64) AS cost_at_list,
  CAST(NULL AS STRING) AS consumption_model_id,
  CAST(NULL AS STRING) AS consumption_model_description
LIMIT 0;
