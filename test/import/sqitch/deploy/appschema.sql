-- Deploy shop:appschema to pg

CREATE SCHEMA shop;
