//! `milogin-bench`: the full-login benchmark of design.md §9.
//!
//! It starts the embedded mock Xiaomi in this process, writes a configuration (SQLite in a
//! temporary folder, or a scratch PostgreSQL database with `--store postgres`), starts the
//! **release** `milogin serve` as a child process and drives complete logins against it with a
//! bounded, closed-loop load generator: every virtual user has its own cookie jar and
//! connections, and one flow is
//!
//! 1. `GET /connection/social/mi/bench/authorize` → 302 to the mock, binding cookie set;
//! 2. `GET` the mock's consent page, read its `req`, `POST /oauth2/authorize/decision` with
//!    `req` + `account` → 302 to our callback (the path a browser takes; `Mock::issue_code` would
//!    skip the consent page and is not used);
//! 3. `GET …/callback` (the server exchanges the code, reads the profile, finds or creates the
//!    user and signs the id_token) → the popup result page;
//! 4. the result JSON is parsed and the id_token verified against the JWKS (fetched once) with
//!    `jsonwebtoken`.
//!
//! Per concurrency level it prints flows/s, p50/p90/p99 of a whole flow, the server's CPU time
//! per flow (utime + stime from `/proc/<pid>/stat`), with PostgreSQL the cluster's CPU per flow
//! (its postmaster's process tree, when it runs on this machine), the server's peak RSS
//! (`VmHWM`, reset before each level), the load generator's own CPU per flow, the store's
//! statements and commits per login (the server's `/metrics` counters, read between levels; `-`
//! when it has none), and errors: one table, then one JSON line.
//!
//! With `--peer <name>` the same run then measures the peer app in `bench/peers/<name>/` (a Node
//! implementation of the same login) the same way: same mock, same virtual users, same pinning,
//! one server at a time on CPU 0; it prints both tables and, per level, the ratio.

mod db;
mod login;
mod metrics;
mod procfs;
mod report;
mod setup;

use clap::{Parser, ValueEnum};
use db::StoreKind;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Full-login benchmark of `milogin serve` against the embedded mock Xiaomi.
///
/// Prints one table and one JSON line (the last line of standard output). Every level is bounded
/// by --seconds and --max-flows; nothing runs unbounded.
#[derive(Parser, Debug, Clone)]
#[command(name = "milogin-bench", version, about, long_about = None)]
pub struct Args {
    /// The `milogin` binary to benchmark (build it with `cargo build --release -p milogin-server`).
    #[arg(long, default_value = "target/release/milogin")]
    pub server_bin: PathBuf,
    /// Concurrency levels (virtual users), comma-separated; each level is measured in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    pub concurrency: Vec<usize>,
    /// Duration of each level, seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Most flows per level (the level ends at --seconds or here, whichever comes first).
    #[arg(long, default_value_t = 20_000)]
    pub max_flows: u64,
    /// Pin the server to CPU 0 and this load generator (with the mock) to CPU 1 (`taskset`).
    #[arg(long)]
    pub pin: bool,
    /// Users (each with a Xiaomi identity) written into the store before the server starts
    /// (after its migrations), so a run measures the store at that size; up to millions.
    #[arg(long, default_value_t = 0)]
    pub users: u64,
    /// The store `milogin serve` runs on: `sqlite` (a file in the run's temporary folder) or
    /// `postgres` (needs --database-url; `cargo xtask bench --store postgres` starts a
    /// throw-away PostgreSQL and passes it). Every run starts from an empty database.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// With --store postgres: a PostgreSQL server, as postgres://USER@HOST:PORT/DB, whose user
    /// may create databases. The bench creates the database `milogin_bench_<pid>` there, runs
    /// on it and drops it at the end (--keep leaves it); DB itself is only used to connect.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Which logins are measured: `new` (every flow is a Xiaomi account the pool has never
    /// seen: the user is created) or `returning` (every account logged in once during the
    /// warm-up: the user is found).
    #[arg(long, value_enum, default_value_t = Mix::New)]
    pub mix: Mix,
    /// Mock Xiaomi accounts for `--mix returning` (flows cycle through them). With `--mix new`
    /// there is one account per possible flow (warm-up + levels × --max-flows).
    #[arg(long, default_value_t = 1000)]
    pub accounts: u64,
    /// Flows before the first level (connections, caches), not measured; with `--mix
    /// returning` at least --accounts.
    #[arg(long, default_value_t = 500)]
    pub warmup: u64,
    /// `RUST_LOG` of the server (its default, `info`, is what production runs).
    #[arg(long, default_value = "info")]
    pub server_log: String,
    /// Keep the temporary folder (configuration, database, server log) and print its path.
    #[arg(long)]
    pub keep: bool,
    /// After milogin, measure the peer app `bench/peers/<PEER>/` (e.g. `express-passport`) in
    /// the same run: same mock, load and pinning; prints both and the ratio. Its `node_modules`
    /// must be installed (`cargo xtask bench --peer <PEER>` runs `npm ci` when missing).
    #[arg(long)]
    pub peer: Option<String>,
    /// The Node.js binary that runs the peer.
    #[arg(long, default_value = "node")]
    pub node: String,
}

/// The kind of login measured.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mix {
    /// Every measured flow creates a user.
    New,
    /// Every measured flow finds an existing user.
    Returning,
}

impl Mix {
    fn as_str(self) -> &'static str {
        match self {
            Mix::New => "new",
            Mix::Returning => "returning",
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        eprintln!("error: --concurrency needs levels of at least 1");
        return ExitCode::FAILURE;
    }
    let pinned = args.pin && procfs::pin_self(1);
    if args.pin && !pinned {
        eprintln!("note: --pin asked for, but `taskset` is missing or failed; running unpinned");
    }
    // Threads inherit the affinity set above: the runtime and the mock (and
    // rusqlite/sqlx while pre-populating) all run on CPU 1 when pinned.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args, pinned)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, pinned: bool) -> Result<(), String> {
    let levels = args.concurrency.len() as u64;
    let accounts = match args.mix {
        Mix::New => args.warmup + levels * args.max_flows,
        Mix::Returning => args.accounts.max(1),
    };
    match (args.store, &args.database_url) {
        (StoreKind::Postgres, None) => return Err(setup::NO_DATABASE_URL.into()),
        (StoreKind::Sqlite, Some(_)) => {
            return Err("--database-url is for --store postgres; with SQLite (the default) the bench keeps its database in a temporary folder".into())
        }
        _ => {}
    }
    let peer = args.peer.as_deref().map(setup::peer_dir).transpose()?;
    if peer.is_some() && args.store == StoreKind::Postgres {
        eprintln!("note: milogin runs on PostgreSQL, the peer on its own SQLite file (it has no other store)");
    }
    if peer.is_some() && args.users > 0 {
        return Err("--users pre-populates milogin's store only; leave it out with --peer".into());
    }
    let mock = setup::start_mock(accounts).await?;

    let env = setup::start(&args, &mock.base, pinned).await?;
    let milogin = measure(&args, env, accounts, pinned).await?;
    print!("{}", milogin.table());
    let Some(peer) = peer else {
        println!("{}", milogin.json());
        return Ok(());
    };

    let env = setup::start_peer(&args, &peer, &mock.base, pinned).await?;
    let peer_run = measure(&args, env, accounts, pinned).await?;
    println!();
    print!("{}", peer_run.table());
    let name = args.peer.as_deref().unwrap_or_default();
    println!();
    print!("{}", report::comparison(name, &milogin, &peer_run));
    println!("{}", report::comparison_json(name, &milogin, &peer_run));
    Ok(())
}

/// Warm-up, then every level, against one server; stops it and returns the figures.
async fn measure(
    args: &Args,
    env: setup::Env,
    accounts: u64,
    pinned: bool,
) -> Result<report::Run, String> {
    let machine = procfs::Machine::read();
    let server = match env.kind {
        login::Kind::Milogin => "milogin".to_owned(),
        login::Kind::Peer => format!("peer {}", args.peer.as_deref().unwrap_or_default()),
    };
    eprintln!(
        "{server}: pid {} on {} ({} accounts, {} pre-populated users, mix {}{})",
        env.server_pid(),
        env.base,
        accounts,
        args.users,
        args.mix.as_str(),
        if pinned {
            ", pinned: server CPU 0, load CPU 1"
        } else {
            ""
        }
    );
    let target = Arc::new(env.target().await?);
    // Every server sees the same accounts in the same order.
    let next_account = Arc::new(AtomicU64::new(0));

    // Warm-up: connections, page cache, JIT, and for `returning` every account's first login.
    let warmup = match args.mix {
        Mix::New => args.warmup,
        Mix::Returning => args.warmup.max(accounts),
    };
    if warmup > 0 {
        let w = run_level(
            &target,
            &next_account,
            accounts,
            32,
            Duration::from_secs(600),
            warmup,
        )
        .await;
        eprintln!("warm-up: {} flows, {} errors", w.flows, w.errors);
        if w.errors > 0 {
            return Err(format!(
                "{server}: warm-up failed: {}; server log: {}",
                w.first_error.unwrap_or_default(),
                env.log_tail()
            ));
        }
    }

    // The store counters are read outside the CPU window of each level.
    let (kind, base) = (env.kind, env.base.clone());
    let scrape = |http: reqwest::Client| {
        let base = base.clone();
        async move {
            match kind {
                login::Kind::Milogin => metrics::scrape(&http, &base).await,
                login::Kind::Peer => metrics::StoreCounters::default(),
            }
        }
    };
    let http = reqwest::Client::new();
    // PostgreSQL's own CPU (every backend and background process of the cluster).
    let db_pid = env.database_pid().await;
    if args.store == StoreKind::Postgres && env.kind == login::Kind::Milogin && db_pid.is_none() {
        eprintln!("note: the PostgreSQL cluster's processes are not visible here (another machine, or no superuser): its CPU is not measured");
    }
    let db_ticks = || db_pid.map(procfs::tree_cpu_ticks).transpose();
    let mut results = Vec::new();
    for &c in &args.concurrency {
        let counters_before = scrape(http.clone()).await;
        procfs::reset_peak_rss(env.server_pid());
        let server_before = procfs::cpu_ticks(env.server_pid())?;
        let self_before = procfs::cpu_ticks(std::process::id())?;
        let db_before = db_ticks()?;
        let r = run_level(
            &target,
            &next_account,
            accounts,
            c,
            Duration::from_secs(args.seconds),
            args.max_flows,
        )
        .await;
        let server_after = procfs::cpu_ticks(env.server_pid())?;
        let self_after = procfs::cpu_ticks(std::process::id())?;
        let db_after = db_ticks()?;
        let counters_after = scrape(http.clone()).await;
        let per_flow = counters_after.per_flow_since(&counters_before, r.flows);
        let level = report::Level::new(
            c,
            r,
            procfs::ticks_to_ms(server_after - server_before),
            procfs::ticks_to_ms(self_after - self_before),
            procfs::peak_rss_kib(env.server_pid()).unwrap_or(0),
        )
        .with_store_counters(per_flow)
        .with_database_cpu_ms(
            db_before
                .zip(db_after)
                .map(|(b, a)| procfs::ticks_to_ms(a.saturating_sub(b))),
        );
        eprintln!("{}", level.progress());
        results.push(level);
    }
    let (users, identities) = env.rows().await;
    if args.keep {
        eprintln!("kept {}", env.dir_path().display());
    }
    env.stop(args.keep);
    Ok(report::Run {
        server,
        store: match kind {
            login::Kind::Milogin => args.store.as_str(),
            login::Kind::Peer => "sqlite",
        },
        mix: args.mix.as_str(),
        accounts,
        users_prepopulated: args.users,
        users_after: users,
        identities_after: identities,
        pinned,
        seconds: args.seconds,
        max_flows: args.max_flows,
        server_log: args.server_log.clone(),
        machine,
        levels: results,
    })
}

/// What one level (or the warm-up) measured.
pub struct LevelRun {
    /// Completed flows (successful or not).
    pub flows: u64,
    /// Failed flows.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Whole-flow latencies of successful flows, microseconds.
    pub latencies_us: Vec<u64>,
    /// Wall time of the level.
    pub wall: Duration,
}

/// Runs `concurrency` virtual users until `duration` has passed or `max_flows` flows have been
/// started, whichever comes first. Each virtual user runs one flow at a time (closed loop).
async fn run_level(
    target: &Arc<login::Target>,
    next_account: &Arc<AtomicU64>,
    accounts: u64,
    concurrency: usize,
    duration: Duration,
    max_flows: u64,
) -> LevelRun {
    let started = Instant::now();
    let deadline = started + duration;
    let budget = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for vu in 0..concurrency {
        let (target, next_account, budget) = (target.clone(), next_account.clone(), budget.clone());
        tasks.push(tokio::spawn(async move {
            let user = login::VirtualUser::new(vu);
            let mut out = LevelRun {
                flows: 0,
                errors: 0,
                first_error: None,
                latencies_us: Vec::new(),
                wall: Duration::ZERO,
            };
            while Instant::now() < deadline && budget.fetch_add(1, Ordering::Relaxed) < max_flows {
                let account =
                    setup::account_id(next_account.fetch_add(1, Ordering::Relaxed) % accounts);
                let t0 = Instant::now();
                let r = user.login(&target, &account).await;
                out.flows += 1;
                match r {
                    Ok(()) => out.latencies_us.push(t0.elapsed().as_micros() as u64),
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert(e);
                    }
                }
            }
            out
        }));
    }
    let mut total = LevelRun {
        flows: 0,
        errors: 0,
        first_error: None,
        latencies_us: Vec::new(),
        wall: Duration::ZERO,
    };
    for t in tasks {
        // Every request has a timeout (login::REQUEST_TIMEOUT), so each task ends.
        match t.await {
            Ok(r) => {
                total.flows += r.flows;
                total.errors += r.errors;
                if total.first_error.is_none() {
                    total.first_error = r.first_error;
                }
                total.latencies_us.extend(r.latencies_us);
            }
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("virtual user panicked: {e}"));
            }
        }
    }
    total.wall = started.elapsed();
    total
}
