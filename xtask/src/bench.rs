//! `cargo xtask bench [ARGS]`: the login benchmark of the release server, then the widget's size
//! and time to button; `--peer NAME` and `--store postgres` variants.

use std::process::Command;

use crate::process::{cargo, cmd, found, root, run, target_dir};
use crate::size::print_sizes;
use crate::tools::ensure_test_tools;
use crate::widget::{build_widget, widget_dir};
use crate::{postgres, Result};

/// The benchmarks of design.md §9: `milogin-bench` (the release server under a bounded login
/// load), then the widget's download size and its time to button in headless Chromium.
///
/// With `--peer NAME`, the login benchmark only, against milogin and then the peer app in
/// `bench/peers/NAME/` (its Node dependencies installed first): the widget steps measure nothing
/// the peer has. With `--store postgres` (and no `--database-url`), the login benchmark only, on
/// a throw-away PostgreSQL cluster (`postgres.rs`, installed with apt when missing) that is
/// stopped and deleted afterwards; it combines with `--peer` (the peer keeps its SQLite file).
pub(crate) fn bench(args: &[String]) -> Result {
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
