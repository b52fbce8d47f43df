-- version 10 runs after 3 (integer order, unpadded); it needs users.name from 3
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
