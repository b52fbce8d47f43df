COMMENT ON COLUMN orders.total IS 'gross amount';
