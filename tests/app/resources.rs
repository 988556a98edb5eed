//! Workspace resources (agents, tools, MCP servers, schedules) through the
//! API and the pages: CRUD, every validation rule, references that stay in
//! their workspace, foreign ids, optimistic concurrency, soft delete,
//! restore and the purge.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;
use crate::orgs::two_orgs;

pub const WS: &str = "/v1/orgs/acme/workspaces/default";
pub const ALL_SCOPES: [&str; 8] = [
    "agents:read",
    "agents:write",
    "tools:read",
    "tools:write",
    "mcp:read",
    "mcp:write",
    "schedules:read",
    "schedules:write",
];

/// Grants the workspace `ws_slug` of `org_slug` to the key `key_public_id`,
/// as the key's page will (the `access` work); one place to swap later.
pub async fn grant_key_workspace(
    app: &TestApp,
    key_public_id: &str,
    org_slug: &str,
    ws_slug: &str,
) {
    let sql = "INSERT INTO api_key_workspaces (key_id, workspace_id, org_id, created_at) \
               SELECT k.id, w.id, w.org_id, 0 FROM api_keys k, workspaces w \
               JOIN orgs o ON o.id = w.org_id \
               WHERE k.public_id = $1 AND o.slug = $2 AND w.slug = $3";
    let n = match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query(sql)
            .bind(key_public_id)
            .bind(org_slug)
            .bind(ws_slug)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        gatehouse::db::Db::Postgres(p) => sqlx::query(sql)
            .bind(key_public_id)
            .bind(org_slug)
            .bind(ws_slug)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(n, 1, "granted {ws_slug} of {org_slug} to {key_public_id}");
}

/// Adds a workspace to an org (until the workspace pages land).
pub async fn add_workspace(app: &TestApp, org_slug: &str, ws_slug: &str) {
    let sql = "INSERT INTO workspaces (id, org_id, slug, name, description, created_at) \
               SELECT $1, id, $2, $2, '', 0 FROM orgs WHERE slug = $3";
    let n = match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query(sql)
            .bind(Uuid::new_v4())
            .bind(ws_slug)
            .bind(org_slug)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        gatehouse::db::Db::Postgres(p) => sqlx::query(sql)
            .bind(Uuid::new_v4())
            .bind(ws_slug)
            .bind(org_slug)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(n, 1);
}

pub fn public_id(token: &str) -> &str {
    token
        .strip_prefix("gtk_")
        .and_then(|r| r.split_once('_'))
        .map(|(p, _)| p)
        .unwrap()
}

/// An owner's key bound to `org` with `scopes`, granted the workspaces.
pub async fn owner_key(
    app: &TestApp,
    owner: &mut Client,
    org: &str,
    scopes: &[&str],
    workspaces: &[&str],
) -> String {
    let res = owner.post_bound_key(scopes, org, &[], "90").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = owner.get(res.location().unwrap()).await;
    let token = crate::keys::token_in(&page.body).expect("the new key is shown");
    for ws in workspaces {
        grant_key_workspace(app, public_id(&token), org, ws).await;
    }
    token
}

pub struct Api<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl Api<'_> {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let body = body.map(|b| b.to_string());
        api(
            &self.app.router,
            method,
            path,
            Some(&self.token),
            body.as_deref(),
        )
        .await
    }
    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(body)).await
    }
    /// Creates and returns the resource's JSON.
    pub async fn create(&self, ws: &str, kind: &str, body: Value) -> Value {
        let res = self.post(&format!("{ws}/{kind}"), body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        json_of(&res)
    }
    async fn patch_with(&self, path: &str, body: Value, if_match: Option<&str>) -> TestResponse {
        let mut c = Client::new(self.app.router.clone());
        let mut req = axum::http::Request::builder()
            .method(Method::PATCH)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/merge-patch+json");
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        c.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
            .await
    }
}

pub fn code(res: &TestResponse) -> String {
    json_of(res)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub fn field_names(res: &TestResponse) -> Vec<String> {
    json_of(res)["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn resources_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM resources").await
}

async fn events(app: &TestApp, action: &'static str) -> i64 {
    let sql: &'static str = match action {
        "resource.created" => "SELECT COUNT(*) FROM audit_events WHERE action = 'resource.created'",
        "resource.updated" => "SELECT COUNT(*) FROM audit_events WHERE action = 'resource.updated'",
        "resource.deleted" => "SELECT COUNT(*) FROM audit_events WHERE action = 'resource.deleted'",
        "resource.restored" => {
            "SELECT COUNT(*) FROM audit_events WHERE action = 'resource.restored'"
        }
        "resource.purged" => "SELECT COUNT(*) FROM audit_events WHERE action = 'resource.purged'",
        _ => unreachable!(),
    };
    app.count(sql).await
}

/// Ada owns acme (workspaces `default` and `staging`), Olga owns globex;
/// each has a key with every resource scope granted on their workspaces.
pub async fn world(app: &TestApp) -> (Api<'_>, Api<'_>, Client) {
    let (mut ada, _grace, mut olga) = two_orgs(app).await;
    add_workspace(app, "acme", "staging").await;
    let ada_key = owner_key(app, &mut ada, "acme", &ALL_SCOPES, &["default", "staging"]).await;
    let olga_key = owner_key(app, &mut olga, "globex", &ALL_SCOPES, &["default"]).await;
    (
        Api {
            app,
            token: ada_key,
        },
        Api {
            app,
            token: olga_key,
        },
        ada,
    )
}

#[tokio::test]
async fn an_agent_is_created_read_listed_patched_and_deleted_through_the_api() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let res = ada
            .post(
                &format!("{WS}/agents"),
                json!({"name": "triage", "description": "Sorts tickets",
                       "metadata": {"owner": "data-team"}, "config": {"model": "gpt-x"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let body = json_of(&res);
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(body["version"], 1);
        assert_eq!(body["kind"], "agent");
        assert_eq!(res.headers["etag"], "\"1\"");
        assert_eq!(res.location(), Some(format!("{WS}/agents/{id}").as_str()));
        let one = ada.get(&format!("{WS}/agents/{id}")).await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(one.headers["etag"], "\"1\"");
        assert_eq!(json_of(&one)["metadata"]["owner"], "data-team");
        ada.create(WS, "agents", json!({"name": "alpha", "config": {"model": "m"}}))
            .await;
        let list = json_of(&ada.get(&format!("{WS}/agents")).await);
        let names: Vec<_> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["alpha", "triage"]);
        // Keyset pages.
        let first = json_of(&ada.get(&format!("{WS}/agents?limit=1")).await);
        assert_eq!(first["resources"][0]["name"], "alpha");
        let after = first["next"].as_str().unwrap();
        let second = json_of(&ada.get(&format!("{WS}/agents?limit=1&after={after}")).await);
        assert_eq!(second["resources"][0]["name"], "triage");
        assert!(second["next"].is_null());
        // Merge patch with If-Match.
        let res = ada
            .patch_with(
                &format!("{WS}/agents/{id}"),
                json!({"config": {"instructions": "Be brief"}, "metadata": {"owner": null, "tier": "gold"}}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let body = json_of(&res);
        assert_eq!(body["version"], 2);
        assert_eq!(body["config"], json!({"model": "gpt-x", "instructions": "Be brief"}));
        assert_eq!(body["metadata"], json!({"tier": "gold"}));
        assert_eq!(res.headers["etag"], "\"2\"");
        assert_eq!(events(&app, "resource.updated").await, 1);
        let delete = ada
            .call(Method::DELETE, &format!("{WS}/agents/{id}"), None)
            .await;
        assert_eq!(delete.status, StatusCode::NO_CONTENT);
        assert_eq!(ada.get(&format!("{WS}/agents/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(events(&app, "resource.created").await, 2);
        assert_eq!(events(&app, "resource.deleted").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn an_update_records_the_before_and_after_of_each_changed_field() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(
                WS,
                "agents",
                json!({"name": "a", "config": {"model": "m1"}}),
            )
            .await;
        let id = agent["id"].as_str().unwrap();
        let res = ada
            .patch_with(
                &format!("{WS}/agents/{id}"),
                json!({"version": 1, "name": "b", "config": {"model": "m2"}}),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let detail: String = match app.db() {
            gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(
                "SELECT detail FROM audit_events WHERE action = 'resource.updated'",
            )
            .fetch_one(p)
            .await
            .unwrap(),
            gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(
                "SELECT detail FROM audit_events WHERE action = 'resource.updated'",
            )
            .fetch_one(p)
            .await
            .unwrap(),
        };
        let detail: Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(
            detail["changes"]["name"],
            json!({"before": "a", "after": "b"})
        );
        assert_eq!(
            detail["changes"]["config"],
            json!({"before": {"model": "m1"}, "after": {"model": "m2"}})
        );
        assert!(detail["changes"].get("description").is_none());
        // The same values again change nothing and record nothing.
        let res = ada
            .patch_with(
                &format!("{WS}/agents/{id}"),
                json!({"name": "b"}),
                Some("\"2\""),
            )
            .await;
        assert_eq!(json_of(&res)["version"], 2);
        assert_eq!(events(&app, "resource.updated").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn every_validation_rule_refuses_its_input_and_changes_nothing() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let cases: Vec<(&str, Value, &str)> = vec![
            ("agents", json!({"name": "", "config": {"model": "m"}}), "name"),
            ("agents", json!({"name": "x".repeat(101), "config": {"model": "m"}}), "name"),
            ("agents", json!({"name": "two\nlines", "config": {"model": "m"}}), "name"),
            ("agents", json!({"name": "a", "description": "d".repeat(1001), "config": {"model": "m"}}), "description"),
            ("agents", json!({"name": "a", "metadata": {"k": 1}, "config": {"model": "m"}}), "metadata.k"),
            ("agents", json!({"name": "a", "metadata": {"": "v"}, "config": {"model": "m"}}), "metadata"),
            ("agents", json!({"name": "a", "metadata": {"k".repeat(65): "v"}, "config": {"model": "m"}}), "metadata"),
            ("agents", json!({"name": "a", "metadata": {"k": "v".repeat(257)}, "config": {"model": "m"}}), "metadata.k"),
            ("agents", json!({"name": "a", "metadata": (0..33).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>(), "config": {"model": "m"}}), "metadata"),
            ("agents", json!({"name": "a", "config": []}), "config"),
            ("agents", json!({"name": "a", "config": {}}), "config.model"),
            ("agents", json!({"name": "a", "config": {"model": "m", "instructions": 5}}), "config.instructions"),
            ("agents", json!({"name": "a", "config": {"model": "m", "tools": ["nope"]}}), "config.tools[0]"),
            ("agents", json!({"name": "a", "config": {"model": "m", "mcp_servers": ["nope"]}}), "config.mcp_servers[0]"),
            ("agents", json!({"name": "a", "config": {"model": "m", "tools": ["nul\0"]}}), "config.tools[0]"),
            ("agents", json!({"name": "a", "description": "nul\0", "config": {"model": "m"}}), "description"),
            ("agents", json!({"name": "a", "metadata": {"k": "nul\0"}, "config": {"model": "m"}}), "metadata.k"),
            ("tools", json!({"name": "t", "config": {"type": "grpc"}}), "config.type"),
            ("tools", json!({"name": "t", "config": {"type": "http"}}), "config.endpoint"),
            ("tools", json!({"name": "t", "config": {"type": "http", "endpoint": "ftp://x.test"}}), "config.endpoint"),
            ("tools", json!({"name": "t", "config": {"type": "function", "input_schema": "{}"}}), "config.input_schema"),
            ("mcp-servers", json!({"name": "m", "config": {"url": "http://mcp.example.com", "transport": "sse"}}), "config.url"),
            ("mcp-servers", json!({"name": "m", "config": {"url": "https://mcp.example.com", "transport": "stdio"}}), "config.transport"),
            ("schedules", json!({"name": "s", "config": {"agent": "nope", "cron": "0 9 * * *", "timezone": "UTC", "enabled": true}}), "config.agent"),
            ("schedules", json!({"name": "s", "config": {"cron": "0 9 * * *", "timezone": "UTC", "enabled": true}}), "config.agent"),
            ("schedules", json!({"name": "s", "config": {"agent": "a", "cron": "every day", "timezone": "UTC", "enabled": true}}), "config.cron"),
            ("schedules", json!({"name": "s", "config": {"agent": "a", "cron": "0 9 * * *", "timezone": "Mars/Olympus", "enabled": true}}), "config.timezone"),
            ("schedules", json!({"name": "s", "config": {"agent": "a", "cron": "0 9 * * *", "timezone": "UTC", "enabled": "yes"}}), "config.enabled"),
        ];
        for (kind, body, field) in cases {
            let res = ada.post(&format!("{WS}/{kind}"), body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{kind} {body}: {}", res.body);
            assert_eq!(code(&res), "validation_failed");
            assert!(field_names(&res).iter().any(|f| f == field), "{field} in {}", res.body);
        }
        assert_eq!(resources_count(&app).await, 0);
        assert_eq!(events(&app, "resource.created").await, 0);
        // A patch that breaks a rule changes nothing either.
        let agent = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let id = agent["id"].as_str().unwrap();
        let res = ada
            .patch_with(&format!("{WS}/agents/{id}"), json!({"config": {"model": null}}), Some("\"1\""))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_names(&res), ["config.model"]);
        let now = json_of(&ada.get(&format!("{WS}/agents/{id}")).await);
        assert_eq!(now["version"], 1);
        assert_eq!(now["config"], json!({"model": "m"}));
        // A config over 64 KiB (grown by a patch) is refused.
        let big = "x".repeat(40 * 1024);
        let res = ada
            .patch_with(&format!("{WS}/agents/{id}"), json!({"config": {"a": big}}), Some("\"1\""))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let res = ada
            .patch_with(&format!("{WS}/agents/{id}"), json!({"config": {"b": big}}), Some("\"2\""))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", &res.body[..200]);
        assert_eq!(field_names(&res), ["config"]);
        app
    })
    .await;
}

#[tokio::test]
async fn references_resolve_in_the_same_workspace_only() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        let staging = "/v1/orgs/acme/workspaces/staging";
        ada.create(staging, "tools", json!({"name": "search", "config": {"type": "function"}}))
            .await;
        ada.create(staging, "agents", json!({"name": "bot", "config": {"model": "m"}}))
            .await;
        olga.create(
            "/v1/orgs/globex/workspaces/default",
            "mcp-servers",
            json!({"name": "files", "config": {"url": "https://mcp.globex.test", "transport": "sse"}}),
        )
        .await;
        // Same names, other workspace or org: refused here.
        let res = ada
            .post(
                &format!("{WS}/agents"),
                json!({"name": "a", "config": {"model": "m", "tools": ["search"], "mcp_servers": ["files"]}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_names(&res), ["config.tools[0]", "config.mcp_servers[0]"]);
        let res = ada
            .post(
                &format!("{WS}/schedules"),
                json!({"name": "s", "config": {"agent": "bot", "cron": "0 9 * * *", "timezone": "UTC", "enabled": true}}),
            )
            .await;
        assert_eq!(field_names(&res), ["config.agent"]);
        // In its own workspace the reference resolves.
        ada.create(staging, "agents", json!({"name": "a", "config": {"model": "m", "tools": ["search"]}}))
            .await;
        ada.create(
            staging,
            "schedules",
            json!({"name": "s", "config": {"agent": "bot", "cron": "0 9 * * *", "timezone": "UTC", "enabled": true}}),
        )
        .await;
        app
    })
    .await;
}

#[tokio::test]
async fn another_workspaces_or_orgs_id_under_this_path_is_not_found_and_untouched() {
    each_engine(|app| async move {
        let (ada, olga, _) = world(&app).await;
        let staging = ada
            .create(
                "/v1/orgs/acme/workspaces/staging",
                "agents",
                json!({"name": "s", "config": {"model": "m"}}),
            )
            .await;
        let globex = olga
            .create(
                "/v1/orgs/globex/workspaces/default",
                "agents",
                json!({"name": "g", "config": {"model": "m"}}),
            )
            .await;
        let tool = ada
            .create(
                WS,
                "tools",
                json!({"name": "t", "config": {"type": "function"}}),
            )
            .await;
        for id in [&staging["id"], &globex["id"]] {
            let id = id.as_str().unwrap();
            let path = format!("{WS}/agents/{id}");
            assert_eq!(ada.get(&path).await.status, StatusCode::NOT_FOUND);
            let res = ada
                .patch_with(&path, json!({"name": "x"}), Some("\"1\""))
                .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
            assert_eq!(
                ada.call(Method::DELETE, &path, None).await.status,
                StatusCode::NOT_FOUND
            );
            let res = ada.post(&format!("{path}/restore"), json!({})).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
        }
        // A tool's id is not an agent's.
        let tool_as_agent = format!("{WS}/agents/{}", tool["id"].as_str().unwrap());
        assert_eq!(ada.get(&tool_as_agent).await.status, StatusCode::NOT_FOUND);
        // Olga's key cannot reach acme at all.
        assert_eq!(
            olga.get(&format!("{WS}/agents")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(events(&app, "resource.updated").await, 0);
        assert_eq!(events(&app, "resource.deleted").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_stale_version_is_refused_with_the_current_resource() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let path = format!("{WS}/agents/{}", agent["id"].as_str().unwrap());
        let ok = ada
            .patch_with(&path, json!({"description": "one"}), Some("\"1\""))
            .await;
        assert_eq!(ok.status, StatusCode::OK);
        let stale = ada
            .patch_with(&path, json!({"description": "two"}), Some("\"1\""))
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(code(&stale), "version_conflict");
        assert_eq!(json_of(&stale)["error"]["current"]["description"], "one");
        assert_eq!(json_of(&stale)["error"]["current"]["version"], 2);
        let stale = ada
            .patch_with(&path, json!({"description": "two", "version": 1}), None)
            .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        assert_eq!(code(&stale), "version_conflict");
        let missing = ada
            .patch_with(&path, json!({"description": "two"}), None)
            .await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json_of(&ada.get(&path).await)["description"], "one");
        assert_eq!(events(&app, "resource.updated").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn a_name_is_unique_among_live_resources_of_a_kind_in_a_workspace() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        ada.create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let taken = ada
            .post(
                &format!("{WS}/agents"),
                json!({"name": "a", "config": {"model": "m"}}),
            )
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(code(&taken), "name_taken");
        // Another kind, or another workspace, may use it.
        ada.create(
            WS,
            "tools",
            json!({"name": "a", "config": {"type": "function"}}),
        )
        .await;
        ada.create(
            "/v1/orgs/acme/workspaces/staging",
            "agents",
            json!({"name": "a", "config": {"model": "m"}}),
        )
        .await;
        assert_eq!(resources_count(&app).await, 3);
        app
    })
    .await;
}

#[tokio::test]
async fn a_deleted_resource_stays_in_its_workspace_and_can_be_restored() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let id = agent["id"].as_str().unwrap();
        let path = format!("{WS}/agents/{id}");
        assert_eq!(
            ada.call(Method::DELETE, &path, None).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            ada.call(Method::DELETE, &path, None).await.status,
            StatusCode::NOT_FOUND
        );
        let live = json_of(&ada.get(&format!("{WS}/agents")).await);
        assert_eq!(live["resources"], json!([]));
        let deleted = json_of(&ada.get(&format!("{WS}/agents?deleted=true")).await);
        assert_eq!(deleted["resources"][0]["id"], id);
        assert!(deleted["resources"][0]["deleted_at"].is_i64());
        // The row is still in its workspace and org.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM resources r JOIN workspaces w ON w.id = r.workspace_id \
                 JOIN orgs o ON o.id = r.org_id AND o.id = w.org_id \
                 WHERE w.slug = 'default' AND o.slug = 'acme' AND r.deleted_at IS NOT NULL"
            )
            .await,
            1
        );
        // Restore with the name now taken is refused; freed, it works.
        let other = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let res = ada.post(&format!("{path}/restore"), json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(code(&res), "name_taken");
        let other_path = format!("{WS}/agents/{}", other["id"].as_str().unwrap());
        let res = ada
            .patch_with(&other_path, json!({"name": "b"}), Some("\"1\""))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let res = ada.post(&format!("{path}/restore"), json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(ada.get(&path).await.status, StatusCode::OK);
        assert_eq!(events(&app, "resource.restored").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn the_deleted_view_needs_the_kinds_write_permission() {
    each_engine(|app| async move {
        let (_, _, mut ada) = world(&app).await;
        let token = owner_key(&app, &mut ada, "acme", &["agents:read"], &["default"]).await;
        let reader = Api { app: &app, token };
        assert_eq!(
            reader.get(&format!("{WS}/agents")).await.status,
            StatusCode::OK
        );
        let res = reader.get(&format!("{WS}/agents?deleted=true")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "insufficient_permission");
        assert_eq!(json_of(&res)["error"]["permission"], "agents:write");
        let res = reader
            .post(
                &format!("{WS}/agents"),
                json!({"name": "a", "config": {"model": "m"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&res)["error"]["permission"], "agents:write");
        assert_eq!(
            reader.get(&format!("{WS}/tools")).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(resources_count(&app).await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn deleting_an_agent_that_enabled_schedules_run_is_refused_naming_them() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "bot", "config": {"model": "m"}}))
            .await;
        for (name, enabled) in [("nightly", true), ("hourly", true), ("paused", false)] {
            ada.create(
                WS,
                "schedules",
                json!({"name": name, "config": {"agent": "bot", "cron": "0 * * * *", "timezone": "UTC", "enabled": enabled}}),
            )
            .await;
        }
        let path = format!("{WS}/agents/{}", agent["id"].as_str().unwrap());
        let res = ada.call(Method::DELETE, &path, None).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(code(&res), "resource_in_use");
        assert_eq!(json_of(&res)["error"]["schedules"], json!(["hourly", "nightly"]));
        assert_eq!(ada.get(&path).await.status, StatusCode::OK);
        assert_eq!(events(&app, "resource.deleted").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn an_enabled_schedule_comes_back_only_with_its_agent() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "bot", "config": {"model": "m"}}))
            .await;
        let schedule = |name: &str, enabled: bool| {
            json!({"name": name, "config": {"agent": "bot", "cron": "0 * * * *", "timezone": "UTC", "enabled": enabled}})
        };
        let on = ada.create(WS, "schedules", schedule("nightly", true)).await;
        let off = ada.create(WS, "schedules", schedule("paused", false)).await;
        let path = |kind: &str, r: &serde_json::Value| format!("{WS}/{kind}/{}", r["id"].as_str().unwrap());
        for (kind, r) in [("schedules", &on), ("schedules", &off), ("agents", &agent)] {
            let res = ada.call(Method::DELETE, &path(kind, r), None).await;
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{kind}: {}", res.body);
        }
        // The agent is gone: the enabled schedule is refused, naming it, and
        // stays deleted; the disabled one may come back (it fires nothing).
        let res = ada.post(&format!("{}/restore", path("schedules", &on)), json!({})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(code(&res), "validation_failed");
        assert_eq!(field_names(&res), ["config.agent"]);
        assert_eq!(ada.get(&path("schedules", &on)).await.status, StatusCode::NOT_FOUND);
        let res = ada.post(&format!("{}/restore", path("schedules", &off)), json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        // With the agent back, so is the schedule.
        let res = ada.post(&format!("{}/restore", path("agents", &agent)), json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let res = ada.post(&format!("{}/restore", path("schedules", &on)), json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(events(&app, "resource.restored").await, 3);
        app
    })
    .await;
}

#[tokio::test]
async fn deleting_an_agent_and_pointing_a_new_schedule_at_it_at_once_never_leaves_both() {
    // The delete checks for enabled schedules and the create for a live
    // agent, each again inside its own transaction: whichever commits
    // second sees the first, so there is never an enabled schedule whose
    // agent is deleted.
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        for round in 0..8 {
            let bot = format!("bot-{round}");
            let agent = ada
                .create(WS, "agents", json!({"name": bot, "config": {"model": "m"}}))
                .await;
            let agent_path = format!("{WS}/agents/{}", agent["id"].as_str().unwrap());
            let body = json!({"name": format!("s-{round}"), "config": {"agent": bot, "cron": "0 * * * *", "timezone": "UTC", "enabled": true}});
            let schedules = format!("{WS}/schedules");
            let (deleted, created) = tokio::join!(
                ada.call(Method::DELETE, &agent_path, None),
                ada.post(&schedules, body),
            );
            assert!(
                [StatusCode::NO_CONTENT, StatusCode::CONFLICT].contains(&deleted.status),
                "round {round}: delete {} {}",
                deleted.status,
                deleted.body
            );
            assert!(
                [StatusCode::CREATED, StatusCode::UNPROCESSABLE_ENTITY].contains(&created.status),
                "round {round}: create {} {}",
                created.status,
                created.body
            );
            let deleted = deleted.status == StatusCode::NO_CONTENT;
            let created = created.status == StatusCode::CREATED;
            assert!(deleted != created, "round {round}: deleted {deleted}, created {created}");
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM resources s WHERE s.kind = 'schedule' AND s.deleted_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM resources a WHERE a.kind = 'agent' \
                 AND a.deleted_at IS NULL AND a.workspace_id = s.workspace_id \
                 AND a.name = 'bot-' || substr(s.name, 3))"
            )
            .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_purge_removes_resources_deleted_over_30_days_ago_once() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let old = ada
            .create(
                WS,
                "agents",
                json!({"name": "old", "config": {"model": "m"}}),
            )
            .await;
        let recent = ada
            .create(
                WS,
                "tools",
                json!({"name": "recent", "config": {"type": "function"}}),
            )
            .await;
        let old_path = format!("{WS}/agents/{}", old["id"].as_str().unwrap());
        assert_eq!(
            ada.call(Method::DELETE, &old_path, None).await.status,
            StatusCode::NO_CONTENT
        );
        app.clock.advance(20 * 86_400);
        let recent_path = format!("{WS}/tools/{}", recent["id"].as_str().unwrap());
        assert_eq!(
            ada.call(Method::DELETE, &recent_path, None).await.status,
            StatusCode::NO_CONTENT
        );
        app.clock.advance(11 * 86_400);
        // Past its window: not restorable, and purged once.
        let res = ada.post(&format!("{old_path}/restore"), json!({})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let now = START + 31 * 86_400;
        let purge = gatehouse::jobs::resource_purge::purge_deleted_resources;
        // Two instances, each with its own pool, at the same time.
        let other_db = gatehouse::db::Db::connect(&app.state.config.database.database_url, 2)
            .await
            .unwrap();
        let (a, b) = tokio::join!(purge(app.db(), now), purge(&other_db, now));
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        assert_eq!(purge(app.db(), now).await.unwrap(), 0);
        other_db.close().await;
        assert_eq!(events(&app, "resource.purged").await, 1);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_events a JOIN orgs o ON o.id = a.org_id \
                 WHERE o.slug = 'acme' AND a.action = 'resource.purged' AND a.actor_label = 'system'"
            )
            .await,
            1,
            "the purge is recorded in the org's log"
        );
        assert_eq!(resources_count(&app).await, 1);
        // The recent one is still restorable.
        let res = ada.post(&format!("{recent_path}/restore"), json!({})).await;
        assert_eq!(res.status, StatusCode::OK);
        app
    })
    .await;
}

const PAGES: &str = "/orgs/acme/workspaces/default";

/// The id at the end of a resource page's address.
fn id_in(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_creates_edits_deletes_and_restores_an_agent_on_the_pages() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let list = ada.get(&format!("{PAGES}/agents")).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.contains("New agent"));
        assert!(list.contains("No agents here yet"));
        assert!(list.contains(&format!("href=\"{PAGES}/mcp-servers\"")));
        let res = ada
            .submit(
                &format!("{PAGES}/agents/new"),
                &format!("{PAGES}/agents"),
                &[
                    ("name", "triage"),
                    ("description", "Sorts tickets"),
                    ("metadata", "owner=data-team\ntier=gold"),
                    ("config", r#"{"model": "gpt-x"}"#),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let path = res.location().unwrap().to_owned();
        let id = id_in(&path);
        let page = ada.get(&path).await;
        assert!(page.contains("Agent “triage” created."));
        assert!(page.contains("owner=data-team"));
        assert!(page.contains("name=\"version\" value=\"1\""));
        let res = ada
            .submit(
                &path,
                &path,
                &[
                    ("version", "1"),
                    ("name", "triage"),
                    ("description", "Sorts every ticket"),
                    ("metadata", "owner=data-team"),
                    ("config", r#"{"model": "gpt-y"}"#),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let page = ada.get(&path).await;
        assert!(page.contains("gpt-y"));
        assert!(page.contains("name=\"version\" value=\"2\""));
        assert_eq!(events(&app, "resource.updated").await, 1);
        // Delete, see it in the deleted view, restore it.
        let res = ada.submit(&path, &format!("{path}/delete"), &[]).await;
        res.assert_redirect(&format!("{PAGES}/agents"));
        assert_eq!(ada.get(&path).await.status, StatusCode::NOT_FOUND);
        let live = ada.get(&format!("{PAGES}/agents")).await;
        assert!(live.contains("can be restored from the deleted view"));
        assert!(!live.contains(&format!("/agents/{id}\"")));
        let deleted = ada.get(&format!("{PAGES}/agents?deleted=true")).await;
        assert!(deleted.contains("Restore triage"));
        let res = ada
            .submit(
                &format!("{PAGES}/agents?deleted=true"),
                &format!("{path}/restore"),
                &[],
            )
            .await;
        res.assert_redirect(&path);
        assert!(ada.get(&path).await.contains("Agent “triage” restored."));
        assert_eq!(events(&app, "resource.deleted").await, 1);
        assert_eq!(events(&app, "resource.restored").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn the_form_keeps_the_entered_text_and_shows_each_error_beside_its_field() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let res = ada
            .submit(
                &format!("{PAGES}/tools/new"),
                &format!("{PAGES}/tools"),
                &[
                    ("name", ""),
                    ("metadata", "no equals sign"),
                    (
                        "config",
                        r#"{"type": "http", "endpoint": "ftp://files.test"}"#,
                    ),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("id=\"name-error\""));
        assert!(res.contains("Enter a name."));
        assert!(res.contains("id=\"metadata-error\""));
        assert!(res.contains("write each label as key=value"));
        assert!(res.contains("id=\"config-error\""));
        assert!(res.contains("config.endpoint: must be an http or https URL."));
        assert!(res.contains("no equals sign"));
        assert!(res.contains("ftp://files.test"));
        let res = ada
            .submit(
                &format!("{PAGES}/tools/new"),
                &format!("{PAGES}/tools"),
                &[("name", "t"), ("config", "{not json")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("The config is not valid JSON (line 1, column 2)."));
        assert!(res.contains("{not json"));
        assert_eq!(resources_count(&app).await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_stale_edit_form_is_refused_with_the_current_values_beside_the_entered_ones() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let res = ada
            .submit(
                &format!("{PAGES}/agents/new"),
                &format!("{PAGES}/agents"),
                &[("name", "a"), ("config", r#"{"model": "m1"}"#)],
            )
            .await;
        let path = res.location().unwrap().to_owned();
        let fields = |model: &'static str, version: &'static str| {
            vec![("version", version), ("name", "a"), ("config", model)]
        };
        let res = ada
            .submit(&path, &path, &fields(r#"{"model": "theirs"}"#, "1"))
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let res = ada
            .submit(&path, &path, &fields(r#"{"model": "mine"}"#, "1"))
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.contains("Someone changed this resource since you opened the form"));
        assert!(res.contains("Current values (version 2"));
        assert!(res.contains("Differs from what you entered: configuration."));
        assert!(res.contains("theirs"));
        assert!(res.contains("mine"));
        // The form now carries the current version: saving it again is a
        // deliberate choice.
        assert!(res.contains("name=\"version\" value=\"2\""));
        let now = ada.get(&path).await;
        assert!(now.contains("theirs") && !now.contains("mine"));
        assert_eq!(events(&app, "resource.updated").await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn pages_of_another_workspace_or_org_are_not_found_and_a_member_without_access_gets_404() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        add_workspace(&app, "acme", "staging").await;
        let res = ada
            .submit(
                "/orgs/acme/workspaces/staging/agents/new",
                "/orgs/acme/workspaces/staging/agents",
                &[("name", "s"), ("config", r#"{"model": "m"}"#)],
            )
            .await;
        let staging_id = id_in(res.location().unwrap());
        let res = olga
            .submit(
                "/orgs/globex/workspaces/default/agents/new",
                "/orgs/globex/workspaces/default/agents",
                &[("name", "g"), ("config", r#"{"model": "m"}"#)],
            )
            .await;
        let globex_id = id_in(res.location().unwrap());
        ada.get(&format!("{PAGES}/agents")).await;
        for id in [&staging_id, &globex_id] {
            let path = format!("{PAGES}/agents/{id}");
            assert_eq!(ada.get(&path).await.status, StatusCode::NOT_FOUND);
            let res = ada
                .post(&path, &[("version", "1"), ("name", "x"), ("config", "{}")])
                .await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
            assert_eq!(
                ada.post(&format!("{path}/delete"), &[]).await.status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                ada.post(&format!("{path}/restore"), &[]).await.status,
                StatusCode::NOT_FOUND
            );
        }
        // Grace is a member of acme on no team: the workspace does not
        // exist for her; Olga is not a member at all.
        assert_eq!(
            grace.get(&format!("{PAGES}/agents")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            olga.get(&format!("{PAGES}/agents")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(events(&app, "resource.updated").await, 0);
        assert_eq!(events(&app, "resource.deleted").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn the_pages_refuse_deleting_an_agent_that_enabled_schedules_run_and_a_restore_whose_name_is_taken()
 {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let res = ada
            .submit(
                &format!("{PAGES}/agents/new"),
                &format!("{PAGES}/agents"),
                &[("name", "bot"), ("config", r#"{"model": "m"}"#)],
            )
            .await;
        let agent = res.location().unwrap().to_owned();
        let res = ada
            .submit(
                &format!("{PAGES}/schedules/new"),
                &format!("{PAGES}/schedules"),
                &[
                    ("name", "nightly"),
                    ("config", r#"{"agent": "bot", "cron": "0 2 * * *", "timezone": "Europe/Paris", "enabled": true}"#),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let res = ada.submit(&agent, &format!("{agent}/delete"), &[]).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert!(res.contains("enabled schedules run it (nightly)"));
        assert_eq!(ada.get(&agent).await.status, StatusCode::OK);
        // A tool deleted, its name reused, then restored: refused, clearly.
        let res = ada
            .submit(
                &format!("{PAGES}/tools/new"),
                &format!("{PAGES}/tools"),
                &[("name", "search"), ("config", r#"{"type": "function"}"#)],
            )
            .await;
        let tool = res.location().unwrap().to_owned();
        ada.submit(&tool, &format!("{tool}/delete"), &[]).await;
        ada.submit(
            &format!("{PAGES}/tools/new"),
            &format!("{PAGES}/tools"),
            &[("name", "search"), ("config", r#"{"type": "function"}"#)],
        )
        .await;
        let res = ada
            .submit(&format!("{PAGES}/tools?deleted=true"), &format!("{tool}/restore"), &[])
            .await;
        res.assert_redirect(&format!("{PAGES}/tools?deleted=true"));
        let page = ada.get(&format!("{PAGES}/tools?deleted=true")).await;
        assert!(page.contains("“search” was not restored: a live tool has that name now."));
        assert_eq!(events(&app, "resource.restored").await, 0);
        app
    })
    .await;
}

/// Grants `role` on acme's `default` workspace to a new team holding Grace.
async fn grace_holds(app: &TestApp, ada: &mut Client, role: gatehouse::domain::BuiltinRole) {
    let team = ada.create_team("acme", "crew").await;
    ada.put_on_team("acme", &team, "grace@example.com").await;
    let sql = "INSERT INTO workspace_grants (workspace_id, team_id, org_id, role_id, created_at) \
               SELECT w.id, t.id, w.org_id, $1, 0 FROM workspaces w \
               JOIN orgs o ON o.id = w.org_id JOIN teams t ON t.org_id = o.id \
               WHERE o.slug = 'acme' AND w.slug = 'default' AND t.name = 'crew'";
    let n = match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query(sql)
            .bind(role.id())
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        gatehouse::db::Db::Postgres(p) => sqlx::query(sql)
            .bind(role.id())
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_viewer_sees_resources_but_cannot_change_them_or_open_the_deleted_view() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        grace_holds(&app, &mut ada, gatehouse::domain::BuiltinRole::Viewer).await;
        let res = ada
            .submit(
                &format!("{PAGES}/agents/new"),
                &format!("{PAGES}/agents"),
                &[("name", "bot"), ("config", r#"{"model": "m"}"#)],
            )
            .await;
        let agent = res.location().unwrap().to_owned();
        let list = grace.get(&format!("{PAGES}/agents")).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.contains(">bot</a>"));
        assert!(!list.contains("New agent"));
        let page = grace.get(&agent).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.contains("Save agent") && !page.contains("Delete bot"));
        assert_eq!(
            grace
                .get(&format!("{PAGES}/agents?deleted=true"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            grace.get(&format!("{PAGES}/agents/new")).await.status,
            StatusCode::FORBIDDEN
        );
        let res = grace
            .post(
                &agent,
                &[
                    ("version", "1"),
                    ("name", "mine"),
                    ("config", r#"{"model": "m"}"#),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(
            grace.post(&format!("{agent}/delete"), &[]).await.status,
            StatusCode::FORBIDDEN
        );
        assert!(
            ada.get(&agent)
                .await
                .contains("name=\"version\" value=\"1\"")
        );
        app
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_each_kinds_routes_with_its_permission() {
    each_engine(|app| async move {
        let doc = json_of(&api(&app.router, Method::GET, "/v1/openapi.json", None, None).await);
        for (segment, read, write) in [
            ("agents", "agents:read", "agents:write"),
            ("tools", "tools:read", "tools:write"),
            ("mcp-servers", "mcp:read", "mcp:write"),
            ("schedules", "schedules:read", "schedules:write"),
        ] {
            let base = format!("/v1/orgs/{{slug}}/workspaces/{{ws}}/{segment}");
            let one = format!("{base}/{{id}}");
            assert_eq!(
                doc["paths"][&base]["get"]["security"][0]["api_key"][0],
                read
            );
            assert_eq!(
                doc["paths"][&base]["post"]["security"][0]["api_key"][0],
                write
            );
            assert_eq!(
                doc["paths"][&one]["patch"]["security"][0]["api_key"][0],
                write
            );
            assert!(doc["paths"][&one]["patch"]["responses"]["412"].is_object());
            assert!(doc["paths"][&one]["delete"].is_object());
            assert!(doc["paths"][format!("{one}/restore")]["post"].is_object());
        }
        assert!(doc["paths"]["/v1/orgs/{slug}/workspaces/{ws}/{kind}"].is_null());
        app
    })
    .await;
}

#[tokio::test]
async fn a_change_and_its_audit_event_commit_together() {
    each_engine(|app| async move {
        let (ada, _, _) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        let path = format!("{WS}/agents/{}", agent["id"].as_str().unwrap());
        app.start_failing(
            "audit_down",
            "INSERT",
            "audit_events",
            "audit log unavailable",
        )
        .await;
        let res = ada
            .post(
                &format!("{WS}/agents"),
                json!({"name": "b", "config": {"model": "m"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        let res = ada
            .patch_with(&path, json!({"description": "x"}), Some("\"1\""))
            .await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        let res = ada.call(Method::DELETE, &path, None).await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
        app.stop_failing("audit_down", "audit_events").await;
        assert_eq!(resources_count(&app).await, 1);
        let now = json_of(&ada.get(&path).await);
        assert_eq!(
            (now["version"].as_i64(), now["description"].as_str()),
            (Some(1), Some(""))
        );
        app
    })
    .await;
}

#[tokio::test]
async fn a_key_without_the_workspace_granted_reaches_no_resource() {
    each_engine(|app| async move {
        let (ada, _, mut ada_browser) = world(&app).await;
        let agent = ada
            .create(WS, "agents", json!({"name": "a", "config": {"model": "m"}}))
            .await;
        // Granted `staging` only.
        let token = owner_key(&app, &mut ada_browser, "acme", &ALL_SCOPES, &["staging"]).await;
        let other = Api { app: &app, token };
        assert_eq!(
            other.get(&format!("{WS}/agents")).await.status,
            StatusCode::NOT_FOUND
        );
        let one = format!("{WS}/agents/{}", agent["id"].as_str().unwrap());
        assert_eq!(other.get(&one).await.status, StatusCode::NOT_FOUND);
        let res = other
            .post(
                &format!("{WS}/agents"),
                json!({"name": "b", "config": {"model": "m"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(resources_count(&app).await, 1);
        app
    })
    .await;
}
