-- Revert shop:appschema from pg

DROP SCHEMA shop;
