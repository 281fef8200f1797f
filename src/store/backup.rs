//! The embedded file's copies: written with `VACUUM INTO` (a consistent copy even while others
//! read, never a file copy of a live database), and read back to be checked before anything
//! trusts them.

use std::path::Path;
use std::str::FromStr;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{Error, Result};

/// Writes a consistent copy of the store's file at `to` (which must not exist); `false` for the
/// office server, which has no file to copy.
pub async fn copy_of(store: &super::Store, to: &Path) -> Result<bool> {
    match store.pool() {
        super::Pool::Sqlite(pool) => vacuum_into(pool, to).await.map(|()| true),
        super::Pool::Postgres(_) => Ok(false),
    }
}

/// Writes a consistent copy of the open file at `to` (which must not exist).
pub async fn vacuum_into(pool: &sqlx::SqlitePool, to: &Path) -> Result<()> {
    let to =
        to.to_str().ok_or_else(|| Error::Invalid(format!("chemin de sauvegarde illisible « {} »", to.display())))?;
    sqlx::query("VACUUM INTO $1").bind(to).execute(pool).await?;
    Ok(())
}

/// What a database file is, read without changing it.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// The schema versions applied to it (Régie's migrations).
    pub versions: Vec<i64>,
    /// `PRAGMA integrity_check`: "ok", or what is wrong.
    pub integrity: String,
}

/// Opens `path` read-only and reads its schema versions and integrity. A file that is not a
/// SQLite database, or not Régie's (no migrations table, no students), is refused naming it.
pub async fn inspect(path: &Path) -> Result<Inspected> {
    let name = path.display().to_string();
    let foreign = |why: String| Error::Invalid(format!("{name} n'est pas une base Régie ({why})"));
    if !path.is_file() {
        return Err(Error::Invalid(format!("{name} : fichier introuvable")));
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?.filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| foreign(e.to_string()))?;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'students', 'audit_log')",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| foreign(e.to_string()))?;
    if tables.len() < 3 {
        return Err(foreign("ni migrations, ni étudiants, ni journal".into()));
    }
    let versions: Vec<(i64,)> = sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| foreign(e.to_string()))?;
    let (integrity,): (String,) =
        sqlx::query_as("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(|e| foreign(e.to_string()))?;
    conn.close().await?;
    Ok(Inspected { versions: versions.into_iter().map(|(v,)| v).collect(), integrity })
}

/// Writes a consistent copy of the closed file `from` (its journal included) at `to`.
pub async fn copy_closed(from: &Path, to: &Path) -> Result<()> {
    let options = SqliteConnectOptions::from_str("sqlite:")?.filename(from).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let to = to.to_str().ok_or_else(|| Error::Invalid(format!("chemin illisible « {} »", to.display())))?;
    sqlx::query("VACUUM INTO $1").bind(to).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Folds a closed file's journal into it, so that the file alone holds everything.
pub async fn checkpoint(path: &Path) -> Result<()> {
    let options = SqliteConnectOptions::from_str("sqlite:")?.filename(path);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// The versions applied to an open file (none for a new one).
pub async fn applied(pool: &sqlx::SqlitePool) -> Result<Vec<i64>> {
    let (exists,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(pool)
            .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}
