//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{RefOr, Required};
use utoipa::{Modify, OpenApi};

use super::accounts::{Account, AccountPage, RegisterRequest};
use super::error::{ErrorBody, ErrorDetail, FieldError};
use super::keys::KeyInfo;
use super::me::{Profile, ProfilePatch};
use super::orgs::{
    LegacyTeamRole, Member, MemberPage, Team, TeamList, TeamMembership, TeamMembershipBody,
};
use super::resources::PerKindPaths;

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gtk_<public id>_<secret><checksum>")
                    .description(Some(
                        "A Gatehouse API key. Scopes: profile:read, profile:write, keys:read, keys:write, \
                         members:read, members:write, teams:read, teams:write, audit:read, org:admin, and \
                         the workspace permissions agents:read, agents:write, agents:run, \
                         tools:read, tools:write, mcp:read, mcp:write, schedules:read, \
                         schedules:write, runs:read, runs:write.",
                    ))
                    .build(),
            ),
        );
        // The platform's existing clients send the key as `X-API-Key`: the
        // same key, the same checks, another header. Every operation that
        // takes a key takes it either way.
        components.add_security_scheme(
            "api_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The same Gatehouse API key as `api_key`, sent as `X-API-Key: <key>` instead \
                 of `Authorization: Bearer <key>` (when both are sent, Authorization is used).",
            ))),
        );
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let Some(security) = op.security.as_mut() else {
                    continue;
                };
                // The requirement's scopes, if it names `api_key`.
                let scopes: Option<Vec<String>> = security.iter().find_map(|r| {
                    let value = serde_json::to_value(r).ok()?;
                    serde_json::from_value(value.get("api_key")?.clone()).ok()
                });
                if let Some(scopes) = scopes {
                    security.push(SecurityRequirement::new("api_key_header", scopes));
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "master_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gtk_<public id>_<secret><checksum>")
                    .description(Some(
                        "A master key (platform level, created with `gatehouse operator \
                         master-key create`). Accepted only on /v1/admin; every request made \
                         with it says why in `X-Gatehouse-Reason` and is audited.",
                    ))
                    .build(),
            ),
        );
        // Every master-key operation takes the reason header (the
        // `MasterKey` extractor refuses a request without one).
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let by_master_key = op.security.as_ref().is_some_and(|reqs| {
                    reqs.iter().any(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .is_some_and(|v| v.get("master_key").is_some())
                    })
                });
                if by_master_key {
                    op.responses
                        .responses
                        .entry("429".to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                utoipa::openapi::ResponseBuilder::new()
                                    .description(
                                        "`rate_limited`: the master key's requests per minute are \
                                     spent; see `Retry-After`",
                                    )
                                    .build(),
                            )
                        });
                    op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(
                        ParameterBuilder::new()
                            .name("X-Gatehouse-Reason")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::True)
                            .description(Some(
                                "Why this request is made: 1 to 500 characters, recorded with \
                                 it in the audit log (percent-encode what is not ASCII). \
                                 Missing: 400 `reason_required`.",
                            ))
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .min_length(Some(1))
                                    .max_length(Some(500))
                                    .pattern(Some(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")),
                            ))
                            .build(),
                    ));
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse API",
        description = "API keys (sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`) act for their owner, limited to their scopes. Errors are \
                       JSON with a stable `error.code`: bad_request (400: the body is not JSON); \
                       missing_token, malformed_token, invalid_checksum, invalid_token, \
                       token_expired, token_revoked, token_rotated, account_disabled (401); \
                       insufficient_scope, insufficient_permission (`permission` names it), service_account_key, key_not_bound, owner_required, \
                       mfa_required, master_key_required, registration_disabled, org_disabled (403: the key's org was deleted); reason_required (400: a master-key request without `X-Gatehouse-Reason`); \
                       not_found (404); method_not_allowed (405); last_owner, name_taken, resource_in_use, version_conflict, plan_changed, workspace_archived, illegal_transition (409: for a run, `from` and `to` name its status and the one asked for); version_conflict (412: a stale `If-Match`); payload_too_large (413: over 64 KiB, 16 MiB for a configuration bundle); \
                       unsupported_media_type (415); validation_failed (422: `fields` names \
                       each field at fault by its path, e.g. `display_name` or `metadata.name`, \
                       with a message such as `must be a string` or `is required`); invalid_bundle (422: a configuration bundle that cannot be imported, with `fields` as for validation_failed); \
                       rate_limited (429: a key's or master key's requests per minute are \
                       spent, see `Retry-After`; every authenticated answer carries the \
                       `RateLimit` and `RateLimit-Policy` headers); internal_error (500)."
    ),
    paths(
        super::me::get_me,
        super::me::update_me,
        super::keys::current_key,
        super::key_management::list_keys,
        super::key_management::get_key,
        super::key_management::create_key,
        super::key_management::rotate_key,
        super::key_management::revoke_key,
        super::key_management::list_org_keys,
        super::orgs::list_members,
        super::orgs::list_teams,
        super::orgs::put_team_member,
        super::orgs::delete_team_member,
        super::org_members::patch_member,
        super::org_members::delete_member,
        super::org_audit::list_events,
        super::accounts::register_self,
        super::accounts::register_by_master_key,
        super::accounts::list_accounts,
        super::accounts::list_orgs,
        super::admin_orgs::create_org,
        super::admin_orgs::get_org,
        super::admin_orgs::disable_org,
        super::admin_orgs::enable_org,
        super::admin_orgs::delete_org,
        super::admin_orgs::restore_org,
        super::org_lifecycle::rename_org,
        super::org_lifecycle::transfer_org,
        super::org_lifecycle::delete_org,
        super::admin::get_account,
        super::admin::disable_account,
        super::admin::enable_account,
        super::admin::delete_account,
        super::admin::list_keys,
        super::admin::revoke_key,
        super::admin::list_audit,
        super::admin::list_runs,
        super::secret_scanning::report_tokens,
        super::workspace_access::show_access,
        super::resources::doc::list,
        super::resources::doc::create,
        super::resources::doc::show,
        super::resources::doc::update,
        super::resources::doc::delete,
        super::resources::doc::restore,
        super::runs::request_run,
        super::runs::list_agent_runs,
        super::runs::list_runs,
        super::runs::get_run,
        super::runs::report_status,
        super::workspaces::list_workspaces,
        super::key_workspaces::list_key_workspaces,
        super::key_workspaces::put_key_workspace,
        super::key_workspaces::delete_key_workspace,
        super::bundles::export_config,
        super::bundles::plan_config,
        super::bundles::apply_config,
        super::bundles::list_snapshots,
        super::bundles::get_snapshot,
    ),
    components(schemas(
        Profile,
        ProfilePatch,
        KeyInfo,
        super::key_management::KeyMetadata,
        super::key_management::KeySpec,
        super::key_management::KeyState,
        super::key_management::ManagedKey,
        super::key_management::ManagedKeyList,
        super::key_management::NewManagedKey,
        super::key_management::Grace,
        super::key_management::RotateBody,
        Member,
        MemberPage,
        Team,
        TeamList,
        LegacyTeamRole,
        TeamMembershipBody,
        TeamMembership,
        super::org_members::OrgRoleName,
        super::org_members::MemberRoleBody,
        super::org_members::MemberRole,
        super::org_audit::OrgEvent,
        super::org_audit::OrgEventPage,
        RegisterRequest,
        Account,
        AccountPage,
        super::accounts::OrgSummaryOut,
        super::accounts::OrgPage,
        super::admin_orgs::CreateOrgRequest,
        super::admin_orgs::FirstOwnerOut,
        super::admin_orgs::CreatedOrg,
        super::admin_orgs::OrgStatusChange,
        super::org_lifecycle::OrgOut,
        super::org_lifecycle::RenameOrgRequest,
        super::org_lifecycle::TransferOrgRequest,
        super::org_lifecycle::OrgTransferred,
        super::org_lifecycle::OrgDeleted,
        super::admin::AccountOrg,
        super::admin::AccountDetail,
        super::admin::AccountStatusChange,
        super::admin::AccountDeleted,
        super::admin::AdminKey,
        super::admin::AdminKeyPage,
        super::admin::KeyRevoked,
        super::admin::PlatformEventOut,
        super::admin::PlatformEventPage,
        super::admin::PlatformRunOut,
        super::admin::PlatformRunPage,
        super::secret_scanning::ReportedToken,
        super::secret_scanning::ReportReceived,
        super::workspace_access::WorkspaceRef,
        super::workspace_access::AccessSource,
        super::workspace_access::WorkspaceAccessOut,
        super::resources::Resource,
        super::resources::ResourcePage,
        super::resources::NewResource,
        super::resources::ResourcePatch,
        super::runs::RunStatusName,
        super::runs::Run,
        super::runs::RunPage,
        super::runs::RunRequestBody,
        super::runs::RunStatusBody,
        super::workspaces::Workspace,
        super::workspaces::WorkspaceList,
        super::bundles::PlanSummary,
        super::bundles::PlannedResource,
        super::bundles::PlanOut,
        super::bundles::ApplyOut,
        super::bundles::Snapshot,
        super::bundles::SnapshotList,
        super::bundles::SnapshotDetail,
        ErrorBody,
        ErrorDetail,
        FieldError
    )),
    modifiers(&BearerKeys, &PerKindPaths),
    tags(
        (name = "profile", description = "The key owner's profile"),
        (name = "keys", description = "API key introspection"),
        (name = "orgs", description = "The members, teams and audit log of the key's organization, within its team grants"),
        (name = "accounts", description = "Self-registration (public, behind the `account-registration` flag)"),
        (name = "admin", description = "Platform administration with the master key"),
        (name = "workspaces", description = "Workspaces, their resources and runs: a key acts only in the workspaces granted to it, with its scopes ∩ its principal's permissions there"),
        (name = "secret-scanning", description = "Public: secret scanners report Gatehouse keys found in public; live ones are revoked"),
    )
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
