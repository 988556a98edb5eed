//! The org console under `/orgs/{slug}`. Every handler takes `OrgMember` or
//! `OrgOwner` (see `authz::org`): the org is resolved once, from the slug and
//! the caller's membership, and the data functions take the scope it proves.

pub mod audit;
pub mod invitations;
pub mod members;
pub mod overview;
pub mod service_accounts;
pub mod settings;
pub mod teams;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::AppError;

/// Parses a uuid from the URL; anything else is simply not found.
pub fn id_from(path: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(path).map_err(|_| AppError::NotFound)
}

/// The org console's routes, registered from one table so that the
/// authorization matrix test can enumerate exactly what the router serves:
/// a route added here without a matrix entry fails that test.
pub struct OrgRoutes {
    pub router: Router<AppState>,
    /// `(method, path)` of every route.
    pub table: Vec<(&'static str, &'static str)>,
}

impl OrgRoutes {
    fn get<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, get(handler));
        self.table.push(("GET", path));
        self
    }

    fn post<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, post(handler));
        self.table.push(("POST", path));
        self
    }
}

pub fn routes() -> OrgRoutes {
    OrgRoutes {
        router: Router::new(),
        table: Vec::new(),
    }
    .get("/orgs/{slug}", overview::show_overview)
    .post("/orgs/{slug}/leave", crate::web::account::orgs::leave_org)
    .get("/orgs/{slug}/members", members::list_members)
    .get("/orgs/{slug}/members/{id}", members::show_member)
    .post("/orgs/{slug}/members/{id}/role", members::change_role)
    .post("/orgs/{slug}/members/{id}/remove", members::remove_member)
    .post(
        "/orgs/{slug}/members/{id}/keys/{key}/revoke",
        members::revoke_member_key,
    )
    .get("/orgs/{slug}/teams", teams::list_teams)
    .post("/orgs/{slug}/teams", teams::create_team)
    .get("/orgs/{slug}/teams/{id}", teams::show_team)
    .post("/orgs/{slug}/teams/{id}/rename", teams::rename_team)
    .post("/orgs/{slug}/teams/{id}/delete", teams::delete_team)
    .post("/orgs/{slug}/teams/{id}/restore", teams::restore_team)
    .post("/orgs/{slug}/teams/{id}/members", teams::set_team_member)
    .post(
        "/orgs/{slug}/teams/{id}/members/{user}/remove",
        teams::remove_team_member,
    )
    .get("/orgs/{slug}/invitations", invitations::list_invitations)
    .post("/orgs/{slug}/invitations", invitations::create_invitation)
    .post(
        "/orgs/{slug}/invitations/{id}/revoke",
        invitations::revoke_invitation,
    )
    .get("/orgs/{slug}/settings", settings::show_settings)
    .post("/orgs/{slug}/settings", settings::update_settings)
    .get(
        "/orgs/{slug}/service-accounts",
        service_accounts::list_service_accounts,
    )
    .post(
        "/orgs/{slug}/service-accounts",
        service_accounts::create_service_account,
    )
    .get(
        "/orgs/{slug}/service-accounts/{id}",
        service_accounts::show_service_account,
    )
    .post(
        "/orgs/{slug}/service-accounts/{id}/delete",
        service_accounts::delete_service_account,
    )
    .get(
        "/orgs/{slug}/service-accounts/{id}/keys/new",
        service_accounts::new_key_form,
    )
    .post(
        "/orgs/{slug}/service-accounts/{id}/keys",
        service_accounts::create_key,
    )
    .get(
        "/orgs/{slug}/service-accounts/{id}/keys/{key}/reveal",
        service_accounts::reveal_key,
    )
    .get(
        "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
        service_accounts::rotate_key_form,
    )
    .post(
        "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
        service_accounts::rotate_key,
    )
    .post(
        "/orgs/{slug}/service-accounts/{id}/keys/{key}/revoke",
        service_accounts::revoke_key,
    )
    .get("/orgs/{slug}/audit", audit::show_audit)
    .get("/orgs/{slug}/audit.csv", audit::export_csv)
    .get("/orgs/{slug}/audit.json", audit::export_json)
}
