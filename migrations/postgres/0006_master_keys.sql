-- Master keys: platform-level API keys for operators' automation, created and
-- rotated from the command line only. They live in their own table, apart
-- from personal keys: a master key has no owner and no scopes, and the
-- personal-key lookup (`api_keys`) can never return one, nor the master-key
-- lookup a personal key. Only the SHA-256 of the secret is stored; rotation
-- replaces it at once (no grace period). Every master key expires.

CREATE TABLE master_keys (
    id             UUID PRIMARY KEY NOT NULL,
    public_id      TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    secret_digest  BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    rotated_at     BIGINT,
    revoked_at     BIGINT,
    revoked_reason TEXT,
    last_used_at   BIGINT,
    last_used_ip   TEXT
);

-- Keyset pagination of the cross-tenant audit log and filtering by action.
CREATE INDEX audit_events_action ON audit_events (action, occurred_at);
