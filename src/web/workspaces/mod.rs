//! Workspace pages under `/orgs/{slug}/workspaces/{ws}`.

pub mod runs;
