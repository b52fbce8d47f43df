COMMENT ON TABLE shop.users IS 'who orders';
