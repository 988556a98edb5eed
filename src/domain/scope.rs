//! The scope catalog: what an API key may be granted. Keys carry a set of
//! these; an endpoint names the one it needs in its signature. The workspace
//! permissions are scopes too (`Scope::Workspace`): in a workspace a key may
//! do what its scopes ∩ its principal's permissions there allow.

use std::fmt;

use crate::domain::{Permission, PermissionSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    ProfileRead,
    ProfileWrite,
    KeysRead,
    KeysWrite,
    MembersRead,
    MembersWrite,
    TeamsRead,
    TeamsWrite,
    AuditRead,
    /// Rename, hand over or delete the key's org (its owners only).
    OrgAdmin,
    /// A workspace permission (`agents:read`, `runs:write`, …).
    Workspace(Permission),
}

impl Scope {
    pub const ALL: [Scope; 21] = [
        Scope::ProfileRead,
        Scope::ProfileWrite,
        Scope::KeysRead,
        Scope::KeysWrite,
        Scope::MembersRead,
        Scope::MembersWrite,
        Scope::TeamsRead,
        Scope::TeamsWrite,
        Scope::AuditRead,
        Scope::OrgAdmin,
        Scope::Workspace(Permission::AgentsRead),
        Scope::Workspace(Permission::AgentsWrite),
        Scope::Workspace(Permission::AgentsRun),
        Scope::Workspace(Permission::ToolsRead),
        Scope::Workspace(Permission::ToolsWrite),
        Scope::Workspace(Permission::McpRead),
        Scope::Workspace(Permission::McpWrite),
        Scope::Workspace(Permission::SchedulesRead),
        Scope::Workspace(Permission::SchedulesWrite),
        Scope::Workspace(Permission::RunsRead),
        Scope::Workspace(Permission::RunsWrite),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProfileRead => "profile:read",
            Scope::ProfileWrite => "profile:write",
            Scope::KeysRead => "keys:read",
            Scope::KeysWrite => "keys:write",
            Scope::MembersRead => "members:read",
            Scope::MembersWrite => "members:write",
            Scope::TeamsRead => "teams:read",
            Scope::TeamsWrite => "teams:write",
            Scope::AuditRead => "audit:read",
            Scope::OrgAdmin => "org:admin",
            Scope::Workspace(p) => p.as_str(),
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Scope::ProfileRead => "Read your profile (name, email, contact details).",
            Scope::ProfileWrite => "Change your profile.",
            Scope::KeysRead => "Read the metadata of this key.",
            Scope::KeysWrite => {
                "Change the workspace grants of your keys in the key's organization (never \
                 beyond the workspaces this key holds)."
            }
            Scope::MembersRead => "List the members of the key's organization.",
            Scope::MembersWrite => "Change memberships in the key's organization.",
            Scope::TeamsRead => "List the teams the key is granted.",
            Scope::TeamsWrite => "Change the membership of the teams the key is granted.",
            Scope::AuditRead => "Read the audit log of the key's organization.",
            Scope::OrgAdmin => {
                "Rename, hand over or delete the key's organization (its owners only)."
            }
            Scope::Workspace(p) => p.description(),
        }
    }

    /// Scopes given only on the pages, in sudo mode, and never by a key
    /// over the API: making keys, and an org's own lifecycle.
    pub fn web_only(self) -> bool {
        matches!(self, Scope::KeysWrite | Scope::OrgAdmin)
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty set of scopes, stored as a space-separated list in catalog
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses the checkbox values of a form; unknown names are an error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut scopes = Vec::new();
        for name in names {
            let name = name.as_ref();
            match Scope::parse(name) {
                Some(s) if !scopes.contains(&s) => scopes.push(s),
                Some(_) => {}
                None => return Err(format!("“{name}” is not a known scope.")),
            }
        }
        if scopes.is_empty() {
            return Err("Choose at least one scope.".to_owned());
        }
        scopes.sort();
        Ok(Self(scopes))
    }

    /// Reads the stored form; unknown names (from a newer version) are dropped.
    pub fn from_stored(s: &str) -> Self {
        let mut v: Vec<Scope> = s.split_whitespace().filter_map(Scope::parse).collect();
        v.sort();
        v.dedup();
        Self(v)
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The workspace permissions among the scopes: the most a key may do in
    /// any workspace granted to it.
    pub fn permissions(&self) -> PermissionSet {
        self.iter()
            .filter_map(|s| match s {
                Scope::Workspace(p) => Some(p),
                _ => None,
            })
            .fold(PermissionSet::EMPTY, PermissionSet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_in_catalog_order() {
        let s = Scopes::from_names(&["teams:read", "profile:read", "profile:read"]).unwrap();
        assert_eq!(s.to_stored(), "profile:read teams:read");
        assert_eq!(Scopes::from_stored(&s.to_stored()), s);
    }

    #[test]
    fn unknown_and_empty_scope_sets_are_refused() {
        assert!(Scopes::from_names(&["root"]).is_err());
        assert!(Scopes::from_names::<&str>(&[]).is_err());
    }
}
