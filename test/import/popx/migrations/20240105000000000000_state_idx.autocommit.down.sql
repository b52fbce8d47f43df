DROP INDEX CONCURRENTLY identities_state_idx;
