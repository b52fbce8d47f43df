-- +downgrade
SELECT 1;
