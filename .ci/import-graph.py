#!/usr/bin/env python3
"""Import graph of src/: fails on a cycle between layers.

A layer is a top-level module of the crate (`db`, `authz`, `web`, ...), with
a few files that sit below their parent counted as layers of their own
(`authz::proof`: the proof types that `db` takes; `api::error` and
`api::scim::error`: the JSON and SCIM errors the API and SCIM extractors
reject with; `auth::api_key`: the key format, which imports nothing from the
crate). Every `crate::…` path in a file (`use`
lines and inline paths; not `pub(in crate::…)`) is an edge from the file's
layer to the layer it names. The only cycle allowed is the router's: `router`
(and `server`, `lib`, `main` above it) with the handler layers it mounts
(`web`, `api`). `AppState` has its own file (`state.rs`), so handlers name it
without naming the router.

(Before that split, a reference to `crate::app::AppState` counted as an edge
to a layer `state` made of the `AppState` struct and its `impl` block; that
path is kept for an old tree.)

Usage: .ci/import-graph.py [--files] [--graph]
  --files  also lists file-level cycles
  --graph  prints every layer's edges
"""
import os
import re
import sys
from collections import defaultdict

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
# Files that are layers of their own, below their parent module.
OWN_LAYERS = {"authz::proof", "api::error", "api::scim::error", "auth::api_key"}
# The router and the handlers it mounts may point at each other.
ROUTER = {"app", "router", "server", "lib", "main"}
HANDLERS = {"web", "api"}


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return "::".join(rel)


def layer_of(module):
    parts = module.split("::")
    for n in range(len(parts), 0, -1):
        if "::".join(parts[:n]) in OWN_LAYERS:
            return "::".join(parts[:n])
    return parts[0]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # A visibility restriction names a module but imports nothing.
    return re.sub(r"pub\(in\s+crate(::\w+)*\)", "pub", text)


def state_block(text):
    """The AppState struct and its impl, with the names app.rs imports."""
    imported = {}
    for m in re.finditer(r"\buse\s+crate::([^;]*);", text, flags=re.S):
        for path in expand("", m.group(1)):
            imported[path.split("::")[-1]] = path
    body = ""
    for m in re.finditer(r"(pub struct AppState|impl AppState)\s*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += text[i] == "{"
            depth -= text[i] == "}"
            i += 1
        body += text[m.start():i]
    words = set(re.findall(r"\b\w+\b", body))
    return [imported[w] for w in words if w in imported] + crate_paths(body)


def crate_paths(text):
    """Every path named from `crate::`, grouped `use` trees expanded."""
    out = []
    for m in re.finditer(r"\buse\s+crate::([^;]*);", text, flags=re.S):
        out.extend(expand("", m.group(1)))
    rest = re.sub(r"\buse\s+crate::[^;]*;", "", text, flags=re.S)
    out.extend(m.group(1) for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", rest))
    return out


def expand(prefix, tree):
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [prefix + tree]
    head, body = tree.split("{", 1)
    body = body[: body.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        items.append(cur)
    out = []
    for item in items:
        out.extend(expand(prefix + head, item))
    return out


def target_module(path, modules):
    parts = [p for p in path.split("::") if p and p != "self"]
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in modules:
            return cand
    return parts[0] if parts else None


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                p = os.path.join(root, name)
                files[module_of(p)] = p
    modules = set(files)
    file_graph = defaultdict(set)
    layer_graph = defaultdict(set)
    why = defaultdict(set)
    texts = {}
    for mod, p in files.items():
        with open(p, encoding="utf-8") as f:
            texts[mod] = strip_comments(f.read())
    split_state = "state" not in files and "app" in texts
    if split_state:
        for path in state_block(texts["app"]):
            b = layer_of(target_module(path, modules))
            if b != "state":
                layer_graph["state"].add(b)
                why[("state", b)].add(f"app::AppState -> crate::{path}")
    for mod, text in texts.items():
        file_graph[mod]
        layer_graph[layer_of(mod)]
        for path in crate_paths(text):
            target = target_module(path, modules)
            if target is None or target == mod:
                continue
            if target in modules:
                file_graph[mod].add(target)
            a, b = layer_of(mod), layer_of(target)
            if split_state and path in ("app::AppState", "AppState"):
                b = "state"
            if a != b:
                layer_graph[a].add(b)
                why[(a, b)].add(f"{mod} -> crate::{path}")
    if "--graph" in sys.argv:
        for a in sorted(layer_graph):
            print(f"  {a} -> {', '.join(sorted(layer_graph[a]))}")
    file_cycles = sccs(file_graph)
    print(f"files: {len(files)}; files in a cycle: {sum(map(len, file_cycles))} "
          f"(largest cycle: {max(map(len, file_cycles), default=0)})")
    if "--files" in sys.argv:
        for c in file_cycles:
            print("  file cycle:", " ".join(c))
    # The router's cycle is allowed: drop the edges from handlers back to it.
    allowed = {(h, r) for h in HANDLERS for r in ROUTER}
    checked = defaultdict(set)
    for a, bs in layer_graph.items():
        checked[a] = {b for b in bs if (a, b) not in allowed}
    bad = sccs(checked)
    for comp in bad:
        print("layer cycle:", " ".join(comp))
        for a in comp:
            for b in sorted(checked[a] & set(comp)):
                for w in sorted(why[(a, b)])[:3]:
                    print(f"    {a} -> {b}: {w}")
    if bad:
        sys.exit(1)
    print("layers: no cycle except the router's (router <-> web, api)")


if __name__ == "__main__":
    main()
