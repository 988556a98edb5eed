//! The workspace rows: every route of `tables::workspaces()` and
//! `tables::v1_workspaces()` with what it needs, walked with nine personas —
//! anonymous, a user in no org, the owner of another org, a member with no
//! team on the workspace, a Viewer, a Runner, a Creator, a custom role with
//! exactly `agents:run`, and an owner — on pages (their session) and on the
//! API (their key, holding every scope and granted the workspace). Every
//! refusal changes nothing; an owner gets 404 for a resource or run of
//! another workspace of the org, and of another org, under this workspace's
//! path.

use axum::http::{Method, StatusCode};
use gatehouse::domain::{BuiltinRole, Permission, PermissionSet};
use gatehouse::router::tables;
use uuid::Uuid;

use super::Expect;
use crate::access_model::{KeySpec, V, insert_key, run};
use crate::helpers::*;
use crate::orgs::{add_member, org_id, user_id};

/// What a workspace route needs of its caller (`Permission` is for the
/// resource rows).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Need {
    /// Membership of the org (a list of the workspaces one reaches).
    OrgMember,
    /// Any access to the workspace (some permission there).
    Access,
    /// One permission of the catalog, by name.
    Permission(&'static str),
    /// Owner of the org.
    Owner,
    /// The `:read` of every resource kind (a configuration bundle).
    ReadConfig,
    /// `ReadConfig` and some kind's `:write` (applying a bundle; the
    /// `:write` of each kind it touches is checked after).
    WriteConfig,
}

/// The row of a route; `None` for a route without one (which fails CI).
pub fn row(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("GET", "/orgs/{slug}/workspaces") => OrgMember,
        ("POST", "/orgs/{slug}/workspaces") => Owner,
        ("GET", "/orgs/{slug}/workspaces/{ws}") => Access,
        ("GET", "/orgs/{slug}/workspaces/{ws}/settings") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/settings") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/archive") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/restore") => Owner,
        ("GET", "/orgs/{slug}/workspaces/{ws}/access") => Access,
        ("POST", "/orgs/{slug}/workspaces/{ws}/access") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/access/{team}/remove") => Owner,
        ("GET", "/v1/orgs/{slug}/workspaces") => OrgMember,
        // A key's own grants (or, for owner-level keys, SA keys'); a PUT
        // needs the workspace to be the caller's (see api::key_workspaces).
        ("GET", "/v1/orgs/{slug}/keys/{key_id}/workspaces") => OrgMember,
        ("PUT", "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}") => Access,
        ("DELETE", "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}") => OrgMember,
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/access") => Access,
        ("GET", "/orgs/{slug}/workspaces/{ws}/runs") => Permission("runs:read"),
        ("GET", "/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:read"),
        ("GET", "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("runs:read"),
        ("POST", "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("agents:run"),
        ("POST", "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("agents:run"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("runs:read"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/runs") => Permission("runs:read"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:read"),
        ("PATCH", "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:write"),
        ("GET", "/orgs/{slug}/workspaces/{ws}/config") => ReadConfig,
        ("GET", "/orgs/{slug}/workspaces/{ws}/config/export") => ReadConfig,
        ("POST", "/orgs/{slug}/workspaces/{ws}/config/plan") => ReadConfig,
        ("POST", "/orgs/{slug}/workspaces/{ws}/config/apply") => WriteConfig,
        ("GET", "/orgs/{slug}/workspaces/{ws}/config/snapshots/{snapshot}") => ReadConfig,
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/config") => ReadConfig,
        ("POST", "/v1/orgs/{slug}/workspaces/{ws}/config/plan") => ReadConfig,
        ("POST", "/v1/orgs/{slug}/workspaces/{ws}/config/apply") => WriteConfig,
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/snapshots") => ReadConfig,
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/snapshots/{snapshot}") => ReadConfig,
        _ => return resource_row(method, path),
    })
}

/// The resource routes (pages and API) of the four kinds: reading needs the
/// kind's `:read`, every change its `:write` (the deleted view is a `:write`
/// check inside the list handler, on `?deleted=true`).
fn resource_row(method: &str, path: &str) -> Option<Need> {
    let rest = path
        .strip_prefix("/v1/orgs/{slug}/workspaces/{ws}/")
        .or_else(|| path.strip_prefix("/orgs/{slug}/workspaces/{ws}/"))?;
    let page = !path.starts_with("/v1/");
    let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (read, write) = match segment {
        "agents" => ("agents:read", "agents:write"),
        "tools" => ("tools:read", "tools:write"),
        "mcp-servers" => ("mcp:read", "mcp:write"),
        "schedules" => ("schedules:read", "schedules:write"),
        _ => return None,
    };
    let need = match (method, tail, page) {
        ("GET", "", _) | ("GET", "{id}", _) => read,
        ("POST", "", _) | ("PATCH", "{id}", false) | ("DELETE", "{id}", false) => write,
        ("POST", "{id}/restore", _) => write,
        ("GET", "new", true) | ("POST", "{id}", true) | ("POST", "{id}/delete", true) => write,
        _ => return None,
    };
    Some(Need::Permission(need))
}

/// A JSON body for an API row that takes one (an empty object otherwise:
/// a served request may answer 422).
fn body(method: &str, path: &str) -> Option<&'static str> {
    Some(match method {
        "PATCH" if path.ends_with("/runs/{run_id}") => r#"{"status":"running"}"#,
        "PATCH" => r#"{"description":"changed","version":1}"#,
        _ => "{}",
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Persona {
    Anonymous,
    NoOrg,
    OtherOwner,
    NoTeam,
    Viewer,
    Runner,
    Creator,
    RunOnly,
    Owner,
}

const PERSONAS: [Persona; 9] = [
    Persona::Anonymous,
    Persona::NoOrg,
    Persona::OtherOwner,
    Persona::NoTeam,
    Persona::Viewer,
    Persona::Runner,
    Persona::Creator,
    Persona::RunOnly,
    Persona::Owner,
];

impl Persona {
    fn email(self) -> &'static str {
        match self {
            Persona::Anonymous => "",
            Persona::NoOrg => "eve@example.com",
            Persona::OtherOwner => "olga@example.com",
            Persona::NoTeam => "nadia@example.com",
            Persona::Viewer => "vera@example.com",
            Persona::Runner => "rudy@example.com",
            Persona::Creator => "cora@example.com",
            Persona::RunOnly => "cary@example.com",
            Persona::Owner => "ada@example.com",
        }
    }

    /// What the persona holds in acme's `prod`; `None`: not there at all.
    fn holds(self) -> Option<PermissionSet> {
        match self {
            Persona::Viewer => Some(BuiltinRole::Viewer.permissions()),
            Persona::Runner => Some(BuiltinRole::Runner.permissions()),
            Persona::Creator => Some(BuiltinRole::Creator.permissions()),
            Persona::RunOnly => Some(PermissionSet::of(&[Permission::AgentsRun])),
            Persona::Owner => Some(PermissionSet::ALL),
            _ => None,
        }
    }

    fn is_acme_member(self) -> bool {
        !matches!(
            self,
            Persona::Anonymous | Persona::NoOrg | Persona::OtherOwner
        )
    }

    /// What the persona gets on a route that needs `need`.
    fn expect(self, need: Need) -> Expect {
        match self {
            Persona::Anonymous => return Expect::SignIn,
            Persona::NoOrg | Persona::OtherOwner => return Expect::NotFound,
            _ => {}
        }
        let holds = self.holds();
        match need {
            Need::OrgMember => Expect::Served,
            Need::Owner if self == Persona::Owner => Expect::Served,
            Need::Owner => Expect::Forbidden,
            Need::Access => match holds {
                Some(_) => Expect::Served,
                None => Expect::NotFound,
            },
            Need::Permission(name) => match holds {
                None => Expect::NotFound,
                Some(set) if set.contains(Permission::parse(name).unwrap()) => Expect::Served,
                Some(_) => Expect::Forbidden,
            },
            Need::ReadConfig | Need::WriteConfig => {
                use gatehouse::domain::ResourceKind;
                let Some(set) = holds else {
                    return Expect::NotFound;
                };
                let reads = ResourceKind::ALL
                    .iter()
                    .all(|k| set.contains(k.read_permission()));
                let writes = ResourceKind::ALL
                    .iter()
                    .any(|k| set.contains(k.write_permission()));
                match need {
                    Need::ReadConfig if reads => Expect::Served,
                    Need::WriteConfig if reads && writes => Expect::Served,
                    _ => Expect::Forbidden,
                }
            }
        }
    }
}

/// Row counts of everything a workspace route can change.
async fn effects(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM workspaces",
        "SELECT COUNT(*) FROM workspaces WHERE archived_at IS NOT NULL",
        "SELECT COUNT(*) FROM roles",
        "SELECT COUNT(*) FROM workspace_grants",
        "SELECT COUNT(*) FROM api_key_workspaces",
        "SELECT COUNT(*) FROM resources",
        "SELECT COUNT(*) FROM resources WHERE deleted_at IS NOT NULL",
        "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM resources",
        "SELECT COUNT(*) FROM runs",
        "SELECT COUNT(*) FROM runs WHERE status <> 'queued'",
        "SELECT COUNT(*) FROM team_members",
        "SELECT COUNT(*) FROM team_service_accounts",
        "SELECT COUNT(*) FROM audit_events",
        "SELECT COUNT(*) FROM config_snapshots",
    ] {
        counts.push(app.count(sql).await);
    }
    counts
}

/// One resource of each kind and a run, owned by one persona's rows.
#[derive(Clone, Default)]
struct Fixture {
    agent: String,
    tool: String,
    mcp: String,
    schedule: String,
    run: String,
}

impl Fixture {
    async fn insert(app: &TestApp, org: Uuid, ws: Uuid, tag: &str) -> Fixture {
        let mut ids = Vec::new();
        for (kind, config) in [
            ("agent", r#"{"model":"m"}"#.to_owned()),
            ("tool", r#"{"type":"function"}"#.to_owned()),
            (
                "mcp_server",
                r#"{"url":"https://mcp.example.com","transport":"sse"}"#.to_owned(),
            ),
            (
                "schedule",
                format!(
                    r#"{{"agent":"agent-{tag}","cron":"0 9 * * *","timezone":"UTC","enabled":false}}"#
                ),
            ),
        ] {
            let id = Uuid::now_v7();
            run(
                app.db(),
                "INSERT INTO resources (id, org_id, workspace_id, kind, name, config, created_by, \
                 created_at, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'matrix', \
                 $7, 'matrix', $7)",
                vec![
                    V::Id(id),
                    V::Id(org),
                    V::Id(ws),
                    V::Text(kind.to_owned()),
                    V::Text(format!("{}-{tag}", kind.replace('_', "-"))),
                    V::Text(config),
                    V::Int(START),
                ],
            )
            .await;
            ids.push(id);
        }
        let run_id = Uuid::now_v7();
        run(
            app.db(),
            "INSERT INTO runs (id, org_id, workspace_id, agent_id, status, requested_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 'matrix', $5, $5)",
            vec![
                V::Id(run_id),
                V::Id(org),
                V::Id(ws),
                V::Id(ids[0]),
                V::Int(START),
            ],
        )
        .await;
        Fixture {
            agent: ids[0].to_string(),
            tool: ids[1].to_string(),
            mcp: ids[2].to_string(),
            schedule: ids[3].to_string(),
            run: run_id.to_string(),
        }
    }

    /// `path` with `{id}` (of the kind its collection names) and `{run_id}`
    /// filled in.
    fn fill(&self, path: &str) -> String {
        let id = if path.contains("/tools/") {
            &self.tool
        } else if path.contains("/mcp-servers/") {
            &self.mcp
        } else if path.contains("/schedules/") {
            &self.schedule
        } else {
            &self.agent
        };
        path.replace("{id}", id).replace("{run_id}", &self.run)
    }
}

async fn workspace(app: &TestApp, org: Uuid, slug: &str) -> Uuid {
    let id = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO workspaces (id, org_id, slug, name, created_at) VALUES ($1, $2, $3, $3, $4)",
        vec![
            V::Id(id),
            V::Id(org),
            V::Text(slug.to_owned()),
            V::Int(START),
        ],
    )
    .await;
    id
}

/// A team in `org` holding `role` on `ws`, with `email` on it.
async fn team_with_role(app: &TestApp, org: Uuid, ws: Uuid, role: Uuid, email: &str) -> Uuid {
    let team = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
        vec![
            V::Id(team),
            V::Id(org),
            V::Text(format!("team of {email}")),
            V::Int(START),
        ],
    )
    .await;
    let user = user_id(app, email).await;
    run(
        app.db(),
        "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4)",
        vec![V::Id(team), V::Id(org), V::Id(user), V::Int(START)],
    )
    .await;
    run(
        app.db(),
        "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            V::Id(ws),
            V::Id(team),
            V::Id(org),
            V::Id(role),
            V::Int(START),
        ],
    )
    .await;
    team
}

struct Actor {
    persona: Persona,
    client: Client,
    /// A key with every scope, bound to the persona's org (none for the
    /// user in no org) and granted acme's `prod`.
    key: Option<String>,
    /// That key's public id (`-` for none).
    key_id: String,
    fixture: Fixture,
}

fn method_of(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

/// Asserts what a persona got from the API.
fn check_api(expect: Expect, res: &TestResponse, what: &str) {
    let ok = match expect {
        Expect::SignIn => res.status == StatusCode::UNAUTHORIZED,
        Expect::NotFound => res.status == StatusCode::NOT_FOUND,
        Expect::Forbidden => res.status == StatusCode::FORBIDDEN,
        Expect::Served | Expect::Done | Expect::Sudo => {
            !matches!(
                res.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            ) && !res.status.is_server_error()
        }
    };
    assert!(
        ok,
        "{what}: expected {expect:?}, got {}: {}",
        res.status,
        &res.body[..res.body.len().min(400)]
    );
}

#[tokio::test]
async fn every_workspace_route_answers_each_persona_as_its_row_says() {
    each_engine_with(
        |c| c.signups_per_ip_per_hour = 1000,
        |app| async move {
            walk(&app).await;
            app
        },
    )
    .await;
}

async fn walk(app: &TestApp) {
    // acme: owner Ada and six members; globex: owner Olga; Eve in no org.
    let mut ada = signed_in(app, "ada@example.com", "Ada").await;
    ada.create_org("Acme", "acme")
        .await
        .assert_redirect("/orgs/acme");
    // The owner's grants and role changes need sudo: the owner is in it
    // (the clock is pinned, so it lasts the walk).
    ada.sudo(PASSWORD, "/account").await;
    let mut olga = signed_in(app, "olga@example.com", "Olga").await;
    olga.create_org("Globex", "globex")
        .await
        .assert_redirect("/orgs/globex");
    let acme = org_id(app, "acme").await;
    let globex = org_id(app, "globex").await;
    let prod = workspace(app, acme, "prod").await;
    let staging = workspace(app, acme, "staging").await;
    let globex_ws = workspace(app, globex, "prod").await;
    // A snapshot of `prod`, for the snapshot rows.
    let snapshot = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO config_snapshots (id, org_id, workspace_id, created_at, created_by, \
         before_bundle, after_bundle, summary, pruned) \
         VALUES ($1, $2, $3, $4, 'matrix', $5, $5, '{}', FALSE)",
        vec![
            V::Id(snapshot),
            V::Id(acme),
            V::Id(prod),
            V::Int(START),
            V::Text(r#"{"resources": [], "version": "gatehouse.config/v1"}"#.to_owned()),
        ],
    )
    .await;
    // What the owner's settings, archive and restore rows act on, so that
    // `prod` stays as every other row needs it.
    workspace(app, acme, "scratch").await;
    // A team granted on `prod` that no persona is on: the owner's revocation
    // row takes its grant away, not one a persona relies on.
    let spare = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, 'Spare', $3)",
        vec![V::Id(spare), V::Id(acme), V::Int(START)],
    )
    .await;
    run(
        app.db(),
        "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            V::Id(prod),
            V::Id(spare),
            V::Id(acme),
            V::Id(BuiltinRole::Viewer.id()),
            V::Int(START),
        ],
    )
    .await;
    let run_only = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO roles (id, org_id, name, permissions, created_at) \
         VALUES ($1, $2, 'Run only', $3, $4)",
        vec![
            V::Id(run_only),
            V::Id(acme),
            V::Int(PermissionSet::of(&[Permission::AgentsRun]).to_stored()),
            V::Int(START),
        ],
    )
    .await;

    let mut actors = Vec::new();
    for persona in PERSONAS {
        let client = match persona {
            Persona::Anonymous => {
                let mut c = app.client();
                c.get("/login").await.assert_status(StatusCode::OK);
                c
            }
            Persona::Owner => std::mem::replace(&mut ada, app.client()),
            Persona::OtherOwner => std::mem::replace(&mut olga, app.client()),
            p => signed_in(app, p.email(), &format!("{p:?}")).await,
        };
        if persona.is_acme_member() && persona != Persona::Owner {
            add_member(app, "acme", persona.email(), "member").await;
        }
        let role = match persona {
            Persona::Viewer => Some(BuiltinRole::Viewer.id()),
            Persona::Runner => Some(BuiltinRole::Runner.id()),
            Persona::Creator => Some(BuiltinRole::Creator.id()),
            Persona::RunOnly => Some(run_only),
            _ => None,
        };
        if let Some(role) = role {
            team_with_role(app, acme, prod, role, persona.email()).await;
        }
        let key = match persona {
            Persona::Anonymous => None,
            p => {
                let user = user_id(app, p.email()).await;
                let (org, ws) = match p {
                    Persona::OtherOwner => (globex, [globex_ws, staging, staging]),
                    _ => (acme, [prod, staging, staging]),
                };
                let spec = KeySpec {
                    org: 0,
                    scopes: PermissionSet::ALL,
                    workspaces: std::array::from_fn(|i| i == 0),
                };
                let token = insert_key(app.db(), (Some(user), None), org, &ws, &spec).await;
                // Every scope, not only the workspace permissions.
                let all: Vec<&str> = gatehouse::domain::Scope::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect();
                run(
                    app.db(),
                    "UPDATE api_keys SET scopes = $1 WHERE owner_user_id = $2",
                    vec![V::Text(all.join(" ")), V::Id(user)],
                )
                .await;
                if p == Persona::NoOrg {
                    // Not bound: the user has no org to bind it to.
                    run(
                        app.db(),
                        "UPDATE api_keys SET org_id = NULL WHERE owner_user_id = $1",
                        vec![V::Id(user)],
                    )
                    .await;
                }
                Some(token)
            }
        };
        let tag = format!("{persona:?}").to_lowercase();
        let fixture = Fixture::insert(app, acme, prod, &tag).await;
        let key_id = key
            .as_deref()
            .and_then(|k| k.split('_').nth(1))
            .unwrap_or("-")
            .to_owned();
        actors.push(Actor {
            persona,
            client,
            key,
            key_id,
            fixture,
        });
    }
    let owner_fixture = actors.last().unwrap().fixture.clone();
    let owner_key_id = actors.last().unwrap().key_id.clone();
    let foreign = [
        (
            "another workspace's",
            Fixture::insert(app, acme, staging, "staging").await,
        ),
        (
            "another org's",
            Fixture::insert(app, globex, globex_ws, "globex").await,
        ),
    ];

    // State-changing rows last, deletions after other writes.
    let mut rows: Vec<(&'static str, String, bool)> = Vec::new();
    for (m, p) in tables::workspaces().routes() {
        rows.push((m, p.clone(), false));
    }
    for (m, p) in tables::v1_workspaces().routes() {
        rows.push((m, p.clone(), true));
    }
    // A key's own grant of `prod` is taken away last of all: every other
    // row needs it.
    rows.sort_by_key(|(m, p, _)| {
        let deletes = *m == "DELETE" || p.ends_with("/delete") || p.ends_with("/archive");
        let ungrants = *m == "DELETE" && p.contains("/keys/{key_id}/");
        (ungrants, *m != "GET", deletes)
    });
    let mut fresh_rows = 0;
    for (method, path, is_api) in &rows {
        let need = row(method, path).unwrap();
        let workspace_admin = ["/settings", "/archive", "/restore"]
            .iter()
            .any(|tail| path == &format!("/orgs/{{slug}}/workspaces/{{ws}}{tail}"));
        let ws = if workspace_admin { "scratch" } else { "prod" };
        let base = path
            .replace("{slug}", "acme")
            .replace("{ws}", ws)
            .replace("{team}", &spare.to_string())
            .replace("{snapshot}", &snapshot.to_string());
        for actor in actors.iter_mut() {
            let expect = actor.persona.expect(need);
            // A refused persona is refused before any lookup: it asks for
            // the owner's rows, which exist.
            // A served deletion or restoration gets rows of its own, so that
            // it never meets what an earlier row deleted.
            let destroys = *method == "DELETE" || path.ends_with("/delete");
            let restores = path.ends_with("/restore") && !workspace_admin;
            let fresh;
            let fixture = if expect != Expect::Served {
                &owner_fixture
            } else if destroys || restores {
                fresh_rows += 1;
                let tag = format!("{:?}-{fresh_rows}", actor.persona).to_lowercase();
                fresh = Fixture::insert(app, acme, prod, &tag).await;
                if restores {
                    run(
                        app.db(),
                        "UPDATE resources SET deleted_at = $1, deleted_by = 'matrix' \
                         WHERE name LIKE $2",
                        vec![V::Int(START), V::Text(format!("%-{tag}"))],
                    )
                    .await;
                }
                &fresh
            } else {
                &actor.fixture
            };
            let url = fixture.fill(&base).replace("{key_id}", &actor.key_id);
            let what = format!("{:?} {method} {path} ({url})", actor.persona);
            let before = effects(app).await;
            if *is_api {
                let key = actor.key.clone();
                let res = api(
                    &app.router,
                    method_of(method),
                    &url,
                    key.as_deref(),
                    body(method, path),
                )
                .await;
                let expect = match (actor.persona, expect) {
                    // The key of a user in no org is bound to none.
                    (Persona::NoOrg, _) => Expect::Forbidden,
                    (_, e) => e,
                };
                check_api(expect, &res, &what);
            } else {
                let res = super::call(&mut actor.client, method, &url).await;
                super::check(expect, &res, &what);
            }
            if expect != Expect::Served {
                assert_eq!(before, effects(app).await, "{what} changed something");
            }
        }
        // Foreign ids under this workspace's path: not found for the owner.
        if path.contains("{id}") || path.contains("{run_id}") {
            for (whose, fixture) in &foreign {
                let url = fixture.fill(&base).replace("{key_id}", &owner_key_id);
                let what = format!("owner, {whose} id, {method} {path}");
                let before = effects(app).await;
                let owner = actors.last_mut().unwrap();
                let status = if *is_api {
                    let key = owner.key.clone();
                    api(
                        &app.router,
                        method_of(method),
                        &url,
                        key.as_deref(),
                        body(method, path),
                    )
                    .await
                    .status
                } else {
                    super::call(&mut owner.client, method, &url).await.status
                };
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                assert_eq!(before, effects(app).await, "{what} changed something");
            }
        }
    }
}
