//! The tools `cargo xtask test` and `bench` need: the wasm target, rustfmt, clippy, Chromium and
//! chromedriver, Firefox ESR and geckodriver; installed when missing where it can (root with apt,
//! or `cargo install` into the target dir), otherwise named with how to install them.

use std::env;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::process::{cargo, cmd, describe, found, output, run, target_dir};
use crate::wasm::ensure_wasm_target;
use crate::Result;

/// Where the browser tests find Chromium.
pub(crate) struct Browser {
    pub(crate) chromium: String,
    pub(crate) chromedriver: String,
}

/// The wasm target, rustfmt, clippy, Chromium and chromedriver (PostgreSQL: `postgres.rs`).
/// As root with apt, installs what is missing; otherwise says what to install.
pub(crate) fn ensure_test_tools() -> Result<Browser> {
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
pub(crate) struct Firefox {
    pub(crate) firefox: String,
    pub(crate) geckodriver: String,
}

/// The geckodriver version `cargo xtask test` installs (into the target dir) when it is missing:
/// Debian has no geckodriver package.
const GECKODRIVER: &str = "0.37.1";

/// Firefox ESR (apt, as root, when missing) and geckodriver (`MILOGIN_TEST_GECKODRIVER`, else
/// [`GECKODRIVER`] from crates.io into `target/tools/bin/`, built the first time: a few minutes).
pub(crate) fn ensure_firefox() -> Result<Firefox> {
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
