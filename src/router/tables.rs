//! Every route the application serves, one table per surface. `build_router`
//! is assembled from these tables and nothing else, so this file is the whole
//! list; the authorization matrix test (`tests/app/matrix*.rs`) walks it.
//!
//! Who may call a route is not decided here: each handler's extractors say it
//! (`CurrentUser`, `SudoUser`, `OrgMember`, `OrgOwner`, `Operator`,
//! `ApiPrincipal`, `MasterKey`), so a route cannot be mounted "outside" its
//! check.

use axum::response::Redirect;

use super::RouteTable;
use crate::api::{
    accounts, admin, admin_orgs, key_management, keys, me, openapi, org_audit,
    org_lifecycle as api_org_lifecycle, org_members, orgs as api_orgs, secret_scanning,
};
use crate::web::auth::mfa::{self as mfa_challenge, CHALLENGE_PAGE};
use crate::web::orgs::{
    audit, invitations as org_invitations, lifecycle, members, overview, roles, scim_tokens,
    service_accounts, settings, teams,
};
use crate::web::{account, auth, health, invitations, ops, sudo};

/// The tables in the order `build_router` mounts them.
pub fn all() -> Vec<RouteTable> {
    vec![
        public(),
        account(),
        orgs(),
        workspaces(),
        ops(),
        v1(),
        v1_workspaces(),
        scim(),
        operations(),
    ]
}

/// SCIM 2.0 under `/scim/v2`, for an org's identity provider: every handler
/// takes `ScimClient` (one org's SCIM token); no session, no CSRF.
pub fn scim() -> RouteTable {
    use crate::api::scim::{discovery, groups, users};
    RouteTable::nested("scim", "/scim/v2")
        .get("/ServiceProviderConfig", discovery::service_provider_config)
        .get("/ResourceTypes", discovery::resource_types)
        .get("/ResourceTypes/{id}", discovery::resource_type)
        .get("/Schemas", discovery::schemas)
        .get("/Schemas/{id}", discovery::schema)
        .get("/Users", users::list_users)
        .post("/Users", users::create_user)
        .get("/Users/{id}", users::get_user)
        .put("/Users/{id}", users::replace_user)
        .patch("/Users/{id}", users::patch_user)
        .delete("/Users/{id}", users::delete_user)
        .get("/Groups", groups::list_groups)
        .post("/Groups", groups::create_group)
        .get("/Groups/{id}", groups::get_group)
        .put("/Groups/{id}", groups::replace_group)
        .patch("/Groups/{id}", groups::patch_group)
        .delete("/Groups/{id}", groups::delete_group)
        .post("/.search", crate::api::scim::search_not_implemented)
}

/// Pages for people who are not signed in yet, or are changing that:
/// sign-in, sign-up, the MFA challenge, invitation links, sudo and sign-out.
pub fn public() -> RouteTable {
    RouteTable::new("public")
        .get("/", || async { Redirect::to("/account") })
        .get("/login", auth::login::show_login)
        .post("/login", auth::login::login)
        .get("/signup", auth::signup::show_signup)
        .post("/signup", auth::signup::signup)
        .get(CHALLENGE_PAGE, mfa_challenge::show_challenge)
        .post(CHALLENGE_PAGE, mfa_challenge::answer_challenge)
        .post("/login/passkey", auth::passkey::sign_in_with_passkey)
        .post("/login/mfa/passkey", auth::passkey::answer_with_passkey)
        .post("/logout", auth::logout)
        .get("/password/forgot", auth::recovery::show_forgot)
        .post("/password/forgot", auth::recovery::request_reset)
        .get("/password/reset/{token}", auth::recovery::show_reset)
        .post("/password/reset/{token}", auth::recovery::reset_password)
        .get("/password/setup/{token}", auth::recovery::show_setup)
        .post("/password/setup/{token}", auth::recovery::set_up_password)
        .get("/email/verify/{token}", auth::verification::show_verify)
        .post("/email/verify/{token}", auth::verification::confirm_verify)
        .get(
            "/email/change/{token}",
            auth::email_change::show_email_change_link,
        )
        .post(
            "/email/change/{token}",
            auth::email_change::confirm_email_change,
        )
        .get("/invitations/{token}", invitations::show_invitation)
        .post("/invitations/{token}", invitations::accept_invitation)
        .get("/sudo", sudo::show_sudo)
        .post("/sudo", sudo::confirm_sudo)
        .post("/sudo/passkey", sudo::confirm_sudo_with_passkey)
        .post("/sudo/leave", sudo::leave_sudo)
        // Shown after deletion, when there is no account left to be signed
        // in to.
        .get("/account/deleted", account::delete::show_deleted)
}

/// The signed-in person's own account under `/account`.
pub fn account() -> RouteTable {
    use account::{delete, email, export, keys, mfa, notifications, orgs, overview, passkeys};
    use account::{profile, security, sessions};
    RouteTable::new("account")
        .get("/account", overview::show_overview)
        .post(
            "/account/email/verify",
            auth::verification::resend_verification,
        )
        .get("/account/profile", profile::show_profile)
        .post("/account/profile", profile::update_profile)
        .get("/account/profile/email", email::show_email_change)
        .post("/account/profile/email", email::request_email_change)
        .get("/account/notifications", notifications::show_notifications)
        .post(
            "/account/notifications",
            notifications::update_notifications,
        )
        .get("/account/security", security::show_security)
        .get("/account/security/password", security::show_password_change)
        .post("/account/security/password", security::change_password)
        .get("/account/sessions", sessions::list_sessions)
        .post(
            "/account/sessions/revoke-others",
            sessions::revoke_other_sessions,
        )
        .post(
            "/account/sessions/{handle}/revoke",
            sessions::revoke_session,
        )
        .get("/account/delete", delete::show_delete)
        .post("/account/delete", delete::delete_account)
        .get("/account/export", export::show_export)
        .post("/account/export", export::download_export)
        .get("/account/orgs", orgs::list_orgs)
        .post("/account/orgs", orgs::create_org)
        .get("/account/keys", keys::list_keys)
        .post("/account/keys", keys::create_key)
        .get("/account/keys/new", keys::new_key_form)
        .get("/account/keys/{id}", keys::show_key)
        .get("/account/keys/{id}/reveal", keys::reveal_key)
        .get("/account/keys/{id}/rotate", keys::rotate_key_form)
        .post("/account/keys/{id}/rotate", keys::rotate_key)
        .post("/account/keys/{id}/workspaces", keys::grant_key_workspace)
        .post(
            "/account/keys/{id}/workspaces/{ws}/remove",
            keys::ungrant_key_workspace,
        )
        .post("/account/keys/{id}/revoke", keys::revoke_key)
        .post("/account/keys/{id}/remove", keys::remove_key)
        .get("/account/security/mfa/setup", mfa::show_setup)
        .post("/account/security/mfa/setup", mfa::confirm_setup)
        .get("/account/security/mfa/backup-codes", mfa::show_backup_codes)
        .post(
            "/account/security/mfa/backup-codes",
            mfa::regenerate_backup_codes,
        )
        .get(
            "/account/security/mfa/backup-codes.txt",
            mfa::download_backup_codes,
        )
        .get("/account/security/mfa/disable", mfa::show_disable)
        .post("/account/security/mfa/disable", mfa::disable_mfa)
        .get("/account/security/passkeys/new", passkeys::show_new)
        .post("/account/security/passkeys", passkeys::register)
        .post("/account/security/passkeys/{id}/rename", passkeys::rename)
        .post("/account/security/passkeys/{id}/remove", passkeys::remove)
}

/// The org console under `/orgs/{slug}`: every handler takes `OrgMember` or
/// `OrgOwner`, which resolve the org once from the slug and the caller's
/// membership.
pub fn orgs() -> RouteTable {
    use service_accounts as sa;
    RouteTable::new("orgs")
        .get("/orgs/{slug}", overview::show_overview)
        .post("/orgs/{slug}/leave", account::orgs::leave_org)
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
        .post("/orgs/{slug}/teams/{id}/members", teams::add_team_member)
        .post(
            "/orgs/{slug}/teams/{id}/members/{user}/remove",
            teams::remove_team_member,
        )
        .post(
            "/orgs/{slug}/teams/{id}/service-accounts",
            teams::add_team_service_account,
        )
        .post(
            "/orgs/{slug}/teams/{id}/service-accounts/{sa}/remove",
            teams::remove_team_service_account,
        )
        .get("/orgs/{slug}/roles", roles::list_roles)
        .post("/orgs/{slug}/roles", roles::create_role)
        .get("/orgs/{slug}/roles/{id}", roles::show_role)
        .post("/orgs/{slug}/roles/{id}", roles::update_role)
        .post("/orgs/{slug}/roles/{id}/delete", roles::delete_role)
        .get(
            "/orgs/{slug}/invitations",
            org_invitations::list_invitations,
        )
        .post(
            "/orgs/{slug}/invitations",
            org_invitations::create_invitation,
        )
        .post(
            "/orgs/{slug}/invitations/{id}/revoke",
            org_invitations::revoke_invitation,
        )
        .get("/orgs/{slug}/settings", settings::show_settings)
        .get("/orgs/{slug}/settings/scim", scim_tokens::list_scim_tokens)
        .post("/orgs/{slug}/settings/scim", scim_tokens::create_scim_token)
        .post(
            "/orgs/{slug}/settings/scim/{token}/revoke",
            scim_tokens::revoke_scim_token,
        )
        .post("/orgs/{slug}/settings", settings::update_settings)
        .post("/orgs/{slug}/settings/rename", lifecycle::rename_org)
        .get("/orgs/{slug}/settings/transfer", lifecycle::show_transfer)
        .post(
            "/orgs/{slug}/settings/transfer",
            lifecycle::transfer_ownership,
        )
        .get("/orgs/{slug}/settings/delete", lifecycle::show_delete)
        .post("/orgs/{slug}/settings/delete", lifecycle::delete_org)
        // Takes `DeletedOrgOwner`: 404 for a live org and for anyone but
        // an owner of the deleted one.
        .post("/orgs/{slug}/restore", lifecycle::restore_org)
        .get("/orgs/{slug}/service-accounts", sa::list_service_accounts)
        .post("/orgs/{slug}/service-accounts", sa::create_service_account)
        .get(
            "/orgs/{slug}/service-accounts/{id}",
            sa::show_service_account,
        )
        .post(
            "/orgs/{slug}/service-accounts/{id}/delete",
            sa::delete_service_account,
        )
        .post(
            "/orgs/{slug}/service-accounts/{id}/role",
            sa::change_service_account_role,
        )
        .get(
            "/orgs/{slug}/service-accounts/{id}/keys/new",
            sa::new_key_form,
        )
        .post("/orgs/{slug}/service-accounts/{id}/keys", sa::create_key)
        .get(
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/reveal",
            sa::reveal_key,
        )
        .get(
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
            sa::rotate_key_form,
        )
        .post(
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/rotate",
            sa::rotate_key,
        )
        .post(
            "/orgs/{slug}/service-accounts/{id}/keys/{key}/revoke",
            sa::revoke_key,
        )
        .get("/orgs/{slug}/audit", audit::show_audit)
        .get("/orgs/{slug}/audit.csv", audit::export_csv)
        .get("/orgs/{slug}/audit.json", audit::export_json)
}

/// The operator console: every handler takes the `Operator` proof, so anyone
/// else gets 404 here as on an unknown path.
pub fn ops() -> RouteTable {
    use ops::{accounts, audit, flags, master_keys, orgs, outbox, support, users};
    RouteTable::new("ops")
        .get("/ops", ops::show_overview)
        .get("/ops/users", users::list_users)
        .get("/ops/users/{id}", users::show_user)
        .post("/ops/users/{id}/view", users::view_user)
        .post("/ops/users/{id}/disable", users::disable_user)
        .post("/ops/users/{id}/enable", users::enable_user)
        // Support tools (see `web::ops::support`).
        .post("/ops/users/{id}/reset-mfa", support::reset_mfa)
        .post("/ops/users/{id}/clear-lockouts", support::clear_lockouts)
        .post(
            "/ops/users/{id}/keys/{key}/revoke",
            support::revoke_user_key,
        )
        .post("/ops/users/{id}/sign-out", support::sign_out_everywhere)
        .post(
            "/ops/users/{id}/require-password-change",
            support::require_password_change,
        )
        .post("/ops/users/{id}/send-setup-link", support::send_setup_link)
        .post("/ops/users/{id}/delete", support::delete_user)
        .get("/ops/orgs", orgs::list_orgs)
        .get("/ops/orgs/{id}", orgs::show_org)
        .post("/ops/orgs/{id}/view", orgs::view_org)
        .post("/ops/orgs/{id}/disable", orgs::disable_org)
        .post("/ops/orgs/{id}/enable", orgs::enable_org)
        .post("/ops/orgs/{id}/restore", orgs::restore_org)
        .get("/ops/accounts/new", accounts::new_account_form)
        .post("/ops/accounts", accounts::create_account)
        .get("/ops/accounts/{id}/created", accounts::show_created)
        .get("/ops/flags", flags::list_flags)
        .post("/ops/flags/{name}", flags::set_flag)
        .get("/ops/master-keys", master_keys::list_master_keys)
        .post(
            "/ops/master-keys/{public_id}/revoke",
            master_keys::revoke_master_key,
        )
        .get("/ops/outbox", outbox::list_outbox)
        .get("/ops/audit", audit::show_audit)
}

/// The JSON API under `/v1`, authenticated by bearer keys: personal and
/// service-account keys, the master key on `/v1/admin`, none on
/// `/v1/account/register`, `/v1/secret-scanning/reports` and the OpenAPI
/// document.
pub fn v1() -> RouteTable {
    RouteTable::nested("v1", "/v1")
        .get("/me", me::get_me)
        .patch("/me", me::update_me)
        .get("/keys/current", keys::current_key)
        .get("/keys", key_management::list_keys)
        .post("/keys", key_management::create_key)
        .get("/keys/{id}", key_management::get_key)
        .post("/keys/{id}/rotate", key_management::rotate_key)
        .post("/keys/{id}/revoke", key_management::revoke_key)
        .patch("/orgs/{slug}", api_org_lifecycle::rename_org)
        .delete("/orgs/{slug}", api_org_lifecycle::delete_org)
        .post("/orgs/{slug}/transfer", api_org_lifecycle::transfer_org)
        .get("/orgs/{slug}/keys", key_management::list_org_keys)
        .get("/orgs/{slug}/members", api_orgs::list_members)
        .patch("/orgs/{slug}/members/{user_id}", org_members::patch_member)
        .delete("/orgs/{slug}/members/{user_id}", org_members::delete_member)
        .get("/orgs/{slug}/audit", org_audit::list_events)
        .get("/orgs/{slug}/teams", api_orgs::list_teams)
        .put(
            "/orgs/{slug}/teams/{team_id}/members/{user_id}",
            api_orgs::put_team_member,
        )
        .delete(
            "/orgs/{slug}/teams/{team_id}/members/{user_id}",
            api_orgs::delete_team_member,
        )
        .post("/account/register", accounts::register_self)
        // A secret scanner reports keys it found; see the module.
        .post("/secret-scanning/reports", secret_scanning::report_tokens)
        .post("/admin/account/register", accounts::register_by_master_key)
        .get("/admin/accounts", accounts::list_accounts)
        .get("/admin/orgs", accounts::list_orgs)
        .post("/admin/orgs", admin_orgs::create_org)
        .get("/admin/orgs/{id}", admin_orgs::get_org)
        .delete("/admin/orgs/{id}", admin_orgs::delete_org)
        .post("/admin/orgs/{id}/disable", admin_orgs::disable_org)
        .post("/admin/orgs/{id}/enable", admin_orgs::enable_org)
        .post("/admin/orgs/{id}/restore", admin_orgs::restore_org)
        .get("/admin/accounts/{id}", admin::get_account)
        .delete("/admin/accounts/{id}", admin::delete_account)
        .post("/admin/accounts/{id}/disable", admin::disable_account)
        .post("/admin/accounts/{id}/enable", admin::enable_account)
        .get("/admin/keys", admin::list_keys)
        .post("/admin/keys/{id}/revoke", admin::revoke_key)
        .get("/admin/audit", admin::list_audit)
        .get("/admin/runs", admin::list_runs)
        .get("/openapi.json", openapi::document)
}

/// Workspace pages under `/orgs/{slug}/workspaces/{ws}`: every handler
/// takes `WorkspaceMember` or `WorkspaceCan<P>` (or `OrgOwner` for what only
/// owners do to a workspace), which resolve org and workspace once.
pub fn workspaces() -> RouteTable {
    use crate::authz::resource::{Agents, McpServers, Schedules, Tools};
    use crate::web::orgs::{workspace_access as access, workspaces as ws};
    use crate::web::workspaces::resources as r;
    use crate::web::workspaces::{config, runs};
    RouteTable::new("workspaces")
        .get("/orgs/{slug}/workspaces", ws::list_workspaces)
        .post("/orgs/{slug}/workspaces", ws::create_workspace)
        .get("/orgs/{slug}/workspaces/{ws}", ws::show_workspace)
        .get("/orgs/{slug}/workspaces/{ws}/settings", ws::show_settings)
        .post("/orgs/{slug}/workspaces/{ws}/settings", ws::update_settings)
        .post(
            "/orgs/{slug}/workspaces/{ws}/archive",
            ws::archive_workspace,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/restore",
            ws::restore_workspace,
        )
        .get("/orgs/{slug}/workspaces/{ws}/access", access::show_access)
        .post("/orgs/{slug}/workspaces/{ws}/access", access::grant_access)
        .post(
            "/orgs/{slug}/workspaces/{ws}/access/{team}/remove",
            access::revoke_access,
        )
        // One set per resource kind (paths are static text).
        .get("/orgs/{slug}/workspaces/{ws}/agents", r::list::<Agents>)
        .post("/orgs/{slug}/workspaces/{ws}/agents", r::create::<Agents>)
        .get(
            "/orgs/{slug}/workspaces/{ws}/agents/new",
            r::new_form::<Agents>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}",
            r::show::<Agents>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}",
            r::update::<Agents>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/delete",
            r::delete::<Agents>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/restore",
            r::restore::<Agents>,
        )
        .get("/orgs/{slug}/workspaces/{ws}/tools", r::list::<Tools>)
        .post("/orgs/{slug}/workspaces/{ws}/tools", r::create::<Tools>)
        .get(
            "/orgs/{slug}/workspaces/{ws}/tools/new",
            r::new_form::<Tools>,
        )
        .get("/orgs/{slug}/workspaces/{ws}/tools/{id}", r::show::<Tools>)
        .post(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}",
            r::update::<Tools>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}/delete",
            r::delete::<Tools>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}/restore",
            r::restore::<Tools>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers",
            r::list::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers",
            r::create::<McpServers>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/new",
            r::new_form::<McpServers>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}",
            r::show::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}",
            r::update::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}/delete",
            r::delete::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}/restore",
            r::restore::<McpServers>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/schedules",
            r::list::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules",
            r::create::<Schedules>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/schedules/new",
            r::new_form::<Schedules>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}",
            r::show::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}",
            r::update::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}/delete",
            r::delete::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}/restore",
            r::restore::<Schedules>,
        )
        .get("/orgs/{slug}/workspaces/{ws}/runs", runs::list_runs)
        .get("/orgs/{slug}/workspaces/{ws}/runs/{run_id}", runs::show_run)
        // Configuration bundles: download, import (plan, apply), history.
        .get("/orgs/{slug}/workspaces/{ws}/config", config::show_config)
        .get(
            "/orgs/{slug}/workspaces/{ws}/config/export",
            config::download_config,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/config/plan",
            config::plan_import,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/config/apply",
            config::apply_import,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/config/snapshots/{snapshot}",
            config::show_snapshot,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs",
            runs::list_agent_runs,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs",
            runs::request_run,
        )
}

/// The workspace routes of `/v1` (nested with `v1()`): every handler takes
/// `ApiWorkspaceKey` or `ApiWorkspaceCan<P>`, except the list of an org's
/// workspaces (no `{ws}`: `ApiOrgKey`, filtered by the key's grants).
pub fn v1_workspaces() -> RouteTable {
    use crate::api::resources as r;
    use crate::api::{bundles, key_workspaces, runs, workspace_access, workspaces};
    use crate::authz::resource::{Agents, McpServers, Schedules, Tools};
    RouteTable::nested("v1-workspaces", "/v1")
        .get("/orgs/{slug}/workspaces", workspaces::list_workspaces)
        .get(
            "/orgs/{slug}/keys/{key_id}/workspaces",
            key_workspaces::list_key_workspaces,
        )
        .put(
            "/orgs/{slug}/keys/{key_id}/workspaces/{ws}",
            key_workspaces::put_key_workspace,
        )
        .delete(
            "/orgs/{slug}/keys/{key_id}/workspaces/{ws}",
            key_workspaces::delete_key_workspace,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/access",
            workspace_access::show_access,
        )
        // One set per resource kind (paths are static text).
        .get("/orgs/{slug}/workspaces/{ws}/agents", r::list::<Agents>)
        .post("/orgs/{slug}/workspaces/{ws}/agents", r::create::<Agents>)
        .get(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}",
            r::show::<Agents>,
        )
        .patch(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}",
            r::update::<Agents>,
        )
        .delete(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}",
            r::delete::<Agents>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/restore",
            r::restore::<Agents>,
        )
        .get("/orgs/{slug}/workspaces/{ws}/tools", r::list::<Tools>)
        .post("/orgs/{slug}/workspaces/{ws}/tools", r::create::<Tools>)
        .get("/orgs/{slug}/workspaces/{ws}/tools/{id}", r::show::<Tools>)
        .patch(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}",
            r::update::<Tools>,
        )
        .delete(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}",
            r::delete::<Tools>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/tools/{id}/restore",
            r::restore::<Tools>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers",
            r::list::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers",
            r::create::<McpServers>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}",
            r::show::<McpServers>,
        )
        .patch(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}",
            r::update::<McpServers>,
        )
        .delete(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}",
            r::delete::<McpServers>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/mcp-servers/{id}/restore",
            r::restore::<McpServers>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/schedules",
            r::list::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules",
            r::create::<Schedules>,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}",
            r::show::<Schedules>,
        )
        .patch(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}",
            r::update::<Schedules>,
        )
        .delete(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}",
            r::delete::<Schedules>,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/schedules/{id}/restore",
            r::restore::<Schedules>,
        )
        // Configuration bundles and their snapshots.
        .get(
            "/orgs/{slug}/workspaces/{ws}/config",
            bundles::export_config,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/config/plan",
            bundles::plan_config,
        )
        .post(
            "/orgs/{slug}/workspaces/{ws}/config/apply",
            bundles::apply_config,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/snapshots",
            bundles::list_snapshots,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/snapshots/{snapshot}",
            bundles::get_snapshot,
        )
        // Runs: Gatehouse records them, an executor performs them.
        .post(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs",
            runs::request_run,
        )
        .get(
            "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs",
            runs::list_agent_runs,
        )
        .get("/orgs/{slug}/workspaces/{ws}/runs", runs::list_runs)
        .get("/orgs/{slug}/workspaces/{ws}/runs/{run_id}", runs::get_run)
        .patch(
            "/orgs/{slug}/workspaces/{ws}/runs/{run_id}",
            runs::report_status,
        )
}

/// Probes and static assets: no session, no CSRF (a health probe must not
/// write a session row).
pub fn operations() -> RouteTable {
    RouteTable::new("operations")
        .get("/healthz", health::healthz)
        .get("/readyz", health::readyz)
        .get("/static/app.css", health::stylesheet)
        .get("/static/passkeys.js", health::passkeys_script)
        .get("/favicon.ico", health::favicon)
        .get("/static/favicon.svg", health::favicon)
}
