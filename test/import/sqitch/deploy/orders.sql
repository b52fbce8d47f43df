CREATE TABLE shop.orders (
    id bigserial PRIMARY KEY,
    nickname text NOT NULL REFERENCES shop.users (nickname),
    placed_at timestamptz NOT NULL DEFAULT now()
)