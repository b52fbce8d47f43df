CREATE INDEX CONCURRENTLY identities_state_idx ON identities (state);
