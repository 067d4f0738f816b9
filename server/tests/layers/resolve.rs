//! Resolution: what a path written in a module names, followed through `crate`/`self`/`super`,
//! `use` bindings and re-exports (`pub use`, globs) to the module that defines it; the edges
//! between modules that follow.

use std::collections::{BTreeMap, BTreeSet};

use super::tree::{Crate, ModPath};

/// What a path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Something defined in (or the module itself at) this module.
    Module(ModPath),
    /// Another crate's item, reached through a `use` in `via` (which is then what the path names).
    External { krate: String, via: ModPath },
}

/// One edge and the first place it is written.
pub struct Edge {
    pub from: ModPath,
    pub to: ModPath,
    pub witness: String,
}

impl Crate {
    /// What `path`, written in module `here`, names; `None` for names that are not ours and not
    /// imported (locals, generics, the prelude, other crates written out).
    fn resolve(&self, here: &ModPath, path: &[String], depth: usize) -> Option<Target> {
        if depth > 32 || path.is_empty() {
            return None;
        }
        let (start, rest) = match path[0].as_str() {
            "crate" => (Target::Module(Vec::new()), &path[1..]),
            "self" => (Target::Module(here.clone()), &path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                if ups > here.len() {
                    return None;
                }
                (
                    Target::Module(here[..here.len() - ups].to_vec()),
                    &path[ups..],
                )
            }
            _ => (self.member(here, &path[0], depth)?, &path[1..]),
        };
        self.walk(start, rest, depth)
    }

    /// From `at`, follow `rest` segment by segment until an item (or another crate) is reached.
    fn walk(&self, mut at: Target, rest: &[String], depth: usize) -> Option<Target> {
        for seg in rest {
            let Target::Module(m) = &at else {
                return Some(at);
            };
            match self.member(m, seg, depth) {
                Some(next) => at = next,
                // An item defined here (or a name rustc would reject): the path stops here.
                None => return Some(at),
            }
            if let Target::Module(m) = &at {
                // Stop at a non-module item: what follows are its variants or associated items.
                if !self.modules.contains_key(m) {
                    return Some(at);
                }
            }
        }
        Some(at)
    }

    /// What `name` means inside module `m`: a child module, an item of `m` (returned as the
    /// path `m::name`, which is not a module), or an import followed to its source.
    fn member(&self, m: &ModPath, name: &str, depth: usize) -> Option<Target> {
        let module = self.modules.get(m)?;
        let mut p = m.clone();
        p.push(name.to_string());
        if module.children.contains(name) || module.items.contains(name) {
            return Some(Target::Module(p));
        }
        if let Some(bindings) = module.bindings.get(name) {
            for b in bindings {
                match self.resolve(m, b, depth + 1) {
                    Some(Target::Module(t)) => return Some(Target::Module(t)),
                    Some(Target::External { krate, .. }) => {
                        return Some(Target::External {
                            krate,
                            via: m.clone(),
                        })
                    }
                    None => {}
                }
            }
            // An import of another crate written out (`use cookie::SameSite`).
            let krate = bindings[0][0].clone();
            return Some(Target::External {
                krate,
                via: m.clone(),
            });
        }
        for g in &module.globs {
            if let Some(Target::Module(src)) = self.resolve(m, g, depth + 1) {
                if self.modules.contains_key(&src) {
                    if let Some(t) = self.member(&src, name, depth + 1) {
                        return Some(t);
                    }
                }
            }
        }
        None
    }

    /// The module a target lands in.
    fn module_of(&self, t: &Target) -> ModPath {
        match t {
            Target::Module(m) if self.modules.contains_key(m) => m.clone(),
            Target::Module(m) => m[..m.len() - 1].to_vec(),
            Target::External { via, .. } => via.clone(),
        }
    }

    /// Every edge between two different modules, with the first place each is written.
    pub fn edges(&self) -> Vec<Edge> {
        let mut out: BTreeMap<(ModPath, ModPath), String> = BTreeMap::new();
        for (here, m) in &self.modules {
            for r in &m.refs {
                if let Some(t) = self.resolve(here, &r.path, 0) {
                    // Naming the root itself (`use crate as root`) uses none of its items.
                    if t == Target::Module(Vec::new()) {
                        continue;
                    }
                    let to = self.module_of(&t);
                    if &to != here {
                        out.entry((here.clone(), to))
                            .or_insert_with(|| r.written.clone());
                    }
                }
            }
        }
        out.into_iter()
            .map(|((from, to), witness)| Edge { from, to, witness })
            .collect()
    }

    /// The other crates each module names (`milogin_mock_xiaomi::…`, or through a re-export), and
    /// the first segment of every path that is not ours (locals, the prelude: harmless here).
    pub fn externals(&self) -> BTreeSet<(ModPath, String)> {
        let mut out = BTreeSet::new();
        for (here, m) in &self.modules {
            for r in &m.refs {
                match self.resolve(here, &r.path, 0) {
                    Some(Target::External { krate, .. }) => {
                        out.insert((here.clone(), krate));
                    }
                    None => {
                        out.insert((here.clone(), r.path[0].clone()));
                    }
                    _ => {}
                }
            }
        }
        out
    }
}
