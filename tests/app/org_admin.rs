//! A whole org, from above and from its owners' keys: the master key creates
//! one for a first owner, disables and enables it (its pages and keys answer
//! `org_disabled`, nothing is deleted), deletes and restores it; an operator
//! does the same in the console with a reason; an owner's `org:admin` key
//! renames, hands over and deletes it. Each rule with the request that tries
//! to break it.

use axum::http::{Method, StatusCode};
use gatehouse::operators::create_master_key;

use crate::admin_api::{code, master};
use crate::helpers::*;
use crate::ops::{last_event, operator};
use crate::orgs::{org_id, two_orgs};

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> TestResponse {
    api(&app.router, method, path, Some(key), body).await
}

async fn org_events(app: &TestApp, action: &str, org: uuid::Uuid) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND org_id = $2";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => {
            sqlx::query_scalar(sql)
                .bind(action)
                .bind(org)
                .fetch_one(p)
                .await
        }
        gatehouse::db::Db::Postgres(p) => {
            sqlx::query_scalar(sql)
                .bind(action)
                .bind(org)
                .fetch_one(p)
                .await
        }
    }
    .unwrap()
}

#[tokio::test]
async fn the_master_key_creates_an_org_for_an_existing_account_or_by_invitation() {
    each_engine(|app| async move {
        let key = master(&app).await;
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let res = call(
            &app,
            Method::POST,
            "/v1/admin/orgs",
            &key,
            Some(r#"{"name":"Initech","owner_email":"Ada@Example.com"}"#),
        )
        .await;
        res.assert_status(StatusCode::CREATED);
        let body = json_of(&res);
        assert_eq!(body["org"]["slug"], "initech");
        assert_eq!(body["org"]["status"], "active");
        assert_eq!(body["owner"]["status"], "member");
        assert!(!res.contains("gti_"), "no secret in the answer");
        // Ada owns it at once, with its default workspace.
        let page = ada.get("/orgs/initech").await;
        page.assert_status(StatusCode::OK);
        assert!(page.contains("You are an owner of this organization."));
        ada.get("/orgs/initech/workspaces/default")
            .await
            .assert_status(StatusCode::OK);
        let org = org_id(&app, "initech").await;
        assert_eq!(org_events(&app, "master_key.org.created", org).await, 1);
        let (_, detail) = last_event(&app, "master_key.org.created").await.unwrap();
        assert_eq!(detail["reason"], ADMIN_REASON);

        // An address with no account gets an owner invitation, not a member.
        let res = call(
            &app,
            Method::POST,
            "/v1/admin/orgs",
            &key,
            Some(r#"{"name":"Hooli","slug":"hooli","owner_email":"gavin@example.com"}"#),
        )
        .await;
        res.assert_status(StatusCode::CREATED);
        assert_eq!(json_of(&res)["owner"]["status"], "invited");
        assert!(!res.contains("gti_"));
        let hooli = org_id(&app, "hooli").await;
        let sql = "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND email = \
                   'gavin@example.com' AND role = 'owner' AND accepted_at IS NULL";
        let pending: i64 = match app.db() {
            gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(hooli).fetch_one(p).await,
            gatehouse::db::Db::Postgres(p) => {
                sqlx::query_scalar(sql).bind(hooli).fetch_one(p).await
            }
        }
        .unwrap();
        assert_eq!(pending, 1);
        // The link went by email (never in the answer); Gavin follows it and
        // owns the org.
        let mut gavin = signed_in(&app, "gavin@example.com", "Gavin").await;
        let link = gavin.last_invitation_link("gavin@example.com").await;
        assert!(!res.contains(&link));
        gavin
            .submit(&link, &link, &[])
            .await
            .assert_redirect("/orgs/hooli");
        let page = gavin.get("/orgs/hooli").await;
        assert!(page.contains("You are an owner of this organization."));

        // Bad fields and a taken slug: 422 per field, nothing created.
        let orgs = app.count("SELECT COUNT(*) FROM orgs").await;
        let res = call(
            &app,
            Method::POST,
            "/v1/admin/orgs",
            &key,
            Some(r#"{"name":"  ","slug":"Bad Slug!","owner_email":"nope"}"#),
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = json_of(&res)["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, ["name", "slug", "owner_email"]);
        // Without a slug, a refused name is not reported twice.
        let res = call(
            &app,
            Method::POST,
            "/v1/admin/orgs",
            &key,
            Some(r#"{"name":"","owner_email":"ada@example.com"}"#),
        )
        .await;
        assert_eq!(
            json_of(&res)["error"]["fields"].as_array().unwrap().len(),
            1
        );
        let res = call(
            &app,
            Method::POST,
            "/v1/admin/orgs",
            &key,
            Some(r#"{"name":"Initech 2","slug":"initech","owner_email":"ada@example.com"}"#),
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("taken"));
        assert_eq!(app.count("SELECT COUNT(*) FROM orgs").await, orgs);
        app
    })
    .await;
}

#[tokio::test]
async fn a_disabled_org_refuses_its_members_pages_and_keys_until_enabled() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        let ada_key = ada
            .create_bound_key(&["members:read"], "acme", &[])
            .await;
        let key = master(&app).await;
        let acme = org_id(&app, "acme").await;
        let res = call(&app, Method::POST, &format!("/v1/admin/orgs/{acme}/disable"), &key, None).await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["changed"], true);
        assert_eq!(json_of(&res)["org"]["status"], "disabled");
        // A second call changes and records nothing.
        let again = call(&app, Method::POST, &format!("/v1/admin/orgs/{acme}/disable"), &key, None).await;
        assert_eq!(json_of(&again)["changed"], false);
        assert_eq!(org_events(&app, "master_key.org.disabled", acme).await, 1);

        for c in [&mut ada, &mut grace] {
            let page = c.get("/orgs/acme/members").await;
            page.assert_status(StatusCode::FORBIDDEN);
            assert!(page.contains("This organization is disabled"));
            c.get("/orgs/acme/workspaces/default")
                .await
                .assert_status(StatusCode::FORBIDDEN);
        }
        // An outsider learns nothing: the same 404 as for any other org.
        olga.get("/orgs/acme").await.assert_status(StatusCode::NOT_FOUND);
        // Globex is untouched.
        olga.get("/orgs/globex").await.assert_status(StatusCode::OK);
        let res = api(&app.router, Method::GET, "/v1/orgs/acme/members", Some(&ada_key), None).await;
        res.assert_status(StatusCode::FORBIDDEN);
        assert_eq!(code(&res), "org_disabled");
        // No new key can be bound to it meanwhile.
        let keys = app.count("SELECT COUNT(*) FROM api_keys").await;
        let res = ada.post_bound_key(&["members:read"], "acme", &[], "30").await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, keys);
        // Nothing was deleted.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme'")
                .await,
            2
        );

        let res = call(&app, Method::POST, &format!("/v1/admin/orgs/{acme}/enable"), &key, None).await;
        assert_eq!(json_of(&res)["org"]["status"], "active");
        ada.get("/orgs/acme/members").await.assert_status(StatusCode::OK);
        api(&app.router, Method::GET, "/v1/orgs/acme/members", Some(&ada_key), None)
            .await
            .assert_status(StatusCode::OK);
        assert_eq!(org_events(&app, "master_key.org.enabled", acme).await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn the_master_key_deletes_an_org_its_keys_stop_at_once_and_it_restores_cleanly() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let ada_key = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let key = master(&app).await;
        let acme = org_id(&app, "acme").await;
        let res = call(
            &app,
            Method::DELETE,
            &format!("/v1/admin/orgs/{acme}"),
            &key,
            None,
        )
        .await;
        assert_eq!(json_of(&res)["org"]["status"], "deleted");
        let res = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/members",
            Some(&ada_key),
            None,
        )
        .await;
        assert_eq!(code(&res), "org_disabled");
        ada.get("/orgs/acme")
            .await
            .assert_status(StatusCode::NOT_FOUND);
        // Disabling a deleted org changes nothing.
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/admin/orgs/{acme}/disable"),
            &key,
            None,
        )
        .await;
        assert_eq!(json_of(&res)["changed"], false);

        let res = call(
            &app,
            Method::POST,
            &format!("/v1/admin/orgs/{acme}/restore"),
            &key,
            None,
        )
        .await;
        assert_eq!(json_of(&res)["changed"], true);
        assert_eq!(json_of(&res)["org"]["status"], "active");
        api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme/members",
            Some(&ada_key),
            None,
        )
        .await
        .assert_status(StatusCode::OK);
        ada.get("/orgs/acme").await.assert_status(StatusCode::OK);
        assert_eq!(org_events(&app, "master_key.org.deleted", acme).await, 1);
        assert_eq!(org_events(&app, "master_key.org.restored", acme).await, 1);

        // Past the window, a restore changes nothing.
        call(
            &app,
            Method::DELETE,
            &format!("/v1/admin/orgs/{acme}"),
            &key,
            None,
        )
        .await;
        app.clock.advance(30 * 24 * 3600 + 1);
        let key = create_master_key(
            app.db(),
            "later",
            30,
            gatehouse::clock::Clock::unix(&*app.clock),
        )
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/admin/orgs/{acme}/restore"),
            &key,
            None,
        )
        .await;
        assert_eq!(json_of(&res)["changed"], false);
        // Unknown ids are 404.
        let res = call(
            &app,
            Method::GET,
            &format!("/v1/admin/orgs/{}", uuid::Uuid::now_v7()),
            &key,
            None,
        )
        .await;
        res.assert_status(StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn the_org_routes_refuse_without_a_reason_and_refuse_personal_keys() {
    each_engine(|app| async move {
        let (_ada, _grace, _olga) = two_orgs(&app).await;
        let key = master(&app).await;
        let acme = org_id(&app, "acme").await;
        let mut otto = operator(&app, "otto@example.com").await;
        let personal = otto.create_key("mine", &["profile:read"], "30").await;
        for (method, path) in [
            (Method::GET, format!("/v1/admin/orgs/{acme}")),
            (Method::POST, format!("/v1/admin/orgs/{acme}/disable")),
            (Method::POST, format!("/v1/admin/orgs/{acme}/enable")),
            (Method::DELETE, format!("/v1/admin/orgs/{acme}")),
            (Method::POST, format!("/v1/admin/orgs/{acme}/restore")),
            (Method::POST, "/v1/admin/orgs".to_owned()),
        ] {
            let res = admin_with_reason(&app.router, method.clone(), &path, &key, None).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{method} {path}");
            assert_eq!(code(&res), "reason_required");
            let res = call(&app, method.clone(), &path, &personal, None).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(code(&res), "master_key_required");
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM orgs WHERE disabled_at IS NOT NULL OR deleted_at IS NOT NULL"
            )
            .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_operator_disables_enables_and_restores_an_org_with_a_reason() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let mut op = operator(&app, "otto@example.com").await;
        let acme = org_id(&app, "acme").await;
        let page = format!("/ops/orgs/{acme}");
        // No reason: 422 beside the field, nothing changes.
        let res = op
            .submit(&page, &format!("{page}/disable"), &[("reason", " ")])
            .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("Nothing was changed"));
        ada.get("/orgs/acme").await.assert_status(StatusCode::OK);
        op.submit(
            &page,
            &format!("{page}/disable"),
            &[("reason", "Ticket 7: abuse report")],
        )
        .await
        .assert_redirect(&page);
        ada.get("/orgs/acme")
            .await
            .assert_status(StatusCode::FORBIDDEN);
        let detail = op.get(&page).await;
        assert!(detail.contains("disabled by the platform"));
        assert!(detail.contains("Enable organization"));
        let (_, d) = last_event(&app, "ops.org.disabled").await.unwrap();
        assert_eq!(d["reason"], "Ticket 7: abuse report");
        assert_eq!(org_events(&app, "ops.org.disabled", acme).await, 1);
        op.submit(
            &page,
            &format!("{page}/enable"),
            &[("reason", "Ticket 7: resolved")],
        )
        .await
        .assert_redirect(&page);
        ada.get("/orgs/acme").await.assert_status(StatusCode::OK);

        // The owners delete it; an operator restores it.
        ada.sudo(PASSWORD, "/orgs/acme/settings/delete")
            .await
            .assert_redirect("/orgs/acme/settings/delete");
        ada.submit(
            "/orgs/acme/settings/delete",
            "/orgs/acme/settings/delete",
            &[("confirm", "acme")],
        )
        .await
        .assert_redirect("/account/orgs");
        let detail = op.get(&page).await;
        assert!(detail.contains("Restore organization"));
        op.submit(
            &page,
            &format!("{page}/restore"),
            &[("reason", "Ticket 8: deleted by mistake")],
        )
        .await
        .assert_redirect(&page);
        ada.get("/orgs/acme").await.assert_status(StatusCode::OK);
        assert_eq!(org_events(&app, "ops.org.restored", acme).await, 1);
        app
    })
    .await;
}

#[tokio::test]
async fn an_owners_org_admin_key_renames_hands_over_and_deletes_the_org() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let admin = ada.create_bound_key(&["org:admin"], "acme", &[]).await;
        let members_only = ada.create_bound_key(&["members:read"], "acme", &[]).await;
        let graces = grace.create_bound_key(&["org:admin"], "acme", &[]).await;

        // The scope, then the owner's role, are required.
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/acme",
            Some(&members_only),
            Some(r#"{"name":"X"}"#),
        )
        .await;
        assert_eq!(code(&res), "insufficient_scope");
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/acme",
            Some(&graces),
            Some(r#"{"name":"X"}"#),
        )
        .await;
        assert_eq!(code(&res), "owner_required");
        let res = api(
            &app.router,
            Method::DELETE,
            "/v1/orgs/acme?confirm=acme",
            Some(&graces),
            None,
        )
        .await;
        assert_eq!(code(&res), "owner_required");
        // Another org's slug with this key: 404.
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/globex",
            Some(&admin),
            Some(r#"{"name":"X"}"#),
        )
        .await;
        res.assert_status(StatusCode::NOT_FOUND);

        // Rename, with a field error first.
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/acme",
            Some(&admin),
            Some(r#"{"slug":"Not A Slug"}"#),
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/acme",
            Some(&admin),
            Some(r#"{"name":"Acme Corp","slug":"acme-corp"}"#),
        )
        .await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["slug"], "acme-corp");
        assert_eq!(
            ada.get("/orgs/acme/members").await.location(),
            Some("/orgs/acme-corp/members")
        );
        let (_, d) = last_event(&app, "org.renamed").await.unwrap();
        assert!(d["via_key"].is_string());

        // Hand over to Grace; Ada's key then lacks the owner's role.
        let res = api(
            &app.router,
            Method::POST,
            "/v1/orgs/acme-corp/transfer",
            Some(&admin),
            Some(r#"{"email":"oscar@example.com"}"#),
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let res = api(
            &app.router,
            Method::POST,
            "/v1/orgs/acme-corp/transfer",
            Some(&admin),
            Some(r#"{"email":"grace@example.com"}"#),
        )
        .await;
        res.assert_status(StatusCode::OK);
        assert_eq!(json_of(&res)["new_owner"], "Grace");
        let res = api(
            &app.router,
            Method::PATCH,
            "/v1/orgs/acme-corp",
            Some(&admin),
            Some("{}"),
        )
        .await;
        assert_eq!(code(&res), "owner_required");

        // Grace deletes it: the slug must be confirmed; then every key stops.
        let res = api(
            &app.router,
            Method::DELETE,
            "/v1/orgs/acme-corp",
            Some(&graces),
            None,
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let res = api(
            &app.router,
            Method::DELETE,
            "/v1/orgs/acme-corp?confirm=acme",
            Some(&graces),
            None,
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE deleted_at IS NOT NULL")
                .await,
            0
        );
        let res = api(
            &app.router,
            Method::DELETE,
            "/v1/orgs/acme-corp?confirm=acme-corp",
            Some(&graces),
            None,
        )
        .await;
        res.assert_status(StatusCode::OK);
        assert!(json_of(&res)["restorable_until"].is_i64());
        let res = api(
            &app.router,
            Method::GET,
            "/v1/orgs/acme-corp/members",
            Some(&members_only),
            None,
        )
        .await;
        assert_eq!(code(&res), "org_disabled");
        let (_, d) = last_event(&app, "org.deleted").await.unwrap();
        assert!(d["via_key"].is_string());
        app
    })
    .await;
}

#[tokio::test]
async fn org_admin_is_never_given_by_a_key_over_the_api() {
    each_engine(|app| async move {
        let mut ada = signed_in(&app, "ada@example.com", "Ada").await;
        let maker = ada
            .create_key("maker", &["keys:write", "org:admin", "profile:read"], "30")
            .await;
        let keys = app.count("SELECT COUNT(*) FROM api_keys").await;
        let res = api(
            &app.router,
            Method::POST,
            "/v1/keys",
            Some(&maker),
            Some(r#"{"name":"chained","permissions":["org:admin"],"expiresInDays":1}"#),
        )
        .await;
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.contains("org:admin is never given over the API"));
        assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, keys);
        app
    })
    .await;
}
