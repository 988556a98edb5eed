-- Foundation: users, sessions, notification preferences, rate-limit counters,
-- feature flags and the audit log. Instants are unix seconds (BIGINT) so that
-- SQL comparisons are numeric on both engines.

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    phone         TEXT,
    job_title     TEXT,
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    is_operator   BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB REFERENCES users (id) ON DELETE CASCADE,
    data         BLOB NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE notification_prefs (
    user_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    email    BOOLEAN NOT NULL,
    in_app   BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE rate_counters (
    bucket       TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    last_hit_at  BIGINT NOT NULL
);
CREATE INDEX rate_counters_window_start ON rate_counters (window_start);

CREATE TABLE feature_flags (
    name       TEXT PRIMARY KEY NOT NULL,
    enabled    BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    occurred_at BIGINT NOT NULL,
    actor_id    BLOB,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT,
    target_id   TEXT,
    org_id      BLOB,
    ip          TEXT,
    user_agent  TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, occurred_at);
CREATE INDEX audit_events_org_id ON audit_events (org_id, occurred_at);
