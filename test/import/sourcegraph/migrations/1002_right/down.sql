DROP INDEX IF EXISTS lsif_uploads_repo_uq;
