-- Account recovery and email verification. A user's address is verified
-- once they followed a link sent to it (`email_verified_at`). The links'
-- secrets are stored as their SHA-256 only, each for one purpose
-- (`password_reset`, `email_verification`) and the address it was sent to;
-- a link works once (`used_at`) and until `expires_at`.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

CREATE TABLE user_tokens (
    token_digest BYTEA PRIMARY KEY NOT NULL,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL,
    email        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);
CREATE INDEX user_tokens_expires_at ON user_tokens (expires_at);
