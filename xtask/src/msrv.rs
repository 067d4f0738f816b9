//! The declared `rust-version` is true: no package in `Cargo.lock` (for any target) needs a newer
//! Rust than the workspace declares. A cheap check from `cargo metadata`, because this machine can
//! install no second toolchain to build with the declared one.

use std::process::Command;

/// A version `a.b[.c]` as three numbers (`1.85` = `1.85.0`), for comparison.
fn parse(v: &str) -> [u64; 3] {
    let mut out = [0; 3];
    for (slot, part) in out.iter_mut().zip(v.split('.')) {
        *slot = part.parse().unwrap_or(0);
    }
    out
}

/// Fails with every package whose `rust-version` is above the workspace's.
pub fn check(mut cargo: Command) -> Result<(), String> {
    let out = cargo
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
        .unwrap_or_default();
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let rust_version = |p: &serde_json::Value| p["rust_version"].as_str().map(str::to_owned);
    let declared = packages
        .iter()
        .find(|p| members.contains(&p["id"].as_str().unwrap_or("")))
        .and_then(rust_version)
        .ok_or("the workspace declares no rust-version ([workspace.package] rust-version)")?;
    let mut newer: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let v = rust_version(p)?;
            (parse(&v) > parse(&declared)).then(|| {
                format!(
                    "{} {} needs Rust {v}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    if newer.is_empty() {
        println!("rust-version {declared}: every locked package builds with it");
        return Ok(());
    }
    newer.sort();
    Err(format!(
        "Cargo.toml declares rust-version = \"{declared}\", but:\n  {}\nraise rust-version in Cargo.toml, or pin those packages to older versions (cargo update -p NAME --precise VERSION)",
        newer.join("\n  ")
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_number() {
        assert!(super::parse("1.89.0") > super::parse("1.88"));
        assert!(super::parse("1.100") > super::parse("1.89.0"));
        assert_eq!(super::parse("1.89"), super::parse("1.89.0"));
    }
}
