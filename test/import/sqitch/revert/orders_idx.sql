DROP INDEX shop.orders_nickname_idx;
