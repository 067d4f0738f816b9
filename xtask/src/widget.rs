//! `cargo xtask build-widget`: release wasm → wasm-bindgen ([`crate::wasm`]) → glue clean-up
//! ([`crate::glue`]) → wasm-opt -Os and terser (npm, from package-lock.json, when npm is present)
//! → `public/widget/`: `milogin.js` (the loader with the glue inside) and
//! `milogin-<hash>.wasm`, each with `.br` and `.gz` siblings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use std::{env, fs};

use crate::compress::{brotli, fnv1a, gzip};
use crate::process::{found, root, run, target_dir};
use crate::size::print_sizes;
use crate::wasm::wasm_bindgen_output;
use crate::{glue, Result};

/// The served folder (git-ignored); the server's `/widget` route serves it.
pub(crate) fn widget_dir() -> PathBuf {
    root().join("public/widget")
}

pub(crate) fn build_widget() -> Result {
    let started = Instant::now();
    let mut out = wasm_bindgen_output("milogin-widget", "milogin", !keep_names())?;
    let glue = out.js().to_owned();
    let glue = glue::streaming_only(&glue)?;
    let glue = glue::shorten_names(out.wasm_mut(), &glue)?;
    let glue = glue::wrap_glue(&glue)?;
    let mut wasm = out.wasm_mut().emit_wasm();
    let tools = node_tools()?;
    if let Some(bin) = &tools {
        wasm = wasm_opt(bin, wasm)?;
    }
    let hash = &format!("{:016x}", fnv1a(&wasm))[..12];
    let template = fs::read_to_string(root().join("public/milogin.js"))?;
    if template.matches("\n// @GLUE@\n").count() != 1 {
        return Err("public/milogin.js must have exactly one `// @GLUE@` line".into());
    }
    let loader = template
        .replacen("\n// @GLUE@\n", &glue, 1)
        .replace("@HASH@", hash);
    let loader = inline_assets(&loader)?;
    let loader = match &tools {
        Some(bin) => minify(bin, "milogin.js", &loader)?,
        None => strip_comment_lines(&loader),
    };

    let dir = widget_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    for (name, bytes) in [
        ("milogin.js".to_owned(), loader.as_bytes()),
        (format!("milogin-{hash}.wasm"), &wasm[..]),
    ] {
        fs::write(dir.join(&name), bytes)?;
        fs::write(dir.join(format!("{name}.br")), brotli(bytes))?;
        fs::write(dir.join(format!("{name}.gz")), gzip(bytes))?;
    }
    println!(
        "widget built into {} in {:.1}s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    print_sizes(&dir)?;
    Ok(())
}

/// The loader's `"@CSS@"` and `"@MARK@"` literals become the style sheet
/// (`widget/src/style.css`, one rule a line) and the mark (`widget/src/mark.svg`) as JS strings:
/// one copy of each, used by the loader's first paint and fallback and, through the shadow root's
/// adopted sheet, by the wasm's view.
fn inline_assets(loader: &str) -> Result<String> {
    let src = root().join("widget/src");
    let css: String = fs::read_to_string(src.join("style.css"))?
        .lines()
        .map(str::trim)
        .collect();
    let mark = fs::read_to_string(src.join("mark.svg"))?;
    let mut out = loader.to_owned();
    for (literal, text) in [("\"@CSS@\"", css), ("\"@MARK@\"", mark.trim().to_owned())] {
        if out.matches(literal).count() != 1 {
            return Err(format!("public/milogin.js must have exactly one {literal}").into());
        }
        out = out.replacen(literal, &serde_json::to_string(&text)?, 1);
    }
    Ok(out)
}

/// `node_modules/.bin` with wasm-opt (npm binaryen 132) and terser, from `npm ci` of the
/// committed package-lock.json (run when a devDependency is missing: also the test suite's
/// relying parties, openid-client and @auth/core); `None` (with a note) when npm is missing.
fn node_tools() -> Result<Option<PathBuf>> {
    let root = root();
    let bin = root.join("node_modules/.bin");
    if !node_modules_complete(&root)? {
        if !found("npm") {
            println!("note: npm not found: skipping wasm-opt and terser (the widget is ~3 KB brotli bigger)");
            return Ok(None);
        }
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&root))?;
    }
    Ok(Some(bin))
}

/// Every devDependency of package.json is in node_modules (a checkout that ran `npm ci` before
/// one was added gets it on the next build, not a test failing later for lack of it).
fn node_modules_complete(root: &Path) -> Result<bool> {
    let package: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("package.json"))?)?;
    let deps = package["devDependencies"]
        .as_object()
        .ok_or("package.json has no devDependencies")?;
    Ok(deps.keys().all(|name| {
        root.join("node_modules")
            .join(name)
            .join("package.json")
            .exists()
    }))
}

/// `wasm-opt -Os` from npm binaryen 132. Never Debian's binaryen 108: it breaks wasm-bindgen's
/// externref table (toolchain.md §3).
fn wasm_opt(bin: &Path, wasm: Vec<u8>) -> Result<Vec<u8>> {
    let (input, output) = scratch("in.wasm", &wasm)?;
    // `-g` keeps the names (the same code). `-Os`, not `-Oz`: larger raw, smaller in brotli
    // (≈ 230 B); `--monomorphize` and a last `-Os` ≈ 90 B more (docs/widget-size.md).
    let keep: &[&str] = if keep_names() { &["-g"] } else { &[] };
    // `--low-memory-unused`: Rust's wasm never uses the first 1 KiB (the bottom of a 1 MiB
    // stack), so constant offsets fold into loads and stores (~270 B brotli).
    run(Command::new(bin.join("wasm-opt"))
        .args([
            "-Os",
            "--low-memory-unused",
            "--gufa",
            "--converge",
            "--monomorphize",
            "-Os",
        ])
        .args(keep)
        .arg(&input)
        .arg("-o")
        .arg(&output))?;
    Ok(fs::read(&output)?)
}

/// terser (compress + mangle, ES module): the loader with wasm-bindgen's glue is ~35% smaller in
/// brotli. It also proves it parses.
fn minify(bin: &Path, name: &str, js: &str) -> Result<String> {
    let (input, output) = scratch(name, js.as_bytes())?;
    run(Command::new(bin.join("terser"))
        .arg(&input)
        .args([
            "--module",
            "--ecma",
            "2020",
            "--compress",
            // Function expressions that use neither `this` nor `arguments` as arrows, and
            // `{k: function() {}}` as methods (nothing here calls them with `new`): 84 B brotli.
            "passes=2,unsafe_arrows=true,unsafe_methods=true",
            "--mangle",
            "-o",
        ])
        .arg(&output))?;
    Ok(fs::read_to_string(&output)?)
}

/// Writes `bytes` to a scratch file in the target dir; returns it and a path for the output.
fn scratch(name: &str, bytes: &[u8]) -> Result<(PathBuf, PathBuf)> {
    let dir = target_dir().join("milogin-widget-build");
    fs::create_dir_all(&dir)?;
    let (input, output) = (dir.join(name), dir.join(["out-", name].concat()));
    fs::write(&input, bytes)?;
    Ok((input, output))
}

/// `MILOGIN_KEEP_NAMES=1`: keep function names in the wasm, for size analysis (e.g. with
/// `wasm-objdump -x` or twiggy). Never ship that build.
fn keep_names() -> bool {
    env::var_os("MILOGIN_KEEP_NAMES").is_some_and(|v| v == "1")
}

/// Drops whole-line `//` comments (the loader's documentation) from the served loader.
fn strip_comment_lines(js: &str) -> String {
    js.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| [l, "\n"].concat())
        .collect()
}
