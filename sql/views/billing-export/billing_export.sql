-- Points the billing_export view at the Cloud Billing export table, given as
-- ${billing_export_table} = PROJECT.DATASET.gcp_billing_export_v1_ACCOUNT (the standard export;
-- the detailed gcp_billing_export_resource_v1_ACCOUNT has the same columns and more). It is not
-- part of the migration: it runs once the export's name is known, and the migration then leaves
-- it in place. Columns as sql/views/70_billing_export.sql declares them; credits (negative) are
-- summed per line. The export dataset must be in the ledger dataset's location.
CREATE OR REPLACE VIEW `${dataset}.billing_export` AS
SELECT
  usage_start_time,
  usage_end_time,
  project.id AS project_id,
  service.id AS service_id,
  service.description AS service_description,
  sku.id AS sku_id,
  sku.description AS sku_description,
  location.region AS region,
  cost_type,
  cost,
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS credits,
  currency
FROM `${billing_export_table}`;
