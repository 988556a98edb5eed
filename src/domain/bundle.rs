//! Configuration bundles (`gatehouse.config/v1`, issue 14): a workspace's
//! configuration as one JSON document, and the plan of importing one.
//!
//! Invariants kept here, all pure:
//! - a bundle holds every live resource by kind and name, with its
//!   description, metadata and config, and nothing else (no ids, versions,
//!   authors, times, secrets or runs); references stay names;
//! - `Bundle::render` is canonical: resources ordered by kind (agents, tools,
//!   MCP servers, schedules) then name, every object's keys sorted, two-space
//!   indentation and a final newline, so two exports of the same state are
//!   byte-identical and diff cleanly in git;
//! - `parse` accepts only a document of this version whose every resource
//!   passes the kind's own checks (`resource_config::check_input`); any fault
//!   is reported per field by its path (`resources[2].config.model`);
//! - `plan` compares what a workspace holds with a bundle: created, updated
//!   (with the before/after of each changed field), unchanged, and deleted
//!   only with `prune`. Its `id` is a digest of the workspace's state and of
//!   the request, so an apply can refuse a plan made against another state.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ResourceKind;
use super::resource_config::{FieldProblem, Reference, check_input};

/// The document version this build reads and writes.
pub const VERSION: &str = "gatehouse.config/v1";
/// The largest bundle accepted.
pub const MAX_BUNDLE_BYTES: usize = 5 * 1024 * 1024;

/// One resource of a bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: ResourceKind,
    pub name: String,
    pub description: String,
    pub metadata: Map<String, Value>,
    pub config: Value,
}

impl Entry {
    fn to_value(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "name": self.name,
            "description": self.description,
            "metadata": canonical(&Value::Object(self.metadata.clone())),
            "config": canonical(&self.config),
        })
    }

    /// The fields of `self` that differ in `after`: `{field: {before, after}}`.
    fn diff(&self, after: &Entry) -> Map<String, Value> {
        let mut d = Map::new();
        let mut put = |k: &str, b: Value, a: Value| {
            if b != a {
                d.insert(k.to_owned(), json!({ "before": b, "after": a }));
            }
        };
        put(
            "description",
            json!(self.description),
            json!(after.description),
        );
        put(
            "metadata",
            Value::Object(self.metadata.clone()),
            Value::Object(after.metadata.clone()),
        );
        put("config", self.config.clone(), after.config.clone());
        d
    }
}

/// A workspace's configuration, in canonical order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bundle {
    entries: Vec<Entry>,
}

impl Bundle {
    /// The bundle of these resources (put in canonical order).
    pub fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Bundle { entries }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, kind: ResourceKind, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| (e.kind, e.name.as_str()).cmp(&(kind, name)))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The canonical text (see the module doc).
    pub fn render(&self) -> String {
        let doc = json!({
            "version": VERSION,
            "resources": self.entries.iter().map(Entry::to_value).collect::<Vec<_>>(),
        });
        let mut text = serde_json::to_string_pretty(&canonical(&doc)).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// `v` with every object's keys in sorted order (whatever the map type of
/// `serde_json` this build uses).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A bundle read from a request, with the references its resources make
/// (still to resolve against the state the import leads to).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub bundle: Bundle,
    /// The references, each with the path of the field that makes it
    /// (`resources[3].config.tools[0]`).
    pub references: Vec<Reference>,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem::new(field, message)
}

/// Reads a bundle; every fault, per field, or the bundle.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Vec<FieldProblem>> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(vec![problem(
            "bundle",
            "is larger than 5 MiB; split the workspace's configuration",
        )]);
    }
    let Ok(doc) = serde_json::from_slice::<Value>(bytes) else {
        return Err(vec![problem("bundle", "is not valid JSON")]);
    };
    let Some(top) = doc.as_object() else {
        return Err(vec![problem(
            "bundle",
            "must be a JSON object with `version` and `resources`",
        )]);
    };
    let mut problems = Vec::new();
    match top.get("version") {
        Some(Value::String(v)) if v == VERSION => {}
        Some(Value::String(_)) => problems.push(problem(
            "version",
            format!("is not a version this Gatehouse reads (use `{VERSION}`)"),
        )),
        Some(_) => problems.push(problem("version", format!("must be `{VERSION}`"))),
        None => problems.push(problem("version", format!("is required (`{VERSION}`)"))),
    }
    for key in top.keys() {
        if key != "version" && key != "resources" {
            problems.push(problem(key.as_str(), "is not a field of a bundle"));
        }
    }
    let items = match top.get("resources") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            problems.push(problem("resources", "must be a list"));
            &[]
        }
        None => {
            problems.push(problem("resources", "is required (a list)"));
            &[]
        }
    };
    // Version problems first: a bundle of another version is not read on.
    if problems.iter().any(|p| p.field == "version") {
        return Err(problems);
    }
    let mut entries = Vec::new();
    let mut references = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("resources[{i}]");
        let Some(obj) = item.as_object() else {
            problems.push(problem(at, "must be an object"));
            continue;
        };
        let mut ok = true;
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "kind" | "name" | "description" | "metadata" | "config"
            ) {
                problems.push(problem(
                    format!("{at}.{key}"),
                    "is not a field of a resource",
                ));
                ok = false;
            }
        }
        let kind = match obj.get("kind") {
            Some(Value::String(k)) => match ResourceKind::parse(k) {
                Some(kind) => Some(kind),
                None => {
                    problems.push(problem(
                        format!("{at}.kind"),
                        "is not a kind of resource (`agent`, `tool`, `mcp_server` or `schedule`)",
                    ));
                    None
                }
            },
            Some(_) => {
                problems.push(problem(format!("{at}.kind"), "must be a string"));
                None
            }
            None => {
                problems.push(problem(format!("{at}.kind"), "is required"));
                None
            }
        };
        let text = |key: &str, required: bool, problems: &mut Vec<FieldProblem>| match obj.get(key)
        {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problems.push(problem(format!("{at}.{key}"), "must be a string"));
                None
            }
            None if required => {
                problems.push(problem(format!("{at}.{key}"), "is required"));
                None
            }
            None => Some(String::new()),
        };
        let name = text("name", true, &mut problems);
        let description = text("description", false, &mut problems);
        let (Some(kind), Some(name), Some(description), true) = (kind, name, description, ok)
        else {
            continue;
        };
        let metadata = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
        let config = obj.get("config").cloned().unwrap_or_else(|| json!({}));
        match check_input(kind, &name, &description, &metadata, &config) {
            Ok((input, refs)) => {
                if !seen.insert((kind, input.name.clone())) {
                    problems.push(problem(
                        format!("{at}.name"),
                        format!(
                            "is given twice for the kind `{}` in this bundle",
                            kind.as_str()
                        ),
                    ));
                    continue;
                }
                references.extend(refs.into_iter().map(|r| Reference {
                    field: format!("{at}.{}", r.field),
                    ..r
                }));
                entries.push(Entry {
                    kind,
                    name: input.name,
                    description: input.description,
                    metadata: input.metadata,
                    config: input.config,
                });
            }
            Err(p) => problems.extend(
                p.into_iter()
                    .map(|p| problem(format!("{at}.{}", p.field), p.message)),
            ),
        }
    }
    if problems.is_empty() {
        Ok(Parsed {
            bundle: Bundle::new(entries),
            references,
        })
    } else {
        Err(problems)
    }
}

/// What an import does to one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create,
    /// The changed fields: `{field: {before, after}}`.
    Update(Map<String, Value>),
    Unchanged,
    Delete,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update(_) => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanItem {
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
    /// The resource as the import leaves it (`None` when deleted).
    pub after: Option<Entry>,
}

/// What importing a bundle into a workspace would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The digest of the workspace's state, the bundle and `prune`.
    pub id: String,
    pub prune: bool,
    /// Every resource the workspace or the bundle holds, in canonical order.
    pub items: Vec<PlanItem>,
    /// The workspace's configuration after the import.
    pub result: Bundle,
}

impl Plan {
    pub fn count(&self, action: &str) -> usize {
        self.items
            .iter()
            .filter(|i| i.action.as_str() == action)
            .count()
    }

    /// Whether applying it changes anything.
    pub fn changes_anything(&self) -> bool {
        self.items.iter().any(|i| i.action != Action::Unchanged)
    }

    /// Whether it deletes anything (only with `prune`).
    pub fn deletes(&self) -> bool {
        self.count("delete") > 0
    }

    /// The kinds it creates, changes or deletes resources of.
    pub fn kinds_touched(&self) -> Vec<ResourceKind> {
        let mut kinds: Vec<ResourceKind> = self
            .items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .map(|i| i.kind)
            .collect();
        kinds.dedup();
        kinds
    }

    /// `{created, updated, unchanged, deleted}`.
    pub fn summary(&self) -> Value {
        json!({
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "deleted": self.count("delete"),
        })
    }
}

/// The digest that names a plan: of the current state, the bundle and
/// `prune`, each canonical.
pub fn plan_id(current: &Bundle, target: &Bundle, prune: bool) -> String {
    let mut h = Sha256::new();
    h.update(b"gatehouse.plan/v1\0");
    h.update(current.render().as_bytes());
    h.update(b"\0");
    h.update(target.render().as_bytes());
    h.update(if prune { b"\0prune" } else { b"\0keep!" });
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// What importing `target` into a workspace holding `current` would do.
pub fn plan(current: &Bundle, target: &Bundle, prune: bool) -> Plan {
    let mut items = Vec::new();
    let mut result = Vec::new();
    for e in target.entries() {
        let action = match current.get(e.kind, &e.name) {
            None => Action::Create,
            Some(c) => {
                let d = c.diff(e);
                if d.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update(d)
                }
            }
        };
        items.push(PlanItem {
            kind: e.kind,
            name: e.name.clone(),
            action,
            after: Some(e.clone()),
        });
        result.push(e.clone());
    }
    for c in current.entries() {
        if target.get(c.kind, &c.name).is_some() {
            continue;
        }
        if prune {
            items.push(PlanItem {
                kind: c.kind,
                name: c.name.clone(),
                action: Action::Delete,
                after: None,
            });
        } else {
            items.push(PlanItem {
                kind: c.kind,
                name: c.name.clone(),
                action: Action::Unchanged,
                after: Some(c.clone()),
            });
            result.push(c.clone());
        }
    }
    items.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Plan {
        id: plan_id(current, target, prune),
        prune,
        items,
        result: Bundle::new(result),
    }
}

/// The references of the bundle that name nothing in the state the import
/// leads to (`result`): an import never points at a resource outside its
/// own workspace, and never at one it deletes.
pub fn broken_references(references: &[Reference], result: &Bundle) -> Vec<FieldProblem> {
    references
        .iter()
        .filter(|r| result.get(r.kind, &r.name).is_none())
        .map(|r| {
            problem(
                r.field.clone(),
                format!(
                    "no {} named `{}` in the bundle or, after the import, in this workspace",
                    r.kind.label().to_lowercase(),
                    r.name
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(resources: Value) -> Vec<u8> {
        json!({"version": VERSION, "resources": resources})
            .to_string()
            .into_bytes()
    }

    fn fields(bytes: &[u8]) -> Vec<String> {
        match parse(bytes) {
            Ok(_) => Vec::new(),
            Err(p) => p.into_iter().map(|p| p.field).collect(),
        }
    }

    #[test]
    fn a_bundle_renders_canonically_whatever_the_order_given() {
        let a = parse(&doc(json!([
            {"kind": "tool", "name": "b", "config": {"type": "function", "z": 1, "a": 2}},
            {"kind": "agent", "name": "z", "config": {"model": "m"}},
            {"kind": "tool", "name": "a", "config": {"type": "function"}},
        ])))
        .unwrap();
        let text = a.bundle.render();
        let again = parse(text.as_bytes()).unwrap().bundle.render();
        assert_eq!(text, again);
        let names: Vec<_> = a.bundle.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["z", "a", "b"]);
        assert!(text.ends_with("}\n"));
        assert!(text.find("\"a\": 2").unwrap() < text.find("\"z\": 1").unwrap());
    }

    #[test]
    fn bad_bundles_name_each_fault() {
        assert_eq!(fields(b"not json"), ["bundle"]);
        assert_eq!(fields(b"[]"), ["bundle"]);
        assert_eq!(
            fields(br#"{"version": "gatehouse.config/v2", "resources": []}"#),
            ["version"]
        );
        assert_eq!(fields(br#"{"resources": []}"#), ["version"]);
        assert_eq!(
            fields(&doc(json!([{"kind": "robot", "name": "r"}]))),
            ["resources[0].kind"]
        );
        assert_eq!(
            fields(&doc(json!([{"kind": "agent", "name": "a", "config": {}}]))),
            ["resources[0].config.model"]
        );
        assert_eq!(
            fields(&doc(
                json!([{"kind": "agent", "name": "a", "id": "x", "config": {"model": "m"}}])
            )),
            ["resources[0].id"]
        );
        assert_eq!(
            fields(&doc(json!([
                {"kind": "agent", "name": "a", "config": {"model": "m"}},
                {"kind": "agent", "name": " a ", "config": {"model": "m"}},
            ]))),
            ["resources[1].name"]
        );
        let big = vec![b' '; MAX_BUNDLE_BYTES + 1];
        assert_eq!(fields(&big), ["bundle"]);
    }

    #[test]
    fn a_plan_says_exactly_what_changes_and_deletes_only_with_prune() {
        let current = parse(&doc(json!([
            {"kind": "agent", "name": "keep", "config": {"model": "m"}},
            {"kind": "agent", "name": "old", "config": {"model": "m"}},
            {"kind": "tool", "name": "t", "description": "before", "config": {"type": "function"}},
        ])))
        .unwrap()
        .bundle;
        let target = parse(&doc(json!([
            {"kind": "agent", "name": "keep", "config": {"model": "m"}},
            {"kind": "agent", "name": "new", "config": {"model": "m"}},
            {"kind": "tool", "name": "t", "description": "after", "config": {"type": "function"}},
        ])))
        .unwrap()
        .bundle;
        let p = plan(&current, &target, false);
        let actions: Vec<_> = p
            .items
            .iter()
            .map(|i| (i.name.as_str(), i.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("keep", "unchanged"),
                ("new", "create"),
                ("old", "unchanged"),
                ("t", "update")
            ]
        );
        let Action::Update(d) = &p.items[3].action else {
            panic!()
        };
        assert_eq!(
            Value::Object(d.clone()),
            json!({"description": {"before": "before", "after": "after"}})
        );
        let pruned = plan(&current, &target, true);
        assert_eq!(pruned.count("delete"), 1);
        assert_eq!(pruned.result, target);
        assert_ne!(p.id, pruned.id);
        assert!(!plan(&target, &target, true).changes_anything());
    }

    #[test]
    fn references_resolve_in_the_state_the_import_leads_to() {
        let parsed = parse(&doc(json!([
            {"kind": "agent", "name": "a", "config": {"model": "m", "tools": ["t"]}},
        ])))
        .unwrap();
        let current = Bundle::new(vec![Entry {
            kind: ResourceKind::Tool,
            name: "t".into(),
            description: String::new(),
            metadata: Map::new(),
            config: json!({"type": "function"}),
        }]);
        let kept = plan(&current, &parsed.bundle, false);
        assert!(broken_references(&parsed.references, &kept.result).is_empty());
        let pruned = plan(&current, &parsed.bundle, true);
        let broken = broken_references(&parsed.references, &pruned.result);
        assert_eq!(broken[0].field, "resources[0].config.tools[0]");
    }
}
