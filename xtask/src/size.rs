//! `cargo xtask size`: what a browser downloads to show the button (raw / gzip / brotli), against
//! the 47 KiB brotli budget and the ratchet (the size recorded in docs/widget-size.md + 512 B);
//! fails when over either.

use std::fs;
use std::path::{Path, PathBuf};

use crate::compress::{brotli, gzip};
use crate::process::root;
use crate::widget::widget_dir;
use crate::Result;

/// Everything a browser downloads to show the button, brotli (design.md §9): Leptos included.
const BUDGET_BROTLI: u64 = 47 * 1024;
/// The ratchet: a build may exceed the size recorded in docs/widget-size.md by this much at most.
const RATCHET_SLACK: u64 = 512;
/// The line of docs/widget-size.md that records the size (`Recorded size: 12345 bytes brotli`).
const RECORDED: &str = "Recorded size: ";

pub(crate) fn size() -> Result {
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
pub(crate) fn print_sizes(dir: &Path) -> Result<u64> {
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
