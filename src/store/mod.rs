//! Store: the SQLite file behind everything, opened with WAL and foreign keys, migrated by sqlx.
//! All SQL lives in this folder, in small named functions taking a connection or a transaction.

pub mod audit;
pub mod bank;
pub mod card;
pub mod dunning;
pub mod exemptions;
pub mod invoices;
pub mod ledger;
pub mod requests;
pub mod settings;
pub mod students;
pub mod users;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use crate::{Error, Result};

pub type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;
pub type Conn = SqliteConnection;

/// A handle on one Régie database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
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

/// The SQLite file a `--db` / `REGIE_DB` value names: a path, or a `sqlite:` URL. A server URL
/// (`postgres://…`) is refused with a clear error rather than taken for a folder name: the
/// shared office engine is not built yet.
pub fn file_of(location: &Path) -> Result<PathBuf> {
    let text = location.to_string_lossy();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Err(Error::Invalid(format!(
            "{}: base PostgreSQL non prise en charge par cette version ; indiquez un fichier SQLite",
            text.split('@').next_back().unwrap_or_default()
        )));
    }
    Ok(match text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
        Some(rest) => PathBuf::from(rest),
        None => location.to_path_buf(),
    })
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies pending migrations and seeds
    /// the settings and fee grid on first start.
    pub async fn open(path: &Path) -> Result<Store> {
        let path = &file_of(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Imports write tens of thousands of rows in one transaction: a 64 MiB page cache
            // (instead of 2 MiB) keeps them from spilling to disk before the commit.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = Store { pool, path: path.to_path_buf() };
        let mut tx = store.begin().await?;
        settings::seed_if_empty(&mut tx).await?;
        tx.commit().await?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock at once, so two
    /// concurrent deciders serialize instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A plain connection for reads.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// SQLite stores booleans as integers; `None` means the source did not say.
pub(crate) fn opt_bool(v: Option<i64>) -> Option<bool> {
    v.map(|x| x != 0)
}
