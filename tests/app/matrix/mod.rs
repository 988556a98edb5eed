//! The authorization matrix: every route of every surface (the router's own
//! tables, `gatehouse::router::tables`) × every persona → the status it gets,
//! with nothing of another org or person in the answer. A route in a table
//! without a row here fails the test. One app per engine and personas set up
//! once, so the whole matrix stays fast; the surfaces run in an order where
//! the state-changing rows come last.

mod account;
mod ops;
mod orgs;
mod scim;
mod v1;
pub mod workspaces;

use axum::http::StatusCode;
use gatehouse::db::Db;

use crate::helpers::*;
use crate::orgs::{add_member, two_orgs, user_id};
use crate::service_accounts::public_id;

/// What a persona gets on a route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// Sent to sign in.
    SignIn,
    NotFound,
    Forbidden,
    /// Sent to `/sudo` first (a POST that needs a fresh sudo window).
    Sudo,
    /// Reached the handler: 2xx, a redirect back into the console, 422 for
    /// a form posted without its fields, or 409 for a state that refuses
    /// it (deleting the account of an org's last owner).
    Served,
    /// Done: 2xx or a redirect into the console (never 422): a valid form.
    Done,
}

/// Asserts what a persona got.
pub fn check(expect: Expect, res: &TestResponse, what: &str) {
    let to = res.location().unwrap_or("");
    let redirect_in = res.status == StatusCode::SEE_OTHER
        && !to.starts_with("/login")
        && !to.starts_with("/sudo");
    let ok = match expect {
        Expect::SignIn => res.status == StatusCode::SEE_OTHER && to.starts_with("/login"),
        Expect::NotFound => res.status == StatusCode::NOT_FOUND,
        Expect::Forbidden => res.status == StatusCode::FORBIDDEN,
        Expect::Sudo => res.status == StatusCode::SEE_OTHER && to.starts_with("/sudo"),
        Expect::Served => {
            res.status.is_success()
                || redirect_in
                || res.status == StatusCode::UNPROCESSABLE_ENTITY
                || res.status == StatusCode::CONFLICT
        }
        Expect::Done => res.status.is_success() || redirect_in,
    };
    assert!(
        ok,
        "{what}: expected {expect:?}, got {} {:?}: {}",
        res.status,
        res.location(),
        &res.body[..res.body.len().min(400)]
    );
}

/// A GET, or a POST of no fields with the client's last CSRF token.
pub async fn call(c: &mut Client, method: &str, path: &str) -> TestResponse {
    if method == "GET" {
        c.get(path).await
    } else {
        c.post(path, &[]).await
    }
}

/// The people (and their ids) every surface's matrix is checked against.
pub struct World {
    pub anonymous: Client,
    /// Signed in, in no org.
    pub no_org: Client,
    /// Oscar, a member of globex.
    pub other_member: Client,
    /// Olga, the owner of globex.
    pub other_owner: Client,
    /// Grace, a member of acme.
    pub member: Client,
    /// Ada, an owner of acme (Ann is the other owner, never signed in).
    pub owner: Client,
    /// Opal, an operator in sudo, in no org.
    pub operator: Client,
    pub team: String,
    pub globex_team: String,
    pub sa: String,
    pub sa_key: String,
    pub globex_sa: String,
    pub globex_sa_key: String,
    /// Oscar's personal key, bound to globex.
    pub globex_member_key: String,
    pub grace_id: String,
    pub oscar_id: String,
    pub invitation: String,
    pub globex_invitation: String,
    /// A custom role of acme, and one of globex.
    pub role: String,
    pub globex_role: String,
    /// A SCIM token of acme's, and one of globex's (their ids).
    pub scim_token: String,
    pub globex_scim_token: String,
}

impl World {
    /// The signed-in personas, named.
    pub fn signed_in(&mut self) -> [(&'static str, &mut Client); 6] {
        [
            ("no-org user", &mut self.no_org),
            ("other org's member", &mut self.other_member),
            ("other org's owner", &mut self.other_owner),
            ("member", &mut self.member),
            ("owner", &mut self.owner),
            ("operator", &mut self.operator),
        ]
    }
}

/// One id from the database (test inspection only).
pub async fn id_where(app: &TestApp, sql: &'static str, bind: &str) -> String {
    match app.db() {
        Db::Sqlite(p) => sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .bind(bind)
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .bind(bind)
            .fetch_one(p)
            .await
            .unwrap(),
    }
    .to_string()
}

/// Row counts of everything an org route can change, to show that a
/// refused request changed nothing.
pub async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM memberships",
        "SELECT COUNT(*) FROM memberships WHERE role = 'owner'",
        "SELECT COUNT(*) FROM teams",
        "SELECT COUNT(*) FROM teams WHERE deleted_at IS NOT NULL",
        "SELECT COUNT(*) FROM team_members",
        "SELECT COUNT(*) FROM invitations",
        "SELECT COUNT(*) FROM invitations WHERE revoked_at IS NOT NULL",
        "SELECT COUNT(*) FROM service_accounts",
        "SELECT COUNT(*) FROM api_keys",
        "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL",
        "SELECT COUNT(*) FROM api_keys WHERE hidden_at IS NOT NULL",
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM roles",
        "SELECT COUNT(*) FROM workspace_grants",
        "SELECT COUNT(*) FROM passkeys",
        "SELECT COUNT(*) FROM passkeys WHERE name = 'matrix'",
    ] {
        counts.push(app.count(sql).await);
    }
    counts
}

/// The snapshot and the audit log's length: a served form changes one.
pub async fn effects(app: &TestApp) -> Vec<i64> {
    let mut counts = snapshot(app).await;
    counts.push(app.count("SELECT COUNT(*) FROM audit_events").await);
    counts
}

async fn invitation_id(app: &TestApp, email: &str) -> String {
    id_where(app, "SELECT id FROM invitations WHERE email = $1", email).await
}

/// acme (owners Ada and Ann, member Grace, a team, a service account with a
/// key, an invitation) and globex (owner Olga, member Oscar, the same), a
/// signed-in user in no org and an operator.
async fn world(app: &TestApp) -> World {
    let (mut owner, member, mut other_owner) = two_orgs(app).await;
    registered(app, "ann@example.com", "Ann").await;
    add_member(app, "acme", "ann@example.com", "owner").await;
    let team = owner.create_team("acme", "Research").await;
    let globex_team = other_owner.create_team("globex", "Secret project").await;
    let sa = owner.create_service_account("acme", "Deploy bot").await;
    let sa_key = owner.create_sa_key("acme", &sa, &["teams:read"], &[]).await;
    let globex_sa = other_owner
        .create_service_account("globex", "Secret project bot")
        .await;
    let globex_sa_key = other_owner
        .create_sa_key("globex", &globex_sa, &["teams:read"], &[])
        .await;
    owner
        .invite("acme", "invitee@example.com", "member", &[])
        .await;
    other_owner
        .invite("globex", "secret-invitee@example.com", "member", &[])
        .await;
    let mut other_member = app.client();
    other_member
        .login("oscar@example.com", PASSWORD)
        .await
        .assert_redirect("/account");
    let globex_member_key = other_member
        .create_bound_key(&["teams:read"], "globex", &[])
        .await;
    let mut anonymous = app.client();
    anonymous.get("/login").await.assert_status(StatusCode::OK);
    for (c, slug, name) in [
        (&mut owner, "acme", "Auditor"),
        (&mut other_owner, "globex", "Secret project role"),
    ] {
        let page = format!("/orgs/{slug}/roles");
        c.submit(
            &page,
            &page,
            &[("name", name), ("permissions", "runs:read")],
        )
        .await
        .assert_redirect(&page);
    }
    let role = id_where(app, "SELECT id FROM roles WHERE name = $1", "Auditor").await;
    let globex_role = id_where(
        app,
        "SELECT id FROM roles WHERE name = $1",
        "Secret project role",
    )
    .await;
    owner.create_scim_token("acme", "Provisioner").await;
    other_owner
        .create_scim_token("globex", "Secret project IdP")
        .await;
    let scim_token = id_where(
        app,
        "SELECT id FROM scim_tokens WHERE name = $1",
        "Provisioner",
    )
    .await;
    let globex_scim_token = id_where(
        app,
        "SELECT id FROM scim_tokens WHERE name = $1",
        "Secret project IdP",
    )
    .await;
    World {
        role,
        globex_role,
        scim_token,
        globex_scim_token,
        anonymous,
        no_org: signed_in(app, "eve@example.com", "Eve").await,
        other_member,
        other_owner,
        member,
        owner,
        operator: crate::ops::operator(app, "opal@example.com").await,
        team,
        globex_team,
        sa,
        sa_key: public_id(&sa_key).to_owned(),
        globex_sa,
        globex_sa_key: public_id(&globex_sa_key).to_owned(),
        globex_member_key: public_id(&globex_member_key).to_owned(),
        grace_id: user_id(app, "grace@example.com").await.to_string(),
        oscar_id: user_id(app, "oscar@example.com").await.to_string(),
        invitation: invitation_id(app, "invitee@example.com").await,
        globex_invitation: invitation_id(app, "secret-invitee@example.com").await,
    }
}

/// The `(method, path)` rows of one surface's table, state-changing POSTs
/// (removals and deletions, then leaving) last.
pub fn ordered(table: &gatehouse::router::RouteTable) -> Vec<(&'static str, String)> {
    let mut rows = table.routes().to_vec();
    rows.sort_by_key(|(m, p)| {
        let destructive = p.ends_with("/remove") || p.ends_with("/delete");
        (
            p.ends_with("/leave"),
            *m == "POST" && destructive,
            *m == "POST",
        )
    });
    rows
}

#[tokio::test]
async fn every_route_of_every_surface_has_a_matrix_row() {
    for table in gatehouse::router::tables::all() {
        for (method, path) in table.routes() {
            let covered = match table.name() {
                "account" => account::row(method, path).is_some(),
                "orgs" => orgs::row(method, path).is_some(),
                "ops" => ops::row(method, path).is_some(),
                "v1" => v1::row(method, path).is_some(),
                "scim" => scim::row(method, path).is_some(),
                "workspaces" | "v1-workspaces" => workspaces::row(method, path).is_some(),
                "public" | "operations" => ops::public_row(method, path).is_some(),
                other => panic!("a surface without a matrix: {other}"),
            };
            assert!(
                covered,
                "no matrix row for {method} {path} ({})",
                table.name()
            );
        }
    }
}

#[tokio::test]
async fn every_route_answers_each_persona_as_the_matrix_says() {
    // The walk makes more keys for one person than an hour allows; the
    // allowance has its own tests.
    each_engine_with(
        |c| c.key_issues_per_hour = 100,
        |app| async move {
            let mut w = world(&app).await;
            ops::walk_public(&app, &mut w).await;
            v1::walk(&app, &mut w).await;
            scim::walk(&app, &mut w).await;
            ops::walk(&app, &mut w).await;
            account::walk(&app, &mut w).await;
            orgs::walk(&app, &mut w).await;
            app
        },
    )
    .await;
}
