-- Deploy shop:users to pg
-- requires: appschema

CREATE TABLE shop.users (
    nickname text PRIMARY KEY,
    password text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
