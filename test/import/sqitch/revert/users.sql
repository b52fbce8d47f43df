DROP TABLE shop.users;
