//! Embeds the built widget (`public/widget/`, written by `cargo xtask build-widget`) and the
//! button designer (`public/designer/`, `cargo xtask build-designer`) in the binary, so one
//! `milogin` file serves `/widget/…` and `/designer`. Without a build a list is empty: the
//! server still compiles (clippy runs before the builds), `milogin check` says what to run for
//! the widget, and `/designer` says how to build it. It also makes a new file in `migrations/`
//! rebuild the server, and hands the newest migration's number to `milogin --version`
//! (`MILOGIN_SCHEMA`).

use std::path::Path;

fn main() {
    // Read at run time, not with `env!`: a build script compiled in one checkout and reused from a
    // copied target dir would otherwise embed the other checkout's files.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&manifest);
    let public = manifest.join("../public");
    // The whole folder, which exists in the checkout: watching `public/widget` itself would
    // rerun this script on every build while the widget is not built.
    println!("cargo:rerun-if-changed={}", public.display());
    // `sqlx::migrate!` embeds `migrations/` but cannot tell cargo so on stable Rust: without this
    // line a new migration file would not reach the binary until some source file changed.
    println!("cargo:rerun-if-changed=migrations");
    // The newest migration's number: `milogin --version` names the schema the binary writes.
    let schema = std::fs::read_dir(manifest.join("migrations"))
        .expect("server/migrations")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.split_once('_')?.0.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    println!("cargo:rustc-env=MILOGIN_SCHEMA={schema}");
    // A half-written folder (its last file missing) is not a build.
    embed(&public.join("widget"), &["milogin.js"], "widget_files.rs");
    embed(
        &public.join("designer"),
        &["index.html", "designer.js"],
        "designer_files.rs",
    );
}

/// Writes `OUT_DIR/out` (`&[(name, include_bytes!(…))]`) for the files directly in `dir`; an
/// empty list unless every file of `needs` is there.
fn embed(dir: &Path, needs: &[&str], out: &str) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    if !needs.iter().all(|n| dir.join(n).is_file()) {
        files.clear();
    }
    files.sort();
    let mut list = String::from("&[\n");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("ASCII file names");
        let abs = path.canonicalize().expect("a listed file");
        list.push_str(&format!("    ({name:?}, include_bytes!({abs:?})),\n"));
    }
    list.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(out);
    std::fs::write(dest, list).expect("write the embedded file list");
}
