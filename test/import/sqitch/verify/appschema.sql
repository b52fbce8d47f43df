-- Verify shop:appschema on pg

SELECT pg_catalog.has_schema_privilege('shop', 'usage');
