CREATE OR REPLACE VIEW `${dataset}.latest_readings` AS
SELECT * EXCEPT (recorded_at)
FROM `${dataset}.readings`
WHERE DATE(reading_hour) >= DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY)
QUALIFY ROW_NUMBER() OVER (PARTITION BY row_key ORDER BY recorded_at DESC) = 1;
