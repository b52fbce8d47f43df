BEGIN;

CREATE TABLE ledger (id bigserial PRIMARY KEY, amount int NOT NULL, migrated boolean NOT NULL DEFAULT false);

COMMIT;
