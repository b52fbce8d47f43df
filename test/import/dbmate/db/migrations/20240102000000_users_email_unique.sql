-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);

-- migrate:down
DROP INDEX users_email_key;
