//! Planted cases: small crates held in strings, each with one wrong-way import or one cycle
//! written in one path spelling, and the check must name it. Each spelling is the *only*
//! reference in its crate, so a spelling the check cannot resolve leaves the crate clean and
//! fails its case.

use super::rules::{problems, Layers};
use super::tree::{Crate, Tree};

/// Two layers: `high` (1) above `low` (0), so `low` must not use `high`.
const DRAWING: &str = "# x\n\n## Layers inside the server\n\ntext\n\n```\n  1  high          the top\n  0  low/   below it\n```\n";

const HIGH: &str = "pub struct Thing;\npub const ANSWER: u8 = 42;\npub fn go() {}\npub mod inner { pub struct Deep; }\n";

fn run(files: &[(&str, &str)], drawing: &str) -> Vec<String> {
    let krate = Crate::parse(&Tree::of(files)).unwrap_or_else(|e| panic!("{e}"));
    problems(&krate, &Layers::from_architecture(drawing).unwrap())
}

/// The problems of a crate whose `low` module is `low` (plus any `extra` files).
fn low_is(low: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let mut files = vec![
        ("lib.rs", "pub mod high;\npub mod low;\n"),
        ("high.rs", HIGH),
        ("low.rs", low),
    ];
    files.extend_from_slice(extra);
    run(&files, DRAWING)
}

/// Exactly one problem: `from` (layer 0) uses `to` (layer 1).
#[track_caller]
fn caught(found: Vec<String>, from: &str, to: &str) {
    caught_in("", found, from, to);
}

/// [`caught`], naming the case of a table.
#[track_caller]
fn caught_in(case: &str, found: Vec<String>, from: &str, to: &str) {
    let want = format!("{from} (layer 0) uses {to} (layer 1)");
    assert!(
        found.len() == 1 && found[0].starts_with(&want),
        "{case}: want one problem starting `{want}`, found {found:#?}"
    );
}

#[test]
fn a_plain_use() {
    caught(low_is("use crate::high::Thing;", &[]), "low", "high");
}

#[test]
fn a_grouped_nested_use_over_several_lines() {
    let low =
        "use crate::{\n    high::{\n        inner::{\n            Deep,\n        },\n    },\n};\n";
    caught(low_is(low, &[]), "low", "high::inner");
}

#[test]
fn self_in_a_group() {
    caught(low_is("use crate::high::{self};", &[]), "low", "high");
}

#[test]
fn a_full_path_in_a_signature() {
    caught(
        low_is("pub fn f(_: crate::high::Thing) {}", &[]),
        "low",
        "high",
    );
}

#[test]
fn a_full_path_in_a_generic_argument() {
    caught(
        low_is(
            "pub fn f() -> Vec<Option<crate::high::Thing>> { Vec::new() }",
            &[],
        ),
        "low",
        "high",
    );
}

#[test]
fn a_full_path_in_an_expression() {
    caught(
        low_is("pub fn f() { crate::high::go() }", &[]),
        "low",
        "high",
    );
}

#[test]
fn super_in_an_expression() {
    caught(
        low_is("pub fn f() { super::high::go(); }", &[]),
        "low",
        "high",
    );
}

#[test]
fn super_super_from_a_nested_file() {
    let found = low_is(
        "pub mod a;",
        &[("low/a.rs", "pub fn f() { super::super::high::go(); }")],
    );
    caught(found, "low::a", "high");
}

#[test]
fn super_super_from_an_inline_module() {
    let low = "mod tests {\n    mod deeper {\n        fn f() { super::super::super::high::go(); }\n    }\n}\n";
    caught(low_is(low, &[]), "low::tests::deeper", "high");
}

#[test]
fn the_crate_renamed() {
    caught(
        low_is("use crate as root;\npub fn f() { root::high::go(); }", &[]),
        "low",
        "high",
    );
}

#[test]
fn the_crate_renamed_by_extern_crate_self() {
    caught(
        low_is(
            "extern crate self as me;\npub fn f() { me::high::go(); }",
            &[],
        ),
        "low",
        "high",
    );
}

#[test]
fn a_use_inside_a_function_body() {
    caught(
        low_is("pub fn f() { use crate::high::go; go(); }", &[]),
        "low",
        "high",
    );
}

#[test]
fn a_path_inside_a_macro_call() {
    caught(
        low_is(
            "pub fn f() -> String { format!(\"{}\", crate::high::ANSWER) }",
            &[],
        ),
        "low",
        "high",
    );
}

#[test]
fn a_path_in_a_pattern() {
    caught(
        low_is(
            "pub fn f(n: u8) -> bool { match n { crate::high::ANSWER => true, _ => false } }",
            &[],
        ),
        "low",
        "high",
    );
}

#[test]
fn a_path_inside_a_macro_pattern() {
    let files = [
        ("lib.rs", "pub mod high;\npub mod low;\n"),
        ("high.rs", "pub enum E { A, B }"),
        (
            "low.rs",
            "pub fn f<T>(e: T) -> bool { matches!(e, crate::high::E::A) }",
        ),
    ];
    caught(run(&files, DRAWING), "low", "high");
}

/// A small crate: `(path, text)` per file.
type Files = &'static [(&'static str, &'static str)];

/// Re-exports are followed to the module that defines the item: (case, `lib.rs` and `high`'s
/// files, `low.rs`, the module the edge must name).
const RE_EXPORTS: &[(&str, Files, &str, &str)] = &[
    (
        "in the root",
        &[
            (
                "lib.rs",
                "pub mod high;\npub mod low;\npub use high::Thing;\n",
            ),
            ("high.rs", HIGH),
        ],
        "use crate::Thing;",
        "high",
    ),
    (
        "in the parent: an edge to its source",
        &[
            ("lib.rs", "pub mod high;\npub mod low;\n"),
            ("high/mod.rs", "mod z;\npub use z::Thing;\n"),
            ("high/z.rs", "pub struct Thing;"),
        ],
        "use crate::high::Thing;",
        "high::z",
    ),
    (
        "a glob, then a rename, two levels down",
        &[
            ("lib.rs", "pub mod high;\npub mod low;\n"),
            ("high/mod.rs", "mod y;\npub use self::y::*;\n"),
            ("high/y/mod.rs", "mod z;\npub use z::Thing as Renamed;\n"),
            ("high/y/z.rs", "pub struct Thing;"),
        ],
        "pub fn f(_: &crate::high::Renamed) {}",
        "high::y::z",
    ),
];

#[test]
fn re_exports_are_followed_to_their_source() {
    for (case, files, low, to) in RE_EXPORTS {
        let mut all = files.to_vec();
        all.push(("low.rs", low));
        caught_in(case, run(&all, DRAWING), "low", to);
    }
}

#[test]
fn an_imported_module_used_by_its_name() {
    caught(
        low_is("use super::high as h;\npub fn f() { h::go(); }", &[]),
        "low",
        "high",
    );
}

#[test]
fn an_item_of_the_crate_root() {
    let files = [
        (
            "lib.rs",
            "pub mod high;\npub mod low;\npub fn at_root() {}\n",
        ),
        ("high.rs", HIGH),
        ("low.rs", "pub fn f() { crate::at_root() }"),
    ];
    let found = run(&files, DRAWING);
    assert!(
        found.len() == 1 && found[0].starts_with("low uses the crate root"),
        "{found:#?}"
    );
}

/// What is not ours is not an edge: locals, strings, comments, `$crate`, other crates; and
/// the right direction is allowed.
#[test]
fn a_clean_crate_has_no_problem() {
    let low = r#"
        //! crate::high in a doc comment
        /// [`crate::high::go`] in a doc link
        pub fn f(high: u8) -> u8 {
            let _ = "crate::high::go()"; // crate::high::go()
            let _ = other_crate::high::go;
            let _ = ::high::go;
            high
        }
        #[macro_export]
        macro_rules! m { () => { $crate::high::go() } }
    "#;
    let high = "use crate::low::f;\nuse super::low;\npub fn go() { f(1); low::f(2); }";
    let files = [
        ("lib.rs", "pub mod high;\npub mod low;\n"),
        ("high.rs", high),
        ("low.rs", low),
    ];
    assert_eq!(run(&files, DRAWING), Vec::<String>::new());
}

/// `m::y` uses `m::x`; `x` is then planted with one spelling of a use of `y`.
fn cycle_with(x: &str, m_extra: &str) -> Vec<String> {
    let m = format!("pub mod x;\npub mod y;\n{m_extra}");
    let files = [
        ("lib.rs", "pub mod m;\n"),
        ("m/mod.rs", m.as_str()),
        ("m/x.rs", x),
        ("m/y.rs", "pub struct Thing;\npub fn g() { super::x::f() }"),
    ];
    run(&files, "## Layers inside the server\n```\n0  m\n```\n")
}

#[track_caller]
fn cycle_caught(found: Vec<String>) {
    assert!(
        found.len() == 1 && found[0].starts_with("import cycle: m::x → m::y → m::x"),
        "want the cycle m::x → m::y → m::x, found {found:#?}"
    );
}

#[test]
fn a_cycle_through_super() {
    cycle_caught(cycle_with("pub fn f() {}\nuse super::y::Thing;", ""));
}

#[test]
fn a_cycle_through_a_parent_re_export_written_with_self() {
    cycle_caught(cycle_with(
        "pub fn f() {}\nuse super::Thing;",
        "pub use self::y::Thing;",
    ));
}

#[test]
fn a_cycle_through_a_multi_line_group() {
    let x = "pub fn f() {}\nuse crate::{\n    m::{\n        y::{\n            self,\n            Thing,\n        },\n    },\n};\n";
    cycle_caught(cycle_with(x, ""));
}

#[test]
fn a_cycle_from_a_tests_module_through_super_super() {
    let x = "pub fn f() {}\nmod tests {\n    fn t() { super::super::y::g(); }\n}\n";
    cycle_caught(cycle_with(x, ""));
}

#[test]
fn a_cycle_through_a_renamed_crate_in_a_body() {
    let x = "use crate as root;\npub fn f() { let _ = root::m::y::Thing; }";
    cycle_caught(cycle_with(x, ""));
}

#[test]
fn no_cycle_without_the_planted_edge() {
    assert_eq!(cycle_with("pub fn f() {}", ""), Vec::<String>::new());
}

#[test]
fn a_module_missing_from_the_drawing_and_a_stale_name_in_it() {
    let files = [
        ("lib.rs", "pub mod high;\npub mod extra;\n"),
        ("high.rs", ""),
        ("extra.rs", ""),
    ];
    let found = run(&files, DRAWING);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("module `extra` is in no layer")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("names `low`, which is not a top-level module")),
        "{found:#?}"
    );
}

#[test]
fn a_drawing_that_cannot_be_read_is_refused() {
    let bad = "## Layers inside the server\n```\n 1  high  (none)\n```\n";
    let err = Layers::from_architecture(bad).err().unwrap();
    assert!(err.contains("`(none)` in line"), "{err}");
    assert!(Layers::from_architecture("no heading").is_err());
}

#[test]
fn a_table_row_that_disagrees_with_the_drawing() {
    let layers = Layers::from_architecture(DRAWING).unwrap();
    let md = "| module | job | may use |\n|---|---|---|\n| `high` | top | layers 0–1 |\n| `low` | x | — |\n";
    let found = layers.table_disagreements(md);
    assert!(
        found.len() == 1
            && found[0].contains("`high` may use \"layers 0–1\"")
            && found[0].contains("layer 1"),
        "{found:#?}"
    );
    let good = md.replace("layers 0–1", "layer 0");
    assert_eq!(layers.table_disagreements(&good), Vec::<String>::new());
    let missing = "| `high` | top | layer 0 |\n";
    assert!(layers.table_disagreements(missing)[0].contains("no row for `low`"));
}

#[test]
fn what_the_check_cannot_follow_is_refused() {
    let path = Tree::of(&[
        ("lib.rs", "#[path = \"elsewhere.rs\"] mod a;"),
        ("elsewhere.rs", ""),
    ]);
    assert!(Crate::parse(&path).err().unwrap().contains("`#[path]`"));
    let orphan = Tree::of(&[("lib.rs", ""), ("forgotten.rs", "")]);
    assert!(Crate::parse(&orphan)
        .err()
        .unwrap()
        .contains("forgotten.rs"));
    let broken = Tree::of(&[("lib.rs", "fn (")]);
    assert!(Crate::parse(&broken)
        .err()
        .unwrap()
        .contains("lib.rs does not parse"));
    let missing = Tree::of(&[("lib.rs", "mod gone;")]);
    assert!(Crate::parse(&missing)
        .err()
        .unwrap()
        .contains("gone.rs nor gone/mod.rs"));
}
