//! `/account/profile`: display name, contact phone, job title and time zone.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::AppSession;
use crate::auth::session::FlashKind;
use crate::authz::CurrentUser;
use crate::db::audit::Event;
use crate::db::users::ProfileUpdate;
use crate::domain::{DisplayName, JobTitle, Phone, TimeZone};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::{ClientInfo, FieldErrors, PageContext, Section, ok, render};

#[derive(Debug, Deserialize, Default, Clone)]
pub struct ProfileForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub time_zone: String,
}

#[derive(Template)]
#[template(path = "account/profile.html")]
pub struct ProfilePage {
    pub ctx: PageContext,
    pub email: String,
    pub form: ProfileForm,
    pub errors: FieldErrors,
    pub zones: &'static [&'static str],
}

pub async fn show_profile(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let record = state
        .db
        .find_user(user.id())
        .await?
        .ok_or(AppError::NotFound)?;
    let page = ProfilePage {
        ctx: PageContext::new(&state, &session, Some(&user), Section::Profile).await?,
        email: record.email,
        form: ProfileForm {
            display_name: record.display_name,
            phone: record.phone.unwrap_or_default(),
            job_title: record.job_title.unwrap_or_default(),
            time_zone: record.time_zone,
        },
        errors: FieldErrors::new(),
        zones: TimeZone::ALL,
    };
    ok(&page)
}

pub async fn update_profile(
    State(state): State<AppState>,
    session: AppSession,
    user: CurrentUser,
    client: ClientInfo,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("display_name", DisplayName::parse(&form.display_name));
    let phone = errors.check("phone", Phone::parse_optional(&form.phone));
    let title = errors.check("job_title", JobTitle::parse_optional(&form.job_title));
    let zone = errors.check("time_zone", TimeZone::parse(&form.time_zone));
    let (Some(name), Some(phone), Some(title), Some(zone)) = (name, phone, title, zone) else {
        let page = ProfilePage {
            ctx: PageContext::new(&state, &session, Some(&user), Section::Profile).await?,
            email: user.email().to_owned(),
            form,
            errors,
            zones: TimeZone::ALL,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let now = state.clock.unix();
    let phone = phone.map(Phone::into_inner);
    let title = title.map(JobTitle::into_inner);
    state
        .db
        .update_profile(
            &user,
            ProfileUpdate {
                display_name: name.as_str(),
                phone: phone.as_deref(),
                job_title: title.as_deref(),
                time_zone: zone.as_str(),
            },
            Event::by(user.actor())
                .did("profile.updated")
                .on("user", user.id())
                .from(&client.origin()),
            now,
        )
        .await?;
    session.flash(FlashKind::Success, "Profile saved.").await?;
    Ok(Redirect::to("/account/profile").into_response())
}
