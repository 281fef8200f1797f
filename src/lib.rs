//! Régie's core: the actions of the registration-fee back office of Clermont Auvergne INP over
//! its rules (`regie_rules`) and its store. The `regie` CLI and the desktop shell are thin layers.
//!
//! Layers point one way. `regie_rules` holds the domain types and the pure rules, with no I/O.
//! `store` is the only code that knows SQL and the engine; it depends on the rules, never on an
//! action. Each capability's module here (`requests`, `bank`, `card`, `ledger`...) re-exports its
//! rules and adds the actions that take the store: one transaction each, audited.

pub use regie_rules::{fees, money, page, plans};

pub mod backups;
pub mod bank;
pub mod card;
pub mod demo;
pub mod dunning;
pub mod error;
pub mod exemptions;
pub mod invoices;
pub mod ledger;
pub mod office;
pub mod requests;
pub mod session;
pub mod settings;
pub mod sheets;
pub mod store;
pub mod uploads;
pub mod users;

pub use error::{Error, ErrorPayload, Result};
pub use money::Money;
pub use store::Store;

use serde::Serialize;

/// What the window's header shows, and whether to offer the demo.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct AppStatus {
    pub db_path: String,
    #[ts(type = "number")]
    pub students: i64,
    #[ts(type = "number")]
    pub requests: i64,
    pub user: String,
    /// The user's role, when signed in.
    pub role: Option<users::Role>,
    /// The offline session this database is, when it is one (a laptop away from the office).
    pub session: Option<session::SessionInfo>,
    /// The database file's latest backup in `backups/` beside it (`None`: none yet, or the
    /// office server, which keeps its own).
    pub last_backup: Option<backups::LastBackup>,
    /// On the office's PostgreSQL server rather than a file of this desk.
    pub on_server: bool,
    /// The profiles of this file, for the sign-in screen to offer (none on the office server,
    /// where each person signs in with their own login).
    pub profiles: Vec<users::User>,
}

pub async fn app_status(store: &Store, user: &str) -> Result<AppStatus> {
    let mut conn = store.read().await?;
    // Signed in to the office server: the login and its database role, whatever name was typed.
    let (user, role) = match store::server::login(&mut conn).await? {
        Some((login, role)) => (login, Some(role)),
        None => (user.to_string(), store::users::role_of(&mut conn, user).await?),
    };
    drop(conn);
    let session = session::info(store).await?;
    let mut conn = store.read().await?;
    Ok(AppStatus {
        session,
        db_path: store.location().display(),
        students: store::students::count(&mut conn).await?,
        requests: store::requests::count(&mut conn).await?,
        role,
        user,
        last_backup: store
            .path()
            .and_then(backups::latest)
            .map(|(date, path)| backups::LastBackup { date, path: path.display().to_string() }),
        on_server: store.path().is_none(),
        profiles: if store.path().is_some() { store::users::list(&mut conn).await? } else { Vec::new() },
    })
}

/// Where the desktop writes what it exports (letters, PDFs): `Documents/Régie`, or the home
/// folder's `Régie` when there is no Documents folder. The webview never names a path itself.
pub fn exports_dir() -> Result<std::path::PathBuf> {
    let dir = dirs::document_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir).join("Régie");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    Ok(dir)
}

/// Runs `work`, which keeps its thread for seconds (rendering a reminders run), without stalling
/// the async tasks queued behind it: on a multi-threaded runtime (the window's, the CLI's) the
/// worker hands its queue to another thread first; on a single-threaded one (tests) there is no
/// other thread to hand it to.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The acting user when none is given: the OS user.
pub fn os_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "inconnu".to_string())
}

// Every allocation of the core and its binaries goes to mimalloc, as SQLite's do
// (`store::sqlite_alloc`): an import makes and frees millions of small strings and vectors, and
// the system allocator spent a tenth of the card benchmark consolidating its free lists. Three
// interleaved runs each way, 100,000 gateway rows: reading 220–244 ms instead of 280–341,
// matching 134–186 instead of 200–204.
//
// Built without transparent huge pages (`no_thp` in Cargo.toml): mimalloc otherwise asks the
// kernel for 2 MiB pages on its arenas (`madvise`), and the kernel zeroes each one whole on its
// first touch. `perf` found 17 % of the card benchmark's samples in `clear_page_erms`; three
// interleaved runs each way, the 100,000-row gateway export: 1.09–1.14 s instead of 1.36–1.37.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
