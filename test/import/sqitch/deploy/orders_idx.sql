CREATE INDEX CONCURRENTLY orders_nickname_idx ON shop.orders (nickname);
