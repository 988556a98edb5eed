//! Runs: requested by whoever holds `agents:run`, reported by an executor
//! holding `runs:write`, read with `runs:read`; the life of a run enforced
//! (409 otherwise); history in keyset pages with filters; the scheduler
//! enqueueing each due time exactly once, whatever the number of instances.

use axum::http::{Method, StatusCode};
use gatehouse::clock::Clock;
use gatehouse::db::Db;
use gatehouse::domain::BuiltinRole;
use gatehouse::jobs::schedules::fire_due_schedules;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;
use crate::orgs::{add_member, org_id, two_orgs};

/// Runs `$body` with `$p` bound to the app's live pool.
macro_rules! on_db {
    ($app:expr, |$p:ident| $body:expr) => {
        match $app.db() {
            Db::Sqlite($p) => $body,
            Db::Postgres($p) => $body,
        }
    };
}

/// Test set-up until the resources API lands: a live resource of `kind`
/// (`agent`, `schedule`, …) named `name` in workspace `ws` of org `org`.
pub async fn insert_resource(
    app: &TestApp,
    org: &str,
    ws: &str,
    kind: &str,
    name: &str,
    config: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let sql = "INSERT INTO resources (id, org_id, workspace_id, kind, name, config, created_by, \
               created_at, updated_by, updated_at) \
               SELECT $1, w.org_id, w.id, $2, $3, $4, 'test', $5, 'test', $5 \
               FROM workspaces w JOIN orgs o ON o.id = w.org_id WHERE o.slug = $6 AND w.slug = $7";
    let n = on_db!(app, |p| sqlx::query(sql)
        .bind(id)
        .bind(kind)
        .bind(name)
        .bind(config)
        .bind(app.clock.unix())
        .bind(org)
        .bind(ws)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
    assert_eq!(n, 1, "no workspace {org}/{ws}");
    id
}

/// Soft-deletes a resource as the resources API will.
async fn delete_resource(app: &TestApp, id: Uuid) {
    let sql = "UPDATE resources SET deleted_at = $1, deleted_by = 'test' WHERE id = $2";
    on_db!(app, |p| sqlx::query(sql)
        .bind(app.clock.unix())
        .bind(id)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
}

/// Test set-up until the workspaces pages land: another workspace of `org`.
async fn insert_workspace(app: &TestApp, org: &str, slug: &str) {
    crate::resources::add_workspace(app, org, slug).await;
}

/// Grants workspace `ws` of `org` to the key `token` (test set-up).
pub async fn grant_key_workspace(app: &TestApp, token: &str, org: &str, ws: &str) {
    crate::resources::grant_key_workspace(app, crate::service_accounts::public_id(token), org, ws)
        .await;
}

/// Test set-up until the access pages land: grants `role` on workspace `ws`
/// of `org` to team `team`.
pub async fn grant_team_role(app: &TestApp, org: &str, ws: &str, team: &str, role: BuiltinRole) {
    grant_team_role_id(app, org, ws, team, role.id()).await;
}

/// `grant_team_role` for any role, by id.
async fn grant_team_role_id(app: &TestApp, org: &str, ws: &str, team: &str, role: Uuid) {
    let sql = "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
               SELECT w.id, $1, w.org_id, $2, $3 FROM workspaces w JOIN orgs o ON o.id = w.org_id \
               WHERE o.slug = $4 AND w.slug = $5";
    on_db!(app, |p| sqlx::query(sql)
        .bind(Uuid::parse_str(team).unwrap())
        .bind(role)
        .bind(app.clock.unix())
        .bind(org)
        .bind(ws)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
}

pub const AGENT: &str = r#"{"model": "small", "instructions": "Be brief."}"#;
pub const EVERY_RUN_SCOPE: &[&str] = &["agents:run", "runs:read", "runs:write"];

/// An owner's key bound to `org` with `scopes`, granted its `default`
/// workspace.
pub async fn workspace_key(
    app: &TestApp,
    owner: &mut Client,
    org: &str,
    scopes: &[&str],
) -> String {
    let token = owner.create_bound_key(scopes, org, &[]).await;
    grant_key_workspace(app, &token, org, "default").await;
    token
}

async fn call(
    app: &TestApp,
    method: Method,
    token: &str,
    path: &str,
    body: Option<&str>,
) -> TestResponse {
    api(&app.router, method, path, Some(token), body).await
}

fn runs_of(org: &str, ws: &str, agent: Uuid) -> String {
    format!("/v1/orgs/{org}/workspaces/{ws}/agents/{agent}/runs")
}

fn run_path(org: &str, run: &str) -> String {
    format!("/v1/orgs/{org}/workspaces/default/runs/{run}")
}

fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Requests a run of `agent` in `org`'s default workspace; returns its id.
pub async fn request(
    app: &TestApp,
    token: &str,
    org: &str,
    agent: Uuid,
    body: Option<&str>,
) -> String {
    let res = call(
        app,
        Method::POST,
        token,
        &runs_of(org, "default", agent),
        body,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    json_of(&res)["id"].as_str().unwrap().to_owned()
}

async fn report(app: &TestApp, token: &str, org: &str, run: &str, body: &str) -> TestResponse {
    call(app, Method::PATCH, token, &run_path(org, run), Some(body)).await
}

#[tokio::test]
async fn a_requested_run_is_queued_and_the_executor_reports_it_to_success() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "summarizer", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;

        let res = call(
            &app,
            Method::POST,
            &key,
            &runs_of("acme", "default", agent),
            Some(r#"{"input": {"text": "hello"}}"#),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let run = json_of(&res);
        assert_eq!(run["status"], "queued");
        assert_eq!(run["agent"], "summarizer");
        assert_eq!(run["input"]["text"], "hello");
        assert_eq!(run["requested_by"], "ada@example.com");
        assert_eq!(run["created_at"], START);
        let id = run["id"].as_str().unwrap().to_owned();

        app.clock.advance(5);
        let res = report(&app, &key, "acme", &id, r#"{"status": "running"}"#).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["started_at"], START + 5);

        app.clock.advance(10);
        let res = report(
            &app,
            &key,
            "acme",
            &id,
            r#"{"status": "succeeded", "output": {"summary": "hi"}}"#,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);

        let got = json_of(&call(&app, Method::GET, &key, &run_path("acme", &id), None).await);
        assert_eq!(got["status"], "succeeded");
        assert_eq!(got["output"]["summary"], "hi");
        assert_eq!(got["finished_at"], START + 15);
        assert_eq!(got["error"], Value::Null);

        // Every change is in the org's log, with its transition.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'run.requested'")
                .await,
            1
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'run.status_changed' \
                 AND detail LIKE '%\"from\":\"running\"%' AND detail LIKE '%\"to\":\"succeeded\"%'"
            )
            .await,
            1
        );
        // A run without a body has no input.
        let bare = request(&app, &key, "acme", agent, None).await;
        let got = json_of(&call(&app, Method::GET, &key, &run_path("acme", &bare), None).await);
        assert_eq!(got["input"], Value::Null);
        app
    })
    .await;
}

#[tokio::test]
async fn transitions_outside_the_life_of_a_run_are_refused_with_409_and_change_nothing() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let run = request(&app, &key, "acme", agent, None).await;

        for status in ["succeeded", "failed", "queued"] {
            let res = report(
                &app,
                &key,
                "acme",
                &run,
                &format!(r#"{{"status": "{status}"}}"#),
            )
            .await;
            assert_eq!(res.status, StatusCode::CONFLICT, "{status}: {}", res.body);
            let body = json_of(&res);
            assert_eq!(body["error"]["code"], "illegal_transition");
            assert_eq!(body["error"]["from"], "queued");
            assert_eq!(body["error"]["to"], status);
        }
        let res = report(&app, &key, "acme", &run, r#"{"status": "cancelled"}"#).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // Terminal states are final.
        for status in ["running", "succeeded", "cancelled"] {
            let res = report(
                &app,
                &key,
                "acme",
                &run,
                &format!(r#"{{"status": "{status}"}}"#),
            )
            .await;
            assert_eq!(res.status, StatusCode::CONFLICT, "{status}");
            assert_eq!(json_of(&res)["error"]["from"], "cancelled");
        }
        // Output belongs to a finish; an unknown status is a field error.
        let other = request(&app, &key, "acme", agent, None).await;
        let res = report(
            &app,
            &key,
            "acme",
            &other,
            r#"{"status": "running", "output": 1}"#,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json_of(&res)["error"]["fields"][0]["field"], "output");
        let res = report(&app, &key, "acme", &other, r#"{"status": "done"}"#).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json_of(&res)["error"]["fields"][0]["field"], "status");
        let got = json_of(&call(&app, Method::GET, &key, &run_path("acme", &other), None).await);
        assert_eq!(got["status"], "queued");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'run.status_changed'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn two_executors_racing_for_one_run_cannot_both_start_it() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let run = request(&app, &key, "acme", agent, None).await;
        let other = app.another_instance();
        let path = run_path("acme", &run);
        let body = Some(r#"{"status": "running"}"#);
        let (a, b) = tokio::join!(
            api(&app.router, Method::PATCH, &path, Some(&key), body),
            api(&other, Method::PATCH, &path, Some(&key), body),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'run.status_changed'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_viewer_reads_runs_but_cannot_request_one() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let team = ada.create_team("acme", "Readers").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_team_role(&app, "acme", "default", &team, BuiltinRole::Viewer).await;
        let owner_key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let run = request(&app, &owner_key, "acme", agent, None).await;

        // Grace's key holds agents:run, but she does not (Viewer).
        let key = workspace_key(&app, &mut grace, "acme", &["agents:run", "runs:read"]).await;
        let res = call(
            &app,
            Method::POST,
            &key,
            &runs_of("acme", "default", agent),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        assert_eq!(code(&res), "insufficient_permission");
        assert_eq!(json_of(&res)["error"]["permission"], "agents:run");
        let res = call(&app, Method::GET, &key, &run_path("acme", &run), None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let res = report(&app, &key, "acme", &run, r#"{"status": "running"}"#).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM runs").await,
            1,
            "the refusal recorded nothing"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_without_the_agents_run_scope_cannot_request_even_for_an_owner() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", &["runs:read"]).await;
        let res = call(
            &app,
            Method::POST,
            &key,
            &runs_of("acme", "default", agent),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["permission"], "agents:run");
        // A key with no workspace grant reaches no run at all.
        let ungranted = ada.create_bound_key(EVERY_RUN_SCOPE, "acme", &[]).await;
        let res = call(
            &app,
            Method::POST,
            &ungranted,
            &runs_of("acme", "default", agent),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(app.count("SELECT COUNT(*) FROM runs").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn an_agent_of_another_workspace_or_org_or_a_deleted_one_is_not_found() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        insert_workspace(&app, "acme", "staging").await;
        let staging = insert_resource(&app, "acme", "staging", "agent", "a", AGENT).await;
        let globex = insert_resource(&app, "globex", "default", "agent", "a", AGENT).await;
        let gone = insert_resource(&app, "acme", "default", "agent", "gone", AGENT).await;
        let tool = insert_resource(
            &app,
            "acme",
            "default",
            "tool",
            "t",
            r#"{"type":"function"}"#,
        )
        .await;
        let mine = insert_resource(&app, "acme", "default", "agent", "mine", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let run = request(&app, &key, "acme", gone, None).await;
        delete_resource(&app, gone).await;

        for agent in [staging, globex, gone, tool] {
            let res = call(
                &app,
                Method::POST,
                &key,
                &runs_of("acme", "default", agent),
                None,
            )
            .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{agent}");
            assert_eq!(code(&res), "not_found");
            let res = call(
                &app,
                Method::GET,
                &key,
                &runs_of("acme", "default", agent),
                None,
            )
            .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{agent}");
        }
        let res = call(
            &app,
            Method::POST,
            &key,
            "/v1/orgs/acme/workspaces/default/agents/nope/runs",
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        // Nor does a run of this workspace answer under another one.
        let res = call(
            &app,
            Method::GET,
            &key,
            &format!("/v1/orgs/acme/workspaces/staging/runs/{run}"),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        // A run of another org's workspace is not found under this one.
        let mut olga = signed_in_again(&app, "olga@example.com").await;
        let olga_key = workspace_key(&app, &mut olga, "globex", EVERY_RUN_SCOPE).await;
        let theirs = request(&app, &olga_key, "globex", globex, None).await;
        for method in [Method::GET, Method::PATCH] {
            let body = (method == Method::PATCH).then_some(r#"{"status": "running"}"#);
            let res = call(&app, method, &key, &run_path("acme", &theirs), body).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
        }
        let res = request(&app, &key, "acme", mine, None).await;
        assert!(!res.is_empty());
        assert_eq!(app.count("SELECT COUNT(*) FROM runs").await, 3);
        app
    })
    .await;
}

/// Signs an existing user in with the test password.
async fn signed_in_again(app: &TestApp, email: &str) -> Client {
    let mut c = app.client();
    c.login(email, PASSWORD).await;
    c
}

#[tokio::test]
async fn run_history_pages_newest_first_and_filters_by_status_agent_and_time() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let a = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let b = insert_resource(&app, "acme", "default", "agent", "b", AGENT).await;
        let key = workspace_key(&app, &mut ada, "acme", EVERY_RUN_SCOPE).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            app.clock.advance(60);
            let agent = if i % 2 == 0 { a } else { b };
            ids.push(request(&app, &key, "acme", agent, None).await);
        }
        // Two runs in the same second still page apart (the id breaks ties).
        ids.push(request(&app, &key, "acme", a, None).await);
        report(&app, &key, "acme", &ids[1], r#"{"status": "running"}"#).await;
        report(
            &app,
            &key,
            "acme",
            &ids[1],
            r#"{"status": "failed", "error": "boom"}"#,
        )
        .await;

        let base = "/v1/orgs/acme/workspaces/default/runs";
        let mut seen = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let path = match &next {
                Some(n) => format!("{base}?limit=2&before={n}"),
                None => format!("{base}?limit=2"),
            };
            let page = json_of(&call(&app, Method::GET, &key, &path, None).await);
            seen.extend(
                page["runs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(n) => next = Some(n.to_owned()),
                None => break,
            }
        }
        let mut newest_first = ids.clone();
        newest_first.reverse();
        assert_eq!(seen, newest_first);

        let ids_of = |res: TestResponse| -> Vec<String> {
            json_of(&res)["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let failed = call(
            &app,
            Method::GET,
            &key,
            &format!("{base}?status=failed"),
            None,
        )
        .await;
        assert_eq!(ids_of(failed), vec![ids[1].clone()]);
        let of_b = call(
            &app,
            Method::GET,
            &key,
            &runs_of("acme", "default", b),
            None,
        )
        .await;
        assert_eq!(ids_of(of_b), vec![ids[3].clone(), ids[1].clone()]);
        // [from, to): the runs of minutes 2 and 3.
        let window = format!("{base}?from={}&to={}", START + 120, START + 180 + 1);
        assert_eq!(
            ids_of(call(&app, Method::GET, &key, &window, None).await),
            vec![ids[2].clone(), ids[1].clone()]
        );
        for bad in ["status=done", "from=later", "limit=500", "before=zz"] {
            let res = call(&app, Method::GET, &key, &format!("{base}?{bad}"), None).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        app
    })
    .await;
}

const SCHEDULE: &str =
    r#"{"agent": "nightly", "cron": "*/15 * * * *", "timezone": "UTC", "enabled": true}"#;

async fn scheduled_runs(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM runs WHERE schedule_id IS NOT NULL")
        .await
}

#[tokio::test]
async fn a_schedule_fires_exactly_once_per_due_time_with_two_instances_and_after_a_restart() {
    each_engine(|app| async move {
        let (_ada, _grace, _olga) = two_orgs(&app).await;
        insert_resource(&app, "acme", "default", "agent", "nightly", AGENT).await;
        let schedule =
            insert_resource(&app, "acme", "default", "schedule", "quarterly", SCHEDULE).await;
        let url = app.state.config.database.database_url.clone();
        let second = Db::connect(&url, 4).await.unwrap();

        // Not yet due.
        let pass = fire_due_schedules(app.db(), app.clock.unix())
            .await
            .unwrap();
        assert_eq!(pass.queued, 0);

        // Well past two due times: one run, for the latest, however many fire.
        app.clock.advance(31 * 60);
        let now = app.clock.unix();
        let (a, b) = tokio::join!(
            fire_due_schedules(app.db(), now),
            fire_due_schedules(&second, now)
        );
        assert_eq!(a.unwrap().queued + b.unwrap().queued, 1);
        assert_eq!(scheduled_runs(&app).await, 1);
        let due = (START / 900 + 2) * 900;
        let sql = "SELECT COUNT(*) FROM runs WHERE due_at = $1 AND status = 'queued' \
                   AND requested_by = 'schedule:quarterly' AND schedule_id = $2";
        let n: i64 = on_db!(app, |p| sqlx::query_scalar(sql)
            .bind(due)
            .bind(schedule)
            .fetch_one(p)
            .await
            .unwrap());
        assert_eq!(n, 1);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'run.requested' \
                       AND actor_label = 'schedule:quarterly'"
            )
            .await,
            1
        );

        // Again, and after a "restart" (a fresh pool): nothing new.
        assert_eq!(fire_due_schedules(&second, now).await.unwrap().queued, 0);
        second.close().await;
        let restarted = Db::connect(&url, 4).await.unwrap();
        assert_eq!(
            fire_due_schedules(&restarted, now + 30)
                .await
                .unwrap()
                .queued,
            0
        );
        assert_eq!(scheduled_runs(&app).await, 1);

        // The next due time fires once more.
        app.clock.advance(15 * 60);
        let pass = fire_due_schedules(&restarted, app.clock.unix())
            .await
            .unwrap();
        assert_eq!(pass.queued, 1);
        restarted.close().await;
        assert_eq!(scheduled_runs(&app).await, 2);
        app
    })
    .await;
}

#[tokio::test]
async fn a_disabled_schedule_or_one_without_its_agent_never_fires() {
    each_engine(|app| async move {
        let (_ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "nightly", AGENT).await;
        insert_resource(
            &app,
            "acme",
            "default",
            "schedule",
            "off",
            r#"{"agent": "nightly", "cron": "*/15 * * * *", "timezone": "UTC", "enabled": false}"#,
        )
        .await;
        // Its agent lives in another org: names never reach across.
        insert_resource(&app, "globex", "default", "schedule", "elsewhere", SCHEDULE).await;
        app.clock.advance(3600);
        let pass = fire_due_schedules(app.db(), app.clock.unix())
            .await
            .unwrap();
        assert_eq!((pass.queued, pass.skipped), (0, 1));

        // An enabled schedule whose agent was deleted records nothing either.
        insert_resource(&app, "acme", "default", "schedule", "on", SCHEDULE).await;
        delete_resource(&app, agent).await;
        app.clock.advance(3600);
        let pass = fire_due_schedules(app.db(), app.clock.unix())
            .await
            .unwrap();
        assert_eq!(pass.queued, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM runs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM schedule_fires").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_with_a_runner_role_requests_runs_through_their_key() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        registered(&app, "rita@example.com", "Rita").await;
        add_member(&app, "acme", "rita@example.com", "member").await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let team = ada.create_team("acme", "Runners").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_team_role(&app, "acme", "default", &team, BuiltinRole::Runner).await;
        let key = workspace_key(&app, &mut grace, "acme", EVERY_RUN_SCOPE).await;
        let run = request(&app, &key, "acme", agent, None).await;
        // A Runner does not report runs: that is an executor's runs:write.
        let res = report(&app, &key, "acme", &run, r#"{"status": "running"}"#).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["permission"], "runs:write");
        // Rita, on no team granted here, does not see the workspace at all.
        let mut rita = signed_in_again(&app, "rita@example.com").await;
        let token = rita.create_bound_key(EVERY_RUN_SCOPE, "acme", &[]).await;
        grant_key_workspace(&app, &token, "acme", "default").await;
        let res = call(&app, Method::GET, &token, &run_path("acme", &run), None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn a_runner_requests_a_run_from_the_agent_page_and_reads_it_in_the_history() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "summarizer", AGENT).await;
        let team = ada.create_team("acme", "Runners").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_team_role(&app, "acme", "default", &team, BuiltinRole::Runner).await;
        let page = format!("/orgs/acme/workspaces/default/agents/{agent}/runs");

        let shown = grace.get(&page).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.contains("Run summarizer"));

        // Invalid JSON: 422, the text kept, the message beside the field.
        let res = grace.submit(&page, &page, &[("input", "{not json")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("{not json"));
        assert!(res.contains("id=\"input-error\""));
        assert_eq!(app.count("SELECT COUNT(*) FROM runs").await, 0);

        let res = grace
            .submit(&page, &page, &[("input", r#"{"text": "hi"}"#)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let run_page = res.location().unwrap().to_owned();
        assert!(run_page.starts_with("/orgs/acme/workspaces/default/runs/"));
        let detail = grace.get(&run_page).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert!(detail.contains("queued") && detail.contains("grace@example.com"));
        assert!(
            detail.contains("&quot;text&quot;: &quot;hi&quot;")
                || detail.contains("&#34;text&#34;: &#34;hi&#34;")
        );

        let list = grace.get("/orgs/acme/workspaces/default/runs").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.contains(run_page.rsplit('/').next().unwrap()));
        let none = grace
            .get("/orgs/acme/workspaces/default/runs?status=failed")
            .await;
        assert!(none.contains("No runs match these filters."));
        let bad = grace
            .get("/orgs/acme/workspaces/default/runs?from=yesterday")
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("Enter the date as YYYY-MM-DD."));
        app
    })
    .await;
}

#[tokio::test]
async fn a_viewer_sees_the_history_without_the_run_form_and_cannot_post_it() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "summarizer", AGENT).await;
        let team = ada.create_team("acme", "Readers").await;
        ada.put_on_team("acme", &team, "grace@example.com").await;
        grant_team_role(&app, "acme", "default", &team, BuiltinRole::Viewer).await;
        let page = format!("/orgs/acme/workspaces/default/agents/{agent}/runs");

        let shown = grace.get(&page).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(!shown.contains("Run summarizer"));
        let res = grace.submit(&page, &page, &[("input", "")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(app.count("SELECT COUNT(*) FROM runs").await, 0);

        // The owner's run: its page is there for the viewer, not for another
        // org's owner, nor under another workspace.
        let res = ada.submit(&page, &page, &[("input", "")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let run_page = res.location().unwrap().to_owned();
        assert_eq!(grace.get(&run_page).await.status, StatusCode::OK);
        let run_id = run_page.rsplit('/').next().unwrap();
        let foreign = format!("/orgs/globex/workspaces/default/runs/{run_id}");
        assert_eq!(olga.get(&foreign).await.status, StatusCode::NOT_FOUND);
        insert_workspace(&app, "acme", "staging").await;
        let elsewhere = format!("/orgs/acme/workspaces/staging/runs/{run_id}");
        assert_eq!(ada.get(&elsewhere).await.status, StatusCode::NOT_FOUND);
        let other_agent = format!("/orgs/acme/workspaces/staging/agents/{agent}/runs");
        assert_eq!(ada.get(&other_agent).await.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

/// Test set-up until the roles pages land: a custom role of `org` holding
/// `permissions`; returns its id.
async fn insert_custom_role(app: &TestApp, org: &str, name: &str, permissions: &[&str]) -> Uuid {
    let id = Uuid::now_v7();
    let bits = gatehouse::domain::PermissionSet::from_names(permissions)
        .unwrap()
        .to_stored();
    let org = org_id(app, org).await;
    let sql = "INSERT INTO roles (id, org_id, name, description, permissions, created_at) \
               VALUES ($1, $2, $3, '', $4, $5)";
    on_db!(app, |p| sqlx::query(sql)
        .bind(id)
        .bind(org)
        .bind(name)
        .bind(bits)
        .bind(app.clock.unix())
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
    id
}

/// Test set-up until the access pages land: puts a service account on a team.
async fn put_service_account_on_team(app: &TestApp, org: &str, team: &str, sa: &str) {
    let org = org_id(app, org).await;
    let sql = "INSERT INTO team_service_accounts (team_id, org_id, service_account_id, created_at) \
               VALUES ($1, $2, $3, $4)";
    on_db!(app, |p| sqlx::query(sql)
        .bind(Uuid::parse_str(team).unwrap())
        .bind(org)
        .bind(Uuid::parse_str(sa).unwrap())
        .bind(app.clock.unix())
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
}

#[tokio::test]
async fn an_executor_service_account_with_runs_write_reports_runs_it_cannot_request() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let agent = insert_resource(&app, "acme", "default", "agent", "a", AGENT).await;
        let sa = ada.create_service_account("acme", "Executor").await;
        let team = ada.create_team("acme", "Executors").await;
        put_service_account_on_team(&app, "acme", &team, &sa).await;
        let role = insert_custom_role(&app, "acme", "Executor", &["runs:read", "runs:write"]).await;
        grant_team_role_id(&app, "acme", "default", &team, role).await;
        let executor = ada
            .create_sa_key("acme", &sa, &["runs:read", "runs:write", "agents:run"], &[])
            .await;
        grant_key_workspace(&app, &executor, "acme", "default").await;
        let owner_key = workspace_key(&app, &mut ada, "acme", &["agents:run"]).await;
        let run = request(&app, &owner_key, "acme", agent, None).await;

        // The executor picks up queued runs from the history and reports.
        let queued = call(
            &app,
            Method::GET,
            &executor,
            "/v1/orgs/acme/workspaces/default/runs?status=queued",
            None,
        )
        .await;
        assert_eq!(queued.status, StatusCode::OK, "{}", queued.body);
        assert_eq!(json_of(&queued)["runs"][0]["id"], run.as_str());
        let res = report(&app, &executor, "acme", &run, r#"{"status": "running"}"#).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let res = report(
            &app,
            &executor,
            "acme",
            &run,
            r#"{"status": "failed", "error": "model unavailable"}"#,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(json_of(&res)["error"], "model unavailable");
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'run.status_changed' \
                       AND actor_label = 'service account: Executor'"
            )
            .await,
            2
        );
        // Its role does not hold agents:run, whatever its key's scopes say.
        let res = call(
            &app,
            Method::POST,
            &executor,
            &runs_of("acme", "default", agent),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["permission"], "agents:run");
        app
    })
    .await;
}
