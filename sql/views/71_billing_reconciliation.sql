-- The recorder's estimate against the bill: per project and day, the VM cost costguard recorded
-- (spot_cost_hours) next to what the Cloud Billing export (billing_export) charged for Compute
-- Engine vCPU, memory and GPU SKUs, at list price (cost_at_list; cost where the export has none)
-- and as charged (cost, after negotiated pricing), before credits. Credits are shown apart, by
-- type: sustained use, committed use (resource and dollar based), free tier, promotion and the
-- rest. Commitment fees are counted apart (commitment_fees); licence fees, disks, IPs and network
-- are not VM rates and are left out; f1-micro and g1-small bill as whole-VM SKUs, counted with
-- the cores. billed_list_cost_non_default_model is the list cost of VM lines billed under a
-- consumption model other than Default (e.g. a flexible CUD). error_percent is
-- (estimated - billed at list) / billed at list in percent, per row. unpriced_vm_hours, recorded
-- hours with no price, are counted and shown as a share of the recorded hours. The export has no
-- latency guarantee, so only days at least two days old (UTC) are shown. Both sides are grouped
-- on their usage day, so a date range on usage_date filters usage_hour and usage_start_time.
-- recorded_vm_hours is 0 for a project the recorder does not govern.
CREATE OR REPLACE VIEW `${dataset}.billing_reconciliation` AS
WITH billed_lines AS (
  SELECT
    DATE(usage_start_time) AS usage_date,
    project_id,
    currency,
    CASE
      WHEN STARTS_WITH(sku_description, 'Licensing Fee') THEN NULL
      WHEN STARTS_WITH(sku_description, 'Commitment') THEN NULL
      WHEN REGEXP_CONTAINS(sku_description, '\\bGPU\\b') THEN 'gpu'
      WHEN REGEXP_CONTAINS(sku_description, '\\bCore\\b') THEN 'core'
      WHEN REGEXP_CONTAINS(sku_description, '\\bRam\\b') THEN 'ram'
      WHEN REGEXP_CONTAINS(sku_description, '^(Micro|Small) Instance with') THEN 'core'
    END AS resource,
    STARTS_WITH(sku_description, 'Commitment') AS commitment_fee,
    IFNULL(consumption_model_description, 'Default') <> 'Default' AS non_default_model,
    CAST(cost AS NUMERIC) AS cost,
    CAST(IFNULL(cost_at_list, cost) AS NUMERIC) AS list_cost,
    CAST(credits AS NUMERIC) AS credits,
    CAST(sud_credits AS NUMERIC) AS sud_credits,
    CAST(cud_credits AS NUMERIC) AS cud_credits,
    CAST(free_tier_credits AS NUMERIC) AS free_tier_credits,
    CAST(promotion_credits AS NUMERIC) AS promotion_credits
  FROM `${dataset}.billing_export`
  -- 6F81-5844-456A is the Compute Engine service.
  WHERE service_id = '6F81-5844-456A'
    AND cost_type = 'regular'
    AND DATE(usage_start_time) <= DATE_SUB(CURRENT_DATE(), INTERVAL 2 DAY)
),
both_sides AS (
  SELECT
    DATE(usage_hour) AS usage_date,
    project_id,
    currency,
    cost AS estimated_cost,
    uptime_seconds,
    CASE WHEN cost IS NULL THEN uptime_seconds ELSE 0 END AS unpriced_seconds,
    CAST(NULL AS NUMERIC) AS core_cost,
    CAST(NULL AS NUMERIC) AS ram_cost,
    CAST(NULL AS NUMERIC) AS gpu_cost,
    CAST(NULL AS NUMERIC) AS list_cost,
    CAST(NULL AS NUMERIC) AS non_default_model_list_cost,
    CAST(NULL AS NUMERIC) AS commitment_fees,
    CAST(NULL AS NUMERIC) AS credits,
    CAST(NULL AS NUMERIC) AS sud_credits,
    CAST(NULL AS NUMERIC) AS cud_credits,
    CAST(NULL AS NUMERIC) AS free_tier_credits,
    CAST(NULL AS NUMERIC) AS promotion_credits
  FROM `${dataset}.spot_cost_hours`
  WHERE DATE(usage_hour) <= DATE_SUB(CURRENT_DATE(), INTERVAL 2 DAY)
  UNION ALL
  SELECT
    usage_date,
    project_id,
    currency,
    CAST(NULL AS NUMERIC) AS estimated_cost,
    CAST(0 AS FLOAT64) AS uptime_seconds,
    CAST(0 AS FLOAT64) AS unpriced_seconds,
    CASE WHEN resource = 'core' THEN cost END AS core_cost,
    CASE WHEN resource = 'ram' THEN cost END AS ram_cost,
    CASE WHEN resource = 'gpu' THEN cost END AS gpu_cost,
    CASE WHEN resource IS NOT NULL THEN list_cost END AS list_cost,
    CASE WHEN resource IS NOT NULL AND non_default_model THEN list_cost END
      AS non_default_model_list_cost,
    CASE WHEN commitment_fee THEN cost END AS commitment_fees,
    CASE WHEN resource IS NOT NULL THEN credits END AS credits,
    CASE WHEN resource IS NOT NULL THEN sud_credits END AS sud_credits,
    CASE WHEN resource IS NOT NULL THEN cud_credits END AS cud_credits,
    CASE WHEN resource IS NOT NULL THEN free_tier_credits END AS free_tier_credits,
    CASE WHEN resource IS NOT NULL THEN promotion_credits END AS promotion_credits
  FROM billed_lines
  WHERE resource IS NOT NULL OR commitment_fee
),
per_day AS (
  SELECT
    usage_date,
    project_id,
    currency,
    SUM(uptime_seconds) / 3600 AS recorded_vm_hours,
    SUM(unpriced_seconds) / 3600 AS unpriced_vm_hours,
    IFNULL(SUM(estimated_cost), 0) AS estimated_cost,
    IFNULL(SUM(core_cost), 0) AS billed_core_cost,
    IFNULL(SUM(ram_cost), 0) AS billed_ram_cost,
    IFNULL(SUM(gpu_cost), 0) AS billed_gpu_cost,
    IFNULL(SUM(core_cost), 0) + IFNULL(SUM(ram_cost), 0) + IFNULL(SUM(gpu_cost), 0) AS billed_cost,
    IFNULL(SUM(list_cost), 0) AS billed_list_cost,
    IFNULL(SUM(non_default_model_list_cost), 0) AS billed_list_cost_non_default_model,
    IFNULL(SUM(commitment_fees), 0) AS commitment_fees,
    IFNULL(SUM(credits), 0) AS billed_credits,
    IFNULL(SUM(sud_credits), 0) AS sud_credits,
    IFNULL(SUM(cud_credits), 0) AS cud_credits,
    IFNULL(SUM(free_tier_credits), 0) AS free_tier_credits,
    IFNULL(SUM(promotion_credits), 0) AS promotion_credits
  FROM both_sides
  GROUP BY 1, 2, 3
)
SELECT
  usage_date,
  project_id,
  currency,
  recorded_vm_hours,
  unpriced_vm_hours,
  ROUND(100 * SAFE_DIVIDE(unpriced_vm_hours, recorded_vm_hours), 2) AS unpriced_share_percent,
  estimated_cost,
  billed_core_cost,
  billed_ram_cost,
  billed_gpu_cost,
  billed_cost,
  billed_list_cost,
  billed_list_cost - billed_cost AS negotiated_discount,
  billed_list_cost_non_default_model,
  commitment_fees,
  billed_credits,
  sud_credits,
  cud_credits,
  free_tier_credits,
  promotion_credits,
  billed_credits - sud_credits - cud_credits - free_tier_credits - promotion_credits
    AS other_credits,
  billed_cost + billed_credits AS billed_net_cost,
  estimated_cost - billed_list_cost AS difference,
  ROUND(
    100 * SAFE_DIVIDE(
      CAST(estimated_cost - billed_list_cost AS FLOAT64),
      CAST(billed_list_cost AS FLOAT64)
    ),
    2
  ) AS error_percent
FROM per_day;
