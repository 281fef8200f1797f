//! The office server's sign-in: each person connects with their own PostgreSQL login, whose
//! database role (`regie_accountant`, `regie_finance_manager`) decides what they may do, in the
//! database itself. On the SQLite pass, the same commands are refused as meaningless for a file.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::NaiveDate;
use common::{AMINE_BENALI, regie, temp_dir};
use regie::exemptions::Outcome;

/// `regie users add NAME --role ROLE`, the password on standard input.
fn add_login(db: &Path, name: &str, role: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regie"))
        .arg("--db")
        .arg(db)
        .args(["--user", "admin", "users", "add", name, "--role", role, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// The same database, signed in as `login`.
fn as_login(db: &Path, login: &str, password: &str) -> PathBuf {
    let url = db.to_str().unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').unwrap().1;
    PathBuf::from(format!("{scheme}://{login}:{password}@{host}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_login_s_database_role_decides_and_the_database_enforces_it() {
    let dir = temp_dir("server");
    let db = common::db_at(&dir, "r");
    let setup = regie(&db, &["server", "setup", "--json"]);
    let regie::store::Location::Server(_) = regie::store::Location::of(&db) else {
        // A file has no logins nor roles: both commands say so, and change nothing.
        assert!(!setup.ok && setup.stderr.contains("PostgreSQL"), "{}", setup.stderr);
        let added = add_login(&db, "claire", "accountant", "un-mot-de-passe");
        assert!(!added.status.success() && String::from_utf8_lossy(&added.stderr).contains("PostgreSQL"));
        return;
    };
    assert!(setup.ok, "{}", setup.stderr);
    assert!(regie(&db, &["server", "setup", "--json"]).ok, "setting up twice changes nothing");
    // Logins are the cluster's: names of this run only.
    let claire = format!("claire_{}", std::process::id());
    let marc = format!("marc_{}", std::process::id());
    assert!(add_login(&db, &claire, "accountant", "claire-secret-1").status.success());
    assert!(add_login(&db, &marc, "finance_manager", "marc-secret-2").status.success());
    assert!(!add_login(&db, "court", "accountant", "x").status.success(), "a short password is refused");

    // The owner loads an ISIMA 05 student, whose outcome the commission will decide.
    let file = dir.join("inscriptions.csv");
    common::write_csv_1252(&file, &[AMINE_BENALI]);
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();

    // Claire (an accountant) approves, typing another name: the log records her login.
    let claire_db = as_login(&db, &claire, "claire-secret-1");
    let id = regie(&claire_db, &["requests", "list", "--json"]).json()[0]["id"].to_string();
    let approved = regie(&claire_db, &["--user", "mallory", "requests", "approve", &id, "--json"]).json();
    assert_eq!(approved[0]["status"], "approved");
    let claire_store = regie::Store::open(&claire_db).await.unwrap();
    let log = regie::store::audit::list(&mut claire_store.read().await.unwrap(), None).await.unwrap();
    let approval = log.iter().find(|e| e.action == "request.approve").unwrap();
    assert_eq!(approval.actor, claire, "the database session's user, not the typed name");

    // She may not record the commission's outcome: not through Régie...
    let d = NaiveDate::from_ymd_opt(2025, 9, 20).unwrap();
    let refused =
        regie::exemptions::decide(&claire_store, "C 2025-09", "25000003", Outcome::Full, "CE-1", None, d, &marc)
            .await
            .unwrap_err();
    assert_eq!(refused.code(), "forbidden", "{refused}");
    // ...nor by hand-written SQL, nor may she rewrite the audit log.
    let by_hand = common::exec(
        &claire_store,
        "INSERT INTO exemption_outcomes (session_id, student_id, invoice_id, outcome, exempted_cents, reference, decided_by, decided_at)
         SELECT 1, i.student_id, i.id, 'full', 326100, 'faux', 'claire', '2025-09-20' FROM invoices i",
    )
    .await
    .unwrap_err();
    assert!(by_hand.to_string().contains("réservé aux responsables financiers"), "{by_hand}");
    assert!(common::exec(&claire_store, "UPDATE audit_log SET actor = 'personne'").await.is_err());
    assert!(common::exec(&claire_store, "DELETE FROM audit_log").await.is_err());
    assert!(common::exec(&claire_store, "UPDATE school_settings SET six_threshold_cents = 0").await.is_err());
    // Nor create logins: that is the owner's.
    assert!(!add_login(&claire_db, "intrus", "finance_manager", "un-mot-de-passe").status.success());
    claire_store.close().await;

    // Marc, a finance manager, records it.
    let marc_store = regie::Store::open(&as_login(&db, &marc, "marc-secret-2")).await.unwrap();
    let applied =
        regie::exemptions::decide(&marc_store, "C 2025-09", "25000003", Outcome::Full, "CE-1", None, d, "quelqu'un")
            .await
            .unwrap();
    assert!(applied.changed);
    let log = regie::store::audit::list(&mut marc_store.read().await.unwrap(), None).await.unwrap();
    assert!(log.iter().any(|e| e.action == "exemption.apply" && e.actor == marc), "{log:?}");
    let pos = regie(&db, &["account", "25000003", "--json"]).json();
    assert_eq!(pos["summary"]["balance"], "618.00", "only the standard fee is left to pay");
}

/// An office moves its file onto the server: everything is copied (ids, numbering, the audit
/// log), every position is the same, numbering goes on where it stopped, and a non-empty server
/// is refused.
#[test]
fn an_office_file_moves_onto_the_server_with_every_position_equal() {
    let dir = temp_dir("move");
    let file = dir.join("office.sqlite");
    let target = common::db_at(&dir, "server");
    let demo = regie(&file, &["demo", "--students", "150", "--today", "20/11/2025", "--json"]).json();
    assert_eq!(demo["students"], 150);
    let url = target.to_str().unwrap();
    let moved = regie(&file, &["migrate-to", url, "--json"]);
    let regie::store::Location::Server(_) = regie::store::Location::of(&target) else {
        assert!(!moved.ok && moved.stderr.contains("PostgreSQL"), "{}", moved.stderr);
        return;
    };
    let moved = moved.json();
    assert_eq!(moved["positions_checked"], 150);
    assert_eq!(moved["tables"]["students"], 150);
    assert!(moved["tables"]["audit_log"].as_u64().unwrap() > 0, "the audit log too");
    // The same answers from both.
    for args in
        [&["students", "list", "--json"][..], &["invoices", "list", "--json"], &["statements", "lines", "--json"]]
    {
        assert_eq!(regie(&file, args).json(), regie(&target, args).json(), "{args:?}");
    }
    // The numbering series and the ids go on from the file's: a new payment takes the next id.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (a, b) = (regie::Store::open(&file).await.unwrap(), regie::Store::open(&target).await.unwrap());
        let series = "SELECT series, next FROM number_series ORDER BY series";
        let sa: Vec<(String, i64)> = common::rows(&a, series).await;
        let sb: Vec<(String, i64)> = common::rows(&b, series).await;
        assert!(!sa.is_empty());
        assert_eq!(sa, sb);
        let (max,): (i64,) = common::one(&b, "SELECT MAX(id) FROM payments").await;
        let student = demo_payer(&b).await;
        let id = common::pay(
            &b,
            &student,
            NaiveDate::from_ymd_opt(2025, 11, 21).unwrap(),
            regie::Money::from_cents(1000),
            regie::ledger::PaymentMethod::Transfer,
        )
        .await;
        assert_eq!(id, max + 1);
    });
    // A second move onto the same server is refused, and changes nothing.
    let again = regie(&file, &["migrate-to", url, "--json"]);
    assert!(!again.ok && again.stderr.contains("n'est pas vide"), "{}", again.stderr);
}

/// A student of the demo with an invoice.
async fn demo_payer(store: &regie::Store) -> String {
    let (number,): (String,) =
        common::one(store, "SELECT s.number FROM students s WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.student_id = s.id) ORDER BY s.number LIMIT 1").await;
    number
}
