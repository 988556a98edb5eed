//! An org's lifecycle by its owners: rename (the old slug redirects members
//! and is held for 30 days), transfer of ownership and deletion (sudo; the
//! slug typed), restore from `/account/orgs`, the purge after 30 days, and
//! the `org-creation` flag. Each rule with the request that tries to break it.

use axum::http::{Method, StatusCode};

use crate::helpers::*;
use crate::orgs::two_orgs;

const DAY: i64 = 24 * 3600;

async fn rename(c: &mut Client, slug: &str, name: &str, new_slug: &str) -> TestResponse {
    c.submit(
        &format!("/orgs/{slug}/settings"),
        &format!("/orgs/{slug}/settings/rename"),
        &[("name", name), ("slug", new_slug)],
    )
    .await
}

async fn events(app: &TestApp, action: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_events WHERE action = $1";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).bind(action).fetch_one(p).await,
    }
    .unwrap()
}

async fn role_of(app: &TestApp, email: &str) -> String {
    let sql = "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id \
               JOIN orgs o ON o.id = m.org_id WHERE u.email = $1 AND o.name LIKE 'Acme%'";
    match app.db() {
        gatehouse::db::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
        gatehouse::db::Db::Postgres(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
    }
    .unwrap()
}

/// Deletes acme as Ada, entering sudo first.
async fn delete_acme(c: &mut Client) {
    c.sudo(PASSWORD, "/orgs/acme/settings/delete")
        .await
        .assert_redirect("/orgs/acme/settings/delete");
    c.submit(
        "/orgs/acme/settings/delete",
        "/orgs/acme/settings/delete",
        &[("confirm", "acme")],
    )
    .await
    .assert_redirect("/account/orgs");
}

#[tokio::test]
async fn a_renamed_orgs_old_slug_redirects_its_members_for_30_days() {
    each_engine(|app| async move {
        let (mut ada, mut grace, mut olga) = two_orgs(&app).await;
        rename(&mut ada, "acme", "Acme Corp", "acme-corp")
            .await
            .assert_redirect("/orgs/acme-corp/settings");
        assert!(
            ada.get("/orgs/acme-corp/settings")
                .await
                .contains("Acme Corp")
        );
        assert_eq!(events(&app, "org.renamed").await, 1);
        // The same path and query under the new slug, permanently.
        let moved = ada.get("/orgs/acme/members?q=gr").await;
        assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(moved.location(), Some("/orgs/acme-corp/members?q=gr"));
        let moved = grace.get("/orgs/acme/workspaces/default").await;
        assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(moved.location(), Some("/orgs/acme-corp/workspaces/default"));
        // Someone outside the org learns nothing from the old slug.
        let outsider = olga.get("/orgs/acme").await;
        assert_eq!(outsider.status, StatusCode::NOT_FOUND);
        assert!(!outsider.contains("acme-corp"));
        app.clock.advance(30 * DAY + 1);
        // (Sessions end before 30 days: sign in again.)
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert_eq!(ada.get("/orgs/acme").await.status, StatusCode::NOT_FOUND);
        assert_eq!(ada.get("/orgs/acme-corp").await.status, StatusCode::OK);
        app
    })
    .await;
}

#[tokio::test]
async fn a_held_slug_cannot_be_taken_by_another_org_until_the_hold_ends() {
    each_engine(|app| async move {
        let (mut ada, _grace, mut olga) = two_orgs(&app).await;
        rename(&mut ada, "acme", "Acme", "acme-corp")
            .await
            .assert_redirect("/orgs/acme-corp/settings");
        let created = olga.create_org("Acme Again", "acme").await;
        assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(created.contains("held for it for 30 days"));
        let renamed = rename(&mut olga, "globex", "Globex", "acme").await;
        assert_eq!(renamed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(renamed.contains("held for it for 30 days"));
        // A live org's slug is taken, as before.
        let taken = rename(&mut olga, "globex", "Globex", "acme-corp").await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(taken.contains("That address is taken"));
        assert_eq!(app.count("SELECT COUNT(*) FROM orgs").await, 2);
        assert_eq!(olga.get("/orgs/globex").await.status, StatusCode::OK);
        // Bad input beside its field, nothing changed.
        let bad = rename(&mut olga, "globex", "", "Not A Slug").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.contains("Enter the organization&#x27;s name.")
                || bad.contains("Enter the organization")
        );
        // The org that holds it may take it back at once.
        rename(&mut ada, "acme-corp", "Acme", "acme")
            .await
            .assert_redirect("/orgs/acme/settings");
        rename(&mut ada, "acme", "Acme", "acme-corp")
            .await
            .assert_redirect("/orgs/acme-corp/settings");
        app.clock.advance(30 * DAY + 1);
        olga.login("olga@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        olga.create_org("Acme Again", "acme")
            .await
            .assert_redirect("/orgs/acme");
        app
    })
    .await;
}

#[tokio::test]
async fn a_member_can_neither_rename_transfer_delete_nor_restore() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        for page in ["/orgs/acme/settings/transfer", "/orgs/acme/settings/delete"] {
            assert_eq!(grace.get(page).await.status, StatusCode::FORBIDDEN);
        }
        grace.get("/orgs/acme").await.assert_status(StatusCode::OK);
        grace
            .sudo(PASSWORD, "/orgs/acme")
            .await
            .assert_redirect("/orgs/acme");
        for (action, fields) in [
            (
                "/orgs/acme/settings/rename",
                vec![("name", "Mine"), ("slug", "mine")],
            ),
            (
                "/orgs/acme/settings/transfer",
                vec![("email", "grace@example.com")],
            ),
            ("/orgs/acme/settings/delete", vec![("confirm", "acme")]),
        ] {
            let res = grace.post(action, &fields).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}");
        }
        assert_eq!(role_of(&app, "grace@example.com").await, "member");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND deleted_at IS NULL")
                .await,
            1
        );
        // Once deleted, a member (not an owner) cannot restore it.
        delete_acme(&mut ada).await;
        grace
            .get("/account/orgs")
            .await
            .assert_status(StatusCode::OK);
        let res = grace.post("/orgs/acme/restore", &[]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn lifecycle_forms_without_a_csrf_token_change_nothing() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        ada.sudo(PASSWORD, "/orgs/acme/settings")
            .await
            .assert_redirect("/orgs/acme/settings");
        for (action, fields) in [
            (
                "/orgs/acme/settings/rename",
                vec![("name", "Mine"), ("slug", "mine")],
            ),
            (
                "/orgs/acme/settings/transfer",
                vec![("email", "grace@example.com")],
            ),
            ("/orgs/acme/settings/delete", vec![("confirm", "acme")]),
        ] {
            let res = ada.post_raw(action, &fields, &[]).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}");
        }
        assert_eq!(role_of(&app, "ada@example.com").await, "owner");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme' AND deleted_at IS NULL")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn an_owner_transfers_ownership_in_sudo_and_stays_a_member() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let page = "/orgs/acme/settings/transfer";
        // Without sudo: sent to confirm, the email kept, nothing changed.
        let res = ada
            .submit(page, page, &[("email", "grace@example.com")])
            .await;
        res.assert_redirect(&format!("/sudo?next={}", crate::sudo::urlencode(page)));
        assert_eq!(role_of(&app, "grace@example.com").await, "member");
        ada.sudo(PASSWORD, page).await.assert_redirect(page);
        assert!(ada.get(page).await.contains("grace@example.com"));
        // Not a member, or oneself: beside the field, nothing changed.
        for email in ["oscar@example.com", "ada@example.com", "not an email"] {
            let res = ada.submit(page, page, &[("email", email)]).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        }
        assert_eq!(role_of(&app, "ada@example.com").await, "owner");
        ada.submit(page, page, &[("email", "grace@example.com")])
            .await
            .assert_redirect("/orgs/acme");
        assert_eq!(role_of(&app, "grace@example.com").await, "owner");
        assert_eq!(role_of(&app, "ada@example.com").await, "member");
        assert_eq!(events(&app, "org.ownership_transferred").await, 1);
        assert_eq!(
            ada.get("/orgs/acme/settings").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            grace.get("/orgs/acme/settings").await.status,
            StatusCode::OK
        );
        app
    })
    .await;
}

#[tokio::test]
async fn expired_sudo_sends_transfer_and_deletion_to_confirm_first() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = "/orgs/acme/settings/delete";
        ada.sudo(PASSWORD, page).await.assert_redirect(page);
        app.clock.advance(15 * 60 + 1);
        let res = ada.submit(page, page, &[("confirm", "acme")]).await;
        res.assert_redirect(&format!("/sudo?next={}", crate::sudo::urlencode(page)));
        let transfer = "/orgs/acme/settings/transfer";
        let res = ada
            .submit(transfer, transfer, &[("email", "grace@example.com")])
            .await;
        res.assert_redirect(&format!("/sudo?next={}", crate::sudo::urlencode(transfer)));
        assert_eq!(role_of(&app, "ada@example.com").await, "owner");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE deleted_at IS NOT NULL")
                .await,
            0
        );
        app
    })
    .await;
}

#[tokio::test]
async fn deleting_an_org_needs_its_slug_typed_and_stops_its_pages_and_keys_at_once() {
    each_engine(|app| async move {
        let (mut ada, mut grace, _olga) = two_orgs(&app).await;
        let key = grace.create_bound_key(&["teams:read"], "acme", &[]).await;
        let teams = |key: String| {
            let router = app.router.clone();
            async move {
                api(
                    &router,
                    Method::GET,
                    "/v1/orgs/acme/teams",
                    Some(&key),
                    None,
                )
                .await
            }
        };
        assert_eq!(teams(key.clone()).await.status, StatusCode::OK);
        let page = "/orgs/acme/settings/delete";
        ada.sudo(PASSWORD, page).await.assert_redirect(page);
        let shown = ada.get(page).await;
        assert!(shown.contains("1 workspace"));
        assert!(shown.contains("1 API key"));
        assert!(shown.contains("2 memberships"));
        for typed in ["", "Acme", "globex"] {
            let res = ada.submit(page, page, &[("confirm", typed)]).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
            assert!(res.contains("to confirm"));
        }
        assert_eq!(ada.get("/orgs/acme").await.status, StatusCode::OK);
        ada.submit(page, page, &[("confirm", "acme")])
            .await
            .assert_redirect("/account/orgs");
        assert_eq!(events(&app, "org.deleted").await, 1);
        for c in [&mut ada, &mut grace] {
            assert_eq!(c.get("/orgs/acme").await.status, StatusCode::NOT_FOUND);
            assert_eq!(
                c.get("/orgs/acme/workspaces/default").await.status,
                StatusCode::NOT_FOUND
            );
        }
        let refused = teams(key.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&refused)["error"]["code"], "org_disabled");
        // Nobody else may take its slug while it can be restored.
        let taken = grace.create_org("Acme", "acme").await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Its owner restores it from the account (in sudo): pages and keys
        // work again.
        let list = ada.get("/account/orgs").await;
        assert!(list.contains("Organizations you deleted"));
        assert!(
            !grace
                .get("/account/orgs")
                .await
                .contains("Organizations you deleted")
        );
        app.clock.advance(20 * 60);
        let res = ada.submit("/account/orgs", "/orgs/acme/restore", &[]).await;
        assert!(res.location().unwrap().starts_with("/sudo"));
        ada.sudo(PASSWORD, "/account/orgs")
            .await
            .assert_redirect("/account/orgs");
        ada.submit("/account/orgs", "/orgs/acme/restore", &[])
            .await
            .assert_redirect("/orgs/acme");
        assert_eq!(events(&app, "org.restored").await, 1);
        assert_eq!(grace.get("/orgs/acme").await.status, StatusCode::OK);
        assert_eq!(teams(key).await.status, StatusCode::OK);
        // A live org has nothing to restore.
        let res = ada.submit("/account/orgs", "/orgs/acme/restore", &[]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        app
    })
    .await;
}

#[tokio::test]
async fn a_deleted_org_is_purged_after_30_days_and_not_before() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        delete_acme(&mut ada).await;
        let purge = gatehouse::jobs::org_purge::purge_deleted_orgs;
        app.clock.advance(29 * DAY);
        assert_eq!(purge(app.db(), app.state.clock.unix()).await.unwrap(), 0);
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert!(
            ada.get("/account/orgs")
                .await
                .contains("Organizations you deleted")
        );
        app.clock.advance(DAY + 1);
        // The restore window has closed: nothing to restore.
        ada.login("ada@example.com", PASSWORD)
            .await
            .assert_redirect("/account");
        assert!(
            !ada.get("/account/orgs")
                .await
                .contains("Organizations you deleted")
        );
        ada.sudo(PASSWORD, "/account/orgs")
            .await
            .assert_redirect("/account/orgs");
        let res = ada.submit("/account/orgs", "/orgs/acme/restore", &[]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(purge(app.db(), app.state.clock.unix()).await.unwrap(), 1);
        assert_eq!(purge(app.db(), app.state.clock.unix()).await.unwrap(), 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orgs WHERE slug = 'acme'")
                .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workspaces").await,
            1,
            "globex's workspace stays, acme's goes with it"
        );
        assert_eq!(events(&app, "org.purged").await, 1);
        // The slug is free again.
        ada.create_org("Acme", "acme")
            .await
            .assert_redirect("/orgs/acme");
        app
    })
    .await;
}

#[tokio::test]
async fn the_account_deletion_page_links_to_deleting_and_transferring_the_org() {
    each_engine(|app| async move {
        let (mut ada, _grace, _olga) = two_orgs(&app).await;
        let page = ada.get("/account/delete").await;
        assert!(page.contains("href=\"/orgs/acme/settings/delete\""));
        assert!(page.contains("href=\"/orgs/acme/settings/transfer\""));
        ada.sudo(PASSWORD, "/orgs/acme/settings/delete")
            .await
            .assert_redirect("/orgs/acme/settings/delete");
        assert_eq!(
            ada.get("/orgs/acme/settings/delete").await.status,
            StatusCode::OK
        );
        app
    })
    .await;
}

#[tokio::test]
async fn with_org_creation_off_only_operators_create_orgs() {
    each_engine(|app| async move {
        let mut op = crate::ops::operator(&app, "opal@example.com").await;
        let flags = op.get("/ops/flags").await;
        assert!(flags.contains("org-creation"));
        op.submit(
            "/ops/flags",
            "/ops/flags/org-creation",
            &[("enabled", "false"), ("reason", "ticket 7")],
        )
        .await
        .assert_redirect("/ops/flags");
        assert!(!app.db().flag_enabled("org-creation").await.unwrap());
        let mut eve = signed_in(&app, "eve@example.com", "Eve").await;
        // A new account starts in no org.
        assert_eq!(app.count("SELECT COUNT(*) FROM memberships").await, 0);
        let page = eve.get("/account/orgs").await;
        assert!(page.contains("Creating organizations is turned off"));
        assert!(!page.contains("action=\"/account/orgs\""));
        let res = eve
            .post("/account/orgs", &[("name", "Eve Co"), ("slug", "eve-co")])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(res.contains("Creating organizations is turned off"));
        assert_eq!(app.count("SELECT COUNT(*) FROM orgs").await, 0);
        // An operator still can.
        op.create_org("Ops Co", "ops-co")
            .await
            .assert_redirect("/orgs/ops-co");
        // Back on: anyone can again.
        op.submit(
            "/ops/flags",
            "/ops/flags/org-creation",
            &[("enabled", "true"), ("reason", "ticket 8")],
        )
        .await
        .assert_redirect("/ops/flags");
        eve.create_org("Eve Co", "eve-co")
            .await
            .assert_redirect("/orgs/eve-co");
        app
    })
    .await;
}
