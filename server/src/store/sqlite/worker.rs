//! The SQLite store's own thread. It owns the one connection and runs every store call as a
//! **job**; the jobs that queued up while it was busy run as one batch in one transaction
//! (group commit), and every job's answer is sent only once that transaction committed.
//!
//! Why (docs/performance.md): through sqlx, every statement was a round trip to the
//! connection's worker thread (two thread switches and futex wake-ups, ~50–60 µs of CPU), and
//! every write was a commit of its own (WAL frames written, locks taken). Here a store call is
//! one hand-off however many statements it runs, statements run in this thread from a cache of
//! prepared statements, and under load one commit covers many logins.
//!
//! A failed statement fails its job only: SQLite undoes the statement, and a job that writes
//! more than once runs inside a savepoint ([`Db::atomic`]) so it keeps all or nothing. When the
//! batch's transaction itself is lost (SQLite rolls it back on I/O errors, a full disk…), a job
//! panics (its writes may be half done), or the commit fails, the transaction is rolled back and
//! every job of the batch gets [`StoreError::Lost`] with the cause, whatever it answered on its
//! own (an answer may rest on another job's write that is gone): nothing is claimed kept.

use super::super::StoreError;
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, Row};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};

/// Most jobs in one transaction: bounds how long the first job of a batch waits for the last.
const MAX_BATCH: usize = 256;

/// Placeholder names, bound by name (SQLite numbers `$n` parameters in order of appearance).
const NAMES: [&str; 20] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20",
];

/// Statements executed and transactions committed, for `/metrics` (and the benchmark's
/// statements per login).
#[derive(Debug, Default)]
pub struct Counters {
    /// Every statement run, `BEGIN`/`COMMIT`/savepoints included.
    pub statements: AtomicU64,
    /// Batch transactions committed.
    pub commits: AtomicU64,
}

/// What a job answers once the batch's fate is known: `None` committed, `Some(e)` lost.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;
/// A job: run against the connection (`None`: the batch was lost before its turn).
type Job = Box<dyn FnOnce(Option<&Db>) -> Reply + Send>;

enum Msg {
    Job(Job),
    Close(tokio::sync::oneshot::Sender<()>),
}

/// The handle the store keeps: sends jobs to the thread.
pub struct Worker {
    jobs: mpsc::Sender<Msg>,
    /// Shared with the thread.
    pub counters: Arc<Counters>,
}

impl Worker {
    /// Starts the thread that owns `conn`.
    pub fn start(conn: Connection) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        std::thread::Builder::new()
            .name("milogin-sqlite".into())
            .spawn(move || run(conn, rx, &c))?;
        Ok(Self { jobs, counters })
    }

    /// Runs `f` on the store's thread inside the current batch's transaction; its answer comes
    /// once that transaction committed.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (job, rx) = job(f);
        self.jobs
            .send(Msg::Job(job))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Lets the thread finish what is queued, close the connection (SQLite checkpoints the WAL)
    /// and end; every later call is `StoreError::Closed`.
    pub async fn close(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.jobs.send(Msg::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// A job running `f`, and where its answer will come.
fn job<R: Send + 'static>(
    f: impl FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
) -> (Job, tokio::sync::oneshot::Receiver<Result<R, StoreError>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |db| {
        // Without a connection the batch is already lost: the reply says why.
        let out = db.map(|db| db.run_job(f));
        Box::new(move |lost| {
            let _ = tx.send(match (lost, out) {
                (None, Some(out)) => out,
                (lost, _) => Err(StoreError::Lost(
                    lost.unwrap_or("the batch was lost").to_string(),
                )),
            });
        })
    });
    (job, rx)
}

/// The thread: one batch per wake-up until the handle is dropped or closed.
fn run(conn: Connection, rx: mpsc::Receiver<Msg>, counters: &Counters) {
    let db = Db::new(conn, counters);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        // Let the threads that sent this job queue more before the batch is taken: on a busy
        // core the runtime keeps running instead of being preempted by this thread's wake-up
        // for every job (batches of ~2.5 calls at 32 logins in flight without this).
        std::thread::yield_now();
        let mut close = None;
        for msg in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match msg {
                Msg::Job(j) => batch.push(j),
                Msg::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
            if batch.len() == MAX_BATCH {
                break;
            }
        }
        run_batch(&db, &mut batch, &mut replies);
        if let Some(done) = close {
            drop(db);
            let _ = done.send(());
            return;
        }
    }
}

/// Runs the jobs in one transaction and answers them after its commit (or its loss).
fn run_batch(db: &Db, batch: &mut Vec<Job>, replies: &mut Vec<Reply>) {
    if batch.is_empty() {
        return;
    }
    db.broken.take();
    let began = db.raw("BEGIN IMMEDIATE");
    for job in batch.drain(..) {
        // Once the transaction is lost (SQLite rolled it back, or a job panicked), later jobs
        // must not run: in autocommit mode their writes would be kept for a batch that is not.
        let live = began.is_ok() && !db.conn.is_autocommit() && db.broken.borrow().is_none();
        replies.push(job(live.then_some(db)));
    }
    let outcome = match (began, db.broken.take()) {
        (Err(e), _) => Err(format!(
            "could not start a transaction: {e} (another process may hold the database's write lock)"
        )),
        (Ok(()), Some(why)) => {
            db.rollback();
            Err(why)
        }
        (Ok(()), None) if db.conn.is_autocommit() => {
            Err("SQLite rolled the transaction back".to_string())
        }
        (Ok(()), None) => db.raw("COMMIT").map_err(|e| {
            db.rollback();
            format!("commit failed: {e}")
        }),
    };
    if outcome.is_ok() {
        db.counters.commits.fetch_add(1, Relaxed);
    } else if let Err(e) = &outcome {
        tracing::error!(error = %e, jobs = replies.len(), "SQLite batch lost");
    }
    let lost = outcome.err();
    for reply in replies.drain(..) {
        reply(lost.as_deref());
    }
}

/// The connection as jobs see it: statements from the cache, parameters bound by `$n` name,
/// every statement counted.
pub struct Db<'c> {
    conn: Connection,
    counters: &'c Counters,
    /// Set by [`Db::undo`] inside [`Db::atomic`].
    undo: Cell<bool>,
    /// Why the current batch cannot commit (the first cause): a job panicked, or SQLite rolled
    /// the transaction back on a job's error.
    broken: RefCell<Option<String>>,
}

impl<'c> Db<'c> {
    fn new(conn: Connection, counters: &'c Counters) -> Self {
        Self {
            conn,
            counters,
            undo: Cell::new(false),
            broken: RefCell::new(None),
        }
    }

    /// Runs one job. A panic becomes its error instead of ending the thread (and with it the
    /// store), and breaks the batch: what the job wrote before it may be half of its writes.
    fn run_job<R>(&self, f: impl FnOnce(&Self) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
        let out = out.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let why = format!("a store call panicked ({what}); its batch was rolled back");
            self.break_batch(&why);
            Err(StoreError::Lost(why))
        });
        if let Err(e) = &out {
            if self.conn.is_autocommit() {
                self.break_batch(&format!("SQLite rolled the transaction back after: {e}"));
            }
        }
        out
    }

    fn break_batch(&self, why: &str) {
        self.broken
            .borrow_mut()
            .get_or_insert_with(|| why.to_string());
    }

    /// Ends the batch's transaction, if SQLite has not already.
    fn rollback(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.raw("ROLLBACK");
        }
    }

    /// A statement without parameters or rows (transaction control).
    fn raw(&self, sql: &str) -> Result<(), StoreError> {
        self.counters.statements.fetch_add(1, Relaxed);
        self.conn.prepare_cached(sql)?.raw_execute()?;
        Ok(())
    }

    fn bound(&self, sql: &str, params: &[&dyn ToSql]) -> Result<CachedStatement<'_>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        if stmt.parameter_count() != params.len() {
            return Err(StoreError::Invalid(format!(
                "{} parameters given for {} in: {sql}",
                params.len(),
                stmt.parameter_count()
            )));
        }
        for (name, value) in NAMES.iter().zip(params) {
            let index = stmt
                .parameter_index(name)?
                .ok_or_else(|| StoreError::Invalid(format!("no {name} in: {sql}")))?;
            stmt.raw_bind_parameter(index, value)?;
        }
        self.counters.statements.fetch_add(1, Relaxed);
        Ok(stmt)
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize, StoreError> {
        Ok(self.bound(sql, params)?.raw_execute()?)
    }

    /// Every row of a query (or of a `RETURNING` write), mapped.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        mut map: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.bound(sql, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(map(r)?);
        }
        Ok(out)
    }

    /// The first row, if any: [`Db::rows`] keeping the first, so every row is read and mapped
    /// until one fails to map (that error is the answer, the rows after it are not read).
    pub fn row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        map: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.rows(sql, params, map)?.into_iter().next())
    }

    /// Runs `f` all or nothing: inside a savepoint, undone when `f` fails or calls [`Db::undo`].
    pub fn atomic<R>(
        &self,
        f: impl FnOnce(&Self) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.raw("SAVEPOINT job")?;
        self.undo.set(false);
        let out = f(self);
        // When undoing fails too, the job's own error is the one to report.
        if out.is_err() || self.undo.replace(false) {
            if let Err(e) = self.raw("ROLLBACK TO job") {
                return out.and(Err(e));
            }
        }
        if let Err(e) = self.raw("RELEASE job") {
            return out.and(Err(e));
        }
        out
    }

    /// Inside [`Db::atomic`]: undo what the job wrote, but still answer what it returns.
    pub fn undo(&self) {
        self.undo.set(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_db(test: impl FnOnce(&Db)) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        let counters = Counters::default();
        test(&Db::new(conn, &counters));
    }

    fn insert(k: i64) -> impl FnOnce(&Db) -> Result<usize, StoreError> + Send {
        move |db| db.exec("INSERT INTO t (k) VALUES ($1)", &[&k])
    }

    fn keys(db: &Db) -> Vec<i64> {
        db.rows("SELECT k FROM t ORDER BY k", &[], |r| Ok(r.get(0)?))
            .unwrap()
    }

    fn answer<R>(
        mut rx: tokio::sync::oneshot::Receiver<Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        rx.try_recv().expect("every job of a batch is answered")
    }

    #[test]
    fn a_batch_commits_once_and_a_failed_statement_fails_only_its_job() {
        with_db(|db| {
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let mut rxs = Vec::new();
            for k in [1, 2, 1, 3] {
                let (j, rx) = job(insert(k));
                batch.push(j);
                rxs.push(rx);
            }
            run_batch(db, &mut batch, &mut replies);
            let answers: Vec<_> = rxs.into_iter().map(answer).collect();
            assert!(answers[0].is_ok() && answers[1].is_ok() && answers[3].is_ok());
            assert!(
                matches!(answers[2], Err(StoreError::Sqlite(_))),
                "{answers:?}"
            );
            assert_eq!(keys(db), [1, 2, 3]);
            assert_eq!(db.counters.commits.load(Relaxed), 1);
        });
    }

    #[test]
    fn an_atomic_job_keeps_all_or_nothing_and_can_undo_on_purpose() {
        with_db(|db| {
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let (half, half_rx) = job(|db: &Db| {
                db.atomic(|db| {
                    insert(10)(db)?;
                    insert(10)(db)
                })
            });
            let (undone, undone_rx) = job(|db: &Db| {
                db.atomic(|db| {
                    insert(20)(db)?;
                    db.undo();
                    Ok("answered")
                })
            });
            let (kept, kept_rx) = job(|db: &Db| db.atomic(|db| insert(30)(db)));
            batch.extend([half, undone, kept]);
            run_batch(db, &mut batch, &mut replies);
            assert!(answer(half_rx).is_err());
            assert_eq!(answer(undone_rx).unwrap(), "answered");
            assert_eq!(answer(kept_rx).unwrap(), 1);
            assert_eq!(keys(db), [30]);
        });
    }

    #[test]
    fn when_the_transaction_is_lost_every_job_of_the_batch_hears_it() {
        with_db(|db| {
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let (before, before_rx) = job(insert(1));
            // Stands for SQLite rolling the transaction back on an I/O error or a full disk.
            let (lose, lose_rx) = job(|db: &Db| db.exec("ROLLBACK", &[]));
            let (after, after_rx) = job(insert(2));
            batch.extend([before, lose, after]);
            run_batch(db, &mut batch, &mut replies);
            for a in [answer(before_rx), answer(lose_rx), answer(after_rx)] {
                assert!(matches!(a, Err(StoreError::Lost(_))), "{a:?}");
            }
            assert!(keys(db).is_empty());
            assert_eq!(db.counters.commits.load(Relaxed), 0);
        });
    }

    #[test]
    fn a_panicking_job_leaves_nothing_of_its_batch_written() {
        with_db(|db| {
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let (before, before_rx) = job(insert(1));
            // Panics halfway through a savepoint: its first write must not be committed.
            let (panics, panics_rx) = job(|db: &Db| {
                db.atomic(|db| -> Result<(), StoreError> {
                    insert(2)(db)?;
                    panic!("a bug in a store call")
                })
            });
            let (after, after_rx) = job(insert(3));
            batch.extend([before, panics, after]);
            run_batch(db, &mut batch, &mut replies);
            for a in [answer(before_rx), answer(after_rx)] {
                assert!(matches!(a, Err(StoreError::Lost(_))), "{a:?}");
            }
            assert!(
                matches!(answer(panics_rx), Err(StoreError::Lost(m)) if m.contains("panicked"))
            );
            assert!(keys(db).is_empty(), "{:?}", keys(db));
            assert!(
                db.conn.is_autocommit(),
                "no transaction or savepoint left open"
            );
            // The next batch runs normally.
            let (next, next_rx) = job(insert(4));
            batch.push(next);
            run_batch(db, &mut batch, &mut replies);
            assert_eq!(answer(next_rx).unwrap(), 1);
            assert_eq!(keys(db), [4]);
        });
    }

    #[test]
    fn when_sqlite_rolls_back_every_job_hears_why() {
        with_db(|db| {
            // Stands for an error on which SQLite rolls the whole transaction back itself (I/O
            // error, full disk): a trigger raising ROLLBACK.
            db.conn
                .execute_batch(
                    "CREATE TRIGGER full BEFORE INSERT ON t WHEN NEW.k = 99
                     BEGIN SELECT RAISE(ROLLBACK, 'disk full stand-in'); END",
                )
                .unwrap();
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let mut rxs = Vec::new();
            for k in [1, 99, 2] {
                let (j, rx) = job(insert(k));
                batch.push(j);
                rxs.push(rx);
            }
            run_batch(db, &mut batch, &mut replies);
            for a in rxs.into_iter().map(answer) {
                assert!(
                    matches!(&a, Err(StoreError::Lost(m)) if m.contains("disk full stand-in")),
                    "{a:?}"
                );
            }
            assert!(keys(db).is_empty());
        });
    }

    #[test]
    fn a_failed_commit_fails_every_job_even_those_that_failed_on_their_own() {
        with_db(|db| {
            // A deferred foreign key is checked at COMMIT: the commit fails.
            db.conn
                .execute_batch(
                    "PRAGMA foreign_keys = ON;
                     CREATE TABLE c (k INTEGER REFERENCES t (k) DEFERRABLE INITIALLY DEFERRED)",
                )
                .unwrap();
            let (mut batch, mut replies) = (Vec::new(), Vec::new());
            let (first, first_rx) = job(insert(1));
            // Fails only because of `first`'s write, which the lost commit takes away.
            let (dup, dup_rx) = job(insert(1));
            let (orphan, orphan_rx) = job(|db: &Db| db.exec("INSERT INTO c (k) VALUES (7)", &[]));
            batch.extend([first, dup, orphan]);
            run_batch(db, &mut batch, &mut replies);
            for a in [answer(first_rx), answer(dup_rx), answer(orphan_rx)] {
                assert!(
                    matches!(&a, Err(StoreError::Lost(m)) if m.contains("FOREIGN KEY")),
                    "{a:?}"
                );
            }
            assert!(keys(db).is_empty());
            assert!(db.conn.is_autocommit());
        });
    }

    #[test]
    fn an_atomic_job_reports_its_own_error_when_the_undo_fails_too() {
        with_db(|db| {
            let out = db.atomic(|db| -> Result<(), StoreError> {
                db.raw("RELEASE job")?; // the savepoint is gone: ROLLBACK TO will fail
                Err(StoreError::Invalid("the job's own error".into()))
            });
            assert!(matches!(out, Err(StoreError::Invalid(m)) if m == "the job's own error"));
        });
    }

    #[tokio::test]
    async fn calls_after_close_fail_as_closed() {
        let conn = Connection::open_in_memory().unwrap();
        let w = Worker::start(conn).unwrap();
        assert_eq!(
            w.call(|db| db.row("SELECT 1", &[], |r| Ok(r.get::<_, i64>(0)?)))
                .await
                .unwrap(),
            Some(1)
        );
        w.close().await;
        assert!(matches!(w.call(|_| Ok(())).await, Err(StoreError::Closed)));
    }
}
