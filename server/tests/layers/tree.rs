//! The library's module tree as rustc finds it from `lib.rs` (`mod x;` → `x.rs` or `x/mod.rs`,
//! inline `mod x { … }`), each module with its children, the items it defines, the names its
//! `use`s bind and every path its own code writes ([`super::paths`]). It works on a [`Tree`] of
//! file texts, so the planted cases run it on small crates held in strings and the real test on
//! `server/src`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::visit::Visit;
use syn::Item;

use super::paths::{use_leaves, Leaf, Paths, Ref};

/// A module's path from the crate root: `[]` is `lib.rs`, `["login", "bind"]` is `login/bind`.
pub type ModPath = Vec<String>;

/// `login::bind`, or `crate` for the root.
pub fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The source files of one library crate: path relative to `src/` (with `/`) → text.
#[derive(Default)]
pub struct Tree {
    pub files: BTreeMap<String, String>,
}

impl Tree {
    /// A tree from `(path, text)` pairs, for the planted cases.
    pub fn of(files: &[(&str, &str)]) -> Tree {
        Tree {
            files: files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        }
    }

    /// Every `.rs` file under `dir`.
    pub fn read(dir: &Path) -> Tree {
        fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let rel = p
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(rel, std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(dir, dir, &mut files);
        Tree { files }
    }
}

/// One module: what it holds and what its own code (not its child modules') writes.
#[derive(Default)]
pub struct Module {
    pub children: BTreeSet<String>,
    /// Names of the items defined here (functions, types, traits, consts, statics, macros).
    pub items: BTreeSet<String>,
    /// `use a::b as c` → `c` → `[a::b]`, the path as written, resolved from this module (every
    /// namespace; the first that resolves wins).
    pub bindings: BTreeMap<String, Vec<Vec<String>>>,
    /// `use a::b::*` → `a::b`.
    pub globs: Vec<Vec<String>>,
    pub refs: Vec<Ref>,
}

/// The crate's modules, parsed.
pub struct Crate {
    pub modules: BTreeMap<ModPath, Module>,
}

impl Crate {
    /// Parses the library rooted at `lib.rs`. Errors: a file that does not parse, a `mod x;`
    /// with no file, a `#[path]` module (not followed), a `.rs` file outside the module tree
    /// (other than the binary's `main.rs`, a crate of its own): each would hide paths.
    pub fn parse(tree: &Tree) -> Result<Crate, String> {
        let mut c = Crate {
            modules: BTreeMap::new(),
        };
        let mut seen = BTreeSet::new();
        c.load_file(tree, "lib.rs", Vec::new(), "", &mut seen)?;
        let orphans: Vec<&String> = tree
            .files
            .keys()
            .filter(|f| !seen.contains(*f) && f.as_str() != "main.rs")
            .collect();
        if !orphans.is_empty() {
            return Err(format!(
                "files outside the module tree (no `mod` reaches them, so the check cannot see \
                 them; declare or delete them): {orphans:?}"
            ));
        }
        Ok(c)
    }

    fn load_file(
        &mut self,
        tree: &Tree,
        file: &str,
        path: ModPath,
        child_dir: &str,
        seen: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        let text = tree
            .files
            .get(file)
            .ok_or_else(|| format!("no file {file}"))?;
        let parsed = syn::parse_file(text).map_err(|e| format!("{file} does not parse: {e}"))?;
        seen.insert(file.to_string());
        self.load_items(tree, file, path, child_dir, &parsed.items, seen)
    }

    fn load_items(
        &mut self,
        tree: &Tree,
        file: &str,
        path: ModPath,
        child_dir: &str,
        items: &[Item],
        seen: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        let mut m = Module::default();
        let mut inner = Vec::new();
        for item in items {
            match item {
                Item::Mod(md) => {
                    let name = md.ident.to_string();
                    if md.attrs.iter().any(|a| a.path().is_ident("path")) {
                        return Err(format!(
                            "{file}: `#[path]` on `mod {name}` is not followed by the layer check; \
                             move the file to where rustc looks by default"
                        ));
                    }
                    m.children.insert(name.clone());
                    inner.push((name, md));
                }
                Item::Use(u) => {
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                    for (full, leaf) in leaves {
                        let written = format!("{file}: use {}", full.join("::"));
                        match leaf {
                            Leaf::Name(name) => {
                                m.bindings.entry(name).or_default().push(full.clone())
                            }
                            Leaf::Glob => m.globs.push(full.clone()),
                            Leaf::Anonymous => {}
                        }
                        m.refs.push(Ref {
                            path: full,
                            written,
                        });
                    }
                }
                Item::ExternCrate(e) => {
                    let name = e
                        .rename
                        .as_ref()
                        .map_or(e.ident.to_string(), |(_, r)| r.to_string());
                    let target = if e.ident == "self" {
                        "crate".to_string()
                    } else {
                        e.ident.to_string()
                    };
                    m.bindings.entry(name).or_default().push(vec![target]);
                }
                other => {
                    if let Some(name) = item_name(other) {
                        m.items.insert(name);
                    }
                    let mut v = Paths {
                        file,
                        out: &mut m.refs,
                    };
                    v.visit_item(other);
                }
            }
        }
        self.modules.insert(path.clone(), m);
        for (name, md) in inner {
            let mut p = path.clone();
            p.push(name.clone());
            let dir = join(child_dir, &name);
            match &md.content {
                Some((_, items)) => self.load_items(tree, file, p, &dir, items, seen)?,
                None => {
                    let flat = join(child_dir, &format!("{name}.rs"));
                    let nested = join(&dir, "mod.rs");
                    if tree.files.contains_key(&flat) {
                        self.load_file(tree, &flat, p, &dir, seen)?;
                    } else if tree.files.contains_key(&nested) {
                        self.load_file(tree, &nested, p, &dir, seen)?;
                    } else {
                        return Err(format!(
                            "{file}: `mod {name};` but neither {flat} nor {nested} exists"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every module path in the crate.
    pub fn modules(&self) -> impl Iterator<Item = &ModPath> {
        self.modules.keys()
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The name an item defines in its module's namespace, if any.
fn item_name(item: &Item) -> Option<String> {
    Some(
        match item {
            Item::Const(i) => &i.ident,
            Item::Enum(i) => &i.ident,
            Item::Fn(i) => &i.sig.ident,
            Item::Macro(i) => i.ident.as_ref()?,
            Item::Static(i) => &i.ident,
            Item::Struct(i) => &i.ident,
            Item::Trait(i) => &i.ident,
            Item::TraitAlias(i) => &i.ident,
            Item::Type(i) => &i.ident,
            Item::Union(i) => &i.ident,
            _ => return None,
        }
        .to_string(),
    )
}
