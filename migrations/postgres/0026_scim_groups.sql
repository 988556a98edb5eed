-- SCIM 2.0 Groups (issue 16): a team made by the org's identity provider
-- through `/scim/v2/Groups` is managed by it. Its name and its people are
-- the identity provider's to change (the console and `/v1` refuse hand
-- edits); the roles granted to it on workspaces stay the owners' to set.
-- SCIM sees only the teams it manages, so a hand-made team is never taken
-- over by a group of the same name (that POST is a 409).
ALTER TABLE teams ADD COLUMN scim_managed BOOLEAN NOT NULL DEFAULT FALSE;
-- The identity provider's id for the group (`externalId`).
ALTER TABLE teams ADD COLUMN scim_external_id TEXT;
-- When the identity provider last changed the group (`meta.lastModified`).
ALTER TABLE teams ADD COLUMN scim_updated_at BIGINT;
CREATE INDEX teams_scim ON teams (org_id, scim_managed, created_at);
