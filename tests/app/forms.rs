//! What form inputs hold when a page is first served: the value a person
//! sees before typing. `fill()` in a browser replaces it, so only reading the
//! served HTML catches an input pre-filled with the wrong text (the shared
//! field macro once rendered its own parameter name, `name`, instead of the
//! page's value).

use axum::http::StatusCode;

use crate::helpers::*;
use crate::orgs::two_orgs;

/// The `value` attribute of the `<input>` whose `id` is `id`, unescaped
/// enough for these tests.
fn input_value(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("<input id=\"{id}\""))?;
    let tag = &html[start..start + html[start..].find('>')?];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(
        tag[v..v + end]
            .replace("&#39;", "'")
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// Every `(name, value)` of the served inputs rendered by the field macro.
fn inputs(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input id=\"")
        .filter_map(|(i, _)| {
            let rest = &html[i + "<input id=\"".len()..];
            let id = &rest[..rest.find('"')?];
            Some((id.to_owned(), input_value(html, id)?))
        })
        .collect()
}

#[tokio::test]
async fn the_create_forms_for_teams_and_service_accounts_start_empty() {
    each_engine(|app| async move {
        let (mut ada, ..) = two_orgs(&app).await;
        let teams = ada.get("/orgs/acme/teams").await;
        assert_eq!(teams.status, StatusCode::OK);
        assert_eq!(input_value(&teams.body, "name").as_deref(), Some(""));
        let sas = ada.get("/orgs/acme/service-accounts").await;
        assert_eq!(sas.status, StatusCode::OK);
        assert_eq!(input_value(&sas.body, "name").as_deref(), Some(""));

        // Submitting the form as served creates nothing.
        let res = ada.post("/orgs/acme/teams", &[("name", "")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(input_value(&res.body, "name").as_deref(), Some(""));
        assert_eq!(app.count("SELECT COUNT(*) FROM teams").await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn the_rename_form_starts_with_the_current_team_name() {
    each_engine(|app| async move {
        let (mut ada, ..) = two_orgs(&app).await;
        let id = ada.create_team("acme", "Research & Development").await;
        let page = ada.get(&format!("/orgs/acme/teams/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            input_value(&page.body, "name").as_deref(),
            Some("Research & Development")
        );
        // An empty rename is refused, renames nothing, and the form is shown
        // again with the current name.
        let res = ada
            .post(&format!("/orgs/acme/teams/{id}/rename"), &[("name", "")])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            input_value(&res.body, "name").as_deref(),
            Some("Research & Development")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM teams WHERE name = 'Research & Development'")
                .await,
            1
        );
        app
    })
    .await;
}

#[tokio::test]
async fn no_field_is_pre_filled_with_its_own_name() {
    each_engine(|app| async move {
        let (mut ada, ..) = two_orgs(&app).await;
        let team = ada.create_team("acme", "Research").await;
        ada.sudo(PASSWORD, "/account/keys/new").await;
        let mut anon = app.client();
        let signup = anon.get("/signup").await;
        let mut seen = 0;
        for (path, html) in [
            ("/signup".to_owned(), signup.body),
            (
                "/account/profile".into(),
                ada.get("/account/profile").await.body,
            ),
            ("/account/orgs".into(), ada.get("/account/orgs").await.body),
            (
                "/account/keys/new".into(),
                ada.get("/account/keys/new").await.body,
            ),
            (
                "/orgs/acme/teams".into(),
                ada.get("/orgs/acme/teams").await.body,
            ),
            (
                format!("/orgs/acme/teams/{team}"),
                ada.get(&format!("/orgs/acme/teams/{team}")).await.body,
            ),
            (
                "/orgs/acme/service-accounts".into(),
                ada.get("/orgs/acme/service-accounts").await.body,
            ),
            (
                "/orgs/acme/invitations".into(),
                ada.get("/orgs/acme/invitations").await.body,
            ),
            (
                "/orgs/acme/settings".into(),
                ada.get("/orgs/acme/settings").await.body,
            ),
        ] {
            for (id, value) in inputs(&html) {
                seen += 1;
                assert_ne!(
                    id, value,
                    "{path}: the {id} input is pre-filled with its name"
                );
                for param in [
                    "name",
                    "label",
                    "kind",
                    "value",
                    "error",
                    "autocomplete",
                    "hint",
                ] {
                    assert_ne!(value, param, "{path}: the {id} input holds {param:?}");
                }
            }
        }
        assert!(seen >= 15, "the pages were read: {seen} inputs");
        app
    })
    .await;
}
