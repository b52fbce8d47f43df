CREATE TABLE sessions (id text PRIMARY KEY);
