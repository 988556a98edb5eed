//! The resource kinds as types, for handlers registered once per kind
//! (`list::<Agents>`, …): each names the kind and the permission markers of
//! its `:read` and `:write`, so a handler's extractor (`ApiWorkspaceCan<
//! K::Read>`, `WorkspaceCan<K::Write>`) states the permission it needs, and
//! the `WriteProof` that resource writes take is minted here from the
//! `Allowed` proof of the kind's write permission — nowhere else.

use super::Denied;
use super::proof::{Allowed, ConfigRead, ConfigWrite, WorkspaceScope, WriteProof};
use super::workspace::RequiredPermission;
use super::workspace::perm;
use crate::domain::ResourceKind;

/// A resource kind as a type.
pub trait KindSpec: Send + Sync + 'static {
    const KIND: ResourceKind;
    type Read: RequiredPermission + Send + Sync + 'static;
    type Write: RequiredPermission + Send + Sync + 'static;
}

macro_rules! kind_spec {
    ($($name:ident => $kind:expr, $read:ty, $write:ty);* $(;)?) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl KindSpec for $name {
            const KIND: ResourceKind = $kind;
            type Read = $read;
            type Write = $write;
        }
    )*};
}

kind_spec! {
    Agents => ResourceKind::Agent, perm::AgentsRead, perm::AgentsWrite;
    Tools => ResourceKind::Tool, perm::ToolsRead, perm::ToolsWrite;
    McpServers => ResourceKind::McpServer, perm::McpRead, perm::McpWrite;
    Schedules => ResourceKind::Schedule, perm::SchedulesRead, perm::SchedulesWrite;
}

/// The write proof of kind `K`, from the proof that its write permission
/// was checked.
pub fn write_proof<K: KindSpec>(allowed: &Allowed<K::Write>) -> WriteProof {
    WriteProof::new(allowed.scope().clone(), K::KIND)
}

/// The write proof of `kind` in `scope`, or the missing permission.
pub fn check_write(scope: &WorkspaceScope, kind: ResourceKind) -> Result<WriteProof, Denied> {
    if scope.allows(kind.write_permission()) {
        Ok(WriteProof::new(scope.clone(), kind))
    } else {
        Err(Denied::MissingPermission(kind.write_permission()))
    }
}

/// The proof that `scope` may read the whole configuration (every kind's
/// `:read`), or the first missing permission.
pub fn check_config_read(scope: &WorkspaceScope) -> Result<ConfigRead, Denied> {
    for kind in ResourceKind::ALL {
        if !scope.allows(kind.read_permission()) {
            return Err(Denied::MissingPermission(kind.read_permission()));
        }
    }
    Ok(ConfigRead::new(scope.clone()))
}

/// Whether `scope` holds the `:write` of some resource kind: the least an
/// apply needs before its bundle is even read (a Viewer is refused at once).
pub fn check_some_write(read: &ConfigRead) -> Result<(), Denied> {
    if ResourceKind::ALL
        .iter()
        .any(|k| read.scope().allows(k.write_permission()))
    {
        Ok(())
    } else {
        Err(Denied::MissingPermission(
            ResourceKind::Agent.write_permission(),
        ))
    }
}

/// The proof that `read`'s holder may write every kind of `kinds`, or the
/// first missing permission.
pub fn check_config_write(
    read: &ConfigRead,
    kinds: &[ResourceKind],
) -> Result<ConfigWrite, Denied> {
    for kind in kinds {
        if !read.scope().allows(kind.write_permission()) {
            return Err(Denied::MissingPermission(kind.write_permission()));
        }
    }
    Ok(ConfigWrite::new(read.scope().clone(), kinds.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same<K: KindSpec>() {
        assert_eq!(K::Read::PERMISSION, K::KIND.read_permission());
        assert_eq!(K::Write::PERMISSION, K::KIND.write_permission());
    }

    #[test]
    fn each_kind_type_names_its_kinds_permissions() {
        same::<Agents>();
        same::<Tools>();
        same::<McpServers>();
        same::<Schedules>();
    }
}
