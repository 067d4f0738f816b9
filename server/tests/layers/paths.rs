//! Every path one item writes: `use` trees flattened to their leaves, and a `syn` visitor over
//! types, expressions, patterns, attributes and macro calls' tokens.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::UseTree;

/// A path as written in a module's own code, with where it was seen (for the messages).
pub struct Ref {
    pub path: Vec<String>,
    pub written: String,
}

/// What a `use` leaf does in its module.
pub enum Leaf {
    /// Binds this name (`use a::b` binds `b`, `use a::b as c` binds `c`).
    Name(String),
    /// `use a::*`: every public name of `a`.
    Glob,
    /// `use a::Trait as _`: binds nothing, but still names `a::Trait`.
    Anonymous,
}

/// Flattens a use tree into every leaf's full path: `use a::{self, b::{c as d, *}}` →
/// `a` (binds `a`), `a::b::c` (binds `d`), `a::b` (glob).
pub fn use_leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Leaf)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) if n.ident == "self" => {
            let bound = prefix.last().cloned().unwrap_or_default();
            out.push((prefix.clone(), Leaf::Name(bound)));
        }
        UseTree::Name(n) => {
            let mut full = prefix.clone();
            full.push(n.ident.to_string());
            out.push((full, Leaf::Name(n.ident.to_string())));
        }
        UseTree::Rename(r) => {
            let mut full = prefix.clone();
            if r.ident != "self" {
                full.push(r.ident.to_string());
            }
            let leaf = if r.rename == "_" {
                Leaf::Anonymous
            } else {
                Leaf::Name(r.rename.to_string())
            };
            out.push((full, leaf));
        }
        UseTree::Glob(_) => out.push((prefix.clone(), Leaf::Glob)),
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// Collects every path in an item: types, expressions, patterns, attributes' paths, `use`s
/// inside bodies, and `a::b` token runs inside macro invocations.
pub struct Paths<'a> {
    pub file: &'a str,
    pub out: &'a mut Vec<Ref>,
}

impl<'a, 'ast> Visit<'ast> for Paths<'a> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() {
            let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            self.out.push(Ref {
                written: format!("{}: {}", self.file, segs.join("::")),
                path: segs,
            });
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
        for (full, _) in leaves {
            self.out.push(Ref {
                written: format!("{}: use {}", self.file, full.join("::")),
                path: full,
            });
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        syn::visit::visit_path(self, &m.path);
        token_paths(m.tokens.clone(), self.file, self.out);
    }
}

/// Every `a::b(::c)*` run of identifiers in a macro's tokens, except after `$` (`$crate::…` in
/// a `macro_rules!` body is not ours) or a leading `::` (another crate).
fn token_paths(tokens: TokenStream, file: &str, out: &mut Vec<Ref>) {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let punct = |i: usize| match toks.get(i) {
        Some(TokenTree::Punct(p)) => Some((p.as_char(), p.spacing())),
        _ => None,
    };
    let sep = |i: usize| {
        matches!(punct(i), Some((':', Spacing::Joint))) && matches!(punct(i + 1), Some((':', _)))
    };
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            TokenTree::Group(g) => token_paths(g.stream(), file, out),
            TokenTree::Ident(id) => {
                let foreign =
                    i > 0 && (matches!(punct(i - 1), Some(('$', _))) || (i > 1 && sep(i - 2)));
                let mut segs = vec![id.to_string()];
                while sep(i + 1) {
                    let Some(TokenTree::Ident(next)) = toks.get(i + 3) else {
                        break;
                    };
                    segs.push(next.to_string());
                    i += 3;
                }
                if segs.len() > 1 && !foreign {
                    out.push(Ref {
                        written: format!("{file}: {} (in a macro call)", segs.join("::")),
                        path: segs,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
}
