//! Store: the database behind everything, a SQLite file (the default) or a PostgreSQL server (the
//! shared office), migrated by sqlx. All SQL lives here, in small named functions on a `Conn`.

/// Runs one statement on whichever engine `conn` holds: the statement is written once and
/// compiled for both (`$c` is a `&mut SqliteConnection` in one arm, a `&mut PgConnection` in
/// the other), so both engines run the same SQL with the same bound values.
macro_rules! on {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn.engine() {
            $crate::store::Engine::Sqlite($c) => $body,
            $crate::store::Engine::Postgres($c) => $body,
        }
    };
}

/// Runs `$head VALUES (…), (…) $tail` over `$rows`, `$per` rows to a statement (`$push` binds
/// one row's values): multi-row inserts, or an update from such a list. Each statement's values
/// are bound while the previous statement runs on the engine's side: binding is a fifth of a
/// bulk insert, done on the other core. Evaluates to `Result<(), sqlx::Error>`.
macro_rules! bulk {
    ($conn:expr, $head:expr, $rows:expr, $per:expr, |$b:ident, $row:ident| $push:expr) => {
        bulk!($conn, $head, $rows, $per, |$b, $row| $push; "")
    };
    ($conn:expr, $head:expr, $rows:expr, $per:expr, |$b:ident, $row:ident| $push:expr; $tail:expr) => {
        on!($conn, |c| {
            let build = $crate::store::per_chunk($rows, |chunk| {
                let mut q = sqlx::QueryBuilder::new($head);
                q.push_values(chunk, |mut $b, $row| {
                    $push;
                });
                q.push($tail);
                q
            });
            let mut chunks = $rows.chunks($per);
            let mut next = chunks.next().map(&build);
            let mut outcome = Ok(());
            while let Some(mut q) = next.take() {
                let (done, following) =
                    tokio::join!(q.build().execute(&mut *c), async { chunks.next().map(&build) });
                if let Err(e) = done {
                    outcome = Err(e);
                    break;
                }
                next = following;
            }
            outcome
        })
    };
}

/// `build`, typed by the rows it binds (for `bulk!`).
pub(crate) fn per_chunk<'a, T, B>(_rows: &'a [T], build: impl Fn(&'a [T]) -> B) -> impl Fn(&'a [T]) -> B {
    build
}

mod code;
pub use code::Code;

// SQLite's page cache, per connection. A write transaction may hold tens of thousands of new
// rows: 64 MiB keeps them from spilling to disk before the commit (a 100,000-row card export:
// 2.6 s, 3.0 s with 8 MiB). Reads get 8 MiB: a larger cache made a long-running process's lists
// slower once other screens had filled it, and much slower when a list's pages outgrew it (the
// scale benchmark, ten years, median of five: the exemption report over every year 1,280 ms with
// 64 MiB, 1,250 with 24, 322 with 8, 318 with 2; reminders 369, 370, 130, 198 ms).
//
// Reads also see the file through a memory map, up to 1 GiB: a list that scans its table reads the
// pages in place instead of copying them through the cache (the scale benchmark's lists 10 to 50 %
// faster, the exemption report over every year 97 ms instead of 118 on ten years). Writes do not:
// with the map, the 100,000-row card export took 3.1–3.9 s instead of 2.8–2.9.
const WRITE_CACHE: &str = "PRAGMA cache_size = -65536; PRAGMA mmap_size = 0";
const READ_CACHE: &str = "PRAGMA cache_size = -8192; PRAGMA mmap_size = 1073741824";

pub mod audit;
pub mod backup;
pub mod bank;
pub mod card;
pub mod dunning;
pub mod exemptions;
pub mod invoices;
pub mod ledger;
pub mod requests;
pub mod server;
pub mod session;
pub mod settings;
mod sqlite_alloc;
mod sqlite_rows;
pub mod students;
pub mod transfer;
pub mod users;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, SqlSafeStr, Sqlite, SqliteConnection, SqlitePool, Transaction};

use regie_rules::bank::LineSort;
use regie_rules::card::TransactionSort;
use regie_rules::ledger::InvoiceSort;
use regie_rules::requests::RequestSort;

use crate::{Error, Result};

/// Which database a `--db` / `REGIE_DB` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded default: one file, on this desk.
    File(PathBuf),
    /// The office's shared PostgreSQL server (`postgres://user@host/db`).
    Server(String),
}

impl Location {
    /// A path or `sqlite:` URL is a file; a `postgres://` or `postgresql://` URL is a server.
    pub fn parse(text: &str) -> Location {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Location::Server(text.to_string());
        }
        match text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
            Some(rest) => Location::File(PathBuf::from(rest)),
            None => Location::File(PathBuf::from(text)),
        }
    }

    pub fn of(path: &Path) -> Location {
        Location::parse(&path.to_string_lossy())
    }

    /// The database's name on a server (the URL's last segment); the file's name otherwise.
    pub fn name(&self) -> String {
        match self {
            Location::File(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Location::Server(url) => {
                let path = url.split('?').next().unwrap_or_default();
                path.rsplit('/').next().unwrap_or_default().to_string()
            }
        }
    }

    /// What `--db` takes to open this location again (a server's URL with its credentials).
    pub fn as_arg(&self) -> PathBuf {
        match self {
            Location::File(p) => p.clone(),
            Location::Server(url) => PathBuf::from(url),
        }
    }

    /// How the location is shown: a file's path, or the server's URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Server(url) => redact(url),
        }
    }
}

/// A server URL as it may be shown: `postgres://claire:secret@host/db` -> `postgres://claire@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((user, host)) => format!("{scheme}://{}@{host}", user.split(':').next().unwrap_or_default()),
        None => url.to_string(),
    }
}

/// A handle on one Régie database, on either engine. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    location: Location,
    /// Whether a checkpoint started by a commit is still running (SQLite).
    checkpointing: Arc<AtomicBool>,
}

/// The connection pool of the engine in use.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection that store functions run their statements on: a pooled one for reads, or the
/// open transaction of a write. Store functions take `&mut Conn` and run each statement with
/// `on!`.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    SqliteTx(Transaction<'static, Sqlite>),
    PostgresTx(Transaction<'static, Postgres>),
}

/// The engine's own connection, borrowed for one statement.
pub enum Engine<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn {
    pub fn engine(&mut self) -> Engine<'_> {
        match self {
            Conn::Sqlite(c) => Engine::Sqlite(c),
            Conn::Postgres(c) => Engine::Postgres(c),
            Conn::SqliteTx(t) => Engine::Sqlite(t),
            Conn::PostgresTx(t) => Engine::Postgres(t),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_) | Conn::PostgresTx(_))
    }
}

/// A write transaction: every statement run on it lands together at `commit`, or not at all.
///
/// Dropped without a commit (an action refused half-way, `?` on an error), it is rolled back at
/// once, so that the writers' lock it holds (SQLite's write lock, the office's advisory lock) stops
/// no other desktop: sqlx hands SQLite's ROLLBACK to the connection's own thread as it drops, even
/// if this runtime is then blocked; on PostgreSQL sqlx would only queue it until the connection is
/// next used, so it is sent from the runtime.
///
/// On SQLite the commit leaves the copy of the write-ahead log into the file (the checkpoint) to
/// a task of its own: after a large import it is a tenth of a second or more that the user
/// would otherwise wait for (`wal_autocheckpoint` is off on every connection for that reason).
pub struct Tx(Option<Conn>, Option<Checkpoints>);

/// What a SQLite commit needs to start a checkpoint afterwards, one at a time.
#[derive(Clone)]
struct Checkpoints {
    pool: SqlitePool,
    running: Arc<AtomicBool>,
}

impl Checkpoints {
    /// Starts a passive checkpoint (it waits for no reader and no writer) unless one is running
    /// (what a commit adds meanwhile is copied by the next one); without a runtime, or if it
    /// fails, the log is copied by a later one or when the last connection closes: nothing
    /// committed depends on it, and readers see the log as well as the file.
    fn start(self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        drop(runtime.spawn(async move {
            if let Ok(mut c) = self.pool.acquire().await {
                drop(sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *c).await);
            }
            self.running.store(false, Ordering::Release);
        }));
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        match self.0.take() {
            Some(Conn::PostgresTx(t)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    drop(runtime.spawn(async move { drop(t.rollback().await) }));
                }
            }
            Some(Conn::SqliteTx(t)) => drop(t),
            Some(Conn::Sqlite(_) | Conn::Postgres(_)) | None => {}
        }
    }
}

impl Tx {
    fn open(&mut self) -> Conn {
        self.0.take().expect("a transaction is used until its commit or rollback")
    }

    /// Undoes everything the transaction did (a dry run).
    pub async fn rollback(mut self) -> Result<()> {
        match self.open() {
            Conn::SqliteTx(t) => t.rollback().await?,
            Conn::PostgresTx(t) => t.rollback().await?,
            Conn::Sqlite(_) | Conn::Postgres(_) => unreachable!("a Tx holds a transaction"),
        }
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        match self.open() {
            Conn::SqliteTx(t) => {
                t.commit().await?;
                if let Some(checkpoints) = self.1.take() {
                    checkpoints.start();
                }
            }
            Conn::PostgresTx(mut t) => {
                // Delivered at commit, to every desktop watching (`Store::changes`).
                sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut *t).await?;
                t.commit().await?
            }
            Conn::Sqlite(_) | Conn::Postgres(_) => unreachable!("a Tx holds a transaction"),
        }
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.0.as_ref().expect("a transaction is used until its commit or rollback")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.0.as_mut().expect("a transaction is used until its commit or rollback")
    }
}

/// A pooled connection for reads.
pub struct Read(Conn);

impl std::ops::Deref for Read {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Read {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

/// The application identifier, shared with `tauri.conf.json` so the CLI and the window open the same file.
pub const APP_ID: &str = "fr.clermont-auvergne-inp.regie";

/// `$REGIE_DB`, else `regie.sqlite` in the OS's app-data folder (`~/.local/share/<APP_ID>` on Linux).
pub fn default_db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("REGIE_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir().unwrap_or_else(std::env::temp_dir).join(APP_ID).join("regie.sqlite")
}

/// The notification channel every committed write announces itself on (PostgreSQL).
const CHANNEL: &str = "regie_changes";

/// The other desktops' commits, as they happen: each `next` returns after one (or a burst of
/// them) was committed on the server.
pub struct Changes(sqlx::postgres::PgListener);

impl Changes {
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        // A burst (an import's commit, a batch of approvals) is one change for the screens.
        while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(150), self.0.try_recv()).await {}
        Ok(())
    }
}

/// The key of the advisory lock every write transaction takes on PostgreSQL ("REGIE" in ASCII).
const WRITER_LOCK: i64 = 0x0052_4547_4945;

impl Store {
    /// Opens the database `location` names (a SQLite file, created if needed, or a PostgreSQL
    /// server), applies pending migrations and seeds the settings and fee grid on first start.
    pub async fn open(location: &Path) -> Result<Store> {
        Store::open_at(Location::of(location)).await
    }

    pub async fn open_at(location: Location) -> Result<Store> {
        let pool = match &location {
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
                }
                sqlite_alloc::install();
                let options = SqliteConnectOptions::from_str("sqlite:")?
                    .filename(path)
                    .create_if_missing(true)
                    // A new file gets 16 KiB pages (a file made before keeps its own): an import
                    // writes tens of thousands of rows with their index entries, and bigger pages
                    // split less often. The 50,000-line statement's lines, payments, allocations
                    // and links inserted by SQLite alone: 0.379 s instead of 0.427 (median of
                    // seven); the whole import, four runs each way: 973–1,101 ms instead of
                    // 1,047–1,180.
                    .page_size(16384)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Checkpoints run after commits, on a task of their own (`Tx::commit`).
                    .pragma("wal_autocheckpoint", "0")
                    // The page cache is sized per use: `read` and `begin` set it (`READ_CACHE`).
                    .pragma("temp_store", "memory");
                let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
                upgrade(&pool, &options, path).await?;
                Pool::Sqlite(pool)
            }
            Location::Server(url) => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| {
                        Error::Invalid(format!("serveur PostgreSQL {} : adresse invalide ({e})", redact(url)))
                    })?
                    .application_name("regie");
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(options)
                    .await
                    .map_err(|e| {
                        Error::Invalid(format!("serveur PostgreSQL {} : connexion impossible ({e})", redact(url)))
                    })?;
                let migrator = sqlx::migrate!("./migrations/postgres");
                // A desktop's login may not change the schema: only the owner migrates (`regie
                // server setup`); the others check that nothing is pending.
                if !migrated(&pool, &migrator).await? {
                    migrator.run(&pool).await?;
                }
                Pool::Postgres(pool)
            }
        };
        let store = Store { pool, location, checkpointing: Arc::default() };
        // Students written before the search key was kept get theirs once (the first opening after
        // the upgrade); the check finds none in one indexless pass afterwards.
        if students::keys_missing(&mut *store.read().await?).await? {
            let mut tx = store.begin().await?;
            students::fill_search_keys(&mut tx).await?;
            tx.commit().await?;
        }
        // The same for the statement lines' folded labels.
        if bank::labels_unfolded(&mut *store.read().await?).await? {
            let mut tx = store.begin().await?;
            bank::fold_labels(&mut tx).await?;
            tx.commit().await?;
        }
        // The lines imported since the text index was last kept join it (an embedded file; a
        // server keeps its own): 2.7 ms per 1,000 lines, the ten-year set's 523,000 once.
        store.catch_up_line_text(0).await?;
        // Only a new database is written to on opening: on the office server a write would take
        // the writers' lock and wake every watching window, for each command a desktop runs.
        if settings::is_empty(&mut *store.read().await?).await? {
            let mut tx = store.begin().await?;
            settings::seed_if_empty(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(store)
    }

    /// Adds the statement lines out of the text index to it, when there are more than `at_most`
    /// (a search reads those one by one, about 0.1 µs each).
    pub async fn catch_up_line_text(&self, at_most: i64) -> Result<()> {
        if bank::lines_after_text_index(&mut *self.read().await?).await? > at_most {
            let mut tx = self.begin().await?;
            bank::index_line_text(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The database file, for the embedded engine; `None` on a server.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::File(p) => Some(p),
            Location::Server(_) => None,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Starts a write transaction. Writers are serialized, on both engines, so that a decision
    /// reads what the previous one wrote and numbers stay gapless:
    /// - SQLite: `BEGIN IMMEDIATE` takes the file's write lock at once, so two concurrent
    ///   deciders queue instead of failing when their read turns into a write;
    /// - PostgreSQL: READ COMMITTED (the default) plus one transaction-level advisory lock taken
    ///   first. Each statement then sees every earlier writer's commit, as on SQLite; readers are
    ///   never blocked. Decisions stay conditional (`WHERE status = …`), so of two desktops
    ///   deciding the same thing the second finds it done and gets a `conflict`.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_checked(true).await
    }

    /// `begin`, for an import that writes tens of thousands of rows whose every reference it
    /// took in this same transaction (students and installments read under the write lock, or
    /// unchanged since, by the audit log; payments and transactions numbered here): SQLite checks
    /// none of their foreign keys, which were a third of what the engine did for them (the card
    /// benchmark's 100,000 rows written by SQLite alone: 0.57–0.67 s instead of 0.85–1.09). The
    /// connection's next write checks them again (`begin`); reads check nothing. PostgreSQL
    /// always checks them, and the tests check that an import leaves no dangling reference.
    pub async fn begin_bulk(&self) -> Result<Tx> {
        self.begin_checked(false).await
    }

    /// `begin`, with SQLite checking foreign keys or not (`keys`). The setting is read first and
    /// changed only when it differs, before BEGIN (SQLite ignores it inside a transaction):
    /// setting it, even to what it was, makes SQLite compile again every statement the
    /// connection keeps prepared.
    async fn begin_checked(&self, keys: bool) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                let (checked,): (bool,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(&mut *c).await?;
                if checked != keys {
                    let set = if keys { "PRAGMA foreign_keys = ON" } else { "PRAGMA foreign_keys = OFF" };
                    sqlx::query(set).execute(&mut *c).await?;
                }
                let mut t = Transaction::begin(c, Some("BEGIN IMMEDIATE".into_sql_str())).await?;
                sqlx::query(WRITE_CACHE).execute(&mut *t).await?;
                Tx(Some(Conn::SqliteTx(t)), Some(Checkpoints { pool: p.clone(), running: self.checkpointing.clone() }))
            }
            Pool::Postgres(p) => {
                let mut t = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITER_LOCK).execute(&mut *t).await?;
                Tx(Some(Conn::PostgresTx(t)), None)
            }
        })
    }

    /// The commits made on the shared server, by any desktop, from now on; `None` for a file,
    /// which one desk uses at a time.
    pub async fn changes(&self) -> Result<Option<Changes>> {
        let Pool::Postgres(pool) = &self.pool else { return Ok(None) };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Changes(listener)))
    }

    /// A plain connection for reads.
    pub async fn read(&self) -> Result<Read> {
        Ok(Read(match &self.pool {
            Pool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                sqlx::query(READ_CACHE).execute(&mut *c).await?;
                Conn::Sqlite(c)
            }
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await?),
        }))
    }

    pub async fn close(self) {
        match self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Copies what SQLite's write-ahead log holds into the file itself, so that the file alone
    /// (copied to a key, read back by the office's window) holds every committed change, even if
    /// the app is then killed. Nothing to do on a server.
    pub async fn checkpoint(&self) -> Result<()> {
        if let Pool::Sqlite(p) = &self.pool {
            // While another checkpoint runs (one a commit started), SQLite answers "busy" (a
            // value, not an error) and copies nothing: ask again until done.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(FULL)").fetch_one(p).await?;
                if busy == 0 {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return Err(Error::Invalid(format!(
                "{} : le journal n'a pas pu être recopié dans le fichier (base occupée)",
                self.location.display()
            )));
        }
        Ok(())
    }
}

/// The lists' and the account position's queries, by name: `tests/plans.rs` asks each engine how
/// it runs them over a demo office, and fails on a large table scanned inside a per-row subquery.
pub const PLANNED: &[(&str, &str)] = &[
    ("invoices list", invoices::INVOICES),
    ("invoices: a window by number", invoices::invoice_page_sql(InvoiceSort::Number, true, None)),
    ("invoices: a window by student", invoices::invoice_page_sql(InvoiceSort::Student, false, None)),
    (
        "open invoices: a window",
        invoices::invoice_page_sql(InvoiceSort::Number, false, Some(invoices::InvoiceState::Open)),
    ),
    (
        "credited invoices: a window",
        invoices::invoice_page_sql(InvoiceSort::Date, true, Some(invoices::InvoiceState::Credited)),
    ),
    (
        "settled invoices: a window",
        invoices::invoice_page_sql(InvoiceSort::Number, true, Some(invoices::InvoiceState::Settled)),
    ),
    ("invoices: how many", invoices::invoice_count_sql(None)),
    ("open invoices: how many", invoices::invoice_count_sql(Some(invoices::InvoiceState::Open))),
    ("credited invoices: how many", invoices::invoice_count_sql(Some(invoices::InvoiceState::Credited))),
    ("settled invoices: how many", invoices::invoice_count_sql(Some(invoices::InvoiceState::Settled))),
    ("open invoices alone: how many", invoices::state_count_sql(invoices::InvoiceState::Open)),
    ("credited invoices alone: how many", invoices::state_count_sql(invoices::InvoiceState::Credited)),
    (
        "open invoices: a window by student",
        invoices::invoice_page_sql(InvoiceSort::Student, true, Some(invoices::InvoiceState::Open)),
    ),
    ("invoices: their sessions", invoices::SESSIONS),
    ("students list", students::STUDENTS),
    ("exemption candidates", exemptions::CANDIDATES),
    ("exemption candidates: a window", exemptions::CANDIDATE_PAGE),
    ("exemption candidates: a window, nothing narrowing them", exemptions::CANDIDATE_WALK),
    ("exemption candidates: how many", exemptions::CANDIDATE_COUNT),
    ("exemption candidates: their years", exemptions::CANDIDATE_YEARS),
    ("reminders: the levels' counts", dunning::LEVEL_COUNTS),
    ("reminders: a window", dunning::LEVELED_PAGE),
    ("reminders: a window of every level or one", dunning::LEVELED_WALK),
    ("exemption candidates of a year", exemptions::YEAR_CANDIDATES),
    ("exemption candidates of a year: a window", exemptions::YEAR_CANDIDATE_PAGE),
    ("exemption candidates of a year: how many", exemptions::YEAR_CANDIDATE_COUNT),
    ("expected by day", exemptions::EXPECTED_BY_DAY),
    ("credited by day", exemptions::CREDITED_BY_DAY),
    ("collected by day", exemptions::COLLECTED_BY_DAY),
    ("overdue installments", dunning::OVERDUE),
    ("requests list", requests::REQUESTS),
    ("requests: a window by name", requests::request_page_sql(RequestSort::Name, false, false)),
    ("requests: a window by date", requests::request_page_sql(RequestSort::RequestedOn, true, false)),
    ("requests: the queue, by date", requests::request_page_sql(RequestSort::RequestedOn, false, true)),
    ("requests: how many", requests::request_count_sql(false)),
    ("requests: how many of a status", requests::request_count_sql(true)),
    ("statement lines", bank::LINES),
    ("statement lines: a window by date", bank::line_page_sql(LineSort::Date, true)),
    ("statement lines: a window by amount", bank::line_page_sql(LineSort::Amount, false)),
    ("statement lines: how many", bank::LINE_COUNT),
    ("open installments", bank::OPEN_INSTALLMENTS),
    ("invoices with open installments", bank::OPEN_INVOICES),
    ("card transactions", card::TRANSACTIONS),
    ("card transactions: a window by date", card::transaction_page_sql(TransactionSort::Date, true)),
    ("card transactions: how many", card::TRANSACTION_COUNT),
    ("position: orders", ledger::POSITION_ORDERS),
    ("position: invoices", ledger::POSITION_INVOICES),
    ("position: installments", ledger::POSITION_INSTALLMENTS),
    ("position: payments", ledger::POSITION_PAYMENTS),
    ("live payments of a student", ledger::LIVE_PAYMENTS_SPARE),
    ("position: credit notes", ledger::POSITION_CREDIT_NOTES),
    ("position: refunds", ledger::POSITION_REFUNDS),
    ("open installments of a student", ledger::OPEN_INSTALLMENTS),
    ("lines out in sessions", session::LINES_OUT),
];

/// Ends an `IN (` list: the ids, bound, and the closing parenthesis.
pub(crate) fn push_ids<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, ids: &[i64])
where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
}

/// The single-column rows of `head` + a list of `ids` + `)` (`head` ends with `IN (`; `head` is
/// ours, never user input), asked 500 ids at a time: SQLite bounds the values of a statement.
pub(crate) async fn by_ids<T>(conn: &mut Conn, head: &'static str, ids: &[i64]) -> Result<Vec<T>>
where
    T: Send + Unpin,
    (T,): for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<(T,)> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(head);
            push_ids(&mut q, chunk);
            q.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows.into_iter().map(|(v,)| v));
    }
    Ok(out)
}

/// The two-column rows of `head` + a list of `texts` + `)` (`head` ends with `IN (`; `head` is
/// ours, never user input), asked 500 texts at a time: SQLite bounds the values of a statement.
pub(crate) async fn by_texts<A, B>(conn: &mut Conn, head: &'static str, texts: &[&str]) -> Result<Vec<(A, B)>>
where
    A: Send + Unpin,
    B: Send + Unpin,
    (A, B): for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(500) {
        let rows: Vec<(A, B)> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(head);
            let mut list = q.separated(", ");
            for t in chunk {
                list.push_bind(*t);
            }
            q.push(")");
            q.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// After rows were inserted with ids the application chose (an import's bulk rows, chosen under
/// the writers' lock so that it links them without reading them back; a file moved onto the
/// server): PostgreSQL's identity sequence of `table` is moved past them, so that the next row
/// inserted without an id does not take one of theirs. SQLite takes the largest id + 1 by itself.
/// `table` is one of ours, never user input.
pub(crate) async fn advance_ids(conn: &mut Conn, table: &'static str) -> Result<()> {
    let Engine::Postgres(c) = conn.engine() else { return Ok(()) };
    sqlx::QueryBuilder::<Postgres>::new(format!(
        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
    ))
    .build()
    .execute(c)
    .await?;
    Ok(())
}

/// Whether every migration this build knows is applied on the server.
/// The schema versions this build knows, oldest first.
pub fn known_versions() -> Vec<i64> {
    sqlx::migrate!("./migrations/sqlite").iter().map(|m| m.version).collect()
}

/// Brings the file's schema to this build's: refused, untouched, when a newer Régie wrote it;
/// when an older one did, a checked copy goes to `backups/` first (the upgrade cannot be undone).
/// Pending migrations run on a connection of their own, closed afterwards: one of them edits
/// table definitions in place (0030), which the connection that made the edit would otherwise
/// keep in its old form for as long as it lives; the pool's see the schema's version change and
/// read it again. With nothing pending (every opening but the first after an update), the pool
/// only checks that the applied ones are this build's.
async fn upgrade(pool: &SqlitePool, options: &SqliteConnectOptions, path: &Path) -> Result<()> {
    let migrator = sqlx::migrate!("./migrations/sqlite");
    let applied = backup::applied(pool).await?;
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        return Err(Error::Invalid(format!(
            "{} a été écrite par une version plus récente de Régie (schéma {newer}, celle-ci connaît jusqu'au {}) : \
             installez la dernière version de Régie pour l'ouvrir",
            path.display(),
            known.last().copied().unwrap_or(0)
        )));
    }
    let pending = known.iter().any(|v| !applied.contains(v));
    if !pending {
        migrator.run(pool).await?;
        return Ok(());
    }
    if let Some(&from) = applied.last() {
        let dir = backups_dir(path);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        let to = dir.join(regie_rules::backups::before_upgrade_name(chrono::Local::now().date_naive(), from));
        if !to.exists() {
            backup::vacuum_into(pool, &to).await?;
            let copy = backup::inspect(&to).await?;
            if copy.integrity != "ok" {
                return Err(Error::Invalid(format!(
                    "la sauvegarde avant mise à jour {} n'est pas intègre ({}) : mise à jour abandonnée",
                    to.display(),
                    copy.integrity
                )));
            }
        }
    }
    let own = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
    let migrated = migrator.run(&own).await;
    own.close().await;
    migrated?;
    Ok(())
}

/// Where a database file's backups go: `backups/` beside it.
pub fn backups_dir(db: &Path) -> PathBuf {
    db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("backups")
}

async fn migrated(pool: &PgPool, migrator: &sqlx::migrate::Migrator) -> Result<bool> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !exists {
        return Ok(false);
    }
    let applied: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await?;
    let applied: std::collections::HashSet<i64> = applied.into_iter().map(|(v,)| v).collect();
    Ok(migrator.iter().all(|m| applied.contains(&m.version)))
}
