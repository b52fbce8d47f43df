-- no final newline and no final semicolon
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    total numeric(12,2) NOT NULL CHECK (total >= 0)
)