-- Points the billing_export view at the Cloud Billing export table, given as
-- ${billing_export_table} = PROJECT.DATASET.gcp_billing_export_v1_ACCOUNT (the standard export;
-- the detailed gcp_billing_export_resource_v1_ACCOUNT has the same columns and more). It is not
-- part of the migration: it runs once the export's name is known, and the migration then leaves
-- it in place. Columns as sql/views/70_billing_export.sql declares them; credits (negative) are
-- summed per line, and apart by type (other types are credits minus these). cost_at_list and
-- consumption_model are in the standard export's schema; the stand-in declares them too. The
-- export dataset must be in the ledger dataset's location.
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
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c
          WHERE c.type = 'SUSTAINED_USAGE_DISCOUNT'), 0) AS sud_credits,
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c
          WHERE c.type IN ('COMMITTED_USAGE_DISCOUNT', 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE')), 0)
    AS cud_credits,
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c WHERE c.type = 'FREE_TIER'), 0)
    AS free_tier_credits,
  IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c WHERE c.type = 'PROMOTION'), 0)
    AS promotion_credits,
  currency,
  cost_at_list,
  consumption_model.id AS consumption_model_id,
  consumption_model.description AS consumption_model_description
FROM `${billing_export_table}`;
