CREATE TABLE sessions (id char(36) PRIMARY KEY);
