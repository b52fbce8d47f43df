CREATE TABLE sessions (id uuid PRIMARY KEY, identity_id uuid NOT NULL REFERENCES identities (id) ON DELETE CASCADE, expires_at timestamptz NOT NULL);
