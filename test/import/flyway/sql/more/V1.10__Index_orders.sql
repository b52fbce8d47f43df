-- 1.10 comes after 1.2 (numeric parts); it needs orders from 1.2
CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);
