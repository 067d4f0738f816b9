//! `cargo xtask build-designer`: the button designer (`designer/`, a Leptos CSR app) → wasm
//! (the widget's `wasm-release` profile, so the two share their dependencies' builds) → wasm-bindgen (the library, as `build-widget`; plain output: the designer has no size
//! budget, so no wasm-opt, terser or glue surgery) → `public/designer/`, which `server/build.rs`
//! embeds and the server serves at `/designer`:
//!
//! * `index.html` and `designer.css` — copied from `designer/` (`index.html` is served only as
//!   `/designer`, with the page's CSP);
//! * `designer.js` — the entry module: imports the glue and starts it with the wasm's URL;
//! * `designer-<hash>.js`, `designer-<hash>.wasm` — the glue and the wasm, content-hashed (cached
//!   for a year), each with `.br` and `.gz` siblings.

use crate::compress::{brotli, fnv1a, gzip};
use crate::process::root;
use crate::wasm::wasm_bindgen_output;
use crate::Result;
use std::fs;
use std::time::Instant;

/// The served folder (git-ignored).
fn designer_dir() -> std::path::PathBuf {
    root().join("public/designer")
}

/// Builds the designer into `public/designer/`.
pub fn build_designer() -> Result {
    let started = Instant::now();
    let mut out = wasm_bindgen_output("milogin-designer", "designer", false)?;
    let glue = out.js().to_owned();
    let wasm = out.wasm_mut().emit_wasm();
    let hash = {
        let mut bytes = wasm.clone();
        bytes.extend_from_slice(glue.as_bytes());
        format!("{:016x}", fnv1a(&bytes))[..12].to_owned()
    };
    let (glue_name, wasm_name) = (
        format!("designer-{hash}.js"),
        format!("designer-{hash}.wasm"),
    );
    let entry = format!(
        "// The designer's entry: the wasm-bindgen glue and the wasm, both content-hashed.\n\
         import init from \"./{glue_name}\";\n\
         init({{ module_or_path: new URL(\"{wasm_name}\", import.meta.url) }});\n"
    );
    let src = root().join("designer");
    let dir = designer_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    for (name, bytes) in [(glue_name, glue.as_bytes()), (wasm_name, &wasm[..])] {
        fs::write(dir.join(&name), bytes)?;
        fs::write(dir.join(format!("{name}.br")), brotli(bytes))?;
        fs::write(dir.join(format!("{name}.gz")), gzip(bytes))?;
    }
    fs::copy(src.join("style.css"), dir.join("designer.css"))?;
    fs::write(dir.join("designer.js"), entry)?;
    // Last: server/build.rs takes the folder as a build only with it.
    fs::copy(src.join("index.html"), dir.join("index.html"))?;
    println!(
        "designer built into {} in {:.1}s ({} KiB of wasm, not part of the widget's budget)",
        dir.display(),
        started.elapsed().as_secs_f64(),
        wasm.len() / 1024
    );
    Ok(())
}
