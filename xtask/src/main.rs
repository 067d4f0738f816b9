//! `cargo xtask <command>` — the project's build and test entry points (design.md §2).
//!
//! * `build-widget` — release wasm → wasm-bindgen (as a library, pinned to Cargo.lock's
//!   wasm-bindgen) → glue clean-up → wasm-opt -Os and terser (npm, from package-lock.json, when
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
//! * `bench [ARGS]` — the login benchmark, then the widget's size and time to button.
//!
//! One module per job: `widget` (with `glue` and the shared `wasm` step, `compress`), `designer`,
//! `size`, `demo`, `bench`, `ci` (`test`), `tools` (installing what the tests need), `postgres`
//! (a scratch cluster), `msrv`; `process` runs commands. This file only dispatches.

use std::env;
use std::error::Error;
use std::process::ExitCode;

mod bench;
mod ci;
mod compress;
mod demo;
mod designer;
mod glue;
mod msrv;
mod postgres;
mod process;
mod size;
mod tools;
mod wasm;
mod widget;

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

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-widget") => widget::build_widget(),
        Some("build-designer") => designer::build_designer(),
        Some("size") => size::size(),
        Some("demo") => demo::demo(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("test") => ci::test(),
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
