//! `cargo xtask <command>` — the project's build and test entry points (design.md §2).
//!
//! * `build-widget` — release wasm → wasm-bindgen (as a library) → wasm-opt -Oz (npm binaryen
//!   132, when npm is present) → content-hashed files plus `.br`/`.gz` in `public/widget/`.
//! * `size` — what a browser downloads to show the button (raw / gzip / brotli), against the
//!   35 KiB brotli budget; fails when over.
//! * `demo [args…]` — build-widget, then `milogin demo [args…]`.
//! * `test` — everything CI runs: tools, fmt, clippy (native and wasm32), build-widget, tests.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use std::{env, fs};

type Result<T = (), E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  build-widget   build the wasm widget into public/widget/
  size           print the widget's download size (raw, gzip, brotli) against the budget
  demo [ARGS]    build-widget, then run `milogin demo [ARGS]`
  test           run everything CI runs (installs missing tools when it can)";

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Everything a browser downloads to show the button, brotli (design.md §9).
const BUDGET_BROTLI: u64 = 35 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-widget") => build_widget(),
        Some("size") => size(),
        Some("demo") => demo(&args[1..]),
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
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
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
fn run(cmd: &mut Command) -> Result {
    let line = describe(cmd);
    println!("$ {line}");
    let status = cmd.status().map_err(|e| format!("could not run `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})").into())
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
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn found(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

// ---------------------------------------------------------------------------------------------
// build-widget

fn build_widget() -> Result {
    let started = Instant::now();
    ensure_wasm_target()?;
    run(cargo().args(["build", "-p", "milogin-widget", "--lib", "--target", WASM_TARGET, "--profile", "wasm-release"]))?;
    let input = target_dir().join(WASM_TARGET).join("wasm-release/milogin_widget.wasm");

    check_wasm_bindgen_version()?;
    println!("wasm-bindgen {WASM_BINDGEN} (library) --target web");
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&input)
        .out_name("milogin")
        .web(true)?
        .typescript(false)
        .remove_name_section(!keep_names())
        .remove_producers_section(true);
    let mut out = bindgen.generate_output()?;
    if out.snippets().values().any(|s| !s.is_empty()) || !out.local_modules().is_empty() {
        return Err(format!(
            "the widget uses JS snippets ({:?} {:?}); build-widget only ships one glue file",
            out.snippets(),
            out.local_modules()
        )
        .into());
    }
    let glue = out.js().to_owned();
    let mut wasm = out.wasm_mut().emit_wasm();
    wasm = wasm_opt(wasm)?;

    let hash = &format!("{:016x}", fnv1a(&[glue.as_bytes(), &wasm].concat()))[..12];
    let loader = fs::read_to_string(root().join("public/milogin.js"))?;
    let loader = strip_comment_lines(&loader).replace("@HASH@", hash);

    let dir = widget_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    for (name, bytes) in [
        ("milogin.js".to_owned(), loader.as_bytes()),
        (format!("milogin-{hash}.js"), glue.as_bytes()),
        (format!("milogin-{hash}_bg.wasm"), &wasm[..]),
    ] {
        fs::write(dir.join(&name), bytes)?;
        fs::write(dir.join(format!("{name}.br")), brotli(bytes))?;
        fs::write(dir.join(format!("{name}.gz")), gzip(bytes))?;
    }
    println!("widget built into {} in {:.1}s", dir.display(), started.elapsed().as_secs_f64());
    print_sizes(&dir)?;
    Ok(())
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
        Some(_) => run(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        None => {
            println!("note: rustup not found; assuming the {WASM_TARGET} target is installed");
            Ok(())
        }
    }
}

/// `wasm-opt -Oz` from npm `binaryen` 132 (package-lock.json), installed with `npm ci` when
/// missing. Never Debian's binaryen 108: it breaks wasm-bindgen's externref table.
fn wasm_opt(wasm: Vec<u8>) -> Result<Vec<u8>> {
    let root = root();
    let bin = root.join("node_modules/.bin/wasm-opt");
    if !bin.exists() {
        if !found("npm") {
            println!("note: npm not found, skipping wasm-opt (the wasm is ~1.5 KB gzip bigger)");
            return Ok(wasm);
        }
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&root))?;
    }
    let tmp = target_dir().join("milogin-widget-opt");
    fs::create_dir_all(&tmp)?;
    let (input, output) = (tmp.join("in.wasm"), tmp.join("out.wasm"));
    fs::write(&input, wasm)?;
    let keep = if keep_names() { "-g" } else { "-Oz" }; // `-g` keeps the names (with -Oz below)
    run(Command::new(&bin).args(["-Oz", keep]).arg(&input).arg("-o").arg(&output))?;
    Ok(fs::read(&output)?)
}

/// `MILOGIN_KEEP_NAMES=1`: keep function names in the wasm, for size analysis (e.g. with
/// `wasm-objdump -x` or twiggy). Never ship that build.
fn keep_names() -> bool {
    env::var_os("MILOGIN_KEEP_NAMES").is_some_and(|v| v == "1")
}

/// Drops whole-line `//` comments (the loader's documentation) from the served loader.
fn strip_comment_lines(js: &str) -> String {
    js.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| [l, "\n"].concat()).collect()
}

/// FNV-1a, 64 bit: a content hash for cache-busting file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
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
        return Err(format!("{} has no built widget: run `cargo xtask build-widget` first", dir.display()).into());
    }
    let total_br = print_sizes(&dir)?;
    if total_br > BUDGET_BROTLI {
        return Err(format!("the widget is {total_br} bytes brotli, over the budget of {BUDGET_BROTLI}").into());
    }
    Ok(())
}

/// Prints raw / gzip / brotli of each file the browser downloads; returns the brotli total.
fn print_sizes(dir: &Path) -> Result<u64> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "js" || e == "wasm" || e == "css"));
    files.sort();
    println!("{:<34} {:>9} {:>9} {:>9}", "file", "raw", "gzip -9", "brotli 11");
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
    println!("{:<34} {:>9} {:>9} {:>9}", "total", total[0], total[1], total[2]);
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

fn demo(args: &[String]) -> Result {
    build_widget()?;
    run(cargo().args(["run", "--release", "-p", "milogin-server", "--bin", "milogin", "--", "demo"]).args(args))
}

// ---------------------------------------------------------------------------------------------
// test

fn test() -> Result {
    let started = Instant::now();
    let chromedriver = step("tools", ensure_test_tools)?;
    step("cargo fmt --check", || run(cargo().args(["fmt", "--all", "--check"])))?;
    step("clippy (native)", || {
        run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
    })?;
    step("clippy (widget, wasm32)", || {
        run(cargo().args(["clippy", "-p", "milogin-widget", "--target", WASM_TARGET, "--", "-D", "warnings"]))
    })?;
    step("build-widget", build_widget)?;
    step("cargo test", || {
        run(cargo().args(["test", "--workspace"]).env("MILOGIN_TEST_CHROMEDRIVER", &chromedriver))
    })?;
    println!("\nall checks passed in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
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

/// The wasm target, rustfmt, clippy, Chromium and chromedriver; returns chromedriver's path.
fn ensure_test_tools() -> Result<String> {
    ensure_wasm_target()?;
    if let Some(installed) = output(Command::new("rustup").args(["component", "list", "--installed"])) {
        for component in ["rustfmt", "clippy"] {
            if !installed.lines().any(|l| l.starts_with(component)) {
                run(Command::new("rustup").args(["component", "add", component]))?;
            }
        }
    }
    let path = |p: &str| output(Command::new("sh").args(["-c", &format!("command -v {p}")])).map(|s| s.trim().to_owned());
    let (chromium, driver) = (path("chromium").or_else(|| path("chromium-browser")), path("chromedriver"));
    if let (Some(_), Some(driver)) = (&chromium, &driver) {
        return Ok(driver.clone());
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !(root_user && found("apt-get")) {
        return Err("Chromium and chromedriver are needed for the browser tests. Install them, e.g. \
                    `sudo apt-get install -y chromium chromium-driver` (Debian), and run again"
            .into());
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    path("chromedriver").ok_or_else(|| "chromedriver is still not on PATH after apt-get install".into())
}
