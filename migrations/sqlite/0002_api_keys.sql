-- Personal API keys. Only the SHA-256 of the secret is stored; during a
-- rotation grace period the previous digest stays valid until its deadline.

CREATE TABLE api_keys (
    id                   BLOB PRIMARY KEY NOT NULL,
    public_id            TEXT NOT NULL UNIQUE,
    owner_user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    description          TEXT,
    scopes               TEXT NOT NULL,
    secret_digest        BLOB NOT NULL,
    previous_digest      BLOB,
    previous_valid_until BIGINT,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT,
    rotated_at           BIGINT,
    revoked_at           BIGINT,
    hidden_at            BIGINT,
    last_used_at         BIGINT,
    last_used_ip         TEXT
);
CREATE INDEX api_keys_owner ON api_keys (owner_user_id, created_at);
