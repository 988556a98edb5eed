//! The workspace rows: every route of `tables::workspaces()` and
//! `tables::v1_workspaces()` with the permission it needs. The personas and
//! the walk live in `crate::workspaces::matrix`.

/// What a workspace route needs of its caller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Need {
    /// Any access to the workspace (some permission there).
    Access,
    /// One permission of the catalog, by name.
    Permission(&'static str),
    /// Owner of the org (no such route yet: the workspace admin routes).
    #[allow(dead_code)]
    Owner,
}

/// The row of a route; `None` for a route without one (which fails CI).
pub fn row(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/access") => Access,
        ("GET", "/orgs/{slug}/workspaces/{ws}/runs") => Permission("runs:read"),
        ("GET", "/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:read"),
        ("GET", "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("runs:read"),
        ("POST", "/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("agents:run"),
        ("POST", "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("agents:run"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/agents/{id}/runs") => Permission("runs:read"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/runs") => Permission("runs:read"),
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:read"),
        ("PATCH", "/v1/orgs/{slug}/workspaces/{ws}/runs/{run_id}") => Permission("runs:write"),
        _ => return None,
    })
}
