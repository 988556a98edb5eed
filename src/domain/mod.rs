//! Value types built by checking constructors ("parse, don't validate").
//!
//! Every string a person types reaches the rest of the code only through one of
//! these types, so a handler or a query never sees an unchecked email, name or
//! password. Each constructor returns a message fit to show beside the field.

pub mod bundle;
pub mod day;
pub mod email;
pub mod org;
pub mod password;
pub mod permission;
pub mod profile;
pub mod reason;
pub mod resource;
pub mod resource_config;
pub mod run;
pub mod schedule;
pub mod scope;
pub mod workspace;

pub use email::Email;
pub use org::{OrgName, OrgRole, Slug, TeamName};
pub use password::{NewPassword, Password};
pub use permission::{BuiltinRole, Permission, PermissionSet};
pub use profile::{DisplayName, JobTitle, Phone, TimeZone};
pub use reason::Reason;
pub use resource::ResourceKind;
pub use run::RunStatus;
pub use scope::{Scope, Scopes};
pub use workspace::{Description, RoleName, WorkspaceName};

/// Rejects characters that have no place in a single-line text field
/// (control characters, including newlines and NUL).
pub(crate) fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}
