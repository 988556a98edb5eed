//! The checked fields of a workspace resource: its name, description,
//! metadata labels and per-kind JSON config (DESIGN.md §1, issue 13).
//!
//! Every check here is pure and answers with one message per field, named by
//! its path as the API reports it (`name`, `metadata.owner`, `config.model`,
//! `config.tools[1]`). A config's references to other resources (an agent's
//! tools and MCP servers, a schedule's agent) are only *collected* here, as
//! `Reference`s; the caller resolves them by name inside the workspace of its
//! `WorkspaceScope` (`db::resources`), so a reference can never reach another
//! workspace or org.
//!
//! The rules, chosen here and documented in the README:
//! - name: trimmed, 1–100 characters, one line (no control characters);
//! - description: at most 1000 characters (newlines allowed);
//! - metadata: a JSON object of string → string, at most 32 pairs, keys
//!   1–64 characters, values at most 256, no control characters in either;
//! - config: a JSON object of at most 64 KiB (serialized); keys a kind does
//!   not know are kept as they are (the document is the executor's), the
//!   known ones are checked.

use serde_json::{Map, Value};

use super::ResourceKind;
use super::has_control_chars;
use super::schedule::{parse_cron, parse_timezone};

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;
pub const METADATA_MAX_PAIRS: usize = 32;
pub const METADATA_KEY_MAX: usize = 64;
pub const METADATA_VALUE_MAX: usize = 256;
/// The largest config document, serialized as JSON.
pub const CONFIG_MAX_BYTES: usize = 64 * 1024;

/// One field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A name the config points at, to be resolved among the live resources of
/// `kind` in the same workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The config field holding the name (`config.tools[0]`).
    pub field: String,
    pub kind: ResourceKind,
    pub name: String,
}

/// A resource's fields, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInput {
    pub name: String,
    pub description: String,
    pub metadata: Map<String, Value>,
    pub config: Value,
}

/// Checks every field of a resource of `kind`; the checked fields and the
/// references its config makes (still to resolve in the workspace), or a
/// problem per field.
pub fn check_input(
    kind: ResourceKind,
    name: &str,
    description: &str,
    metadata: &Value,
    config: &Value,
) -> Result<(ResourceInput, Vec<Reference>), Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let name = parse_name(name)
        .map_err(|m| problems.push(FieldProblem::new("name", m)))
        .ok();
    let description = parse_description(description)
        .map_err(|m| problems.push(FieldProblem::new("description", m)))
        .ok();
    let metadata = check_metadata(metadata)
        .map_err(|p| problems.extend(p))
        .ok();
    let references = check_config(kind, config)
        .map_err(|p| problems.extend(p))
        .ok();
    match (name, description, metadata, references) {
        (Some(name), Some(description), Some(metadata), Some(references)) => Ok((
            ResourceInput {
                name,
                description,
                metadata,
                config: config.clone(),
            },
            references,
        )),
        _ => Err(problems),
    }
}

/// RFC 7396 JSON merge patch: `patch`'s members replace `target`'s, `null`
/// removes one, and a non-object patch replaces the whole value.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A resource name: trimmed, 1–100 characters, one line.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a name.".to_owned());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("Use at most {NAME_MAX} characters."));
    }
    if has_control_chars(name) {
        return Err("Use one line of text, without control characters.".to_owned());
    }
    Ok(name.to_owned())
}

/// A description: at most 1000 characters; line breaks allowed, other
/// control characters not.
pub fn parse_description(raw: &str) -> Result<String, String> {
    let text = raw.trim().replace("\r\n", "\n");
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(format!("Use at most {DESCRIPTION_MAX} characters."));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("Remove the control characters.".to_owned());
    }
    Ok(text)
}

/// Metadata labels: a JSON object of string → string within the limits.
pub fn check_metadata(value: &Value) -> Result<Map<String, Value>, Vec<FieldProblem>> {
    let Some(map) = value.as_object() else {
        return Err(vec![FieldProblem::new(
            "metadata",
            "must be an object of string labels",
        )]);
    };
    let mut problems = Vec::new();
    if map.len() > METADATA_MAX_PAIRS {
        problems.push(FieldProblem::new(
            "metadata",
            format!(
                "has {} labels; at most {METADATA_MAX_PAIRS} are allowed",
                map.len()
            ),
        ));
    }
    for (key, v) in map {
        let field = format!("metadata.{key}");
        if key.trim().is_empty() {
            problems.push(FieldProblem::new(
                "metadata",
                "a label key must not be empty",
            ));
            continue;
        }
        if key.chars().count() > METADATA_KEY_MAX {
            problems.push(FieldProblem::new(
                "metadata",
                format!("a label key is longer than {METADATA_KEY_MAX} characters"),
            ));
            continue;
        }
        if has_control_chars(key) {
            problems.push(FieldProblem::new(
                "metadata",
                "a label key holds control characters",
            ));
            continue;
        }
        match v.as_str() {
            None => problems.push(FieldProblem::new(field, "must be a string")),
            Some(s) if s.chars().count() > METADATA_VALUE_MAX => problems.push(FieldProblem::new(
                field,
                format!("must be at most {METADATA_VALUE_MAX} characters"),
            )),
            Some(s) if has_control_chars(s) => {
                problems.push(FieldProblem::new(field, "must be one line of text"))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(map.clone())
    } else {
        Err(problems)
    }
}

/// Parses metadata typed as `key=value` lines (the page's textarea); blank
/// lines are skipped.
pub fn metadata_from_lines(text: &str) -> Result<Value, Vec<FieldProblem>> {
    let mut map = Map::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => {
                let key = k.trim();
                if map.contains_key(key) {
                    problems.push(FieldProblem::new(
                        "metadata",
                        format!("line {}: the key `{key}` is given twice", i + 1),
                    ));
                }
                map.insert(key.to_owned(), Value::String(v.trim().to_owned()));
            }
            None => problems.push(FieldProblem::new(
                "metadata",
                format!("line {}: write each label as key=value", i + 1),
            )),
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(map))
    } else {
        Err(problems)
    }
}

/// Metadata as `key=value` lines, for the page's textarea.
pub fn metadata_to_lines(value: &Value) -> String {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Checks a config document for `kind`; on success, the references it makes
/// (to resolve in the same workspace).
pub fn check_config(
    kind: ResourceKind,
    value: &Value,
) -> Result<Vec<Reference>, Vec<FieldProblem>> {
    let Some(map) = value.as_object() else {
        return Err(vec![FieldProblem::new("config", "must be a JSON object")]);
    };
    if value.to_string().len() > CONFIG_MAX_BYTES {
        return Err(vec![FieldProblem::new(
            "config",
            "must be at most 64 KiB as JSON",
        )]);
    }
    let mut c = Checker {
        map,
        problems: Vec::new(),
        references: Vec::new(),
    };
    match kind {
        ResourceKind::Agent => {
            c.required_string("model");
            c.optional_string("instructions");
            c.names("tools", ResourceKind::Tool);
            c.names("mcp_servers", ResourceKind::McpServer);
        }
        ResourceKind::Tool => {
            let ty = c.one_of("type", &["http", "function"], true);
            match (ty.as_deref(), map.get("endpoint")) {
                (Some("http"), None) => {
                    c.problem("config.endpoint", "is required for an `http` tool")
                }
                (_, Some(_)) => c.web_url("endpoint", false),
                _ => {}
            }
            if let Some(schema) = map.get("input_schema") {
                check_schema(schema, &mut c.problems);
            }
        }
        ResourceKind::McpServer => {
            if map.contains_key("url") {
                c.web_url("url", true);
            } else {
                c.problem("config.url", "is required");
            }
            c.one_of("transport", &["streamable-http", "sse"], true);
        }
        ResourceKind::Schedule => {
            if let Some(agent) = c.required_string("agent")
                && c.reference_name("config.agent", &agent)
            {
                c.references.push(Reference {
                    field: "config.agent".to_owned(),
                    kind: ResourceKind::Agent,
                    name: agent,
                });
            }
            if let Some(cron) = c.required_string("cron")
                && let Err(e) = parse_cron(&cron)
            {
                c.problem("config.cron", e);
            }
            if let Some(tz) = c.required_string("timezone")
                && let Err(e) = parse_timezone(&tz)
            {
                c.problem("config.timezone", e);
            }
            match map.get("enabled") {
                None => c.problem("config.enabled", "is required"),
                Some(Value::Bool(_)) => {}
                Some(_) => c.problem("config.enabled", "must be true or false"),
            }
        }
    }
    if c.problems.is_empty() {
        Ok(c.references)
    } else {
        Err(c.problems)
    }
}

/// A schedule's agent and whether it is enabled, from its stored config (a
/// schedule whose config cannot say counts as enabled: refusing a deletion
/// is the safe side).
pub fn schedule_target(config: &Value) -> (Option<&str>, bool) {
    let agent = config.get("agent").and_then(Value::as_str);
    let enabled = config
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    (agent, enabled)
}

struct Checker<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<FieldProblem>,
    references: Vec<Reference>,
}

impl Checker<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, message));
    }

    fn required_string(&mut self, key: &str) -> Option<String> {
        let field = format!("config.{key}");
        match self.map.get(key) {
            None => {
                self.problem(&field, "is required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.problem(&field, "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                self.problem(&field, "must be a string");
                None
            }
        }
    }

    /// Whether `name` could name a resource at all (a name longer than
    /// any, or holding a control character — NUL cannot even reach
    /// PostgreSQL — is refused here rather than looked up).
    fn reference_name(&mut self, field: &str, name: &str) -> bool {
        match parse_name(name) {
            Ok(_) => true,
            Err(_) => {
                self.problem(field, "is not a resource name");
                false
            }
        }
    }

    fn optional_string(&mut self, key: &str) {
        if let Some(v) = self.map.get(key)
            && !v.is_string()
        {
            self.problem(&format!("config.{key}"), "must be a string");
        }
    }

    fn one_of(&mut self, key: &str, allowed: &[&str], required: bool) -> Option<String> {
        let field = format!("config.{key}");
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        match self.map.get(key) {
            None if required => {
                self.problem(&field, format!("is required ({list})"));
                None
            }
            None => None,
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
            Some(_) => {
                self.problem(&field, format!("must be {list}"));
                None
            }
        }
    }

    /// A list of resource names of `kind` (each a reference).
    fn names(&mut self, key: &str, kind: ResourceKind) {
        let field = format!("config.{key}");
        let Some(v) = self.map.get(key) else {
            return;
        };
        let Some(items) = v.as_array() else {
            self.problem(&field, "must be a list of names");
            return;
        };
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            match item.as_str().map(str::trim) {
                Some(name) if !name.is_empty() => {
                    if !self.reference_name(&at, name) {
                        continue;
                    }
                    if !seen.insert(name.to_owned()) {
                        self.problem(&at, "is listed twice");
                    } else {
                        self.references.push(Reference {
                            field: at,
                            kind,
                            name: name.to_owned(),
                        });
                    }
                }
                _ => self.problem(&at, "must be a name"),
            }
        }
    }

    /// An http(s) URL; with `https_or_localhost`, plain http only for the
    /// loopback host (an MCP server on the same machine).
    fn web_url(&mut self, key: &str, https_or_localhost: bool) {
        let field = format!("config.{key}");
        let Some(raw) = self.map.get(key).and_then(Value::as_str) else {
            self.problem(&field, "must be a URL string");
            return;
        };
        match check_url(raw, https_or_localhost) {
            Ok(()) => {}
            Err(m) => self.problem(&field, m),
        }
    }
}

fn check_url(raw: &str, https_or_localhost: bool) -> Result<(), &'static str> {
    let url = url::Url::parse(raw.trim()).map_err(|_| "must be an absolute http(s) URL")?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("must name a host")?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if !https_or_localhost => Ok(()),
        "http" if matches!(host, "localhost" | "127.0.0.1" | "[::1]") => Ok(()),
        "http" => Err("must use https (plain http only on localhost, 127.0.0.1 or [::1])"),
        _ if https_or_localhost => {
            Err("must use https (plain http only on localhost, 127.0.0.1 or [::1])")
        }
        _ => Err("must be an http or https URL"),
    }
}

/// A tool's input schema: a JSON Schema object. Checked for the shape a
/// schema must have (an object; `type`, when given, a JSON Schema type name
/// or a list of them; `properties`, when given, an object of objects;
/// `required`, when given, a list of strings), not validated against the
/// whole meta-schema.
fn check_schema(schema: &Value, problems: &mut Vec<FieldProblem>) {
    const TYPES: [&str; 7] = [
        "object", "array", "string", "number", "integer", "boolean", "null",
    ];
    let field = "config.input_schema";
    let Some(map) = schema.as_object() else {
        problems.push(FieldProblem::new(field, "must be a JSON Schema object"));
        return;
    };
    let type_ok = |v: &Value| v.as_str().is_some_and(|t| TYPES.contains(&t));
    match map.get("type") {
        None => {}
        Some(v) if type_ok(v) => {}
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(type_ok) => {}
        Some(_) => problems.push(FieldProblem::new(
            format!("{field}.type"),
            "must be a JSON Schema type (object, array, string, number, integer, boolean, null)",
        )),
    }
    if let Some(p) = map.get("properties")
        && !p
            .as_object()
            .is_some_and(|o| o.values().all(Value::is_object))
    {
        problems.push(FieldProblem::new(
            format!("{field}.properties"),
            "must be an object of schemas",
        ));
    }
    if let Some(r) = map.get("required")
        && !r.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        problems.push(FieldProblem::new(
            format!("{field}.required"),
            "must be a list of property names",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(kind: ResourceKind, v: Value) -> Vec<String> {
        match check_config(kind, &v) {
            Ok(_) => Vec::new(),
            Err(p) => p.into_iter().map(|p| p.field).collect(),
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut v, &json!({"a": null, "b": {"c": 5}, "e": [1]}));
        assert_eq!(v, json!({"b": {"c": 5, "d": 3}, "e": [1]}));
        merge_patch(&mut v, &json!([1]));
        assert_eq!(v, json!([1]));
    }

    #[test]
    fn check_input_reports_every_field_at_once() {
        let err = check_input(
            ResourceKind::Agent,
            "",
            &"d".repeat(1001),
            &json!([]),
            &json!({}),
        )
        .unwrap_err();
        let f: Vec<_> = err.into_iter().map(|p| p.field).collect();
        assert_eq!(f, ["name", "description", "metadata", "config.model"]);
        let (input, refs) = check_input(
            ResourceKind::Agent,
            " a ",
            "",
            &json!({}),
            &json!({"model": "m"}),
        )
        .unwrap();
        assert_eq!(input.name, "a");
        assert!(refs.is_empty());
    }

    #[test]
    fn names_are_one_line_of_one_to_a_hundred_characters() {
        assert_eq!(parse_name("  triage bot ").unwrap(), "triage bot");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"a".repeat(100)).is_ok());
        assert!(parse_name(&"a".repeat(101)).is_err());
        assert!(parse_name("two\nlines").is_err());
        assert!(parse_name("nul\0").is_err());
    }

    #[test]
    fn descriptions_are_at_most_a_thousand_characters() {
        assert!(parse_description(&"d".repeat(1000)).is_ok());
        assert!(parse_description(&"d".repeat(1001)).is_err());
        assert_eq!(parse_description("a\r\nb").unwrap(), "a\nb");
        assert!(parse_description("bell\u{7}").is_err());
    }

    #[test]
    fn metadata_is_a_bounded_object_of_string_labels() {
        assert!(check_metadata(&json!({"owner": "data-team"})).is_ok());
        assert!(check_metadata(&json!([])).is_err());
        assert!(check_metadata(&json!({"": "x"})).is_err());
        assert!(check_metadata(&json!({"n": 1})).is_err());
        assert!(check_metadata(&json!({"k".repeat(65): "v"})).is_err());
        assert!(check_metadata(&json!({"k".repeat(64): "v"})).is_ok());
        assert!(check_metadata(&json!({"k": "v".repeat(257)})).is_err());
        assert!(check_metadata(&json!({"k": "v".repeat(256)})).is_ok());
        let many: Map<String, Value> = (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_metadata(&Value::Object(many.clone())).is_err());
        let ok: Map<String, Value> = many.into_iter().take(32).collect();
        assert!(check_metadata(&Value::Object(ok)).is_ok());
    }

    #[test]
    fn metadata_lines_round_trip_and_refuse_lines_without_equals() {
        let v = metadata_from_lines("owner=data-team\n\n tier = gold \n").unwrap();
        assert_eq!(v, json!({"owner": "data-team", "tier": "gold"}));
        assert_eq!(metadata_to_lines(&v), "owner=data-team\ntier=gold");
        assert!(metadata_from_lines("no equals here").is_err());
        assert!(metadata_from_lines("a=1\na=2").is_err());
    }

    #[test]
    fn configs_are_objects_of_at_most_64_kib() {
        assert_eq!(fields(ResourceKind::Agent, json!([])), ["config"]);
        let big = json!({"model": "m", "instructions": "x".repeat(CONFIG_MAX_BYTES)});
        assert_eq!(fields(ResourceKind::Agent, big), ["config"]);
    }

    #[test]
    fn an_agent_needs_a_model_and_lists_names() {
        assert!(fields(ResourceKind::Agent, json!({"model": "gpt-x"})).is_empty());
        assert_eq!(fields(ResourceKind::Agent, json!({})), ["config.model"]);
        assert_eq!(
            fields(ResourceKind::Agent, json!({"model": 3})),
            ["config.model"]
        );
        assert_eq!(
            fields(ResourceKind::Agent, json!({"model": " "})),
            ["config.model"]
        );
        assert_eq!(
            fields(
                ResourceKind::Agent,
                json!({"model": "m", "instructions": 1})
            ),
            ["config.instructions"]
        );
        assert_eq!(
            fields(
                ResourceKind::Agent,
                json!({"model": "m", "tools": "search"})
            ),
            ["config.tools"]
        );
        assert_eq!(
            fields(
                ResourceKind::Agent,
                json!({"model": "m", "tools": ["a", 2, "a"]})
            ),
            ["config.tools[1]", "config.tools[2]"]
        );
        assert_eq!(
            fields(
                ResourceKind::Agent,
                json!({"model": "m", "mcp_servers": {}})
            ),
            ["config.mcp_servers"]
        );
        let refs = check_config(
            ResourceKind::Agent,
            &json!({"model": "m", "tools": ["search"], "mcp_servers": ["files"]}),
        )
        .unwrap();
        assert_eq!(
            refs,
            vec![
                Reference {
                    field: "config.tools[0]".into(),
                    kind: ResourceKind::Tool,
                    name: "search".into()
                },
                Reference {
                    field: "config.mcp_servers[0]".into(),
                    kind: ResourceKind::McpServer,
                    name: "files".into()
                },
            ]
        );
    }

    #[test]
    fn a_reference_must_be_a_possible_name() {
        assert_eq!(
            fields(
                ResourceKind::Agent,
                json!({"model": "m", "tools": ["a\0", "x".repeat(101)]})
            ),
            ["config.tools[0]", "config.tools[1]"]
        );
        assert_eq!(
            fields(
                ResourceKind::Schedule,
                json!({"agent": "a\0", "cron": "0 9 * * *", "timezone": "UTC", "enabled": true})
            ),
            ["config.agent"]
        );
    }

    #[test]
    fn a_tool_has_a_type_an_endpoint_for_http_and_a_schema_object() {
        let t = ResourceKind::Tool;
        assert!(fields(t, json!({"type": "function"})).is_empty());
        assert!(fields(t, json!({"type": "http", "endpoint": "https://x.test/run"})).is_empty());
        assert!(fields(t, json!({"type": "http", "endpoint": "http://x.test/run"})).is_empty());
        assert_eq!(fields(t, json!({})), ["config.type"]);
        assert_eq!(fields(t, json!({"type": "grpc"})), ["config.type"]);
        assert_eq!(fields(t, json!({"type": "http"})), ["config.endpoint"]);
        assert_eq!(
            fields(t, json!({"type": "http", "endpoint": "ftp://x.test"})),
            ["config.endpoint"]
        );
        assert_eq!(
            fields(t, json!({"type": "http", "endpoint": "not a url"})),
            ["config.endpoint"]
        );
        assert_eq!(
            fields(t, json!({"type": "function", "input_schema": "{}"})),
            ["config.input_schema"]
        );
        assert_eq!(
            fields(
                t,
                json!({"type": "function", "input_schema": {"type": "thing"}})
            ),
            ["config.input_schema.type"]
        );
        assert_eq!(
            fields(
                t,
                json!({"type": "function", "input_schema": {"properties": []}})
            ),
            ["config.input_schema.properties"]
        );
        assert_eq!(
            fields(
                t,
                json!({"type": "function", "input_schema": {"required": [1]}})
            ),
            ["config.input_schema.required"]
        );
        assert!(
            fields(
                t,
                json!({"type": "function", "input_schema": {"type": "object",
                    "properties": {"q": {"type": "string"}}, "required": ["q"]}})
            )
            .is_empty()
        );
    }

    #[test]
    fn an_mcp_server_uses_https_or_http_on_loopback_only() {
        let m = ResourceKind::McpServer;
        let ok = |url: &str| fields(m, json!({"url": url, "transport": "sse"})).is_empty();
        assert!(ok("https://mcp.example.com/mcp"));
        assert!(ok("http://localhost:8000/mcp"));
        assert!(ok("http://127.0.0.1:8000/mcp"));
        assert!(ok("http://[::1]:8000/mcp"));
        assert!(!ok("http://mcp.example.com/mcp"));
        assert!(!ok("http://localhost.evil.test/mcp"));
        assert!(!ok("ws://localhost/mcp"));
        assert_eq!(fields(m, json!({"transport": "sse"})), ["config.url"]);
        assert_eq!(
            fields(m, json!({"url": "https://x.test", "transport": "stdio"})),
            ["config.transport"]
        );
        assert_eq!(
            fields(m, json!({"url": "https://x.test"})),
            ["config.transport"]
        );
    }

    #[test]
    fn a_schedule_names_an_agent_a_cron_a_zone_and_whether_it_is_enabled() {
        let s = ResourceKind::Schedule;
        let good = json!({"agent": "triage", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "enabled": true});
        let refs = check_config(s, &good).unwrap();
        assert_eq!(refs[0].kind, ResourceKind::Agent);
        assert_eq!(refs[0].name, "triage");
        assert_eq!(
            fields(s, json!({})),
            [
                "config.agent",
                "config.cron",
                "config.timezone",
                "config.enabled"
            ]
        );
        let mut bad = good.clone();
        bad["cron"] = json!("61 * * * *");
        assert_eq!(fields(s, bad), ["config.cron"]);
        let mut bad = good.clone();
        bad["timezone"] = json!("Mars/Olympus");
        assert_eq!(fields(s, bad), ["config.timezone"]);
        let mut bad = good.clone();
        bad["enabled"] = json!("yes");
        assert_eq!(fields(s, bad), ["config.enabled"]);
        assert_eq!(schedule_target(&good), (Some("triage"), true));
    }
}
