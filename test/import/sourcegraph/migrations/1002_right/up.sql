-- a sibling of 1001, not its descendant, and it needs 1001's table: only the
-- migrator's own order (1001 before 1002) applies it
CREATE UNIQUE INDEX lsif_uploads_repo_uq ON lsif_uploads (repo_id);
