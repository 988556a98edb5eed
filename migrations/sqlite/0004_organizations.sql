-- Organizations: memberships with an org role, teams with team roles,
-- invitations, service accounts, and the org binding and team grants of API
-- keys. Member name and email are copied into memberships so that an org's
-- member list can be paged in index order at 100,000 members.

CREATE TABLE orgs (
    id                    BLOB PRIMARY KEY NOT NULL,
    slug                  TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    require_mfa           BOOLEAN NOT NULL DEFAULT FALSE,
    max_key_lifetime_days BIGINT,
    created_at            BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    member_name  TEXT NOT NULL,
    member_email TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_by_name ON memberships (org_id, member_name, user_id);
CREATE INDEX memberships_by_email ON memberships (org_id, member_email, user_id);
CREATE INDEX memberships_by_role ON memberships (org_id, role);

CREATE TABLE teams (
    id         BLOB PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX teams_live_name ON teams (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE team_members (
    team_id    BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('creator', 'runner', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_member ON team_members (org_id, user_id);

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    team_ids     TEXT NOT NULL DEFAULT '',
    token_digest BLOB NOT NULL UNIQUE,
    invited_by   BLOB,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id, created_at);

CREATE TABLE service_accounts (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX service_accounts_org ON service_accounts (org_id);

-- API keys now belong to a user or a service account, and may be bound to
-- one organization. SQLite cannot drop a NOT NULL constraint: rebuild.
CREATE TABLE api_keys_v2 (
    id                   BLOB PRIMARY KEY NOT NULL,
    public_id            TEXT NOT NULL UNIQUE,
    owner_user_id        BLOB REFERENCES users (id) ON DELETE CASCADE,
    service_account_id   BLOB REFERENCES service_accounts (id) ON DELETE CASCADE,
    org_id               BLOB REFERENCES orgs (id) ON DELETE CASCADE,
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
    last_used_ip         TEXT,
    CHECK ((owner_user_id IS NULL) <> (service_account_id IS NULL))
);
INSERT INTO api_keys_v2 (id, public_id, owner_user_id, name, description, scopes, secret_digest,
    previous_digest, previous_valid_until, created_at, expires_at, rotated_at, revoked_at,
    hidden_at, last_used_at, last_used_ip)
SELECT id, public_id, owner_user_id, name, description, scopes, secret_digest, previous_digest,
    previous_valid_until, created_at, expires_at, rotated_at, revoked_at, hidden_at,
    last_used_at, last_used_ip
FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v2 RENAME TO api_keys;
CREATE INDEX api_keys_owner ON api_keys (owner_user_id, created_at);
CREATE INDEX api_keys_service_account ON api_keys (service_account_id);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE api_key_teams (
    key_id  BLOB NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    team_id BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, team_id)
);
CREATE INDEX api_key_teams_team ON api_key_teams (team_id);
