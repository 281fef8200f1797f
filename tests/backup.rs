//! Backups on real files: written with `VACUUM INTO` and checked, kept 14 days and a month's
//! latest for 12 months, restored in place of the current file (kept aside), refused when foreign,
//! broken or newer than the app; an older database backed up before its schema is upgraded. On
//! the office server, Régie says the server keeps its own.

mod common;

use std::path::Path;

use chrono::{Days, NaiveDate};
use common::{LEA_DURAND, PAUL_DURAND, regie};
use regie::backups;
use regie::ledger::PaymentMethod;
use regie::money::Money;
use sqlx::Connection;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn on_server() -> bool {
    std::env::var("REGIE_TEST_POSTGRES").is_ok_and(|s| !s.is_empty())
}

/// A SQLite file made by hand: `sql` run on a new file at `path`.
async fn sqlite_file(path: &Path, sql: &'static str) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_every_position_and_keeps_the_current_file_aside() {
    let (store, dir) = common::approved("backup-restore", &[LEA_DURAND, PAUL_DURAND]).await;
    let db = common::db_of(&store);
    if on_server() {
        let refused = regie(&db, &["backup", "--json"]);
        assert!(!refused.ok && refused.stderr.contains("serveur"), "{}", refused.stderr);
        return;
    }
    common::pay(&store, "25000001", d(2025, 9, 10), Money::from_cents(61_800), PaymentMethod::Transfer).await;
    let copy = dir.join("copie.sqlite");
    let written = regie(&db, &["backup", "--out", copy.to_str().unwrap(), "--json"]).json();
    assert_eq!(written["integrity"], "ok", "{written}");
    let again = regie(&db, &["backup", "--out", copy.to_str().unwrap(), "--json"]);
    assert!(!again.ok && again.stderr.contains("existe déjà"), "an existing file is never overwritten");
    let lea_then = regie(&db, &["account", "25000001", "--json"]).json();
    let paul_then = regie(&db, &["account", "25000002", "--json"]).json();
    // Life goes on after the backup.
    common::pay(&store, "25000002", d(2025, 9, 11), Money::from_cents(20_600), PaymentMethod::Card).await;
    assert_ne!(regie(&db, &["account", "25000002", "--json"]).json(), paul_then);
    store.close().await;

    let restored = regie(&db, &["restore", copy.to_str().unwrap(), "--json"]).json();
    let aside = restored["set_aside"].as_str().unwrap().to_string();
    assert!(aside.contains(".avant-restauration-") && Path::new(&aside).is_file(), "{restored}");
    assert_eq!(regie(&db, &["account", "25000001", "--json"]).json(), lea_then);
    assert_eq!(regie(&db, &["account", "25000002", "--json"]).json(), paul_then);
    // What was current is still there, whole: restoring it back gives the later payment again.
    regie(&db, &["restore", &aside, "--json"]).json();
    assert_ne!(regie(&db, &["account", "25000002", "--json"]).json(), paul_then);
}

#[tokio::test]
async fn daily_backups_keep_fourteen_days_and_a_month_s_latest() {
    let dir = common::temp_dir("backup-daily");
    let store = regie::Store::open(&common::db_at(&dir, "regie")).await.unwrap();
    if on_server() {
        let e = backups::write(&store, None, d(2026, 12, 4)).await.unwrap_err();
        assert!(e.to_string().contains("pg_dump"), "{e}");
        return;
    }
    let start = d(2026, 10, 1);
    for k in 0..65 {
        let day = start + Days::new(k);
        let written = backups::daily(&store, day).await.unwrap().expect("the day's first");
        assert_eq!(written.integrity, "ok");
        assert!(backups::daily(&store, day).await.unwrap().is_none(), "once a day");
    }
    // On 4 December: 21 November to 4 December, and the latest of October (31st); November's
    // latest is among the fourteen days.
    let folder = dir.join("backups");
    let mut days: Vec<NaiveDate> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| backups::date_of(&e.unwrap().file_name().to_string_lossy()).expect("only backups"))
        .collect();
    days.sort();
    let mut expected = vec![d(2026, 10, 31)];
    expected.extend((0..14).map(|k| d(2026, 11, 21) + Days::new(k)));
    assert_eq!(days, expected);
    let (latest, path) = backups::latest(&common::db_of(&store)).unwrap();
    assert_eq!((latest, path.file_name().unwrap().to_str().unwrap()), (d(2026, 12, 4), "regie-2026-12-04.sqlite"));
}

#[tokio::test]
async fn a_restore_refuses_a_foreign_broken_or_newer_file_and_changes_nothing() {
    let dir = common::temp_dir("backup-refuse");
    if on_server() {
        // The office server is restored on the server; the CLI says so.
        let refused = regie(&common::db_at(&dir, "r"), &["restore", "x.sqlite"]);
        assert!(!refused.ok && refused.stderr.contains("serveur"), "{}", refused.stderr);
        return;
    }
    let db = dir.join("regie.sqlite");
    let store = regie::Store::open(&db).await.unwrap();
    let good = dir.join("bonne.sqlite");
    backups::write(&store, Some(&good), d(2026, 12, 4)).await.unwrap();
    store.close().await;

    let csv = dir.join("releve.csv");
    std::fs::write(&csv, "Date;Libellé;Montant\n01/10/2025;VIR;10,00\n").unwrap();
    let junk = dir.join("junk.sqlite");
    std::fs::write(&junk, (0..4096u32).map(|i| (i * 31 % 256) as u8).collect::<Vec<u8>>()).unwrap();
    let other = dir.join("autre.sqlite");
    sqlite_file(&other, "CREATE TABLE clients (id INTEGER PRIMARY KEY, nom TEXT)").await;
    let newer = dir.join("plus-recente.sqlite");
    std::fs::copy(&good, &newer).unwrap();
    sqlite_file(
        &newer,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99990101000000, 'future', 1, x'00', 0)",
    )
    .await;
    for (file, why) in [
        (&csv, "n'est pas une base Régie"),
        (&junk, "n'est pas une base Régie"),
        (&other, "n'est pas une base Régie"),
        (&newer, "plus récente"),
        (&dir.join("absente.sqlite"), "introuvable"),
    ] {
        let e = backups::restore(&db, file).await.unwrap_err().to_string();
        assert!(e.contains(why), "{}: {e}", file.display());
    }
    let entries: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(entries.iter().all(|n| !n.contains("avant-restauration")), "nothing set aside: {entries:?}");
    // The newer file is not opened either, and stays as it was.
    let e = regie::Store::open(&newer).await.expect_err("refused").to_string();
    assert!(e.contains("version plus récente de Régie") && e.contains("installez"), "{e}");
    assert!(backups::restore(&db, &good).await.is_ok());
}

#[tokio::test]
async fn an_older_database_is_backed_up_before_its_schema_is_upgraded() {
    let dir = common::temp_dir("backup-upgrade");
    if on_server() {
        // The server's schema is upgraded by its owner (`regie server setup`), not on opening.
        let store = regie::Store::open(&common::db_at(&dir, "r")).await.unwrap();
        assert!(backups::daily(&store, d(2026, 12, 4)).await.is_err());
        return;
    }
    let db = dir.join("regie.sqlite");
    // The schema as the release before the last migration left it.
    let known = regie::store::known_versions();
    let previous = known[known.len() - 2];
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate!("./migrations/sqlite").run_to(previous, &pool).await.unwrap();
    pool.close().await;

    let store = regie::Store::open(&db).await.unwrap();
    let backups: Vec<String> = std::fs::read_dir(dir.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].ends_with(&format!("-avant-mise-a-jour-{previous}.sqlite")), "{backups:?}");
    let copy = regie::store::backup::inspect(&dir.join("backups").join(&backups[0])).await.unwrap();
    assert_eq!((copy.versions.last(), copy.integrity.as_str()), (Some(&previous), "ok"));
    store.close().await;
    // Opened again, up to date: no other backup.
    regie::Store::open(&db).await.unwrap().close().await;
    assert_eq!(std::fs::read_dir(dir.join("backups")).unwrap().count(), 1);
}

/// Paramètres' restore: a backup of `backups/` named by the window, by a finance manager only,
/// confirmed by the desk going on with the restored file (audited); a refusal leaves the desk on
/// its own file, usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_backup_is_restored_in_place_by_a_finance_manager_and_the_desk_goes_on() {
    let (store, _dir) = common::approved("backup-listed", &[LEA_DURAND, PAUL_DURAND]).await;
    if on_server() {
        assert!(backups::list(&store).is_empty(), "the office server lists no file backups");
        let (_, refused) = backups::restore_listed(store, "regie-2026-12-04.sqlite", "claire").await;
        assert!(refused.unwrap_err().to_string().contains("serveur"));
        return;
    }
    regie::users::sign_in(&store, "Claire").await.unwrap();
    regie::users::sign_in(&store, "Paul").await.unwrap();
    let written = backups::write(&store, None, d(2026, 12, 3)).await.unwrap();
    let name = Path::new(&written.path).file_name().unwrap().to_string_lossy().into_owned();
    let listed = backups::list(&store);
    assert_eq!(listed.iter().map(|b| (b.name.as_str(), b.date)).collect::<Vec<_>>(), [(name.as_str(), d(2026, 12, 3))]);
    let position = |s: regie::Store| async move {
        serde_json::to_value(regie::ledger::account_position(&s, "25000002").await.unwrap()).unwrap()
    };
    let paul_then = position(store.clone()).await;
    common::pay(&store, "25000002", d(2025, 9, 11), Money::from_cents(20_600), PaymentMethod::Card).await;

    // Refused while the file stays open and usable: an accountant, a name that is no listed
    // backup (a path from the window above all).
    for (who, what, why) in [
        ("Paul", name.as_str(), "responsable financier"),
        ("Claire", "../regie.sqlite", "introuvable"),
        ("Claire", "regie-2026-12-02.sqlite", "introuvable"),
    ] {
        let (desk, refused) = backups::restore_listed(store.clone(), what, who).await;
        assert!(refused.unwrap_err().to_string().contains(why), "{who} {what}");
        assert_ne!(position(desk).await, paul_then, "still usable, unchanged");
    }

    let (desk, restored) = backups::restore_listed(store, &name, "Claire").await;
    let restored = restored.unwrap();
    assert!(Path::new(restored.set_aside.as_deref().unwrap()).is_file());
    assert_eq!(position(desk.clone()).await, paul_then, "back to the backup");
    let mut c = desk.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, Some("database")).await.unwrap();
    let last = log.iter().find(|e| e.action == "backup.restore").expect("the restore is audited");
    assert_eq!(last.actor, "Claire");
}
