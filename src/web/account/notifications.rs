//! `/account/notifications`: which events reach the user, by email and in the
//! app.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::db::prefs::{Category, Pref};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::{ClientInfo, PageContext, Section, ok};

pub struct PrefRow {
    pub key: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub email: bool,
    pub in_app: bool,
    pub email_locked: bool,
}

#[derive(Template)]
#[template(path = "account/notifications.html")]
pub struct NotificationsPage {
    pub ctx: PageContext,
    pub rows: Vec<PrefRow>,
}

pub async fn show_notifications(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let rows = state
        .db
        .notification_prefs(&user)
        .await?
        .into_iter()
        .map(|(c, p)| PrefRow {
            key: c.key(),
            label: c.label(),
            description: c.description(),
            email: p.email,
            in_app: p.in_app,
            email_locked: c.email_locked(),
        })
        .collect();
    let page = NotificationsPage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Notifications).await?,
        rows,
    };
    ok(&page)
}

/// Checkboxes arrive as `<category>_email=on` / `<category>_in_app=on`; an
/// unchecked box is simply absent. Unknown fields are ignored.
pub async fn update_notifications(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let checked = |key: &str, channel: &str| form.contains_key(&format!("{key}_{channel}"));
    let prefs: Vec<(Category, Pref)> = Category::ALL
        .iter()
        .map(|&c| {
            (
                c,
                Pref {
                    email: c.email_locked() || checked(c.key(), "email"),
                    in_app: checked(c.key(), "in_app"),
                },
            )
        })
        .collect();
    let detail: serde_json::Map<String, serde_json::Value> = prefs
        .iter()
        .map(|(c, p)| {
            (
                c.key().to_owned(),
                json!({"email": p.email, "in_app": p.in_app}),
            )
        })
        .collect();
    let saved = Event::by(user.actor())
        .did("notifications.updated")
        .on("user", user.id())
        .detail(serde_json::Value::Object(detail))
        .from(&client.origin());
    state
        .db
        .save_notification_prefs(&user, &prefs, saved, state.clock.unix())
        .await?;
    session
        .flash(FlashKind::Success, "Notification preferences saved.")
        .await?;
    Ok(Redirect::to("/account/notifications").into_response())
}
