//! `cargo xtask test`: everything CI runs, step by step, stopping at the first failure.

use std::process::Command;
use std::time::Instant;

use crate::process::{cargo, cmd, output, root, target_dir};
use crate::size::size;
use crate::tools::{ensure_firefox, ensure_test_tools};
use crate::wasm::WASM_TARGET;
use crate::widget::build_widget;
use crate::{designer, msrv, postgres, Result};

pub(crate) fn test() -> Result {
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

/// Runs one step of `test`, printing its name and wall time; stops at the first failure.
pub(crate) fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
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
