//! The permission catalog of workspaces (DESIGN.md §2a) and the built-in
//! roles. A role is a set of permissions; a principal's permissions in a
//! workspace are the union of its teams' roles there.
//!
//! Invariant: a permission's bit never changes once released — role rows
//! store the set as these bits (`roles.permissions`), and an unknown bit read
//! back from storage is dropped (fail closed), never widened.

use std::fmt;

use uuid::Uuid;

/// One fine-grained right in a workspace. `write` means create, update,
/// delete and restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    AgentsRead,
    AgentsWrite,
    AgentsRun,
    ToolsRead,
    ToolsWrite,
    McpRead,
    McpWrite,
    SchedulesRead,
    SchedulesWrite,
    RunsRead,
    RunsWrite,
}

impl Permission {
    /// The catalog, in display order (also the bit order).
    pub const ALL: [Permission; 11] = [
        Permission::AgentsRead,
        Permission::AgentsWrite,
        Permission::AgentsRun,
        Permission::ToolsRead,
        Permission::ToolsWrite,
        Permission::McpRead,
        Permission::McpWrite,
        Permission::SchedulesRead,
        Permission::SchedulesWrite,
        Permission::RunsRead,
        Permission::RunsWrite,
    ];

    /// Its bit in a stored set; the position in `ALL`, fixed forever.
    pub const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::AgentsRead => "agents:read",
            Permission::AgentsWrite => "agents:write",
            Permission::AgentsRun => "agents:run",
            Permission::ToolsRead => "tools:read",
            Permission::ToolsWrite => "tools:write",
            Permission::McpRead => "mcp:read",
            Permission::McpWrite => "mcp:write",
            Permission::SchedulesRead => "schedules:read",
            Permission::SchedulesWrite => "schedules:write",
            Permission::RunsRead => "runs:read",
            Permission::RunsWrite => "runs:write",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Permission::AgentsRead => "See agents and their configuration.",
            Permission::AgentsWrite => "Create, change, delete and restore agents.",
            Permission::AgentsRun => "Request runs of agents.",
            Permission::ToolsRead => "See tools and their configuration.",
            Permission::ToolsWrite => "Create, change, delete and restore tools.",
            Permission::McpRead => "See MCP servers and their configuration.",
            Permission::McpWrite => "Create, change, delete and restore MCP servers.",
            Permission::SchedulesRead => "See schedules.",
            Permission::SchedulesWrite => "Create, change, delete and restore schedules.",
            Permission::RunsRead => "See the run history.",
            Permission::RunsWrite => "Report the progress and outcome of runs (executors).",
        }
    }

    /// Whether holding it changes nothing (an archived workspace keeps only
    /// these).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Permission::AgentsRead
                | Permission::ToolsRead
                | Permission::McpRead
                | Permission::SchedulesRead
                | Permission::RunsRead
        )
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions, as the bits of `Permission::bit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u16);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);
    pub const ALL: PermissionSet = PermissionSet((1 << Permission::ALL.len()) - 1);

    pub const fn of(perms: &[Permission]) -> PermissionSet {
        let mut bits = 0;
        let mut i = 0;
        while i < perms.len() {
            bits |= perms[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// Reads a stored set; bits this build does not know are dropped.
    pub fn from_stored(bits: i64) -> PermissionSet {
        PermissionSet((bits & i64::from(Self::ALL.0)) as u16)
    }

    pub fn to_stored(self) -> i64 {
        i64::from(self.0)
    }

    /// Parses checkbox values; unknown names are an error, an empty set is
    /// allowed (a role may grant nothing yet).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<PermissionSet, String> {
        let mut set = PermissionSet::EMPTY;
        for name in names {
            let name = name.as_ref();
            let p = Permission::parse(name)
                .ok_or_else(|| format!("“{name}” is not a known permission."))?;
            set = set.with(p);
        }
        Ok(set)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn with(self, p: Permission) -> PermissionSet {
        PermissionSet(self.0 | p.bit())
    }
    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }
    pub fn intersect(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }
    /// Only the permissions that read (an archived workspace).
    pub fn reads_only(self) -> PermissionSet {
        self.intersect(READS)
    }
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }
}

const READS: PermissionSet = PermissionSet::of(&[
    Permission::AgentsRead,
    Permission::ToolsRead,
    Permission::McpRead,
    Permission::SchedulesRead,
    Permission::RunsRead,
]);

/// The roles every org has; they cannot be edited. Their rows have these
/// fixed ids and no org (migration 0014).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    Viewer,
    Runner,
    Creator,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 3] = [
        BuiltinRole::Viewer,
        BuiltinRole::Runner,
        BuiltinRole::Creator,
    ];

    pub fn id(self) -> Uuid {
        Uuid::from_u128(match self {
            BuiltinRole::Viewer => 1,
            BuiltinRole::Runner => 2,
            BuiltinRole::Creator => 3,
        })
    }

    pub fn from_id(id: Uuid) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Viewer => "Viewer",
            BuiltinRole::Runner => "Runner",
            BuiltinRole::Creator => "Creator",
        }
    }

    /// Viewer: every `:read`. Runner: Viewer + `agents:run`. Creator: Runner
    /// and every `:write` except `runs:write` (reporting runs is for
    /// executors).
    pub fn permissions(self) -> PermissionSet {
        match self {
            BuiltinRole::Viewer => READS,
            BuiltinRole::Runner => READS.with(Permission::AgentsRun),
            BuiltinRole::Creator => BuiltinRole::Runner
                .permissions()
                .with(Permission::AgentsWrite)
                .with(Permission::ToolsWrite)
                .with(Permission::McpWrite)
                .with(Permission::SchedulesWrite),
        }
    }

    /// Whether a custom role may not take this name (case-insensitive).
    pub fn is_reserved_name(name: &str) -> bool {
        BuiltinRole::ALL
            .iter()
            .any(|r| r.name().eq_ignore_ascii_case(name.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_match_their_stored_rows() {
        // The numbers migration 0014 writes into `roles.permissions`.
        assert_eq!(BuiltinRole::Viewer.permissions().to_stored(), 681);
        assert_eq!(BuiltinRole::Runner.permissions().to_stored(), 685);
        assert_eq!(BuiltinRole::Creator.permissions().to_stored(), 1023);
        assert!(
            !BuiltinRole::Creator
                .permissions()
                .contains(Permission::RunsWrite)
        );
        assert_eq!(PermissionSet::ALL.iter().count(), 11);
    }

    #[test]
    fn unknown_bits_are_dropped_and_reads_only_keeps_reads() {
        assert_eq!(
            PermissionSet::from_stored(1 << 40 | 1),
            PermissionSet::of(&[Permission::AgentsRead])
        );
        assert_eq!(
            PermissionSet::ALL.reads_only(),
            BuiltinRole::Viewer.permissions()
        );
        assert!(PermissionSet::from_names(&["agents:fly"]).is_err());
        assert_eq!(
            PermissionSet::from_names(&["runs:read", "agents:run"])
                .unwrap()
                .names(),
            vec!["agents:run", "runs:read"]
        );
    }

    #[test]
    fn builtin_names_are_reserved() {
        assert!(BuiltinRole::is_reserved_name(" viewer "));
        assert!(!BuiltinRole::is_reserved_name("Deployer"));
        assert_eq!(
            BuiltinRole::from_id(BuiltinRole::Runner.id()),
            Some(BuiltinRole::Runner)
        );
    }
}
