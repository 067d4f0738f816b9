//! The server's modules form one-way layers (ARCHITECTURE.md, "Layers inside the server"). This
//! test parses the library with `syn` and fails on (a) an import cycle between the modules of one
//! folder (or between top-level modules) and (b) a top-level module that uses a module of its own
//! layer or above, or an item of the crate root. The layer list is read from the drawing in
//! ARCHITECTURE.md, the only place it is written.
//!
//! **What it sees.** The module tree as rustc finds it from `lib.rs` (`mod x;` → `x.rs` or
//! `x/mod.rs`, inline `mod x { … }` such as `mod tests`, as a child module). In every item:
//! `use` trees (grouped and nested over several lines, `self` in a group, renames, globs), and
//! every path in types, expressions, patterns and attributes, including `use` inside function
//! bodies; inside macro calls, every `a::b…` run of identifiers in the tokens. Each path is
//! resolved to the module that defines what it names: `crate::`, `self::`, `super::` chains, names
//! bound by `use` (`use crate as root` then `root::…`, `extern crate self as …`), and
//! re-exports (`pub use`, `pub use x::*`) followed to their source, so an import of
//! `crate::x::Y` that `x` re-exports from `x::z` is an edge to `x::z`.
//!
//! **What it does not see.** Paths that macros generate (derives, `macro_rules!` expansions,
//! `$crate::…`); a single name inside a macro call (`format!("{x}")`); paths in strings
//! (`#[serde(with = "…")]`, doc links); `include!`d files; the binary's `main.rs` (a crate of its
//! own that names the library by its crate name). It refuses rather than skips a `#[path]`
//! module, a file no `mod` reaches, and a file that does not parse. It over-counts on purpose:
//! every `#[cfg]` branch, private imports as if public, a function-local `use` as the module's.
//!
//! `tree` reads the module tree, `paths` the paths each item writes, `resolve` follows them,
//! `rules` holds the layers and the cycle search; `planted` proves each path spelling with a
//! small crate held in strings.

mod paths;
mod planted;
mod resolve;
mod rules;
mod tree;

use std::collections::BTreeSet;
use std::path::Path;

use rules::{problems, Layers};
use tree::{Crate, Tree};

fn real() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    Crate::parse(&Tree::read(&src)).unwrap_or_else(|e| panic!("{e}"))
}

fn real_layers() -> Layers {
    let md = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    Layers::from_architecture(&std::fs::read_to_string(md).unwrap())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_server_keeps_its_layers_and_has_no_cycle() {
    let found = problems(&real(), &real_layers());
    assert!(
        found.is_empty(),
        "the server's module layers are broken:\n{}",
        found.join("\n")
    );
}

/// The check reads the real tree (an empty edge list would pass everything).
#[test]
fn the_check_sees_the_known_edges_of_the_real_tree() {
    let edges: BTreeSet<(String, String)> = real()
        .edges()
        .into_iter()
        .filter(|e| !e.from.is_empty() && !e.to.is_empty())
        .map(|e| (e.from[0].clone(), e.to[0].clone()))
        .collect();
    for (from, to) in [
        ("cli", "startup"),
        ("startup", "http"),
        ("http", "login"),
        ("login", "state"),
        ("state", "keys"),
        ("store", "config"),
        ("config", "domain"),
    ] {
        assert!(
            edges.contains(&(from.to_string(), to.to_string())),
            "no edge {from} → {to} found; the check no longer reads the tree"
        );
    }
}

#[test]
fn the_layer_list_is_the_drawing_in_architecture_md() {
    let layers = real_layers();
    assert_eq!(layers.of["domain"], 0);
    assert_eq!(layers.of["config"], 1);
    assert!(layers.of["cli"] > layers.of["startup"]);
    assert_eq!(layers.of["provider"], layers.of["token"]);
}

#[test]
fn the_module_table_agrees_with_the_drawing() {
    let md = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    let md = std::fs::read_to_string(md).unwrap();
    let found = real_layers().table_disagreements(&md);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn only_the_commands_use_the_mock_xiaomi() {
    let users: BTreeSet<String> = real()
        .externals()
        .into_iter()
        .filter(|(_, krate)| krate == "milogin_mock_xiaomi")
        .map(|(m, _)| m.first().cloned().unwrap_or_else(|| "lib".into()))
        .collect();
    // `lib.rs` only re-exports it for the tests and the benchmark.
    assert_eq!(
        users.iter().map(String::as_str).collect::<Vec<_>>(),
        ["cli", "demo", "lib"],
        "the mock is a dev tool, not part of the login"
    );
}
