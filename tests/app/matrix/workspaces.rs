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
    /// Owner of the org.
    Owner,
}

/// The row of a route; `None` for a route without one (which fails CI).
pub fn row(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/access") => Access,
        _ => return None,
    })
}
