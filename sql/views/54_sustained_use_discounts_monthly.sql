-- Sustained use discounts (SUDs) estimated from the ledger, per month, project, region and
-- machine family (N1, N2, N2D, C2), so on-demand spend and Spot savings read net as well as at
-- list price. Google charges each increment of a month's usage at a share of the base rate:
-- N1 100 / 80 / 60 / 40 % over the first to last quarter of the month (30 % off a full month),
-- N2, N2D and C2 100 / 86.78 / 73.56 / 60.34 % (20 % off). Usage is combined into inferred
-- instances: in each hour the vCPUs running in the project, region and family are stacked, and
-- the k-th stacked vCPU's share of the month (hours with at least k vCPUs running, over the
-- month's hours) sets its tiers; sud_percent is the resulting discount on the month's cost so
-- far, applied to vCPU and memory alike. Spot hours get no SUD; spot_savings_net compares their
-- cost with what the same hours would have cost on demand after the SUD they would have earned.
-- An estimate: the bill combines a whole billing account's projects, and usage covered by
-- committed use discounts gets no SUD. The current month is estimated on its usage so far.
CREATE OR REPLACE VIEW `${dataset}.sustained_use_discounts_monthly` AS
WITH typed AS (
  SELECT
    *,
    UPPER(
      CASE
        WHEN STRPOS(machine_type, '-') > 0
          THEN SUBSTR(machine_type, 1, STRPOS(machine_type, '-') - 1)
      END
    ) AS machine_family
  FROM `${dataset}.spot_cost_hours`
),
hours AS (
  SELECT
    DATE_TRUNC(DATE(usage_hour), MONTH) AS usage_month,
    usage_hour,
    project_id,
    region,
    machine_family,
    provisioning_model = 'SPOT' AS spot,
    currency,
    uptime_seconds,
    vcpus * uptime_seconds / 3600 AS vcpu_hours,
    cost,
    on_demand_cost
  FROM typed
  WHERE machine_family IN ('N1', 'N2', 'N2D', 'C2')
    AND provisioning_model IN ('STANDARD', 'SPOT')
    AND on_demand_cost IS NOT NULL
),
stacked AS (
  -- vCPUs running in each hour, on demand and (as if on demand) on Spot apart.
  SELECT usage_month, project_id, region, machine_family, spot, currency, SUM(vcpu_hours) AS vcpus
  FROM hours
  GROUP BY usage_month, usage_hour, project_id, region, machine_family, spot, currency
),
slots AS (
  -- The k-th stacked vCPU's share of the month.
  SELECT
    usage_month,
    project_id,
    region,
    machine_family,
    spot,
    currency,
    k,
    SUM(LEAST(GREATEST(vcpus - (k - 1), 0), 1))
      / (DATE_DIFF(DATE_ADD(usage_month, INTERVAL 1 MONTH), usage_month, DAY) * 24) AS month_share
  FROM stacked, UNNEST(GENERATE_ARRAY(1, CAST(CEIL(vcpus) AS INT64))) AS k
  GROUP BY usage_month, project_id, region, machine_family, spot, currency, k
),
tiers AS (
  -- Share of the base rate charged in each quarter of the month.
  SELECT 'N1' AS machine_family, CAST(0.0 AS FLOAT64) AS tier_start, CAST(1.0 AS FLOAT64) AS rate
  UNION ALL SELECT 'N1', 0.25, 0.8
  UNION ALL SELECT 'N1', 0.5, 0.6
  UNION ALL SELECT 'N1', 0.75, 0.4
  UNION ALL SELECT 'N2', 0.0, 1.0
  UNION ALL SELECT 'N2', 0.25, 0.8678
  UNION ALL SELECT 'N2', 0.5, 0.7356
  UNION ALL SELECT 'N2', 0.75, 0.6034
  UNION ALL SELECT 'N2D', 0.0, 1.0
  UNION ALL SELECT 'N2D', 0.25, 0.8678
  UNION ALL SELECT 'N2D', 0.5, 0.7356
  UNION ALL SELECT 'N2D', 0.75, 0.6034
  UNION ALL SELECT 'C2', 0.0, 1.0
  UNION ALL SELECT 'C2', 0.25, 0.8678
  UNION ALL SELECT 'C2', 0.5, 0.7356
  UNION ALL SELECT 'C2', 0.75, 0.6034
),
charged AS (
  -- Share of the base rate charged: the tiered charge over the usage, summed over the slots.
  SELECT
    s.usage_month,
    s.project_id,
    s.region,
    s.machine_family,
    s.spot,
    s.currency,
    SUM(t.rate * GREATEST(LEAST(s.month_share - t.tier_start, 0.25), 0)) AS charged_share,
    SUM(CASE WHEN t.tier_start = 0 THEN s.month_share END) AS usage_share
  FROM slots AS s
  JOIN tiers AS t USING (machine_family)
  GROUP BY 1, 2, 3, 4, 5, 6
),
per_month AS (
  SELECT
    usage_month,
    project_id,
    region,
    machine_family,
    currency,
    SUM(CASE WHEN NOT spot THEN uptime_seconds ELSE 0 END) / 3600 AS on_demand_vm_hours,
    IFNULL(SUM(CASE WHEN NOT spot THEN on_demand_cost END), 0) AS on_demand_cost,
    SUM(CASE WHEN spot THEN uptime_seconds ELSE 0 END) / 3600 AS spot_vm_hours,
    IFNULL(SUM(CASE WHEN spot THEN cost END), 0) AS spot_cost,
    IFNULL(SUM(CASE WHEN spot THEN on_demand_cost END), 0) AS spot_on_demand_equivalent_cost
  FROM hours
  GROUP BY 1, 2, 3, 4, 5
),
discounts AS (
  SELECT
    p.*,
    IFNULL(1 - SAFE_DIVIDE(od.charged_share, od.usage_share), 0) AS on_demand_sud,
    IFNULL(1 - SAFE_DIVIDE(sp.charged_share, sp.usage_share), 0) AS spot_sud
  FROM per_month AS p
  LEFT JOIN charged AS od
    ON od.usage_month = p.usage_month AND od.project_id = p.project_id
    AND od.region = p.region AND od.machine_family = p.machine_family
    AND od.currency = p.currency AND NOT od.spot
  LEFT JOIN charged AS sp
    ON sp.usage_month = p.usage_month AND sp.project_id = p.project_id
    AND sp.region = p.region AND sp.machine_family = p.machine_family
    AND sp.currency = p.currency AND sp.spot
)
SELECT
  usage_month,
  project_id,
  region,
  machine_family,
  currency,
  on_demand_vm_hours,
  on_demand_cost,
  ROUND(100 * on_demand_sud, 2) AS sud_percent,
  -CAST(ROUND(CAST(on_demand_cost AS FLOAT64) * on_demand_sud, 6) AS NUMERIC) AS estimated_sud,
  on_demand_cost
    - CAST(ROUND(CAST(on_demand_cost AS FLOAT64) * on_demand_sud, 6) AS NUMERIC)
    AS on_demand_net_cost,
  spot_vm_hours,
  spot_cost,
  spot_on_demand_equivalent_cost,
  spot_on_demand_equivalent_cost - spot_cost AS spot_savings,
  spot_on_demand_equivalent_cost
    - CAST(ROUND(CAST(spot_on_demand_equivalent_cost AS FLOAT64) * spot_sud, 6) AS NUMERIC)
    - spot_cost AS spot_savings_net
FROM discounts;
