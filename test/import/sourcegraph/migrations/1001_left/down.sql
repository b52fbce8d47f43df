DROP TABLE IF EXISTS lsif_uploads;
