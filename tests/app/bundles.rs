//! Configuration bundles (issue 14): export, plan, apply and snapshots,
//! through the API and the pages, on both engines — round trips between
//! orgs byte for byte, plans that say exactly what changes, applies that are
//! all or nothing and idempotent, restores, bad bundles, and bundles that
//! try to reach another org or a workspace the caller cannot write.

use axum::http::{Method, StatusCode};
use gatehouse::domain::{BuiltinRole, PermissionSet};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access_model::{KeySpec, V, insert_key, run};
use crate::helpers::*;
use crate::orgs::{org_id, user_id};
use crate::resources::{Api, WS, code, field_names, world};

const GLOBEX: &str = "/v1/orgs/globex/workspaces/default";

/// Posts `text` (a bundle) to `path` with the key.
async fn send(key: &Api<'_>, path: &str, text: &str) -> TestResponse {
    api(
        &key.app.router,
        Method::POST,
        path,
        Some(&key.token),
        Some(text),
    )
    .await
}

async fn export(key: &Api<'_>, ws: &str) -> String {
    let res = key.get(&format!("{ws}/config")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["content-type"], "application/json");
    res.body
}

async fn plan(key: &Api<'_>, ws: &str, text: &str, prune: bool) -> Value {
    let res = send(key, &format!("{ws}/config/plan?prune={prune}"), text).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    json_of(&res)
}

async fn apply(key: &Api<'_>, ws: &str, text: &str, prune: bool) -> Value {
    let res = send(key, &format!("{ws}/config/apply?prune={prune}"), text).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    json_of(&res)
}

/// A tool, an MCP server, an agent using both and an enabled schedule
/// running the agent, in acme's `default`.
async fn populate(ada: &Api<'_>) {
    ada.create(
        WS,
        "tools",
        json!({"name": "search", "description": "Web search",
               "config": {"type": "http", "endpoint": "https://search.example.com/q",
                          "input_schema": {"type": "object", "required": ["q"]}}}),
    )
    .await;
    ada.create(
        WS,
        "mcp-servers",
        json!({"name": "files", "config": {"url": "https://mcp.example.com", "transport": "sse"}}),
    )
    .await;
    ada.create(
        WS,
        "agents",
        json!({"name": "triage", "metadata": {"owner": "data-team", "tier": "gold"},
               "config": {"model": "gpt-x", "tools": ["search"], "mcp_servers": ["files"]}}),
    )
    .await;
    ada.create(
        WS,
        "schedules",
        json!({"name": "mornings", "config": {"agent": "triage", "cron": "0 9 * * 1-5",
               "timezone": "Europe/Paris", "enabled": true}}),
    )
    .await;
}

async fn count_snapshots(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM config_snapshots").await
}

/// Row counts of everything an import can change.
async fn state_of(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM resources",
        "SELECT COUNT(*) FROM resources WHERE deleted_at IS NOT NULL",
        "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM resources",
        "SELECT COUNT(*) FROM config_snapshots",
        "SELECT COUNT(*) FROM audit_events",
    ] {
        v.push(app.count(sql).await);
    }
    v
}

#[tokio::test]
async fn an_export_imported_into_another_orgs_workspace_exports_byte_identically() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        assert_eq!(text, export(&ada, WS).await, "two exports of one state");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["version"], "gatehouse.config/v1");
        let order: Vec<_> = doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r["kind"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                "agent/triage",
                "tool/search",
                "mcp_server/files",
                "schedule/mornings"
            ]
        );
        // Names, never ids, versions, authors or times.
        for r in doc["resources"].as_array().unwrap() {
            let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
            assert_eq!(keys, ["config", "description", "kind", "metadata", "name"]);
        }
        assert!(!text.contains("ada@example.com"));
        assert!(text.ends_with("}\n"));

        let planned = plan(&olga, GLOBEX, &text, false).await;
        assert_eq!(
            planned["summary"],
            json!({"created": 4, "updated": 0, "unchanged": 0, "deleted": 0})
        );
        let applied = apply(&olga, GLOBEX, &text, false).await;
        assert_eq!(applied["applied"], true);
        assert_eq!(export(&olga, GLOBEX).await, text, "byte-identical export");
        app
    })
    .await;
}

#[tokio::test]
async fn a_plan_shows_exactly_the_differences_and_changes_nothing() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        apply(&olga, GLOBEX, &text, false).await;
        // Globex gets a resource of its own; the bundle changes one agent's
        // metadata and adds a tool.
        olga.create(
            GLOBEX,
            "tools",
            json!({"name": "local", "config": {"type": "function"}}),
        )
        .await;
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        doc["resources"][0]["metadata"]["tier"] = json!("silver");
        doc["resources"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kind": "tool", "name": "calc", "config": {"type": "function"}}));
        let changed = doc.to_string();
        let before = state_of(&app).await;
        let p = plan(&olga, GLOBEX, &changed, false).await;
        assert_eq!(before, state_of(&app).await, "a plan changes nothing");
        assert_eq!(
            p["summary"],
            json!({"created": 1, "updated": 1, "unchanged": 4, "deleted": 0})
        );
        let triage = p["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "triage")
            .unwrap();
        assert_eq!(triage["action"], "update");
        assert_eq!(
            triage["changes"],
            json!({"metadata": {"before": {"owner": "data-team", "tier": "gold"},
                                "after": {"owner": "data-team", "tier": "silver"}}})
        );
        assert_eq!(
            p["permissions_needed"],
            json!(["agents:write", "tools:write"])
        );
        assert_eq!(p["permissions_missing"], json!([]));
        let local = |p: &Value| {
            p["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == "local")
                .unwrap()["action"]
                .clone()
        };
        assert_eq!(local(&p), "unchanged");
        // Only with prune is anything deleted.
        let pruned = plan(&olga, GLOBEX, &changed, true).await;
        assert_eq!(pruned["summary"]["deleted"], 1);
        assert_eq!(local(&pruned), "delete");
        assert_ne!(pruned["id"], p["id"]);
        app
    })
    .await;
}

#[tokio::test]
async fn an_apply_that_fails_half_way_leaves_nothing() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        let before = state_of(&app).await;
        // The resources are written, then the snapshot fails.
        app.start_failing("no_snapshots", "INSERT", "config_snapshots", "disk full")
            .await;
        let res = send(&olga, &format!("{GLOBEX}/config/apply"), &text).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!res.body.contains("disk full"));
        assert_eq!(before, state_of(&app).await, "nothing of the apply remains");
        app.stop_failing("no_snapshots", "config_snapshots").await;
        assert_eq!(apply(&olga, GLOBEX, &text, false).await["applied"], true);
        app
    })
    .await;
}

#[tokio::test]
async fn applying_the_same_bundle_twice_changes_nothing_the_second_time() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        let first = apply(&olga, GLOBEX, &text, true).await;
        assert_eq!(first["applied"], true);
        assert!(first["snapshot"].is_string());
        let after_first = state_of(&app).await;
        let second = apply(&olga, GLOBEX, &text, true).await;
        assert_eq!(second["applied"], false);
        assert!(second["snapshot"].is_null());
        assert_eq!(second["plan"]["summary"]["unchanged"], 4);
        assert_eq!(after_first, state_of(&app).await);
        assert_eq!(count_snapshots(&app).await, 1);
        // The source itself is already what its bundle says.
        assert_eq!(apply(&ada, WS, &text, true).await["applied"], false);
        app
    })
    .await;
}

#[tokio::test]
async fn an_apply_of_a_plan_made_against_another_state_is_refused() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        let p = plan(&olga, GLOBEX, &text, false).await;
        let id = p["id"].as_str().unwrap().to_owned();
        olga.create(
            GLOBEX,
            "tools",
            json!({"name": "meanwhile", "config": {"type": "function"}}),
        )
        .await;
        let before = state_of(&app).await;
        let res = send(&olga, &format!("{GLOBEX}/config/apply?plan={id}"), &text).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
        assert_eq!(code(&res), "plan_changed");
        assert_eq!(before, state_of(&app).await);
        // The plan made now applies.
        let p = plan(&olga, GLOBEX, &text, false).await;
        let id = p["id"].as_str().unwrap();
        let res = send(&olga, &format!("{GLOBEX}/config/apply?plan={id}"), &text).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        app
    })
    .await;
}

#[tokio::test]
async fn a_snapshot_lists_its_diff_and_restores_the_workspace_as_it_was() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        populate(&ada).await;
        let original = export(&ada, WS).await;
        // A bundle with only the tool, applied with prune: three go.
        let only_tool = json!({"version": "gatehouse.config/v1", "resources": [
            {"kind": "tool", "name": "search", "config": {"type": "function"}}]})
        .to_string();
        let applied = apply(&ada, WS, &only_tool, true).await;
        assert_eq!(
            applied["plan"]["summary"],
            json!({"created": 0, "updated": 1, "unchanged": 0, "deleted": 3})
        );
        let snapshot = applied["snapshot"].as_str().unwrap().to_owned();
        let list = json_of(&ada.get(&format!("{WS}/snapshots")).await);
        assert_eq!(list["snapshots"][0]["id"], snapshot.as_str());
        assert_eq!(list["snapshots"][0]["pruned"], true);
        let one = ada.get(&format!("{WS}/snapshots/{snapshot}")).await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.body);
        let one = json_of(&one);
        assert_eq!(
            one["before"],
            serde_json::from_str::<Value>(&original).unwrap()
        );
        let actions: Vec<_> = one["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["action"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                "delete triage",
                "update search",
                "delete files",
                "delete mornings"
            ]
        );
        // Restore: plan and apply the snapshot's `before`.
        let before_text = one["before"].to_string();
        let p = plan(&ada, WS, &before_text, true).await;
        assert_eq!(p["summary"]["created"], 3);
        let id = p["id"].as_str().unwrap();
        let res = send(
            &ada,
            &format!("{WS}/config/apply?prune=true&plan={id}"),
            &before_text,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(export(&ada, WS).await, original);
        assert_eq!(count_snapshots(&app).await, 2);
        // Another workspace's snapshot id is not found here.
        let staging = "/v1/orgs/acme/workspaces/staging";
        let res = ada.get(&format!("{staging}/snapshots/{snapshot}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = ada.get(&format!("{WS}/snapshots/{}", Uuid::now_v7())).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn bad_bundles_get_invalid_bundle_and_change_nothing() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        populate(&ada).await;
        let before = state_of(&app).await;
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("not json".to_owned(), vec!["bundle"]),
            (
                json!({"version": "gatehouse.config/v0", "resources": []}).to_string(),
                vec!["version"],
            ),
            (
                json!({"version": "gatehouse.config/v1", "resources": [
                    {"kind": "robot", "name": "r"}]})
                .to_string(),
                vec!["resources[0].kind"],
            ),
            (
                json!({"version": "gatehouse.config/v1", "resources": [
                    {"kind": "agent", "name": "a", "config": {"model": "m", "tools": ["nowhere"]}},
                    {"kind": "schedule", "name": "s", "config": {"agent": "ghost",
                     "cron": "0 9 * * *", "timezone": "UTC", "enabled": true}}]})
                .to_string(),
                vec!["resources[0].config.tools[0]", "resources[1].config.agent"],
            ),
            (
                json!({"version": "gatehouse.config/v1", "resources": [
                    {"kind": "agent", "name": "a", "config": {}}]})
                .to_string(),
                vec!["resources[0].config.model"],
            ),
            (
                format!(
                    "{}{}",
                    json!({"version": "gatehouse.config/v1", "resources": []}),
                    " ".repeat(5 * 1024 * 1024)
                ),
                vec!["bundle"],
            ),
        ];
        for (text, fields) in &cases {
            for route in ["plan", "apply"] {
                let res = send(&ada, &format!("{WS}/config/{route}?prune=true"), text).await;
                assert_eq!(
                    res.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{route}: {}",
                    res.body
                );
                assert_eq!(code(&res), "invalid_bundle");
                assert_eq!(&field_names(&res), fields);
            }
        }
        assert_eq!(before, state_of(&app).await, "nothing changed");
        let huge = " ".repeat(17 * 1024 * 1024);
        let res = send(&ada, &format!("{WS}/config/apply"), &huge).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
        let res = api(
            &app.router,
            Method::POST,
            &format!("{WS}/config/plan"),
            Some(&ada.token),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let res = send(&ada, &format!("{WS}/config/plan?prune=maybe"), "{}").await;
        assert_eq!(code(&res), "validation_failed");
        assert_eq!(before, state_of(&app).await);
        app
    })
    .await;
}

#[tokio::test]
async fn a_bundle_cannot_reach_another_org_or_another_workspace() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        // Keys of one org reach no workspace of another.
        for route in ["config/plan", "config/apply"] {
            let res = send(&olga, &format!("{WS}/{route}"), &text).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{route}");
            let res = send(&ada, &format!("{GLOBEX}/{route}"), &text).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{route}");
        }
        assert_eq!(
            olga.get(&format!("{WS}/config")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            olga.get(&format!("{WS}/snapshots")).await.status,
            StatusCode::NOT_FOUND
        );
        // A reference resolves in the bundle and the target workspace only:
        // `search` lives in acme's `default`, not in `staging` or globex.
        let agent_only = json!({"version": "gatehouse.config/v1", "resources": [
            {"kind": "agent", "name": "triage", "config": {"model": "m", "tools": ["search"]}}]})
        .to_string();
        let staging = "/v1/orgs/acme/workspaces/staging";
        for (key, ws) in [(&ada, staging), (&olga, GLOBEX)] {
            let res = send(key, &format!("{ws}/config/apply"), &agent_only).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
            assert_eq!(field_names(&res), ["resources[0].config.tools[0]"]);
        }
        // In its own workspace it resolves, until prune would delete it.
        assert_eq!(
            plan(&ada, WS, &agent_only, false).await["summary"]["updated"],
            1
        );
        let res = send(&ada, &format!("{WS}/config/plan?prune=true"), &agent_only).await;
        assert_eq!(code(&res), "invalid_bundle");
        assert_eq!(count_snapshots(&app).await, 0);
        app
    })
    .await;
}

/// A key of Grace (a member of acme) holding every scope, granted
/// acme's `default`, where her team holds `role`.
async fn member_key(app: &TestApp, role: Uuid) -> String {
    let acme = org_id(app, "acme").await;
    let grace = user_id(app, "grace@example.com").await;
    let ws: Uuid = match app.db() {
        gatehouse::db::Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT id FROM workspaces WHERE org_id = $1 AND slug = 'default'")
                .bind(acme)
                .fetch_one(p)
                .await
                .unwrap()
        }
        gatehouse::db::Db::Postgres(p) => {
            sqlx::query_scalar("SELECT id FROM workspaces WHERE org_id = $1 AND slug = 'default'")
                .bind(acme)
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    let team = Uuid::now_v7();
    run(
        app.db(),
        "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, 'Readers', 0)",
        vec![V::Id(team), V::Id(acme)],
    )
    .await;
    run(
        app.db(),
        "INSERT INTO team_members (team_id, org_id, user_id, created_at) VALUES ($1, $2, $3, 0)",
        vec![V::Id(team), V::Id(acme), V::Id(grace)],
    )
    .await;
    run(
        app.db(),
        "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
         VALUES ($1, $2, $3, $4, 0)",
        vec![V::Id(ws), V::Id(team), V::Id(acme), V::Id(role)],
    )
    .await;
    let spec = KeySpec {
        org: 0,
        scopes: PermissionSet::ALL,
        workspaces: [true, false, false],
    };
    insert_key(app.db(), (Some(grace), None), acme, &[ws, ws, ws], &spec).await
}

#[tokio::test]
async fn a_viewer_may_export_and_plan_but_never_apply() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        populate(&ada).await;
        let text = export(&ada, WS).await;
        let viewer = Api {
            app: &app,
            token: member_key(&app, BuiltinRole::Viewer.id()).await,
        };
        assert_eq!(export(&viewer, WS).await, text);
        let p = plan(&viewer, WS, &text, true).await;
        assert_eq!(p["summary"]["unchanged"], 4);
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        doc["resources"][0]["description"] = json!("changed");
        let before = state_of(&app).await;
        let p = plan(&viewer, WS, &doc.to_string(), false).await;
        assert_eq!(p["permissions_missing"], json!(["agents:write"]));
        let res = send(&viewer, &format!("{WS}/config/apply"), &doc.to_string()).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        assert_eq!(code(&res), "insufficient_permission");
        // Even a bundle that changes nothing: a Viewer never applies.
        let res = send(&viewer, &format!("{WS}/config/apply"), &text).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(before, state_of(&app).await);
        app
    })
    .await;
}

/// The value of the hidden field `name` on a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_bundle_is_downloaded_planned_and_confirmed_on_the_pages() {
    each_engine(|app| async move {
        let (ada_key, _, mut ada) = world(&app).await;
        populate(&ada_key).await;
        let text = export(&ada_key, WS).await;
        let page = ada.get("/orgs/acme/workspaces/default").await;
        assert!(page.contains("Download the configuration"));
        let file = ada.get("/orgs/acme/workspaces/default/config/export").await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.body, text);
        assert_eq!(
            file.headers["content-disposition"],
            "attachment; filename=\"acme-default.gatehouse.json\""
        );

        // Into `staging`: the plan first, nothing changed yet.
        let staging = "/orgs/acme/workspaces/staging/config";
        let before = state_of(&app).await;
        let plan_page = ada
            .submit(staging, &format!("{staging}/plan"), &[("bundle", text.as_str())])
            .await;
        assert_eq!(plan_page.status, StatusCode::OK, "{}", plan_page.body);
        assert!(plan_page.contains("4 created, 0 updated, 0 unchanged, 0 deleted"));
        assert_eq!(before, state_of(&app).await);
        let plan_id = hidden(&plan_page.body, "plan");
        // Without the CSRF token nothing happens.
        let res = ada
            .post_raw(
                &format!("{staging}/apply"),
                &[("bundle", text.as_str()), ("plan", plan_id.as_str())],
                &[],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = ada
            .post(
                &format!("{staging}/apply"),
                &[("bundle", text.as_str()), ("plan", plan_id.as_str())],
            )
            .await;
        res.assert_redirect(staging);
        let done = ada.get(staging).await;
        assert!(done.contains("Configuration imported: 4 created, 0 updated, 0 deleted."));
        assert_eq!(export(&ada_key, "/v1/orgs/acme/workspaces/staging").await, text);
        // Confirming the same plan again: the workspace changed since.
        let res = ada
            .post(
                &format!("{staging}/apply"),
                &[("bundle", text.as_str()), ("plan", plan_id.as_str())],
            )
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.contains("The workspace changed since the plan you confirmed"));
        assert_eq!(count_snapshots(&app).await, 1);

        // A bad bundle is shown again with each fault.
        let bad = json!({"version": "gatehouse.config/v1", "resources": [{"kind": "robot", "name": "r"}]})
            .to_string();
        let res = ada
            .submit(staging, &format!("{staging}/plan"), &[("bundle", bad.as_str())])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("resources[0].kind"));
        app
    })
    .await;
}

#[tokio::test]
async fn a_pruning_import_needs_sudo_and_a_snapshot_restores_on_the_pages() {
    each_engine(|app| async move {
        let (ada_key, _, mut ada) = world(&app).await;
        populate(&ada_key).await;
        let original = export(&ada_key, WS).await;
        let config = "/orgs/acme/workspaces/default/config";
        let empty = json!({"version": "gatehouse.config/v1", "resources": []}).to_string();
        // Creating the key put Ada in sudo mode: she leaves it.
        let res = ada.submit(config, "/sudo/leave", &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let page = ada
            .submit(
                config,
                &format!("{config}/plan"),
                &[("bundle", empty.as_str()), ("prune", "on")],
            )
            .await;
        assert!(page.contains("0 created, 0 updated, 0 unchanged, 4 deleted"));
        assert!(page.contains("which needs sudo mode"));
        // Confirming anyway: sent to sudo, nothing deleted.
        let before = state_of(&app).await;
        let res = ada
            .post(
                &format!("{config}/apply"),
                &[("bundle", empty.as_str()), ("prune", "on"), ("plan", "x")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(res.location().unwrap().starts_with("/sudo"));
        assert_eq!(before, state_of(&app).await);
        ada.sudo(PASSWORD, config).await;
        let page = ada
            .submit(
                config,
                &format!("{config}/plan"),
                &[("bundle", empty.as_str()), ("prune", "on")],
            )
            .await;
        let plan_id = hidden(&page.body, "plan");
        ada.post(
            &format!("{config}/apply"),
            &[
                ("bundle", empty.as_str()),
                ("prune", "on"),
                ("plan", plan_id.as_str()),
            ],
        )
        .await
        .assert_redirect(config);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM resources WHERE deleted_at IS NULL")
                .await,
            0
        );

        // The history lists it; its page shows the diff and restores.
        let history = ada.get(config).await;
        assert!(history.contains("0 created, 0 updated, 4 deleted (pruned)"));
        let link = format!("{config}/snapshots/");
        let at = history.body.find(&link).unwrap() + link.len();
        let id = &history.body[at..at + 36];
        let snapshot = ada.get(&format!("{link}{id}")).await;
        assert_eq!(snapshot.status, StatusCode::OK);
        assert!(snapshot.contains("triage"));
        let before_bundle = hidden(&snapshot.body, "bundle");
        // What a browser would send back: the attribute unescaped.
        let before_bundle = before_bundle
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&#60;", "<")
            .replace("&#62;", ">")
            .replace("&#38;", "&");
        let page = ada
            .post(
                &format!("{config}/plan"),
                &[
                    ("bundle", before_bundle.as_str()),
                    ("prune", "on"),
                    ("restored_from", id),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.contains("4 created"));
        let plan_id = hidden(&page.body, "plan");
        ada.post(
            &format!("{config}/apply"),
            &[
                ("bundle", before_bundle.as_str()),
                ("prune", "on"),
                ("plan", plan_id.as_str()),
                ("restored_from", id),
            ],
        )
        .await
        .assert_redirect(config);
        assert_eq!(export(&ada_key, WS).await, original);
        assert!(ada.get(config).await.contains("— a restore"));
        app
    })
    .await;
}

/// Posts a `multipart/form-data` form as a browser sends a file input:
/// `fields` as text parts (the CSRF token first when given), then the file.
async fn upload(
    c: &mut Client,
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
    file: &[u8],
) -> TestResponse {
    let boundary = "----gatehouse-test-boundary";
    let mut body = Vec::new();
    let mut part = |name: &str, filename: Option<&str>, value: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/json\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    if let Some(token) = token {
        part("csrf_token", None, token.as_bytes());
    }
    for (k, v) in fields {
        part(k, None, v.as_bytes());
    }
    part("bundle_file", Some("acme-default.gatehouse.json"), file);
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    c.send(req).await
}

#[tokio::test]
async fn a_bundle_file_is_uploaded_planned_and_confirmed_on_the_pages() {
    each_engine(|app| async move {
        let (ada_key, _, mut ada) = world(&app).await;
        populate(&ada_key).await;
        let text = export(&ada_key, WS).await;
        let staging = "/orgs/acme/workspaces/staging/config";
        let page = ada.get(staging).await;
        assert!(page.contains("enctype=\"multipart/form-data\""));
        assert!(page.contains("type=\"file\""));
        let token = csrf_in(&page.body).unwrap();
        let before = state_of(&app).await;

        // Without the token (or with a wrong one) the upload is refused.
        let res = upload(
            &mut ada,
            &format!("{staging}/plan"),
            None,
            &[],
            text.as_bytes(),
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = upload(
            &mut ada,
            &format!("{staging}/plan"),
            Some("forged"),
            &[],
            text.as_bytes(),
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);

        // A file that is not text, and one that is not a bundle: 422 with
        // the reason, nothing changed.
        let res = upload(
            &mut ada,
            &format!("{staging}/plan"),
            Some(&token),
            &[],
            &[0xff, 0xfe, 0x00],
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("not a bundle: a bundle is JSON text"));
        let res = upload(
            &mut ada,
            &format!("{staging}/plan"),
            Some(&token),
            &[],
            b"{\"version\":\"v0\"}",
        )
        .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("version"));
        assert_eq!(before, state_of(&app).await);

        // The file wins over an empty text area; the plan page then confirms.
        let plan_page = upload(
            &mut ada,
            &format!("{staging}/plan"),
            Some(&token),
            &[("bundle", "")],
            text.as_bytes(),
        )
        .await;
        assert_eq!(plan_page.status, StatusCode::OK, "{}", plan_page.body);
        assert!(plan_page.contains("4 created, 0 updated, 0 unchanged, 0 deleted"));
        assert_eq!(before, state_of(&app).await);
        let plan_id = hidden(&plan_page.body, "plan");
        ada.post(
            &format!("{staging}/apply"),
            &[("bundle", text.as_str()), ("plan", plan_id.as_str())],
        )
        .await
        .assert_redirect(staging);
        assert_eq!(
            export(&ada_key, "/v1/orgs/acme/workspaces/staging").await,
            text
        );
        app
    })
    .await;
}
