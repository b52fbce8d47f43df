CREATE TABLE lsif_uploads (id serial PRIMARY KEY, repo_id int NOT NULL REFERENCES repo (id));
