//! The server's modules form one-way layers (ARCHITECTURE.md, "Layers inside the server"): this
//! test reads every `crate::…` and `super::…` path in `server/src` and fails when a top-level
//! module imports one of its own layer or above, or when the modules inside one folder (the
//! files of `login/`, of `http/`, …) import each other in a cycle.
//!
//! A text scan, not a compiler pass, because it is cheap and needs no extra tool; it sees every
//! path written out (`use crate::x`, `crate::x::f()`, `use super::{a, b}`), which is how this
//! crate refers to its modules. Comments are skipped; an inline `mod tests { … }` is treated as
//! one level below its file, so its `use super::*` means the file itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer. A module may use only modules of a *lower* layer, so the
/// top-level graph is acyclic by construction. Keep in step with ARCHITECTURE.md.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: pure values and primitives, no module of ours below them.
    ("domain", 0),
    ("crypto", 0),
    ("metrics", 0),
    ("telemetry", 0),
    ("config", 1),
    ("store", 2),
    // The parts the login uses, each on its own: none knows the others.
    ("accounts", 3),
    ("limits", 3),
    ("provider", 3),
    ("token", 3),
    ("oidc", 3),
    ("keys", 4),
    ("state", 5),
    ("login", 6),
    ("http", 7),
    ("startup", 8),
    ("demo", 9),
    ("cli", 10),
    // The crate root and the binary's entry: they may name anything.
    ("lib", 11),
    ("main", 11),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `login/bind.rs` → `[login, bind]`, `http/mod.rs` → `[http]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into()).collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every module path a line refers to (the first segments after `crate::`/`super::`, with
/// `{a, b}` groups expanded one level), resolved against `here`.
fn references(line: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", here[..here.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            // `$crate::`, `my_crate::` are not ours.
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let mut path = base.clone();
            let mut tail = rest;
            loop {
                let id = ident(tail);
                if id.is_empty() {
                    break;
                }
                path.push(id.clone());
                tail = &tail[id.len()..];
                match tail.strip_prefix("::") {
                    Some(t) => tail = t,
                    None => break,
                }
            }
            if let Some(group) = tail.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let id = ident(item.trim());
                    if !id.is_empty() && id != "self" {
                        let mut p = path.clone();
                        p.push(id);
                        out.push(p);
                    }
                }
            }
            out.push(path);
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module file.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// Edges between modules, from every file.
fn edges() -> BTreeSet<(Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut edges = BTreeSet::new();
    for f in &files {
        let file_module = module_of(f);
        let mut here = file_module.clone();
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let code = line.split("//").next().unwrap_or("");
            let t = code.trim_start();
            if (t.starts_with("mod ") || t.starts_with("pub mod ")) && t.trim_end().ends_with('{') {
                here = file_module.clone();
                here.push("<inline>".into());
            }
            for r in references(code, &here) {
                if let Some(to) = resolve(&r, &modules) {
                    if to != file_module {
                        edges.insert((file_module.clone(), to));
                    }
                }
            }
        }
    }
    edges
}

/// The pair of siblings an edge connects (below their common parent), if it is not a module
/// using its own parent or child.
fn siblings(from: &[String], to: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    (common < from.len() && common < to.len())
        .then(|| (from[..=common].to_vec(), to[..=common].to_vec()))
}

fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        n: &Vec<String>,
        g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c: Vec<String> = stack[i..].iter().map(|m| m.join("::")).collect();
            c.push(n.join("::"));
            return Some(c);
        }
        if !done.insert(n.clone()) {
            return None;
        }
        stack.push(n.clone());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    g_keys(graph)
        .iter()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn g_keys(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    g.keys().cloned().collect()
}

#[test]
fn top_level_modules_import_only_lower_layers() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut bad = Vec::new();
    let mut unknown = BTreeSet::new();
    for (from, to) in edges() {
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        match (layer.get(a.as_str()), layer.get(b.as_str())) {
            (Some(la), Some(lb)) if lb < la => {}
            (Some(la), Some(lb)) => bad.push(format!(
                "{} (layer {la}) uses {} (layer {lb})",
                from.join("::"),
                to.join("::")
            )),
            (None, _) => drop(unknown.insert(a.clone())),
            (_, None) => drop(unknown.insert(b.clone())),
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS in server/tests/layers.rs (add them, and to ARCHITECTURE.md): {unknown:?}"
    );
    assert!(
        bad.is_empty(),
        "imports against the layers (a module may use only lower layers; see ARCHITECTURE.md):\n{}",
        bad.join("\n")
    );
}

#[test]
fn modules_inside_a_folder_do_not_import_each_other_in_a_cycle() {
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, to) in edges() {
        if let Some((a, b)) = siblings(&from, &to) {
            if a.len() > 1 {
                graph.entry(a).or_default().insert(b);
            }
        }
    }
    assert_eq!(
        find_cycle(&graph),
        None,
        "an import cycle between sibling modules"
    );
}

#[test]
fn the_scan_sees_paths_and_groups() {
    let here = vec!["login".to_string(), "bind".to_string()];
    let r = references(
        "use crate::store::{Attempt, Link}; super::issue::issue(x)",
        &here,
    );
    assert!(r.contains(&vec!["store".into(), "Attempt".into()]));
    assert!(r.contains(&vec!["login".into(), "issue".into(), "issue".into()]));
    assert!(references("use $crate::x; my_crate::y", &here).is_empty());
    // The scan finds the known edges, so an empty result is not a broken scan.
    let e = edges();
    assert!(e.contains(&(
        vec!["login".into(), "finish".into()],
        vec!["login".into(), "bind".into()]
    )));
    assert!(e.contains(&(
        vec!["http".into(), "login".into()],
        vec!["login".into(), "start".into()]
    )));
}

#[test]
fn only_the_commands_use_the_mock_xiaomi() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let users: BTreeSet<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f).unwrap().lines().any(|l| {
                l.split("//")
                    .next()
                    .unwrap_or("")
                    .contains("milogin_mock_xiaomi")
            })
        })
        .map(|f| module_of(f)[0].clone())
        .collect();
    // `lib.rs` only re-exports it for the tests and the benchmark.
    assert_eq!(
        users.iter().map(String::as_str).collect::<Vec<_>>(),
        ["cli", "demo", "lib"],
        "the mock is a dev tool, not part of the login"
    );
}
