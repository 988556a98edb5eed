//! The workspace rows: every route of `tables::workspaces()` and
//! `tables::v1_workspaces()` with the permission it needs. The personas and
//! the walk live in `crate::workspaces::matrix`.

/// What a workspace route needs of its caller (`Permission` is for the
/// resource rows).
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(dead_code)]
pub enum Need {
    /// Any access to the workspace (some permission there).
    Access,
    /// One permission of the catalog, by name.
    Permission(&'static str),
    /// Owner of the org.
    Owner,
    /// Any member of the org (a route of the org's workspaces without
    /// `{ws}`, e.g. their list, which shows each caller what they reach).
    OrgMember,
}

/// The row of a route; `None` for a route without one (which fails CI).
pub fn row(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("GET", "/orgs/{slug}/workspaces") => OrgMember,
        ("POST", "/orgs/{slug}/workspaces") => Owner,
        ("GET", "/orgs/{slug}/workspaces/{ws}") => Access,
        ("GET", "/orgs/{slug}/workspaces/{ws}/settings") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/settings") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/archive") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/restore") => Owner,
        ("GET", "/orgs/{slug}/workspaces/{ws}/access") => Access,
        ("POST", "/orgs/{slug}/workspaces/{ws}/access") => Owner,
        ("POST", "/orgs/{slug}/workspaces/{ws}/access/{team}/remove") => Owner,
        ("GET", "/v1/orgs/{slug}/workspaces") => OrgMember,
        // A key's own grants (or, for owner-level keys, SA keys'); a PUT
        // needs the workspace to be the caller's (see api::key_workspaces).
        ("GET", "/v1/orgs/{slug}/keys/{key_id}/workspaces") => OrgMember,
        ("PUT", "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}") => Access,
        ("DELETE", "/v1/orgs/{slug}/keys/{key_id}/workspaces/{ws}") => OrgMember,
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/access") => Access,
        _ => return None,
    })
}
