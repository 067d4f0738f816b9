//! The wasm step the widget and the designer share: `cargo build` for wasm32 with the
//! `wasm-release` profile, then wasm-bindgen as a library (pinned to Cargo.lock's version).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use crate::process::{cargo, cmd, output, root, run, target_dir};
use crate::Result;

pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// `package` (a cdylib) built for wasm32 with the `wasm-release` profile (the widget and the
/// designer share its dependencies' artifacts), then run through wasm-bindgen (the library,
/// `--target web`) as `out_name`; `strip`: drop the name and producers sections. Refuses JS
/// snippets: the builds ship one glue file.
pub(crate) fn wasm_bindgen_output(
    package: &str,
    out_name: &str,
    strip: bool,
) -> Result<wasm_bindgen_cli_support::Output> {
    ensure_wasm_target()?;
    run(cargo()
        .args(["build", "-p", package, "--lib", "--target", WASM_TARGET])
        .args(["--profile", "wasm-release"])
        .env("RUSTFLAGS", remap_paths()))?;
    let input = target_dir()
        .join(WASM_TARGET)
        .join("wasm-release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    check_wasm_bindgen_version()?;
    println!("wasm-bindgen {WASM_BINDGEN} (library) --target web: {package}");
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&input)
        .out_name(out_name)
        .web(true)?
        .typescript(false)
        .remove_name_section(strip)
        .remove_producers_section(strip);
    let out = bindgen.generate_output()?;
    if out.snippets().values().any(|s| !s.is_empty()) || !out.local_modules().is_empty() {
        return Err(format!(
            "{package} uses JS snippets ({:?} {:?}); its build ships one glue file",
            out.snippets(),
            out.local_modules()
        )
        .into());
    }
    Ok(out)
}

/// `RUSTFLAGS` (plus any already set) that shorten the source paths panic locations embed in the
/// wasm (`/root/.cargo/registry/src/index.crates.io-…/js-sys-0.3.107/src/…` → `js-sys-0.3.107/src/…`):
/// smaller, and the same bytes (and content hash) on every machine.
fn remap_paths() -> String {
    let mut flags = env::var("RUSTFLAGS").unwrap_or_default();
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let registries = home.and_then(|h| fs::read_dir(h.join("registry/src")).ok());
    let dirs = registries
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()));
    for dir in dirs.chain([root()]) {
        let dir = dir.to_string_lossy();
        if !dir.contains(' ') {
            flags.push_str(&format!(" --remap-path-prefix={dir}/="));
        }
    }
    flags
}

/// The `wasm-bindgen-cli-support` version in xtask/Cargo.toml.
const WASM_BINDGEN: &str = "0.2.130";

/// wasm-bindgen refuses a wasm built with another version; say which pins to change.
fn check_wasm_bindgen_version() -> Result {
    let lock = fs::read_to_string(root().join("Cargo.lock"))?;
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"'));
    match locked {
        Some(v) if v != WASM_BINDGEN => Err(format!(
            "Cargo.lock has wasm-bindgen {v} but xtask links wasm-bindgen-cli-support {WASM_BINDGEN}: \
             set the same `=` version in widget/Cargo.toml and xtask/Cargo.toml (and WASM_BINDGEN)"
        )
        .into()),
        _ => Ok(()),
    }
}

pub(crate) fn ensure_wasm_target() -> Result {
    match output(Command::new("rustup").args(["target", "list", "--installed"])) {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => Ok(()),
        Some(_) => cmd(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        None => {
            println!("note: rustup not found; assuming the {WASM_TARGET} target is installed");
            Ok(())
        }
    }
}
