//! The four kinds of workspace resources and the permissions that guard
//! each (DESIGN.md §1, §2a).

use crate::domain::Permission;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Agent,
    Tool,
    McpServer,
    Schedule,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 4] = [
        ResourceKind::Agent,
        ResourceKind::Tool,
        ResourceKind::McpServer,
        ResourceKind::Schedule,
    ];

    /// As stored (`resources.kind`) and in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Agent => "agent",
            ResourceKind::Tool => "tool",
            ResourceKind::McpServer => "mcp_server",
            ResourceKind::Schedule => "schedule",
        }
    }

    /// The path segment of the kind's collection, on pages and `/v1`.
    pub fn segment(self) -> &'static str {
        match self {
            ResourceKind::Agent => "agents",
            ResourceKind::Tool => "tools",
            ResourceKind::McpServer => "mcp-servers",
            ResourceKind::Schedule => "schedules",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::Agent => "Agent",
            ResourceKind::Tool => "Tool",
            ResourceKind::McpServer => "MCP server",
            ResourceKind::Schedule => "Schedule",
        }
    }

    pub fn read_permission(self) -> Permission {
        match self {
            ResourceKind::Agent => Permission::AgentsRead,
            ResourceKind::Tool => Permission::ToolsRead,
            ResourceKind::McpServer => Permission::McpRead,
            ResourceKind::Schedule => Permission::SchedulesRead,
        }
    }

    pub fn write_permission(self) -> Permission {
        match self {
            ResourceKind::Agent => Permission::AgentsWrite,
            ResourceKind::Tool => Permission::ToolsWrite,
            ResourceKind::McpServer => Permission::McpWrite,
            ResourceKind::Schedule => Permission::SchedulesWrite,
        }
    }

    pub fn parse(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn from_segment(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.segment() == s)
    }
}
