//! The import-cycle gate: within each crate, no module uses a sibling module that uses it back
//! (directly or around a longer circle). Read from the source as text, the way a reviewer reads
//! it: module A uses module B when a file of A names `crate::B…` (or `super::B…` for B beside
//! it, or `crate::Name` for a name the crate root re-exports from B). Test files (`*_tests.rs`,
//! `testing.rs`) and `#[cfg(test)]` blocks do not count. Siblings are compared at every depth of
//! the module tree (`store::journal` with `store::views`; `app` with `client`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// The cycles found in the crate whose sources are under `src`, each as "a <-> b <-> c".
pub fn cycles(src: &Path) -> std::io::Result<Vec<String>> {
    let files = read(src, src)?;
    let uses = uses(&files);
    let mut found = Vec::new();
    for depth in 1..=3 {
        let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (a, bs) in &uses {
            for b in bs {
                if a.len() < depth || b.len() < depth || a[..depth - 1] != b[..depth - 1] {
                    continue;
                }
                if a[..depth] != b[..depth] {
                    graph
                        .entry(a[..depth].to_vec())
                        .or_default()
                        .insert(b[..depth].to_vec());
                }
            }
        }
        for component in strongly_connected(&graph) {
            if component.len() > 1 {
                let names: Vec<String> = component.iter().map(|m| m.join("::")).collect();
                found.push(names.join(" <-> "));
            }
        }
    }
    Ok(found)
}

/// Every non-test source file under `dir`, by module path, its text without comments and tests.
fn read(src: &Path, dir: &Path) -> std::io::Result<BTreeMap<Module, String>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(read(src, &path)?);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".rs") || name.ends_with("_tests.rs") || name == "testing.rs" {
            continue;
        }
        let Ok(relative) = path.strip_prefix(src) else {
            continue;
        };
        let mut module: Module = relative
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if matches!(
            module.last().map(String::as_str),
            Some("lib" | "main" | "mod")
        ) {
            module.pop();
        }
        let text = std::fs::read_to_string(&path)?;
        let text = match text.find("#[cfg(test)]\nmod ") {
            Some(at) if text[at..].contains('{') => &text[..at],
            _ => &text[..],
        };
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        files.insert(module, code);
    }
    Ok(files)
}

fn ident_start(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The path that follows `at` in `text`: `a::b::c`, or each item of `a::{b, c::d}` at the end.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let mut head = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest.chars().take_while(|c| ident_start(*c)).collect();
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        head.push(name);
        if let Some(r) = rest.strip_prefix("::") {
            rest = r;
        } else {
            return vec![head];
        }
    }
    if let Some(group) = rest.strip_prefix('{') {
        let inner = group.split('}').next().unwrap_or("");
        return inner
            .split(',')
            .map(|item| {
                let mut path = head.clone();
                path.extend(
                    item.trim()
                        .split("::")
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty()),
                );
                path
            })
            .collect();
    }
    vec![head]
}

/// Which modules each module uses.
fn uses(files: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    // Names the crate root re-exports: `pub use module::{A, B};` / `pub use module::A;`.
    let mut reexported: BTreeMap<String, Module> = BTreeMap::new();
    if let Some(root) = files.get(&Vec::new()) {
        for line in root.lines() {
            if let Some(path) = line.trim().strip_prefix("pub use ") {
                for p in paths_at(path) {
                    if p.len() == 2 && files.contains_key(&p[..1].to_vec()) {
                        reexported.insert(p[1].clone(), p[..1].to_vec());
                    }
                }
            }
        }
    }
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in files {
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(module))] {
            let mut from = 0;
            while let Some(at) = text[from..].find(prefix) {
                let start = from + at;
                from = start + prefix.len();
                if start > 0 && text[..start].chars().next_back().is_some_and(ident_start) {
                    continue;
                }
                for path in paths_at(&text[from..]) {
                    let mut full = base.clone();
                    full.extend(path);
                    if let Some(target) = longest_module(files, &full) {
                        if &target != module {
                            out.entry(module.clone()).or_default().insert(target);
                        }
                    } else if let Some(target) = full.first().and_then(|n| reexported.get(n)) {
                        out.entry(module.clone())
                            .or_default()
                            .insert(target.clone());
                    }
                }
            }
        }
    }
    out
}

fn parent(module: &Module) -> Module {
    module[..module.len().saturating_sub(1)].to_vec()
}

fn longest_module(files: &BTreeMap<Module, String>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|m| files.contains_key(m))
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        next: usize,
        found: Vec<Vec<Module>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g Module) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.found.push(component);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    let nodes: BTreeSet<&Module> = graph.keys().chain(graph.values().flatten()).collect();
    for v in nodes {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile_free::Dir {
        let dir = tempfile_free::Dir::new();
        for (path, text) in files {
            let p = dir.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    /// A temporary folder without a dependency (xtask has none).
    mod tempfile_free {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "xtask-cycles-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn finds_circles_between_siblings_at_any_depth_and_through_reexports() {
        let d = tree(&[
            (
                "lib.rs",
                "pub mod a; pub mod b; pub mod c;\npub use c::{Thing};",
            ),
            ("a.rs", "use crate::b::x;"),
            (
                "b.rs",
                "use crate::Thing; // crate::a would not count in a comment",
            ),
            ("c.rs", "use crate::{a::y, b};"),
            ("s.rs", "mod p; mod q;"),
            ("s/p.rs", "use super::q::Z;"),
            ("s/q.rs", "fn f() { crate::s::p::g(); }"),
            ("s/q_tests.rs", "use crate::a;"),
        ]);
        let mut found = cycles(&d.0).unwrap();
        found.sort();
        assert_eq!(found, vec!["a <-> b <-> c", "s::p <-> s::q"]);
    }

    #[test]
    fn a_tree_without_circles_passes() {
        let d = tree(&[
            ("lib.rs", "pub mod a; pub mod b;"),
            (
                "a.rs",
                "use crate::b::x;\n#[cfg(test)]\nmod tests { use crate::a; }",
            ),
            (
                "b.rs",
                "pub fn x() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::y;\n}",
            ),
        ]);
        assert!(cycles(&d.0).unwrap().is_empty());
    }
}
