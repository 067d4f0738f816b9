//! README.md and ARCHITECTURE.md name files and folders in backticks (`store/queries.rs`,
//! `http/pages/`); each must exist in the repository, so a rename or a deletion that forgets the
//! docs fails here. A name counts when it is a path from the root or the end of one (`oidc.rs`,
//! `login/bind/`). What the build or a run creates (listed in [`MADE`]) and text that only looks
//! like a path (an IP range, a user-agent token) are skipped.

use std::collections::BTreeSet;
use std::path::Path;

/// Written by builds and runs, not committed.
const MADE: &[&str] = &[
    "public/widget/",
    "public/designer/",
    "target/",
    "data/demo/",
    "milogin.toml",
];

/// Backticked text that is not a path.
const NOT_PATHS: &[&str] = &["127.0.0.0/8", "QQ/", "S/widget/milogin.js"];

const EXTENSIONS: &[&str] = &[
    "rs", "md", "toml", "js", "css", "sql", "html", "json", "svg", "sh", "lock", "yml",
];

/// Every file and folder under the repository root, as `a/b.rs` and `a/b/`.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy();
            if matches!(name.as_ref(), "target" | "node_modules" | ".git") {
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if p.is_dir() {
                out.insert(format!("{rel}/"));
                walk(&p, root, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// The backticked spans of `text` that look like a path, with their line numbers.
fn paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, span) in line.split('`').enumerate() {
            let shaped = !span.is_empty()
                && span
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                && !span.starts_with(['.', '/', '-']);
            let ext = span.rsplit_once('.').map(|(_, e)| e);
            let pathlike = span.contains('/') || ext.is_some_and(|e| EXTENSIONS.contains(&e));
            if i % 2 == 1 && shaped && pathlike {
                out.push((n + 1, span.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tree = tree(root);
    let mut missing = Vec::new();
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (line, path) in paths(&text) {
            let made = MADE.iter().any(|m| path.starts_with(m));
            let found = tree
                .iter()
                .any(|t| *t == path || t.ends_with(&format!("/{path}")));
            if !found && !made && !NOT_PATHS.contains(&path.as_str()) {
                missing.push(format!("{doc}:{line}: `{path}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name files that do not exist (renamed or deleted? fix the docs):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scan_finds_paths_and_skips_other_code() {
    let found =
        paths("see `store/queries.rs`, `oidc.rs`, `http/pages/` and `a b`, `x::y`, `--flag`");
    let found: Vec<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(found, ["store/queries.rs", "oidc.rs", "http/pages/"]);
}
