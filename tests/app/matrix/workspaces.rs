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
    #[allow(dead_code)] // the owner-only workspace routes come with `access`
    Owner,
}

/// The row of a route; `None` for a route without one (which fails CI).
pub fn row(method: &str, path: &str) -> Option<Need> {
    use Need::*;
    Some(match (method, path) {
        ("GET", "/v1/orgs/{slug}/workspaces/{ws}/access") => Access,
        _ => return resource_row(method, path),
    })
}

/// The resource routes (pages and API) of the four kinds: reading needs the
/// kind's `:read`, every change its `:write` (the deleted view is a `:write`
/// check inside the list handler, on `?deleted=true`).
fn resource_row(method: &str, path: &str) -> Option<Need> {
    let rest = path
        .strip_prefix("/v1/orgs/{slug}/workspaces/{ws}/")
        .or_else(|| path.strip_prefix("/orgs/{slug}/workspaces/{ws}/"))?;
    let page = !path.starts_with("/v1/");
    let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (read, write) = match segment {
        "agents" => ("agents:read", "agents:write"),
        "tools" => ("tools:read", "tools:write"),
        "mcp-servers" => ("mcp:read", "mcp:write"),
        "schedules" => ("schedules:read", "schedules:write"),
        _ => return None,
    };
    let need = match (method, tail, page) {
        ("GET", "", _) | ("GET", "{id}", _) => read,
        ("POST", "", _) | ("PATCH", "{id}", false) | ("DELETE", "{id}", false) => write,
        ("POST", "{id}/restore", _) => write,
        ("GET", "new", true) | ("POST", "{id}", true) | ("POST", "{id}/delete", true) => write,
        _ => return None,
    };
    Some(Need::Permission(need))
}
