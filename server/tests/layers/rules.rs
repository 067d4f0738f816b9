//! The rules: the layer list read from ARCHITECTURE.md's drawing, wrong-way imports against it,
//! and cycles among sibling modules.

use std::collections::{BTreeMap, BTreeSet};

use super::resolve::Edge;
use super::tree::{show, Crate, ModPath};

/// The top-level modules by layer, read from ARCHITECTURE.md.
pub struct Layers {
    pub of: BTreeMap<String, u32>,
}

impl Layers {
    /// Reads the drawing in the first fenced block after the `## Layers inside the server`
    /// heading: each line that starts with a number lists that layer's modules, separated by
    /// two spaces (a trailing `/` marks a folder); three or more spaces end the list (what
    /// follows is a description).
    pub fn from_architecture(md: &str) -> Result<Layers, String> {
        const HEADING: &str = "## Layers inside the server";
        let after = md
            .split_once(HEADING)
            .ok_or_else(|| format!("ARCHITECTURE.md has no `{HEADING}` heading"))?
            .1;
        let block = after
            .split_once("```")
            .and_then(|(_, b)| b.split_once('\n'))
            .and_then(|(_, b)| b.split_once("```"))
            .ok_or_else(|| format!("no fenced drawing after `{HEADING}` in ARCHITECTURE.md"))?
            .0;
        let mut of = BTreeMap::new();
        for line in block.lines() {
            let t = line.trim_start();
            let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                continue;
            }
            let layer: u32 = digits.parse().unwrap();
            let rest = t[digits.len()..].trim_start();
            let list = rest.split("   ").next().unwrap_or("");
            for name in list.split_whitespace() {
                let name = name.trim_end_matches('/');
                let ok = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    return Err(format!(
                        "ARCHITECTURE.md's layer drawing: `{name}` in line `{line}` is not a \
                         module name (modules are separated by two spaces; three or more end the \
                         list)"
                    ));
                }
                if let Some(old) = of.insert(name.to_string(), layer) {
                    return Err(format!(
                        "ARCHITECTURE.md's layer drawing lists `{name}` twice (layers {old} and {layer})"
                    ));
                }
            }
        }
        if of.is_empty() {
            return Err("ARCHITECTURE.md's layer drawing lists no modules".into());
        }
        Ok(Layers { of })
    }
}

impl Layers {
    /// Where the module table below the drawing disagrees with it: a row's "may use" (its last
    /// cell: `—`, `layer 0`, `layers 0–k`, or `everything below`) must end one layer below the
    /// module's own, and every module of the drawing needs a row.
    pub fn table_disagreements(&self, md: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rows = BTreeSet::new();
        for line in md.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let names: Vec<&str> = cells[0]
                .split(',')
                .map(|n| n.trim().trim_matches('`').trim_end_matches('/'))
                .collect();
            if !names.iter().all(|n| self.of.contains_key(*n)) {
                continue; // another table
            }
            let may_use = cells[cells.len() - 1];
            let below: Option<u32> = match may_use {
                "—" => Some(0),
                "everything below" => None,
                other => other
                    .rsplit(['–', ' '])
                    .next()
                    .and_then(|k| k.parse::<u32>().ok())
                    .map(|k| k + 1),
            };
            for name in names {
                rows.insert(name.to_string());
                let own = self.of[name];
                if below.is_some_and(|b| b != own) {
                    out.push(format!(
                        "ARCHITECTURE.md's table says `{name}` may use \"{may_use}\", but the \
                         drawing puts it in layer {own}: make them agree"
                    ));
                }
            }
        }
        for name in self.of.keys().filter(|n| !rows.contains(*n)) {
            out.push(format!(
                "ARCHITECTURE.md's table has no row for `{name}` (it is in the drawing)"
            ));
        }
        out
    }
}

/// Every problem, each a sentence: top-level modules missing from (or stale in) the layers, an
/// import of the same or a higher layer or of the crate root, a cycle among the modules of one
/// folder (or among the top-level modules).
pub fn problems(krate: &Crate, layers: &Layers) -> Vec<String> {
    let mut out = Vec::new();
    let top: BTreeSet<String> = krate
        .modules()
        .filter(|m| m.len() == 1)
        .map(|m| m[0].clone())
        .collect();
    for m in &top {
        if !layers.of.contains_key(m) {
            out.push(format!(
                "module `{m}` is in no layer: add it to the drawing in ARCHITECTURE.md \
                 (\"Layers inside the server\") and its row to the table below it"
            ));
        }
    }
    for m in layers.of.keys() {
        if !top.contains(m) {
            out.push(format!(
                "ARCHITECTURE.md's layer drawing names `{m}`, which is not a top-level module of \
                 the crate: remove or rename it"
            ));
        }
    }
    let edges = krate.edges();
    for e in &edges {
        let Some(a) = e.from.first() else {
            continue; // the crate root may name anything
        };
        let Some(b) = e.to.first() else {
            out.push(format!(
                "{} uses the crate root ({}); name the module that defines the item instead",
                show(&e.from),
                e.witness
            ));
            continue;
        };
        if a == b {
            continue;
        }
        if let (Some(la), Some(lb)) = (layers.of.get(a), layers.of.get(b)) {
            if lb >= la {
                out.push(format!(
                    "{} (layer {la}) uses {} (layer {lb}): a module may use only lower layers \
                     (ARCHITECTURE.md); at {}",
                    show(&e.from),
                    show(&e.to),
                    e.witness
                ));
            }
        }
    }
    out.extend(cycles(&edges));
    out
}

/// The siblings (below their lowest common ancestor) an edge connects; `None` when one module
/// contains the other (a module and its own parent or child).
fn siblings(from: &[String], to: &[String]) -> Option<(ModPath, ModPath)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    (common < from.len() && common < to.len())
        .then(|| (from[..=common].to_vec(), to[..=common].to_vec()))
}

/// One message per cycle found among siblings, with the place each step is written.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut graph: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
    for e in edges {
        if let Some((a, b)) = siblings(&e.from, &e.to) {
            graph
                .entry(a)
                .or_default()
                .entry(b)
                .or_insert_with(|| e.witness.clone());
        }
    }
    fn visit(
        n: &ModPath,
        g: &BTreeMap<ModPath, BTreeMap<ModPath, String>>,
        stack: &mut Vec<ModPath>,
        done: &mut BTreeSet<ModPath>,
        out: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut ring: Vec<ModPath> = stack[i..].to_vec();
            ring.push(n.clone());
            let steps: Vec<String> = ring
                .windows(2)
                .map(|w| format!("  {} → {}  ({})", show(&w[0]), show(&w[1]), g[&w[0]][&w[1]]))
                .collect();
            out.push(format!(
                "import cycle: {}\n{}",
                ring.iter().map(|m| show(m)).collect::<Vec<_>>().join(" → "),
                steps.join("\n")
            ));
            return;
        }
        if !done.insert(n.clone()) {
            return;
        }
        stack.push(n.clone());
        for m in g.get(n).into_iter().flat_map(|s| s.keys()) {
            visit(m, g, stack, done, out);
        }
        stack.pop();
    }
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, &graph, &mut Vec::new(), &mut done, &mut out);
    }
    out
}
