-- migrate:up
CREATE TYPE mood AS ENUM ('ok', 'sad');
ALTER TABLE users ADD COLUMN mood mood

-- migrate:down
ALTER TABLE users DROP COLUMN mood;
DROP TYPE mood