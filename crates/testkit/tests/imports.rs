//! No import circle among the source files of any crate: every `use` and every inline
//! `crate::…` / `super::…` path is resolved to the file that defines the item (following
//! `pub use` re-exports), and the file-to-file graph must have no cycle. A planted circle
//! is found (the test checks its own checker on a made-up crate).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A crate's source: module path (`["engine", "task"]`) → file text.
type Modules = BTreeMap<Vec<String>, String>;

/// The modules of the crate whose sources are under `src`.
fn modules(src: &Path) -> Modules {
    let mut out = Modules::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap();
                let mut path: Vec<String> = rel
                    .iter()
                    .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                    .collect();
                if matches!(
                    path.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    path.pop();
                }
                out.insert(path, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// The code of `text` before its tests, without comments.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim() == "#[cfg(test)]" {
            break;
        }
        let line = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The paths a `use` tree names: `a::{b::C, d}` → `a::b::C`, `a::d` (`self` in a group is
/// the group's prefix).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    fn go(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        if let Some(open) = tree.find('{') {
            let head: Vec<String> = tree[..open]
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            let base: Vec<String> = prefix.iter().cloned().chain(head).collect();
            for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
                if p == "self" {
                    out.push(base.clone());
                } else {
                    go(&base, p, out);
                }
            }
        } else {
            let name = tree.split(" as ").next().unwrap_or(tree);
            let mut path: Vec<String> = prefix.to_vec();
            path.extend(
                name.split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
            out.push(path);
        }
    }
    let mut out = Vec::new();
    go(&[], &tree, &mut out);
    out
}

/// The `use` trees of `code` (`pub` or not): `(is_pub, tree)`.
fn use_trees(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let at_start = before
            .chars()
            .last()
            .is_none_or(|c| c == '\n' || c == ' ' || c == ';' || c == ')' || c == '{');
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let lead = before[line_start..].trim();
        let is_pub = lead.starts_with("pub");
        let Some(end) = rest[i..].find(';') else {
            break;
        };
        if at_start && (lead.is_empty() || is_pub || lead.starts_with('#')) {
            out.push((is_pub, rest[i + 4..i + end].to_string()));
        }
        rest = &rest[i + end..];
    }
    out
}

/// Every inline `crate::…` and `super::…` path of `code` (outside `use` trees too).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            let prev = rest[..i].chars().last();
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            // `crate::{…}` opens a use tree: `use_trees` reads those
            let whole = &tail[..end];
            let named = whole.trim_end_matches(':').contains("::");
            if named && !prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                out.push(
                    whole
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                );
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}

/// The import graph of one crate: file (module path) → the files it takes names from.
struct Graph {
    modules: Modules,
    /// Per module: name → where its `pub use` takes it from (absolute path).
    reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

impl Graph {
    fn new(modules: Modules) -> Graph {
        let mut g = Graph {
            modules,
            reexports: BTreeMap::new(),
        };
        let keys: Vec<Vec<String>> = g.modules.keys().cloned().collect();
        for m in keys {
            let text = code(&g.modules[&m]);
            let mut names = BTreeMap::new();
            for (is_pub, tree) in use_trees(&text) {
                if !is_pub {
                    continue;
                }
                for path in expand(&tree) {
                    if let Some(abs) = g.absolute(&m, &path) {
                        if let Some(name) = path.last() {
                            names.insert(name.clone(), abs);
                        }
                    }
                }
            }
            g.reexports.insert(m, names);
        }
        g
    }

    /// `path` as seen from module `from`, from the crate root; `None` for another crate's.
    fn absolute(&self, from: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut base: Vec<String> = from.to_vec();
        let mut rest = path;
        match first.as_str() {
            "crate" => {
                base.clear();
                rest = &path[1..];
            }
            "self" => rest = &path[1..],
            "super" => {
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            name => {
                let mut child = from.to_vec();
                child.push(name.to_string());
                if !self.modules.contains_key(&child) {
                    return None;
                }
            }
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file that defines what absolute `path` names (following re-exports).
    fn resolve(&self, path: &[String], depth: usize) -> Option<Vec<String>> {
        let mut module: Vec<String> = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut next = module.clone();
            next.push(seg.clone());
            if self.modules.contains_key(&next) {
                module = next;
                continue;
            }
            // an item of `module`: its own, or one it re-exports
            if depth < 16 {
                if let Some(target) = self.reexports.get(&module).and_then(|r| r.get(seg)) {
                    if target.as_slice() != path {
                        let mut t = target.clone();
                        t.extend(path[i + 1..].iter().cloned());
                        return self.resolve(&t, depth + 1);
                    }
                }
            }
            return Some(module);
        }
        Some(module)
    }

    /// Edges: module → the modules it imports from.
    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        self.named_edges()
            .into_iter()
            .map(|(m, to)| (m, to.into_keys().collect()))
            .collect()
    }

    /// Edges with the names that make each: module → (module → names).
    fn named_edges(&self) -> BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>> {
        let mut out = BTreeMap::new();
        for (m, text) in &self.modules {
            let text = code(text);
            let mut paths: Vec<Vec<String>> = use_trees(&text)
                .into_iter()
                .flat_map(|(_, t)| expand(&t))
                .collect();
            paths.extend(inline_paths(&text));
            let mut to: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
            for p in paths {
                if let Some(target) = self.absolute(m, &p).and_then(|a| self.resolve(&a, 0)) {
                    if &target != m {
                        let name = p.last().cloned().unwrap_or_default();
                        to.entry(target).or_default().insert(name);
                    }
                }
            }
            out.insert(m.clone(), to);
        }
        out
    }
}

/// The cycles of `edges` (strongly connected components of two or more modules).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    // Tarjan's algorithm, iterative over a small graph
    let nodes: Vec<&Vec<String>> = edges.keys().collect();
    let idx = |n: &Vec<String>| nodes.iter().position(|m| *m == n);
    let n = nodes.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut next, mut out) = (Vec::new(), 0, Vec::new());
    fn strong(
        v: usize,
        nodes: &[&Vec<String>],
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        idx: &dyn Fn(&Vec<String>) -> Option<usize>,
        st: &mut (Vec<usize>, Vec<usize>, Vec<bool>, Vec<usize>, usize),
        out: &mut Vec<Vec<Vec<String>>>,
    ) {
        st.0[v] = st.4;
        st.1[v] = st.4;
        st.4 += 1;
        st.3.push(v);
        st.2[v] = true;
        for w in edges[nodes[v]].iter().filter_map(idx) {
            if st.0[w] == usize::MAX {
                strong(w, nodes, edges, idx, st, out);
                st.1[v] = st.1[v].min(st.1[w]);
            } else if st.2[w] {
                st.1[v] = st.1[v].min(st.0[w]);
            }
        }
        if st.1[v] == st.0[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.3.pop() {
                st.2[w] = false;
                comp.push(nodes[w].clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                out.push(comp);
            }
        }
    }
    let mut st = (
        std::mem::take(&mut index),
        std::mem::take(&mut low),
        std::mem::take(&mut on),
        std::mem::take(&mut stack),
        std::mem::take(&mut next),
    );
    for v in 0..n {
        if st.0[v] == usize::MAX {
            strong(v, &nodes, edges, &idx, &mut st, &mut out);
        }
    }
    out
}

/// The source folders of the workspace's crates.
fn crate_sources() -> Vec<PathBuf> {
    let mut out = vec![root().join("xtask/src"), root().join("benches/src")];
    for e in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        if e.path().join("src").is_dir() {
            out.push(e.path().join("src"));
        }
    }
    out.sort();
    out
}

#[test]
fn no_crate_has_an_import_circle_among_its_modules() {
    let mut found = Vec::new();
    for src in crate_sources() {
        let graph = Graph::new(modules(&src));
        let named = graph.named_edges();
        let file = |m: &Vec<String>| format!("crate::{}", m.join("::"));
        for c in cycles(&graph.edges()) {
            found.push(format!("in {}:", src.display()));
            for a in &c {
                for (b, names) in named[a].iter().filter(|(b, _)| c.contains(b)) {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    found.push(format!(
                        "  {} -> {}: {}",
                        file(a),
                        file(b),
                        names.join(", ")
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_finds_a_planted_circle_and_follows_reexports() {
    let m = |p: &[&str], text: &str| (p.iter().map(|s| s.to_string()).collect(), text.into());
    let crate_ = |files: Vec<(Vec<String>, String)>| Graph::new(files.into_iter().collect());
    // a ↔ b through the root's re-export: a circle
    let g = crate_(vec![
        m(&[], "mod a;\nmod b;\npub use b::B;\npub use a::A;\n"),
        m(&["a"], "use crate::B;\npub struct A;\n"),
        m(&["b"], "//! b\npub struct B(crate::a::A);\n"),
    ]);
    let c = cycles(&g.edges());
    assert_eq!(c.len(), 1, "{c:?}");
    // without the back edge, no circle; a child naming its parent's item is no circle
    // unless the parent imports the child's
    let g = crate_(vec![
        m(&[], "mod a;\nmod b;\npub use b::B;\npub use a::A;\n"),
        m(
            &["a"],
            "use crate::{B, x::{self, Y as Z}};\npub struct A;\n",
        ),
        m(&["b"], "pub struct B;\n// crate::a::A in a comment\n"),
        m(&["x"], "mod y;\npub use y::Y;\n"),
        m(&["x", "y"], "use super::super::b::B;\npub struct Y;\n"),
    ]);
    assert!(cycles(&g.edges()).is_empty());
    let edges = g.edges();
    let a: Vec<String> = vec!["a".into()];
    let targets: Vec<&Vec<String>> = edges[&a].iter().collect();
    assert!(
        targets.contains(&&vec!["b".to_string()])
            && targets.contains(&&vec!["x".to_string(), "y".to_string()]),
        "{targets:?}"
    );
}
