//! `cargo xtask <command>` — the project's build and test entry points (design.md §2).
//!
//! * `build-widget` — release wasm → wasm-bindgen (as a library, pinned to Cargo.lock's
//!   wasm-bindgen) → glue clean-up → wasm-opt -Oz and terser (npm, from package-lock.json, when
//!   npm is present) → `public/widget/`: `milogin.js` (the loader with the glue inside) and
//!   `milogin-<hash>.wasm`, each with `.br` and `.gz` siblings.
//! * `build-designer` — the button designer into `public/designer/` (`designer.rs`).
//! * `size` — what a browser downloads to show the button (raw / gzip / brotli), against the
//!   47 KiB brotli budget and the ratchet (the size recorded in docs/widget-size.md + 512 B);
//!   fails when over either.
//! * `demo [args…]` — build-widget and build-designer, then `milogin demo [args…]`.
//! * `test` — everything CI runs: tools, fmt, clippy (native and wasm32), build-widget, size,
//!   build-designer, the workspace's tests (SQLite, then the suite again on a scratch
//!   PostgreSQL), the browser tests in Chromium and in Firefox ESR.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use std::{env, fs};

mod designer;
mod glue;
mod msrv;
mod postgres;

type Result<T = (), E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  build-widget   build the wasm widget into public/widget/
  build-designer build the button designer (served at /designer) into public/designer/
  size           print the widget's download size (raw, gzip, brotli) against the budget
  demo [ARGS]    build-widget and build-designer, then run `milogin demo [ARGS]`
  bench [ARGS]   full-login benchmark of the release server (ARGS go to milogin-bench; see
                 `cargo xtask bench --help`), then the widget's size and time to button;
                 `bench --peer express-passport [ARGS]`: milogin and the Node peer in
                 bench/peers/ side by side (npm ci when its node_modules is missing);
                 `bench --store postgres [ARGS]`: milogin on a throw-away PostgreSQL
                 (installed with apt when missing; started, then stopped and deleted),
                 login benchmark only; combines with --peer (the peer stays on SQLite)
  test           run everything CI runs (installs missing tools when it can)";

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Everything a browser downloads to show the button, brotli (design.md §9): Leptos included.
const BUDGET_BROTLI: u64 = 47 * 1024;
/// The ratchet: a build may exceed the size recorded in docs/widget-size.md by this much at most.
const RATCHET_SLACK: u64 = 512;
/// The line of docs/widget-size.md that records the size (`Recorded size: 12345 bytes brotli`).
const RECORDED: &str = "Recorded size: ";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-widget") => build_widget(),
        Some("build-designer") => designer::build_designer(),
        Some("size") => size(),
        Some("demo") => demo(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("test") => test(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The served folder (git-ignored); the server's `/widget` route serves it.
fn widget_dir() -> PathBuf {
    root().join("public/widget")
}

fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs `cmd`, echoing it; a non-zero exit is an error that names the command.
fn run(cmd: &mut Command) -> Result<(), String> {
    let line = describe(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not run `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&a.to_string_lossy());
    }
    line
}

/// stdout of `cmd`, or `None` when it cannot run or fails.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn found(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

// ---------------------------------------------------------------------------------------------
// build-widget

fn build_widget() -> Result {
    let started = Instant::now();
    let mut out = wasm_bindgen_output("milogin-widget", "milogin", !keep_names())?;
    let glue = out.js().to_owned();
    let glue = glue::drop_unused_classes(out.wasm_mut(), &glue)?;
    let glue = glue::streaming_only(&glue)?;
    let glue = shorten_names(out.wasm_mut(), &glue)?;
    let glue = wrap_glue(&glue)?;
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

/// wasm-bindgen's glue as a statement for the loader: `const glue = (() => { … return { init,
/// start, mount, login_page }; })();`. The function scope keeps its names apart from the loader's; its exports become
/// the returned object, so terser can drop what the loader doesn't use (`initSync`, …).
fn wrap_glue(glue: &str) -> Result<String> {
    let glue = glue
        .replacen("export function mount(", "function mount(", 1)
        .replacen("export function start(", "function start(", 1)
        .replacen("export function login_page(", "function login_page(", 1)
        .replacen("export class Button", "class Button", 1)
        .replacen("export { initSync, __wbg_init as default };", "", 1)
        .replacen(
            "console.warn('using deprecated parameters for the initialization function; pass a single object instead')",
            "",
            1,
        )
        // `Debug` of a JsValue (only in Rust panic messages): `String(v)` instead of the ~1 KB
        // pretty-printer, which terser then drops.
        .replacen("const ret = debugString(arg1);", "const ret = String(arg1);", 1);
    let unknown: Vec<&str> = glue
        .lines()
        .filter(|l| l.trim_start().starts_with("export "))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the wasm-bindgen glue has exports xtask's wrap_glue does not know ({unknown:?}); update it"
        )
        .into());
    }
    Ok(format!(
        "\nconst glue = (() => {{\n{glue}\nreturn {{ init: __wbg_init, start, mount, login_page }};\n}})();\n"
    ))
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

/// Renames the glue's imports (`__wbg_addEventListener_847fd86b8c33ec43` → `b`) and
/// closure-invoke exports in both the wasm and the glue: the hashes in ~100 names are random
/// text that no compressor can shrink (≈ 1.5 KB brotli).
fn shorten_names(module: &mut walrus::Module, js: &str) -> Result<String> {
    let mut js = js.to_owned();
    let short = |mut i: usize| {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut s = String::new();
        loop {
            s.push(LETTERS[i % LETTERS.len()] as char);
            i /= LETTERS.len();
            if i == 0 {
                return s;
            }
        }
    };
    let ids: Vec<_> = module
        .imports
        .iter()
        .filter(|i| i.module == "./milogin_bg.js")
        .map(|i| i.id())
        .collect();
    for (n, id) in ids.into_iter().enumerate() {
        let import = module.imports.get_mut(id);
        let (old, new) = (
            format!("{}: function(", import.name),
            format!("{}: function(", short(n)),
        );
        if js.matches(&old).count() != 1 {
            return Err(format!(
                "glue: import `{}` not found once; update xtask's shorten_names",
                import.name
            )
            .into());
        }
        js = js.replacen(&old, &new, 1);
        import.name = short(n);
    }
    let invokers = module
        .exports
        .iter_mut()
        .filter(|e| e.name.starts_with("wasm_bindgen__convert__closures"));
    for (n, export) in invokers.enumerate() {
        let new = format!("__inv{n}");
        js = js.replace(&export.name, &new);
        export.name = new;
    }
    Ok(js)
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

fn ensure_wasm_target() -> Result {
    match output(Command::new("rustup").args(["target", "list", "--installed"])) {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => Ok(()),
        Some(_) => cmd(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        None => {
            println!("note: rustup not found; assuming the {WASM_TARGET} target is installed");
            Ok(())
        }
    }
}

/// `node_modules/.bin` with wasm-opt (npm binaryen 132) and terser, from `npm ci` of the
/// committed package-lock.json; `None` (with a note) when npm is missing.
fn node_tools() -> Result<Option<PathBuf>> {
    let root = root();
    let bin = root.join("node_modules/.bin");
    if !(bin.join("wasm-opt").exists() && bin.join("terser").exists()) {
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

/// `wasm-opt -Oz` from npm binaryen 132. Never Debian's binaryen 108: it breaks wasm-bindgen's
/// externref table (toolchain.md §3).
fn wasm_opt(bin: &Path, wasm: Vec<u8>) -> Result<Vec<u8>> {
    let (input, output) = scratch("in.wasm", &wasm)?;
    let keep = if keep_names() { "-g" } else { "-Oz" }; // `-g` keeps the names (with -Oz below)
                                                        // `--low-memory-unused`: Rust's wasm never uses the first 1 KiB (the bottom of a 1 MiB stack),
                                                        // so constant offsets fold into loads and stores (~270 B brotli).
    run(Command::new(bin.join("wasm-opt"))
        .args(["-Oz", "--low-memory-unused", "--gufa", "--converge", keep])
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
            "passes=2",
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

/// FNV-1a, 64 bit: a content hash for cache-busting file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("compressing into memory");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("compressing into memory");
    gz.finish().expect("compressing into memory")
}

// ---------------------------------------------------------------------------------------------
// size

fn size() -> Result {
    let dir = widget_dir();
    if !dir.join("milogin.js").exists() {
        return Err(format!(
            "{} has no built widget: run `cargo xtask build-widget` first",
            dir.display()
        )
        .into());
    }
    let total_br = print_sizes(&dir)?;
    if total_br > BUDGET_BROTLI {
        return Err(format!(
            "the widget is {total_br} bytes brotli, over the budget of {BUDGET_BROTLI}"
        )
        .into());
    }
    let recorded = recorded_size()?;
    println!(
        "recorded in docs/widget-size.md: {recorded} bytes brotli (ratchet: +{RATCHET_SLACK})"
    );
    if total_br > recorded + RATCHET_SLACK {
        return Err(format!(
            "the widget grew to {total_br} bytes brotli, more than {RATCHET_SLACK} over the \
             {recorded} recorded in docs/widget-size.md: make it smaller, or explain the growth \
             there and record the new size on its `{RECORDED}` line"
        )
        .into());
    }
    if total_br + RATCHET_SLACK < recorded {
        println!(
            "note: {} bytes smaller than recorded: record {total_br} in docs/widget-size.md",
            recorded - total_br
        );
    }
    Ok(())
}

/// The size docs/widget-size.md records on its `Recorded size: N bytes brotli` line.
fn recorded_size() -> Result<u64> {
    let doc = fs::read_to_string(root().join("docs/widget-size.md"))?;
    doc.lines()
        .find_map(|l| l.trim_start_matches(['*', ' ']).strip_prefix(RECORDED))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_matches('*').parse().ok())
        .ok_or_else(|| {
            format!("docs/widget-size.md has no `{RECORDED}<bytes> bytes brotli` line").into()
        })
}

/// Prints raw / gzip / brotli of each file the browser downloads; returns the brotli total.
fn print_sizes(dir: &Path) -> Result<u64> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| {
        p.extension()
            .is_some_and(|e| e == "js" || e == "wasm" || e == "css")
    });
    files.sort();
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "file", "raw", "gzip -9", "brotli 11"
    );
    let mut total = [0u64; 3];
    for path in &files {
        let bytes = fs::read(path)?;
        let sizes = [bytes.len(), gzip(&bytes).len(), brotli(&bytes).len()].map(|n| n as u64);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!("{name:<34} {:>9} {:>9} {:>9}", sizes[0], sizes[1], sizes[2]);
        for (t, s) in total.iter_mut().zip(sizes) {
            *t += s;
        }
    }
    let kib = |n: u64| n as f64 / 1024.0;
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "total", total[0], total[1], total[2]
    );
    println!(
        "{:<34} {:>8.1}K {:>8.1}K {:>8.1}K   (budget: {:.0} KiB brotli)",
        "total KiB",
        kib(total[0]),
        kib(total[1]),
        kib(total[2]),
        kib(BUDGET_BROTLI)
    );
    Ok(total[2])
}

// ---------------------------------------------------------------------------------------------
// demo

/// The benchmarks of design.md §9: `milogin-bench` (the release server under a bounded login
/// load), then the widget's download size and its time to button in headless Chromium.
///
/// With `--peer NAME`, the login benchmark only, against milogin and then the peer app in
/// `bench/peers/NAME/` (its Node dependencies installed first): the widget steps measure nothing
/// the peer has. With `--store postgres` (and no `--database-url`), the login benchmark only, on
/// a throw-away PostgreSQL cluster (`postgres.rs`, installed with apt when missing) that is
/// stopped and deleted afterwards; it combines with `--peer` (the peer keeps its SQLite file).
fn bench(args: &[String]) -> Result {
    let help = args.iter().any(|a| a == "--help" || a == "-h");
    let peer = peer_arg(args)?;
    let store = flag_value(args, "--store")?;
    let postgres = match store.as_deref() {
        None | Some("sqlite") => false,
        Some("postgres") => true,
        Some(other) => {
            return Err(format!(
                "--store {other}: the stores are `sqlite` (default) and `postgres`"
            )
            .into())
        }
    };
    let own_cluster = postgres && !help && flag_value(args, "--database-url")?.is_none();
    if let Some(name) = &peer {
        if !help {
            install_peer(name)?;
        }
    } else if !help && !postgres {
        build_widget()?;
    }
    if own_cluster && !postgres::installed() && found("apt-get") {
        run(Command::new("apt-get").arg("update"))?;
    }
    cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "milogin-server",
        "-p",
        "milogin-bench",
    ]))?;
    let release = target_dir().join("release");
    let cluster = own_cluster
        .then(postgres::TempPostgres::start_for_bench)
        .transpose()?;
    // Server on one core, load generator on the other (skipped with a note when `taskset` is
    // missing), unless the caller chose.
    let pin = !help && !args.iter().any(|a| a == "--pin");
    let mut bench = Command::new(release.join("milogin-bench"));
    bench.args(pin.then_some("--pin")).args(args);
    if let Some(pg) = &cluster {
        bench.args(["--database-url", &pg.url]);
    }
    cmd(bench.current_dir(root()))?;
    // The cluster is stopped and deleted here (drop), before the widget steps.
    drop(cluster);
    if help || peer.is_some() || postgres {
        return Ok(());
    }
    println!();
    print_sizes(&widget_dir())?;
    println!();
    let tools = ensure_test_tools()?;
    cmd(Command::new(release.join("time_to_button"))
        .env("MILOGIN_TEST_CHROMEDRIVER", &tools.chromedriver)
        .env("MILOGIN_TEST_CHROMIUM", &tools.chromium)
        .current_dir(root()))
}

/// The value of the last `NAME VALUE` / `NAME=VALUE` in `args` (`None` when absent).
fn flag_value(args: &[String], name: &str) -> Result<Option<String>> {
    let mut it = args.iter();
    let mut value = None;
    while let Some(a) = it.next() {
        if a == name {
            value = Some(
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            );
        } else if let Some(v) = a.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
            value = Some(v.to_owned());
        }
    }
    Ok(value)
}

/// The value of `--peer NAME` / `--peer=NAME`, checked to be a folder name under bench/peers/.
fn peer_arg(args: &[String]) -> Result<Option<String>> {
    let name = flag_value(args, "--peer")
        .map_err(|_| "--peer needs a name, e.g. --peer express-passport")?;
    let Some(name) = name else { return Ok(None) };
    let dir = root().join("bench/peers").join(&name);
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid || !dir.join("package-lock.json").is_file() {
        return Err(format!(
            "--peer {name}: no bench/peers/{name}/package-lock.json; the peers are the folders of bench/peers/ (e.g. express-passport)"
        )
        .into());
    }
    Ok(Some(name))
}

/// `npm ci` in the peer's folder when its `node_modules` is missing or was left half-installed
/// (npm writes `node_modules/.package-lock.json` last). better-sqlite3 compiles its bundled
/// SQLite with node-gyp when its prebuilt binary cannot be downloaded (about a minute).
fn install_peer(name: &str) -> Result {
    if !(found("node") && found("npm")) {
        return Err(format!(
            "--peer {name} runs on Node.js (≥ 18) and installs with npm, and `node`/`npm` are not \
             on PATH: install them (Debian: `apt-get install -y nodejs npm`) and run again"
        )
        .into());
    }
    let dir = root().join("bench/peers").join(name);
    if dir.join("node_modules/.package-lock.json").is_file() {
        return Ok(());
    }
    println!(
        "installing the peer's dependencies: npm ci in {}",
        dir.display()
    );
    cmd(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir))
}

fn demo(args: &[String]) -> Result {
    build_widget()?;
    designer::build_designer()?;
    cmd(cargo()
        .args([
            "run",
            "--release",
            "-p",
            "milogin-server",
            "--bin",
            "milogin",
            "--",
            "demo",
        ])
        .args(args))
}

// ---------------------------------------------------------------------------------------------
// test

fn test() -> Result {
    let started = Instant::now();
    let (tools, firefox) = step("tools", || Ok((ensure_test_tools()?, ensure_firefox()?)))?;
    step("rust-version", || Ok(msrv::check(cargo())?))?;
    step("cargo deny (licences, bans, sources)", cargo_deny)?;
    step("cargo fmt --check", || {
        cmd(cargo().args(["fmt", "--all", "--check"]))
    })?;
    step("clippy (native)", || {
        cmd(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("clippy (widget and designer, wasm32)", || {
        cmd(cargo().args([
            "clippy",
            "-p",
            "milogin-widget",
            "-p",
            "milogin-designer",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("build-widget", build_widget)?;
    step("widget size (budget and ratchet)", size)?;
    step("build-designer", designer::build_designer)?;
    let pg = step("PostgreSQL (scratch cluster)", || {
        Ok(postgres::TempPostgres::start()?)
    })?;
    let test = |store: &str| {
        let mut c = cargo();
        c.env("MILOGIN_TEST_CHROMEDRIVER", &tools.chromedriver)
            .env("MILOGIN_TEST_CHROMIUM", &tools.chromium)
            .env("MILOGIN_TEST_GECKODRIVER", &firefox.geckodriver)
            .env("MILOGIN_TEST_FIREFOX", &firefox.firefox)
            .env("MILOGIN_REQUIRE_BROWSER", "1")
            .env("MILOGIN_TEST_PG_URL", &pg.url)
            .env("MILOGIN_REQUIRE_PG", "1")
            .env("MILOGIN_TEST_STORE", store);
        c
    };
    step("cargo test --workspace", || {
        cmd(test("sqlite").args(["test", "--workspace"]))
    })?;
    step("cargo test -p milogin-tests (on PostgreSQL)", || {
        cmd(test("postgres").args(["test", "-p", "milogin-tests"]))
    })?;
    println!(
        "\nall checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The cargo-deny version `cargo xtask test` installs (into the target dir) when it is missing.
const CARGO_DENY: &str = "0.20.2";

/// `cargo deny check licenses bans sources` with `deny.toml`; installs cargo-deny from crates.io
/// into `target/tools/` the first time (a few minutes), so nothing lands in `~/.cargo/bin`.
fn cargo_deny() -> Result {
    let tools = target_dir().join("tools");
    let bin = tools.join("bin").join("cargo-deny");
    let installed =
        output(Command::new(&bin).arg("--version")).is_some_and(|v| v.trim().ends_with(CARGO_DENY));
    if !installed {
        cmd(cargo()
            .args([
                "install",
                "cargo-deny",
                "--locked",
                "--version",
                CARGO_DENY,
                "--root",
            ])
            .arg(&tools))?;
    }
    cmd(Command::new(&bin)
        .current_dir(root())
        .args(["check", "licenses", "bans", "sources"]))
}

/// [`run`] for a step.
fn cmd(c: &mut Command) -> Result {
    Ok(run(c)?)
}

/// Runs one step of `test`, printing its name and wall time; stops at the first failure.
fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n==> {name}");
    let started = Instant::now();
    let result = f();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => println!("==> {name}: ok ({secs:.1}s)"),
        Err(e) => println!("==> {name}: FAILED after {secs:.1}s: {e}"),
    }
    result.map_err(|e| format!("step `{name}` failed: {e}").into())
}

/// Where the browser tests find Chromium.
struct Browser {
    chromium: String,
    chromedriver: String,
}

/// The wasm target, rustfmt, clippy, Chromium and chromedriver (PostgreSQL: `postgres.rs`).
/// As root with apt, installs what is missing; otherwise says what to install.
fn ensure_test_tools() -> Result<Browser> {
    ensure_wasm_target()?;
    if let Some(installed) =
        output(Command::new("rustup").args(["component", "list", "--installed"]))
    {
        for component in ["rustfmt", "clippy"] {
            if !installed.lines().any(|l| l.starts_with(component)) {
                run(Command::new("rustup").args(["component", "add", component]))?;
            }
        }
    }
    let path = |p: &str| {
        output(Command::new("sh").args(["-c", &format!("command -v {p}")]))
            .map(|s| s.trim().to_owned())
    };
    let browser = || {
        let chromium = path("chromium").or_else(|| path("chromium-browser"))?;
        Some(Browser {
            chromium,
            chromedriver: path("chromedriver")?,
        })
    };
    let postgres = Path::new("/usr/lib/postgresql").is_dir();
    if let (Some(b), true) = (browser(), postgres) {
        return Ok(b);
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !(root_user && found("apt-get")) {
        return Err("the browser tests need Chromium and chromedriver, the store tests PostgreSQL: \
                    install them, e.g. `sudo apt-get install -y chromium chromium-driver postgresql` \
                    (Debian), and run again"
            .into());
    }
    // Once for everything apt installs here and in postgres.rs.
    apt_get(&["update"])?;
    if browser().is_none() {
        apt_get(&[
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])?;
    }
    browser()
        .ok_or_else(|| "chromium or chromedriver is still not on PATH after apt-get install".into())
}

/// Where the browser tests find Firefox.
struct Firefox {
    firefox: String,
    geckodriver: String,
}

/// The geckodriver version `cargo xtask test` installs (into the target dir) when it is missing:
/// Debian has no geckodriver package.
const GECKODRIVER: &str = "0.37.1";

/// Firefox ESR (apt, as root, when missing) and geckodriver (`MILOGIN_TEST_GECKODRIVER`, else
/// [`GECKODRIVER`] from crates.io into `target/tools/bin/`, built the first time: a few minutes).
fn ensure_firefox() -> Result<Firefox> {
    let path = |p: &str| {
        output(Command::new("sh").args(["-c", &format!("command -v {p}")]))
            .map(|s| s.trim().to_owned())
    };
    let firefox = || path("firefox-esr").or_else(|| path("firefox"));
    if firefox().is_none() {
        let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
        if !(root_user && found("apt-get")) {
            return Err(
                "the browser tests also run in Firefox ESR: install it, e.g. \
                        `sudo apt-get install -y firefox-esr` (Debian), and run again"
                    .into(),
            );
        }
        apt_get(&["update"])?;
        apt_get(&["install", "-y", "--no-install-recommends", "firefox-esr"])?;
    }
    let firefox =
        firefox().ok_or("firefox-esr is still not on PATH after apt-get install firefox-esr")?;
    if let Some(geckodriver) = env::var_os("MILOGIN_TEST_GECKODRIVER") {
        let geckodriver = geckodriver.to_string_lossy().into_owned();
        if output(Command::new(&geckodriver).arg("--version")).is_none() {
            return Err(format!(
                "MILOGIN_TEST_GECKODRIVER={geckodriver} does not run; unset it to let \
                 `cargo xtask test` install geckodriver {GECKODRIVER} into target/tools/"
            )
            .into());
        }
        return Ok(Firefox {
            firefox,
            geckodriver,
        });
    }
    let tools = target_dir().join("tools");
    let bin = tools.join("bin").join("geckodriver");
    let installed = output(Command::new(&bin).arg("--version"))
        .is_some_and(|v| v.lines().next() == Some(&format!("geckodriver {GECKODRIVER}")[..]));
    if !installed {
        // Built where cargo-deny is built; the crates it needs are in Cargo's cache afterwards.
        cmd(cargo()
            .args([
                "install",
                "geckodriver",
                "--locked",
                "--version",
                GECKODRIVER,
                "--root",
            ])
            .arg(&tools))?;
    }
    Ok(Firefox {
        firefox,
        geckodriver: bin.to_string_lossy().into_owned(),
    })
}

/// `apt-get ARGS` (non-interactive), echoed. While another process holds apt's or dpkg's lock
/// (unattended upgrades, another install), waits for it: up to 10 minutes, then says so.
fn apt_get(args: &[&str]) -> Result {
    let mut c = Command::new("apt-get");
    c.args(["-o", "DPkg::Lock::Timeout=60"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive");
    let line = describe(&c);
    let started = Instant::now();
    loop {
        println!("$ {line}");
        // stdout as it comes (progress); stderr read for the lock message, then shown.
        let out = c
            .stdout(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("could not run `{line}`: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprint!("{stderr}");
        if out.status.success() {
            return Ok(());
        }
        let locked = stderr.contains("Could not get lock") || stderr.contains("Unable to lock");
        if !locked {
            return Err(format!("`{line}` failed ({})", out.status).into());
        }
        if started.elapsed().as_secs() > 600 {
            return Err(format!(
                "`{line}`: apt's lock has been held by another process for 10 minutes; \
                 let it finish (`ps aux | grep -E 'apt|dpkg'`) and run again"
            )
            .into());
        }
        println!("apt is locked by another process; trying again in 10 s");
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::flag_value;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flag_values_come_in_both_spellings_and_the_last_wins() {
        let a = args(&["--store", "postgres", "--seconds", "5"]);
        assert_eq!(
            flag_value(&a, "--store").unwrap().as_deref(),
            Some("postgres")
        );
        let a = args(&["--store=sqlite", "--store-x", "y"]);
        assert_eq!(
            flag_value(&a, "--store").unwrap().as_deref(),
            Some("sqlite")
        );
        let a = args(&["--store=sqlite", "--store", "postgres"]);
        assert_eq!(
            flag_value(&a, "--store").unwrap().as_deref(),
            Some("postgres")
        );
        assert_eq!(
            flag_value(&args(&["--users", "1"]), "--store").unwrap(),
            None
        );
        assert!(flag_value(&args(&["--store"]), "--store").is_err());
    }
}
