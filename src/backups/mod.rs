//! Backups of the embedded file: written on demand or once a day, checked, pruned; and a backup
//! restored in place of the current file, which is kept aside. The office server has its own.

pub use regie_rules::backups::*;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::store::{self, Location, Store, backup};
use crate::{Error, Result};

/// A backup written and checked.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Backup {
    pub path: String,
    pub bytes: u64,
    /// `PRAGMA integrity_check` of the copy: always "ok" (a copy that is not is removed).
    pub integrity: String,
    /// Older backups removed by the retention (14 days, then a month's latest for 12 months).
    pub removed: Vec<String>,
}

/// The store's file; the office server is refused (it is backed up on the server).
fn file_of(store: &Store) -> Result<&Path> {
    store.path().ok_or_else(|| {
        Error::Invalid(
            "la base du bureau est sur le serveur PostgreSQL : elle se sauvegarde sur le serveur (pg_dump), pas depuis Régie"
                .into(),
        )
    })
}

/// Writes a checked copy of the open file: at `out` when given (which must not exist), else as
/// the day's backup in `backups/` beside the file (replacing that day's), then prunes that folder.
pub async fn write(store: &Store, out: Option<&Path>, today: NaiveDate) -> Result<Backup> {
    let db = file_of(store)?;
    let io = |path: &Path, source| Error::Io { path: path.display().to_string(), source };
    let (target, dir) = match out {
        Some(out) if out.exists() => {
            return Err(Error::Invalid(format!("{} existe déjà : choisissez un autre nom", out.display())));
        }
        Some(out) => (out.to_path_buf(), None),
        None => {
            let dir = store::backups_dir(db);
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            (dir.join(daily_name(today)), Some(dir))
        }
    };
    // Written beside its name, then renamed: a reader never sees half a backup, and the day's
    // previous one stays until the new one is checked.
    let partial = PathBuf::from(format!("{}.partiel", target.display()));
    let _ = std::fs::remove_file(&partial);
    backup::copy_of(store, &partial).await?;
    let checked = backup::inspect(&partial).await?;
    if checked.integrity != "ok" {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Invalid(format!("la copie de {} n'est pas intègre : {}", db.display(), checked.integrity)));
    }
    std::fs::rename(&partial, &target).map_err(|e| io(&target, e))?;
    let bytes = std::fs::metadata(&target).map_err(|e| io(&target, e))?.len();
    let removed = match dir {
        Some(dir) => prune(&dir, today)?,
        None => Vec::new(),
    };
    Ok(Backup { path: target.display().to_string(), bytes, integrity: checked.integrity, removed })
}

/// The day's backup, unless it was written already (`None` then). What the app does on start.
pub async fn daily(store: &Store, today: NaiveDate) -> Result<Option<Backup>> {
    let db = file_of(store)?;
    if store::backups_dir(db).join(daily_name(today)).exists() {
        return Ok(None);
    }
    write(store, None, today).await.map(Some)
}

/// What the desktop does as it starts: the day's backup of its file (none for the office
/// server, which keeps its own).
pub async fn on_start(store: &Store, today: NaiveDate) -> Result<Option<Backup>> {
    match store.location() {
        Location::File(_) => daily(store, today).await,
        Location::Server(_) => Ok(None),
    }
}

fn prune(dir: &Path, today: NaiveDate) -> Result<Vec<String>> {
    let io = |source| Error::Io { path: dir.display().to_string(), source };
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let removed = to_remove(&names, today);
    for name in &removed {
        std::fs::remove_file(dir.join(name)).map_err(io)?;
    }
    Ok(removed)
}

/// The latest backup, as Paramètres shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct LastBackup {
    #[ts(type = "string")]
    pub date: NaiveDate,
    pub path: String,
}

/// The last backup in the file's `backups/` folder, by its day.
pub fn latest(db: &Path) -> Option<(NaiveDate, PathBuf)> {
    let dir = store::backups_dir(db);
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            date_of(&name).map(|d| (d, dir.join(name)))
        })
        .max()
}

/// A backup in the file's `backups/` folder, as Paramètres lists it: the window names it by its
/// file name only, never by a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export, rename = "ListedBackup")]
pub struct Listed {
    pub name: String,
    pub date: NaiveDate,
    pub bytes: u64,
}

/// The backups beside the file, newest first (the office server: none, it keeps its own).
pub fn list(store: &Store) -> Vec<Listed> {
    let Some(db) = store.path() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(store::backups_dir(db)) else { return Vec::new() };
    let mut out: Vec<Listed> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let date = date_of(&name)?;
            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some(Listed { name, date, bytes: meta.len() })
        })
        .collect();
    out.sort_by(|a, b| (b.date, &b.name).cmp(&(a.date, &a.name)));
    out
}

/// Puts the backup named `name` (one of `list`) in place of the open file, from the window.
/// Everything that can refuse is checked while the file stays open: the actor's right (a restore
/// takes out of the base whatever was done since), the name, the backup's integrity and version.
/// Then `store` is closed for the copy and the restored file opened (an older backup's schema
/// brought up to date), with the restore in its audit log. Returns the store the desk goes on with:
/// the restored one, or on a failure its own file opened again (the closed `store` only if even
/// that fails, for the error to be shown).
pub async fn restore_listed(store: Store, name: &str, actor: &str) -> (Store, Result<Restored>) {
    let (db, checked) = match checked_for_restore(&store, name, actor).await {
        Ok(found) => found,
        Err(e) => return (store, Err(e)),
    };
    let from = store::backups_dir(&db).join(name);
    store.clone().close().await;
    let restored = match put_in_place(&db, &from, checked).await {
        Ok(r) => r,
        Err(e) => {
            return match Store::open(&db).await {
                Ok(reopened) => (reopened, Err(e)),
                Err(_) => (store, Err(e)),
            };
        }
    };
    let reopened = match Store::open(&db).await {
        Ok(s) => s,
        Err(e) => return (store, Err(e)),
    };
    let audited = audit_restore(&reopened, &restored, actor).await;
    (reopened, audited.map(|()| restored))
}

/// The database file and the backup `name` checked, once its restore is known to be allowed and
/// possible.
async fn checked_for_restore(store: &Store, name: &str, actor: &str) -> Result<(PathBuf, backup::Inspected)> {
    let db = file_of(store)?.to_path_buf();
    crate::users::require(&mut *store.read().await?, actor, crate::users::Restricted::Restore).await?;
    if !list(store).iter().any(|b| b.name == name) {
        return Err(Error::Invalid(format!(
            "sauvegarde « {name} » introuvable dans {} : rechargez la liste",
            store::backups_dir(&db).display()
        )));
    }
    let checked = restorable(&store::backups_dir(&db).join(name)).await?;
    Ok((db, checked))
}

async fn audit_restore(store: &Store, restored: &Restored, actor: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    store::audit::record(
        &mut tx,
        actor,
        "backup.restore",
        "database",
        &restored.database,
        None,
        serde_json::json!({"from": restored.from, "set_aside": restored.set_aside, "schema": restored.schema}),
    )
    .await?;
    tx.commit().await
}

/// A restore done: where the file that was current now lies.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Restored {
    pub database: String,
    pub from: String,
    pub set_aside: Option<String>,
    pub schema: i64,
}

/// Puts the backup `from` in place of the database file `db` (closed: no store open on it). The
/// backup must be a Régie database, intact, and no newer than this build; the current file is
/// renamed `….avant-restauration-<moment>` (its journal folded in first), never deleted. The next opening
/// brings an older backup's schema up to date (after its own backup).
pub async fn restore(db: &Path, from: &Path) -> Result<Restored> {
    let checked = restorable(from).await?;
    put_in_place(db, from, checked).await
}

/// `from` as a backup that can be restored: a Régie database, intact, no newer than this build.
/// Its integrity check reads the whole file: done once per restore.
async fn restorable(from: &Path) -> Result<backup::Inspected> {
    let checked = backup::inspect(from).await?;
    if checked.integrity != "ok" {
        return Err(Error::Invalid(format!("{} n'est pas intègre : {}", from.display(), checked.integrity)));
    }
    let known = store::known_versions();
    if let Some(newer) = checked.versions.iter().find(|v| !known.contains(v)) {
        return Err(Error::Invalid(format!(
            "{} vient d'une version plus récente de Régie (schéma {newer}) : installez la dernière version pour la restaurer",
            from.display()
        )));
    }
    Ok(checked)
}

/// Sets the current file aside and copies the checked backup `from` in its place.
async fn put_in_place(db: &Path, from: &Path, checked: backup::Inspected) -> Result<Restored> {
    let io = |path: &Path, source| Error::Io { path: path.display().to_string(), source };
    let set_aside = if db.exists() {
        // Best effort: a file that cannot be opened is set aside as it is, journal and all.
        let _ = backup::checkpoint(db).await;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        // Two restores in one second (putting back the file just set aside) keep both.
        let mut aside = PathBuf::from(format!("{}.avant-restauration-{stamp}", db.display()));
        let mut k = 1;
        while aside.exists() {
            k += 1;
            aside = PathBuf::from(format!("{}.avant-restauration-{stamp}-{k}", db.display()));
        }
        std::fs::rename(db, &aside).map_err(|e| io(db, e))?;
        // The journal goes with its file: SQLite finds it by the file's name.
        for suffix in ["-wal", "-shm"] {
            let journal = PathBuf::from(format!("{}{suffix}", db.display()));
            if journal.exists() {
                std::fs::rename(&journal, format!("{}{suffix}", aside.display())).map_err(|e| io(&journal, e))?;
            }
        }
        Some(aside.display().to_string())
    } else {
        None
    };
    // Copied through SQLite, not as a file: a backup that still has its journal beside it (a
    // file set aside by an earlier restore) comes whole.
    if let Err(e) = backup::copy_closed(from, db).await {
        // A restore that fails changes nothing: the file set aside goes back in place (what the
        // copy left is removed first), so that reopening never finds an empty new base instead.
        if let Some(aside) = &set_aside {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            for suffix in ["", "-wal", "-shm"] {
                let kept = PathBuf::from(format!("{aside}{suffix}"));
                if kept.exists() {
                    let _ = std::fs::rename(&kept, format!("{}{suffix}", db.display()));
                }
            }
        }
        return Err(e);
    }
    Ok(Restored {
        database: db.display().to_string(),
        from: from.display().to_string(),
        set_aside,
        schema: checked.versions.last().copied().unwrap_or(0),
    })
}
