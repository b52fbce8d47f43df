ALTER TABLE users ADD COLUMN name text;
COMMENT ON TABLE users IS 'people who order';
