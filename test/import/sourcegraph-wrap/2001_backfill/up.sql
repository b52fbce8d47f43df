-- a long data migration split into committed batches
INSERT INTO ledger (amount) SELECT g FROM generate_series(1, 1000) g;
COMMIT AND CHAIN;
UPDATE ledger SET migrated = true WHERE id <= 500;
COMMIT AND CHAIN;
UPDATE ledger SET migrated = true WHERE id > 500;
