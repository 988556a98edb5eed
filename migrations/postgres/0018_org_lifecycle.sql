-- Org lifecycle: an org is soft-deleted for 30 days (`deleted_at`, then
-- purged by `jobs::org_purge`); a renamed org's old slug is held for 30 days
-- (it redirects to the new one and no other org may take it).
ALTER TABLE orgs ADD COLUMN deleted_at BIGINT;
CREATE INDEX orgs_deleted ON orgs (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE org_slug_holds (
    slug       TEXT PRIMARY KEY NOT NULL,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    held_until BIGINT NOT NULL
);
CREATE INDEX org_slug_holds_org ON org_slug_holds (org_id);

-- Whether ordinary users may create orgs (operators always may); default on.
INSERT INTO feature_flags (name, enabled, updated_at) VALUES ('org-creation', TRUE, 0)
ON CONFLICT (name) DO NOTHING;
