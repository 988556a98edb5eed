-- Workspaces, roles and resources (DESIGN.md §2a): a workspace is a
-- container of resources inside one org; a team is granted one role on a
-- workspace; a role is a set of permissions, stored as a bit set whose bits
-- are `domain::Permission` (the union of a principal's roles is an OR).
--
-- Built-in roles have fixed ids and no org; custom roles belong to one org.
-- The per-person team roles of 0004 are carried over losslessly: a team whose
-- members all held one role is granted that role on the org's `default`
-- workspace; where members held different roles, the team keeps the members
-- of its lowest role and each higher role's members move to a new team named
-- "<team> · <Role>" granted that role, so nobody gains or loses access.

CREATE TABLE workspaces (
    id          UUID PRIMARY KEY NOT NULL,
    org_id      UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    archived_at BIGINT,
    UNIQUE (org_id, slug)
);

CREATE TABLE roles (
    id          UUID PRIMARY KEY NOT NULL,
    org_id      UUID REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    permissions BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_org_name ON roles (org_id, name);

INSERT INTO roles (id, org_id, name, description, permissions, created_at) VALUES
    ('00000000-0000-0000-0000-000000000001'::uuid, NULL, 'Viewer',
     'Reads every resource and run in the workspace.', 681, 0),
    ('00000000-0000-0000-0000-000000000002'::uuid, NULL, 'Runner',
     'Viewer, and requests runs of agents.', 685, 0),
    ('00000000-0000-0000-0000-000000000003'::uuid, NULL, 'Creator',
     'Runner, and creates, changes, deletes and restores every kind of resource.', 1023, 0);

CREATE TABLE workspace_grants (
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id      UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role_id      UUID NOT NULL REFERENCES roles (id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, team_id)
);
CREATE INDEX workspace_grants_team ON workspace_grants (team_id, workspace_id);
CREATE INDEX workspace_grants_role ON workspace_grants (role_id);

-- Service accounts are team members like people, and hold an org role.
CREATE TABLE team_service_accounts (
    team_id            UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    org_id             UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    service_account_id UUID NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (team_id, service_account_id)
);
CREATE INDEX team_service_accounts_member ON team_service_accounts (service_account_id, team_id);
-- Until now a service account's key acted with owner authority; existing ones
-- keep it (nothing an automation does today stops working), new ones start as
-- members.
ALTER TABLE service_accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('owner', 'member'));
UPDATE service_accounts SET role = 'owner';

-- Which workspaces a key may act in (its scopes ∩ its principal's
-- permissions there decide what it may do).
CREATE TABLE api_key_workspaces (
    key_id       UUID NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (key_id, workspace_id)
);
CREATE INDEX api_key_workspaces_workspace ON api_key_workspaces (workspace_id);

-- Agents, tools, MCP servers and schedules: one table, one kind per row.
-- Names are unique among the live resources of a kind in a workspace; a
-- deleted row keeps its workspace and org until it is purged.
CREATE TABLE resources (
    id              UUID PRIMARY KEY NOT NULL,
    org_id          UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id    UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('agent', 'tool', 'mcp_server', 'schedule')),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    metadata        TEXT NOT NULL DEFAULT '{}',
    config          TEXT NOT NULL DEFAULT '{}',
    version         BIGINT NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    deleted_by      TEXT
);
CREATE UNIQUE INDEX resources_live_name ON resources (workspace_id, kind, name)
    WHERE deleted_at IS NULL;
CREATE INDEX resources_deleted ON resources (workspace_id, kind, deleted_at, id)
    WHERE deleted_at IS NOT NULL;
CREATE INDEX resources_purge ON resources (deleted_at) WHERE deleted_at IS NOT NULL;

-- The run history: Gatehouse records runs; an executor performs them.
CREATE TABLE runs (
    id             UUID PRIMARY KEY NOT NULL,
    org_id         UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id   UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id       UUID NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    status         TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    input          TEXT,
    output         TEXT,
    error          TEXT,
    requested_by   TEXT NOT NULL,
    schedule_id    UUID REFERENCES resources (id) ON DELETE SET NULL,
    due_at         BIGINT,
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    updated_at     BIGINT NOT NULL
);
-- At most one run per schedule and due time, however many instances fire it.
CREATE UNIQUE INDEX runs_schedule_due ON runs (schedule_id, due_at) WHERE schedule_id IS NOT NULL;
CREATE INDEX runs_agent ON runs (agent_id, created_at, id);
CREATE INDEX runs_workspace ON runs (workspace_id, created_at, id);

-- Carry-over: every org gets its `default` workspace.
INSERT INTO workspaces (id, org_id, slug, name, description, created_at)
SELECT gen_random_uuid(), id, 'default', 'default', '', created_at FROM orgs;

-- A team's lowest role (viewer < runner < creator), per team.
CREATE TEMP TABLE team_floor AS
SELECT team_id, org_id,
       MIN(CASE role WHEN 'viewer' THEN 1 WHEN 'runner' THEN 2 ELSE 3 END) AS floor
FROM team_members GROUP BY team_id, org_id;

-- Higher roles' members move to "<team> · <Role>" teams.
CREATE TEMP TABLE team_split AS
SELECT tm.team_id, tm.org_id, tm.role, gen_random_uuid() AS new_id,
       t.name || ' · ' || CASE tm.role WHEN 'runner' THEN 'Runner' ELSE 'Creator' END AS new_name,
       t.created_at
FROM team_members tm
JOIN teams t ON t.id = tm.team_id
JOIN team_floor f ON f.team_id = tm.team_id
WHERE t.deleted_at IS NULL
  AND CASE tm.role WHEN 'viewer' THEN 1 WHEN 'runner' THEN 2 ELSE 3 END > f.floor
GROUP BY tm.team_id, tm.org_id, tm.role, t.name, t.created_at;

INSERT INTO teams (id, org_id, name, created_at)
SELECT new_id, org_id, new_name, created_at FROM team_split;
UPDATE team_members SET team_id =
    (SELECT s.new_id FROM team_split s WHERE s.team_id = team_members.team_id
       AND s.role = team_members.role)
WHERE EXISTS (SELECT 1 FROM team_split s WHERE s.team_id = team_members.team_id
       AND s.role = team_members.role);

INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at)
SELECT w.id, f.team_id, f.org_id,
       CASE f.floor WHEN 1 THEN '00000000-0000-0000-0000-000000000001'::uuid
                    WHEN 2 THEN '00000000-0000-0000-0000-000000000002'::uuid
                    ELSE '00000000-0000-0000-0000-000000000003'::uuid END,
       t.created_at
FROM team_floor f JOIN teams t ON t.id = f.team_id AND t.deleted_at IS NULL
JOIN workspaces w ON w.org_id = f.org_id AND w.slug = 'default';
INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at)
SELECT w.id, s.new_id, s.org_id,
       CASE s.role WHEN 'runner' THEN '00000000-0000-0000-0000-000000000002'::uuid
                   ELSE '00000000-0000-0000-0000-000000000003'::uuid END,
       s.created_at
FROM team_split s JOIN workspaces w ON w.org_id = s.org_id AND w.slug = 'default';

-- A key granted teams reached those teams' data: it now reaches the default
-- workspace, and keeps the grants of the split teams too.
INSERT INTO api_key_teams (key_id, team_id)
SELECT g.key_id, s.new_id FROM api_key_teams g JOIN team_split s ON s.team_id = g.team_id;
INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at)
SELECT DISTINCT g.key_id, w.id, w.org_id, w.created_at
FROM api_key_teams g JOIN teams t ON t.id = g.team_id
JOIN workspaces w ON w.org_id = t.org_id AND w.slug = 'default';

DROP TABLE team_split;
DROP TABLE team_floor;
