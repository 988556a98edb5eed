//! The permission check against a reference model (issue 13): random worlds —
//! two orgs, their workspaces (some archived), teams (some deleted), people
//! and service accounts on several teams, built-in and custom roles granted
//! to teams, keys with random scopes and workspace grants, then removals —
//! are written to the database, and every decision of the real check is
//! compared with a plain in-memory model of DESIGN.md §2a:
//!
//! - the console check (`authz::workspace::user_permissions`, the query and
//!   fold behind `WorkspaceMember`), for every person × workspace;
//! - the API check (`GET /v1/orgs/{slug}/workspaces/{ws}/access`, through
//!   the router and `ApiWorkspaceKey`), for every key × workspace of both
//!   orgs,
//!
//! each for all eleven permissions, on both engines. A failing world is
//! shrunk by proptest and printed as the people, teams, grants and keys it
//! holds.

// The world is parallel arrays indexed by org, team, user and workspace.
#![allow(clippy::needless_range_loop)]

use std::fmt;

use axum::http::{Method, StatusCode};
use gatehouse::auth::api_key;
use gatehouse::authz::workspace::user_permissions;
use gatehouse::db::Db;
use gatehouse::domain::{BuiltinRole, Permission, PermissionSet};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use uuid::Uuid;

use crate::helpers::*;

const ORGS: usize = 2;
pub const WORKSPACES: usize = 3;
const TEAMS: usize = 3;
const USERS: usize = 4;
/// Service accounts per org.
const SAS: usize = 2;
const CUSTOM_ROLES: usize = 2;
/// Worlds per engine.
const CASES: u32 = 48;

/// The role granted to a team on a workspace: none, a built-in, or one of
/// the org's custom roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    None,
    Builtin(BuiltinRole),
    Custom(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Membership {
    None,
    Member,
    Owner,
}

/// A key: whose, bound to which org, with which workspace scopes and which
/// of that org's workspaces.
#[derive(Clone, Debug)]
pub struct KeySpec {
    pub org: usize,
    pub scopes: PermissionSet,
    pub workspaces: [bool; WORKSPACES],
}

#[derive(Clone)]
struct World {
    membership: [[Membership; ORGS]; USERS],
    sa_owner: [[bool; SAS]; ORGS],
    archived: [[bool; WORKSPACES]; ORGS],
    team_deleted: [[bool; TEAMS]; ORGS],
    custom: [[PermissionSet; CUSTOM_ROLES]; ORGS],
    on_team: [[[bool; USERS]; TEAMS]; ORGS],
    sa_on_team: [[[bool; SAS]; TEAMS]; ORGS],
    grants: [[[Grant; WORKSPACES]; TEAMS]; ORGS],
    user_keys: [KeySpec; USERS],
    sa_keys: [[KeySpec; SAS]; ORGS],
    /// Removed from a team after the keys were made.
    removed: [[[bool; USERS]; TEAMS]; ORGS],
}

// ---- the model -------------------------------------------------------------

/// Who asks.
#[derive(Clone, Copy, Debug)]
enum Who {
    User(usize),
    Sa(usize, usize),
}

impl World {
    fn role_set(&self, org: usize, grant: Grant) -> Option<PermissionSet> {
        match grant {
            Grant::None => None,
            Grant::Builtin(r) => Some(r.permissions()),
            Grant::Custom(c) => Some(self.custom[org][c]),
        }
    }

    fn on_team(&self, org: usize, team: usize, who: Who) -> bool {
        match who {
            Who::User(u) => self.on_team[org][team][u] && !self.removed[org][team][u],
            Who::Sa(o, s) => o == org && self.sa_on_team[org][team][s],
        }
    }

    /// DESIGN.md §2a, written plainly: `None` when the workspace does not
    /// exist for the principal.
    fn model(&self, who: Who, org: usize, ws: usize) -> Option<PermissionSet> {
        let role = match who {
            Who::User(u) => self.membership[u][org],
            Who::Sa(o, s) if o == org => {
                if self.sa_owner[o][s] {
                    Membership::Owner
                } else {
                    Membership::Member
                }
            }
            Who::Sa(..) => Membership::None,
        };
        let held = match role {
            Membership::None => return None,
            Membership::Owner => PermissionSet::ALL,
            Membership::Member => {
                let mut held = None;
                for team in 0..TEAMS {
                    if self.team_deleted[org][team] || !self.on_team(org, team, who) {
                        continue;
                    }
                    if let Some(set) = self.role_set(org, self.grants[org][team][ws]) {
                        held = Some(held.unwrap_or(PermissionSet::EMPTY).union(set));
                    }
                }
                held?
            }
        };
        Some(if self.archived[org][ws] {
            PermissionSet::of(&READS).intersect(held)
        } else {
            held
        })
    }

    fn model_key(&self, who: Who, key: &KeySpec, org: usize, ws: usize) -> Option<PermissionSet> {
        if key.org != org || !key.workspaces[ws] {
            return None;
        }
        self.model(who, org, ws)
            .map(|held| held.intersect(key.scopes))
    }
}

const READS: [Permission; 5] = [
    Permission::AgentsRead,
    Permission::ToolsRead,
    Permission::McpRead,
    Permission::SchedulesRead,
    Permission::RunsRead,
];

// ---- the printout of a counterexample --------------------------------------

fn perms(set: PermissionSet) -> String {
    if set == PermissionSet::ALL {
        "all".to_owned()
    } else if set.is_empty() {
        "nothing".to_owned()
    } else {
        set.names().join(" ")
    }
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "a world of {ORGS} orgs:")?;
        for o in 0..ORGS {
            writeln!(f, "org o{o}:")?;
            for w in 0..WORKSPACES {
                let archived = if self.archived[o][w] {
                    " (archived)"
                } else {
                    ""
                };
                writeln!(f, "  workspace w{w}{archived}")?;
            }
            for (c, set) in self.custom[o].iter().enumerate() {
                writeln!(f, "  custom role c{c}: {}", perms(*set))?;
            }
            for u in 0..USERS {
                match self.membership[u][o] {
                    Membership::None => {}
                    Membership::Member => writeln!(f, "  u{u} is a member")?,
                    Membership::Owner => writeln!(f, "  u{u} is an owner")?,
                }
            }
            for s in 0..SAS {
                let role = if self.sa_owner[o][s] {
                    "owner"
                } else {
                    "member"
                };
                writeln!(f, "  service account s{s} is a {role}")?;
            }
            for t in 0..TEAMS {
                let deleted = if self.team_deleted[o][t] {
                    " (deleted)"
                } else {
                    ""
                };
                let mut on: Vec<String> = (0..USERS)
                    .filter(|u| self.on_team[o][t][*u])
                    .map(|u| {
                        if self.removed[o][t][u] {
                            format!("u{u} (then removed)")
                        } else {
                            format!("u{u}")
                        }
                    })
                    .collect();
                on.extend(
                    (0..SAS)
                        .filter(|s| self.sa_on_team[o][t][*s])
                        .map(|s| format!("s{s}")),
                );
                writeln!(f, "  team t{t}{deleted}: [{}]", on.join(", "))?;
                for w in 0..WORKSPACES {
                    match self.grants[o][t][w] {
                        Grant::None => {}
                        Grant::Builtin(r) => writeln!(f, "    granted {} on w{w}", r.name())?,
                        Grant::Custom(c) => writeln!(f, "    granted c{c} on w{w}")?,
                    }
                }
            }
        }
        let key = |f: &mut fmt::Formatter<'_>, who: String, k: &KeySpec| {
            let ws: Vec<String> = (0..WORKSPACES)
                .filter(|w| k.workspaces[*w])
                .map(|w| format!("w{w}"))
                .collect();
            writeln!(
                f,
                "key of {who}: bound to o{}, scopes {}, workspaces [{}]",
                k.org,
                perms(k.scopes),
                ws.join(", ")
            )
        };
        for (u, k) in self.user_keys.iter().enumerate() {
            key(f, format!("u{u}"), k)?;
        }
        for o in 0..ORGS {
            for (s, k) in self.sa_keys[o].iter().enumerate() {
                key(f, format!("o{o}'s s{s}"), k)?;
            }
        }
        Ok(())
    }
}

// ---- random worlds ---------------------------------------------------------

fn grant() -> impl Strategy<Value = Grant> {
    prop_oneof![
        3 => Just(Grant::None),
        1 => Just(Grant::Builtin(BuiltinRole::Viewer)),
        1 => Just(Grant::Builtin(BuiltinRole::Runner)),
        1 => Just(Grant::Builtin(BuiltinRole::Creator)),
        1 => (0..CUSTOM_ROLES).prop_map(Grant::Custom),
    ]
}

fn set() -> impl Strategy<Value = PermissionSet> {
    any::<u16>().prop_map(|b| PermissionSet::from_stored(i64::from(b)))
}

fn key(org: impl Strategy<Value = usize>) -> impl Strategy<Value = KeySpec> {
    (
        org,
        prop_oneof![1 => Just(PermissionSet::ALL), 2 => set()],
        prop::array::uniform3(prop::bool::weighted(0.7)),
    )
        .prop_map(|(org, scopes, workspaces)| KeySpec {
            org,
            scopes,
            workspaces,
        })
}

fn membership() -> impl Strategy<Value = Membership> {
    prop_oneof![
        1 => Just(Membership::None),
        3 => Just(Membership::Member),
        1 => Just(Membership::Owner),
    ]
}

fn world() -> impl Strategy<Value = World> {
    use prop::array::{uniform2, uniform3, uniform4};
    let flags = |p: f64| uniform2(uniform3(prop::bool::weighted(p)));
    let users_on = |p: f64| uniform2(uniform3(uniform4(prop::bool::weighted(p))));
    (
        uniform4(uniform2(membership())),
        uniform2(uniform2(prop::bool::weighted(0.2))),
        flags(0.2),
        flags(0.15),
        uniform2(uniform2(set())),
        users_on(0.5),
        uniform2(uniform3(uniform2(prop::bool::weighted(0.5)))),
        uniform2(uniform3(uniform3(grant()))),
        uniform4(key(0..ORGS)),
        (uniform2(key(Just(0))), uniform2(key(Just(1)))),
        users_on(0.15),
    )
        .prop_map(
            |(
                membership,
                sa_owner,
                archived,
                team_deleted,
                custom,
                on_team,
                sa_on_team,
                grants,
                user_keys,
                (sa0, sa1),
                removed,
            )| World {
                membership,
                sa_owner,
                archived,
                team_deleted,
                custom,
                on_team,
                sa_on_team,
                grants,
                user_keys,
                sa_keys: [sa0, sa1],
                removed,
            },
        )
}

// ---- writing a world to the database ---------------------------------------

/// A bind value of the set-up statements.
pub enum V {
    Id(Uuid),
    NullId,
    Text(String),
    Int(i64),
    NullInt,
    Bytes(Vec<u8>),
}

/// Runs one set-up statement with typed binds.
pub async fn run(db: &Db, sql: &'static str, binds: Vec<V>) {
    macro_rules! bound {
        ($pool:expr) => {{
            let mut q = sqlx::query(sql);
            for b in binds {
                q = match b {
                    V::Id(v) => q.bind(v),
                    V::NullId => q.bind(None::<Uuid>),
                    V::Text(v) => q.bind(v),
                    V::Int(v) => q.bind(v),
                    V::NullInt => q.bind(None::<i64>),
                    V::Bytes(v) => q.bind(v),
                };
            }
            q.execute($pool).await.unwrap();
        }};
    }
    match db {
        Db::Sqlite(p) => bound!(p),
        Db::Postgres(p) => bound!(p),
    }
}

/// The ids and tokens a written world is asked through.
struct Written {
    org_slugs: [String; ORGS],
    ws_slugs: [[String; WORKSPACES]; ORGS],
    users: [Uuid; USERS],
    user_tokens: Vec<String>,
    sa_tokens: [[String; SAS]; ORGS],
}

async fn write(app: &TestApp, n: u32, w: &World) -> Written {
    let db = app.db();
    let now = START;
    let users: [Uuid; USERS] = std::array::from_fn(|_| Uuid::now_v7());
    for (u, id) in users.iter().enumerate() {
        run(
            db,
            "INSERT INTO users (id, email, password_hash, display_name, created_at, updated_at) \
             VALUES ($1, $2, 'x', $3, $4, $4)",
            vec![
                V::Id(*id),
                V::Text(format!("u{u}-{n}@model.test")),
                V::Text(format!("u{u}")),
                V::Int(now),
            ],
        )
        .await;
    }
    let org_slugs: [String; ORGS] = std::array::from_fn(|o| format!("model-{n}-o{o}"));
    let ws_slugs: [[String; WORKSPACES]; ORGS] =
        std::array::from_fn(|_| std::array::from_fn(|ws| format!("w{ws}")));
    let mut org_ids = [Uuid::nil(); ORGS];
    let mut ws_ids = [[Uuid::nil(); WORKSPACES]; ORGS];
    let mut sa_ids = [[Uuid::nil(); SAS]; ORGS];
    let mut team_ids = [[Uuid::nil(); TEAMS]; ORGS];
    let mut role_ids = [[Uuid::nil(); CUSTOM_ROLES]; ORGS];
    for o in 0..ORGS {
        let org = Uuid::now_v7();
        org_ids[o] = org;
        run(
            db,
            "INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $2, $3)",
            vec![V::Id(org), V::Text(org_slugs[o].clone()), V::Int(now)],
        )
        .await;
        for ws in 0..WORKSPACES {
            ws_ids[o][ws] = Uuid::now_v7();
            run(
                db,
                "INSERT INTO workspaces (id, org_id, slug, name, created_at, archived_at) \
                 VALUES ($1, $2, $3, $3, $4, $5)",
                vec![
                    V::Id(ws_ids[o][ws]),
                    V::Id(org),
                    V::Text(ws_slugs[o][ws].clone()),
                    V::Int(now),
                    if w.archived[o][ws] {
                        V::Int(now)
                    } else {
                        V::NullInt
                    },
                ],
            )
            .await;
        }
        for (u, id) in users.iter().enumerate() {
            let role = match w.membership[u][o] {
                Membership::None => continue,
                Membership::Member => "member",
                Membership::Owner => "owner",
            };
            run(
                db,
                "INSERT INTO memberships (org_id, user_id, role, member_name, member_email, \
                 created_at) VALUES ($1, $2, $3, $4, $4, $5)",
                vec![
                    V::Id(org),
                    V::Id(*id),
                    V::Text(role.into()),
                    V::Text(format!("u{u}")),
                    V::Int(now),
                ],
            )
            .await;
        }
        for s in 0..SAS {
            sa_ids[o][s] = Uuid::now_v7();
            run(
                db,
                "INSERT INTO service_accounts (id, org_id, name, created_at, role) \
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    V::Id(sa_ids[o][s]),
                    V::Id(org),
                    V::Text(format!("s{s}")),
                    V::Int(now),
                    V::Text(if w.sa_owner[o][s] { "owner" } else { "member" }.into()),
                ],
            )
            .await;
        }
        for c in 0..CUSTOM_ROLES {
            role_ids[o][c] = Uuid::now_v7();
            run(
                db,
                "INSERT INTO roles (id, org_id, name, permissions, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    V::Id(role_ids[o][c]),
                    V::Id(org),
                    V::Text(format!("c{c}")),
                    V::Int(w.custom[o][c].to_stored()),
                    V::Int(now),
                ],
            )
            .await;
        }
        for t in 0..TEAMS {
            team_ids[o][t] = Uuid::now_v7();
            run(
                db,
                "INSERT INTO teams (id, org_id, name, created_at, deleted_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    V::Id(team_ids[o][t]),
                    V::Id(org),
                    V::Text(format!("t{t}")),
                    V::Int(now),
                    if w.team_deleted[o][t] {
                        V::Int(now)
                    } else {
                        V::NullInt
                    },
                ],
            )
            .await;
            for (u, id) in users.iter().enumerate() {
                if w.on_team[o][t][u] {
                    run(
                        db,
                        "INSERT INTO team_members (team_id, org_id, user_id, created_at) \
                         VALUES ($1, $2, $3, $4)",
                        vec![V::Id(team_ids[o][t]), V::Id(org), V::Id(*id), V::Int(now)],
                    )
                    .await;
                }
            }
            for s in 0..SAS {
                if w.sa_on_team[o][t][s] {
                    run(
                        db,
                        "INSERT INTO team_service_accounts (team_id, org_id, service_account_id, \
                         created_at) VALUES ($1, $2, $3, $4)",
                        vec![
                            V::Id(team_ids[o][t]),
                            V::Id(org),
                            V::Id(sa_ids[o][s]),
                            V::Int(now),
                        ],
                    )
                    .await;
                }
            }
            for ws in 0..WORKSPACES {
                let role = match w.grants[o][t][ws] {
                    Grant::None => continue,
                    Grant::Builtin(r) => r.id(),
                    Grant::Custom(c) => role_ids[o][c],
                };
                run(
                    db,
                    "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, \
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                    vec![
                        V::Id(ws_ids[o][ws]),
                        V::Id(team_ids[o][t]),
                        V::Id(org),
                        V::Id(role),
                        V::Int(now),
                    ],
                )
                .await;
            }
        }
    }
    let user_tokens = {
        let mut tokens = Vec::new();
        for (u, k) in w.user_keys.iter().enumerate() {
            let owner = (Some(users[u]), None);
            tokens.push(insert_key(db, owner, org_ids[k.org], &ws_ids[k.org], k).await);
        }
        tokens
    };
    let mut sa_tokens: [[String; SAS]; ORGS] = Default::default();
    for o in 0..ORGS {
        for s in 0..SAS {
            let k = &w.sa_keys[o][s];
            let owner = (None, Some(sa_ids[o][s]));
            sa_tokens[o][s] = insert_key(db, owner, org_ids[k.org], &ws_ids[k.org], k).await;
        }
    }
    // Removals after the keys exist: they must cut the keys at once.
    for o in 0..ORGS {
        for t in 0..TEAMS {
            for (u, id) in users.iter().enumerate() {
                if w.on_team[o][t][u] && w.removed[o][t][u] {
                    run(
                        db,
                        "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2",
                        vec![V::Id(team_ids[o][t]), V::Id(*id)],
                    )
                    .await;
                }
            }
        }
    }
    Written {
        org_slugs,
        ws_slugs,
        users,
        user_tokens,
        sa_tokens,
    }
}

/// Inserts a key of `owner` (a person or a service account) bound to `org`,
/// granted the workspaces its spec names; answers its token.
pub async fn insert_key(
    db: &Db,
    owner: (Option<Uuid>, Option<Uuid>),
    org: Uuid,
    ws_ids: &[Uuid; WORKSPACES],
    k: &KeySpec,
) -> String {
    let issued = api_key::issue();
    let id = Uuid::now_v7();
    // A key holds at least one scope; profile:read opens no workspace.
    let scopes = if k.scopes.is_empty() {
        "profile:read".to_owned()
    } else {
        k.scopes.names().join(" ")
    };
    let opt = |v: Option<Uuid>| v.map_or(V::NullId, V::Id);
    run(
        db,
        "INSERT INTO api_keys (id, public_id, owner_user_id, service_account_id, org_id, name, \
         scopes, secret_digest, created_at) VALUES ($1, $2, $3, $4, $5, 'k', $6, $7, $8)",
        vec![
            V::Id(id),
            V::Text(issued.public_id.clone()),
            opt(owner.0),
            opt(owner.1),
            V::Id(org),
            V::Text(scopes),
            V::Bytes(issued.digest.clone()),
            V::Int(START),
        ],
    )
    .await;
    for (ws, granted) in k.workspaces.iter().enumerate() {
        if *granted {
            run(
                db,
                "INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
                vec![V::Id(id), V::Id(ws_ids[ws]), V::Id(org), V::Int(START)],
            )
            .await;
        }
    }
    issued.token.expose().to_owned()
}

// ---- asking the real check -------------------------------------------------

/// What the API check answers for `token` in `org`/`ws`.
async fn real_key(app: &TestApp, token: &str, org: &str, ws: &str) -> Option<PermissionSet> {
    let path = format!("/v1/orgs/{org}/workspaces/{ws}/access");
    let res = api(&app.router, Method::GET, &path, Some(token), None).await;
    match res.status {
        StatusCode::NOT_FOUND => None,
        StatusCode::OK => {
            let body = json_of(&res);
            let names: Vec<String> = body["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            Some(PermissionSet::from_names(&names).unwrap())
        }
        other => panic!("{path}: unexpected {other}: {}", res.body),
    }
}

/// Compares every decision for one world; the first disagreement fails it.
async fn check_world(app: &TestApp, n: u32, w: &World) -> Result<u32, String> {
    let written = write(app, n, w).await;
    let mut decisions = 0;
    let mut compare = |what: String, model: Option<PermissionSet>, real: Option<PermissionSet>| {
        decisions += Permission::ALL.len() as u32;
        if model == real {
            Ok(())
        } else {
            let show = |s: Option<PermissionSet>| s.map_or("no workspace (404)".to_owned(), perms);
            Err(format!(
                "{what}: the model says {}, the check says {}",
                show(model),
                show(real)
            ))
        }
    };
    for o in 0..ORGS {
        for ws in 0..WORKSPACES {
            let (org, wslug) = (&written.org_slugs[o], &written.ws_slugs[o][ws]);
            for u in 0..USERS {
                let real = user_permissions(&app.state, written.users[u], org, wslug)
                    .await
                    .unwrap()
                    .map(|(set, _)| set);
                compare(
                    format!("u{u} in o{o}/w{ws} (console)"),
                    w.model(Who::User(u), o, ws),
                    real,
                )?;
                let real = real_key(app, &written.user_tokens[u], org, wslug).await;
                let model = w.model_key(Who::User(u), &w.user_keys[u], o, ws);
                compare(format!("u{u}'s key in o{o}/w{ws}"), model, real)?;
            }
            for so in 0..ORGS {
                for s in 0..SAS {
                    let real = real_key(app, &written.sa_tokens[so][s], org, wslug).await;
                    let model = w.model_key(Who::Sa(so, s), &w.sa_keys[so][s], o, ws);
                    compare(format!("o{so}'s s{s}'s key in o{o}/w{ws}"), model, real)?;
                }
            }
        }
    }
    Ok(decisions)
}

#[test]
fn the_permission_check_agrees_with_the_reference_model() {
    for engine in engines() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = rt.block_on(TestApp::new(engine));
        let mut runner = TestRunner::new(RunnerConfig {
            cases: CASES,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        let n = std::cell::Cell::new(0);
        let decisions = std::cell::Cell::new(0);
        let result = runner.run(&world(), |w| {
            // Every world gets orgs of its own in the one database.
            n.set(n.get() + 1);
            let checked = rt.block_on(check_world(&app, n.get(), &w));
            decisions.set(decisions.get() + checked.as_ref().copied().unwrap_or(0));
            checked.map(|_| ()).map_err(TestCaseError::fail)
        });
        let decisions = decisions.get();
        if let Err(e) = result {
            panic!("{engine:?}: {e}");
        }
        assert!(decisions >= CASES * 700, "only {decisions} decisions");
        rt.block_on(app.finish());
    }
}
