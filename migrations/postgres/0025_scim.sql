-- SCIM 2.0 provisioning (issue 16). A SCIM token reaches one org; only the
-- SHA-256 of its secret is stored, and it is looked up by its public id.
CREATE TABLE scim_tokens (
    id            UUID PRIMARY KEY NOT NULL,
    org_id        UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    public_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    secret_digest BYTEA NOT NULL,
    created_by    UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX scim_tokens_org ON scim_tokens (org_id, created_at);

-- A membership deprovisioned by the identity provider (`active: false`):
-- kept, but ignored by every membership lookup until it is restored.
ALTER TABLE memberships ADD COLUMN suspended_at BIGINT;
-- The identity provider's id for the person (`externalId`).
ALTER TABLE memberships ADD COLUMN scim_external_id TEXT;
CREATE INDEX memberships_scim_external_id ON memberships (org_id, scim_external_id);
