//! Workspace pages under `/orgs/{slug}/workspaces/{ws}`: each handler takes
//! `WorkspaceMember` or `WorkspaceCan<P>`, which resolve org and workspace
//! once from the URL and the caller's access there.

pub mod config;
pub mod resources;
pub mod runs;
