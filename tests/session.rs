//! Offline sessions on real databases: lines checked out of the office (SQLite or PostgreSQL) into
//! a SQLite file, decided there with the same commands, and checked back in, each decision
//! re-checked against what the office did meanwhile.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, CHLOE_MOREAU, LEA_DURAND, PAUL_DURAND, regie, write_1252};
use regie::Store;
use regie::bank::{self, Columns};
use regie::money::Money;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Three transfers no rule can tie to a student: a parent, an initial, a family name alone.
const UNCLEAR: &str = "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
08/09/2025;08/09/2025;;618,00;VIR SEPA RECU /DE M OU MME R. PARENT /MOTIF SCOLARITE;\r\n\
08/09/2025;08/09/2025;;206,00;VIR SEPA RECU /DE J. P. /MOTIF INSCRIPTION;\r\n\
09/09/2025;09/09/2025;;618,00;VIR SEPA RECU /DE FAMILLE X /MOTIF ECOLE;\r\n";

/// An office with four students' schedules and the three unclear lines of `UNCLEAR`, by label.
async fn office(tag: &str) -> (Store, std::path::PathBuf, [i64; 3]) {
    let (store, dir) = common::approved(tag, &[LEA_DURAND, PAUL_DURAND, AMINE_BENALI, CHLOE_MOREAU]).await;
    let file = dir.join("releve.csv");
    write_1252(&file, UNCLEAR);
    bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let lines = bank::lines(&store, None).await.unwrap();
    assert!(lines.iter().all(|l| l.student_number.is_none()), "nothing matched by itself: {lines:?}");
    let id = |part: &str| lines.iter().find(|l| l.label.contains(part)).unwrap().id;
    (store, dir, [id("PARENT"), id("J. P."), id("FAMILLE X")])
}

fn balance(db: &std::path::Path, number: &str) -> Money {
    let pos = regie(db, &["account", number, "--json"]).json();
    Money::parse(pos["summary"]["balance"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_decisions_come_back_and_the_one_the_office_took_differently_is_a_conflict() {
    let (store, dir, [parent, initials, family]) = office("session-three").await;
    let db = common::db_of(&store);
    let laptop = dir.join("portable.sqlite");
    let out = regie(&db, &["--user", "luc", "session", "checkout", "--out", laptop.to_str().unwrap(), "--json"]).json();
    assert_eq!(out["lines"], 3, "{out}");
    let name = out["session"].as_str().unwrap().to_string();
    let before: Vec<Money> = ["25000001", "25000002", "25000003", "25000004"].iter().map(|n| balance(&db, n)).collect();

    // The laptop is a database like any other, which knows it is a session of this office.
    let info = regie(&laptop, &["session", "info", "--json"]).json();
    assert_eq!(info["name"], name.as_str());
    assert_eq!(regie(&laptop, &["statements", "lines", "--json"]).json().as_array().unwrap().len(), 3);
    let l = laptop.to_str().unwrap();
    for (line, student) in [(parent, "25000001"), (initials, "25000002"), (family, "25000003")] {
        let done = regie(&laptop, &["--user", "luc", "statements", "confirm", &line.to_string(), student, "--json"]);
        assert!(done.ok, "{}", done.stderr);
    }
    assert_eq!(regie(&laptop, &["session", "info", "--json"]).json()["decisions"], 3);
    // What would never reach the office is refused on the laptop: a statement import, a decision.
    let import = regie(&laptop, &["statements", "import", dir.join("releve.csv").to_str().unwrap()]);
    assert!(!import.ok && import.stderr.contains("session hors ligne"), "{}", import.stderr);
    let approve = regie(&laptop, &["requests", "approve", "1"]);
    assert!(!approve.ok && approve.stderr.contains("session hors ligne"), "{}", approve.stderr);
    // Meanwhile the office gives the family's transfer to Chloé.
    let office_did =
        regie(&db, &["--user", "claire", "statements", "confirm", &family.to_string(), "25000004", "--json"]);
    assert!(office_did.ok, "{}", office_did.stderr);

    let back = regie(&db, &["--user", "claire", "session", "checkin", l, "--json"]).json();
    assert_eq!((back["applied"].as_u64(), back["already_applied"].as_u64()), (Some(2), Some(0)), "{back}");
    let conflicts = back["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{back}");
    assert_eq!(conflicts[0]["line"], family);
    assert!(conflicts[0]["reason"].as_str().unwrap().contains("traitée au bureau"), "{back}");
    assert!(conflicts[0]["office"].as_str().unwrap().starts_with("rapprochée par claire le "), "{back}");

    // Checking in twice applies nothing new.
    let again = regie(&db, &["--user", "claire", "session", "checkin", l, "--json"]).json();
    assert_eq!((again["applied"].as_u64(), again["already_applied"].as_u64()), (Some(0), Some(2)), "{again}");
    assert_eq!(again["conflicts"].as_array().unwrap().len(), 1);

    // No transfer paid twice: each line carries its amount once, the family's to Chloé alone.
    let lines = bank::lines(&store, None).await.unwrap();
    for (line, student) in [(parent, "25000001"), (initials, "25000002"), (family, "25000004")] {
        let l = lines.iter().find(|x| x.id == line).unwrap();
        assert_eq!((l.student_number.as_deref(), l.unassigned), (Some(student), Money::ZERO), "{l:?}");
    }
    let (payments,): (i64,) = common::one(&store, "SELECT COUNT(*) FROM line_payments").await;
    assert_eq!(payments, 3);
    // The positions, to the cent.
    let after: Vec<Money> = ["25000001", "25000002", "25000003", "25000004"].iter().map(|n| balance(&db, n)).collect();
    let paid = [61800, 20600, 0, 61800].map(Money::from_cents);
    for i in 0..4 {
        assert_eq!(after[i], before[i] - paid[i], "student {i}");
    }
    // Audited with the session, the laptop's user and the one who checked in.
    let log: Vec<(String, String, String)> =
        common::rows(&store, "SELECT actor, action, details FROM audit_log WHERE action LIKE 'session.%' ORDER BY id")
            .await;
    let applied: Vec<_> = log.iter().filter(|(_, a, _)| a == "session.apply").collect();
    assert_eq!(applied.len(), 2);
    assert!(applied.iter().all(|(actor, _, details)| actor == "claire"
        && details.contains(&name)
        && details.contains("\"laptop_user\":\"luc\"")));
    assert_eq!(log.iter().filter(|(_, a, _)| a == "session.checkin").count(), 2);
    assert_eq!(log.first().map(|(a, b, _)| (a.as_str(), b.as_str())), Some(("luc", "session.checkout")));
    // The conflict stays for the window, and the session is closed: its lines are free again.
    let sessions = regie(&db, &["session", "list", "--json"]).json();
    assert_eq!(sessions[0]["status"], "checked_in");
    assert_eq!(sessions[0]["conflicts"][0]["line"], family);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_office_recorded_meanwhile_makes_the_offline_allocation_a_conflict() {
    let (store, dir, [_, initials, _]) = office("session-moved").await;
    let laptop = dir.join("portable.sqlite");
    regie::session::checkout(&store, &laptop, &regie::session::DEFAULT_LINES, None, "luc").await.unwrap();
    let file = Store::open(&laptop).await.unwrap();
    // Offline, Paul's 206 goes to his first installment...
    bank::confirm(&file, initials, "25000002", None, "luc").await.unwrap();
    file.close().await;
    // ...which the office meanwhile saw paid by card.
    common::pay(&store, "25000002", d(2025, 9, 10), Money::from_cents(20600), regie::ledger::PaymentMethod::Card).await;
    let before = regie::ledger::account_position(&store, "25000002").await.unwrap();
    let back = regie::session::checkin(&store, &laptop, "claire").await.unwrap();
    assert_eq!((back.applied, back.conflicts.len()), (0, 1), "{back:?}");
    let c = &back.conflicts[0];
    assert!(c.reason.contains("les échéances de 25000002 ont changé au bureau"), "{c:?}");
    assert!(c.office.contains("reste"), "{c:?}");
    let after = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(after.summary.balance, before.summary.balance, "nothing applied");
    assert_eq!(after.payments.len(), before.payments.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_session_releases_its_lines_and_cannot_come_back() {
    let (store, dir, lines) = office("session-discard").await;
    let db = common::db_of(&store);
    let first = dir.join("un.sqlite");
    regie::users::sign_in(&store, "Claire Comptable").await.unwrap();
    let out = regie::session::checkout(&store, &first, &regie::session::DEFAULT_LINES, None, "luc").await.unwrap();
    // The laptop's user signs in on the laptop: the office desk's last user does not travel.
    let file = Store::open(&first).await.unwrap();
    assert!(regie::users::current(&file).await.unwrap().is_none());
    assert_eq!(regie::users::current(&store).await.unwrap().map(|u| u.name).as_deref(), Some("Claire Comptable"));
    file.close().await;
    // The office shows who has the lines; a second laptop finds none left to take.
    let shown = bank::lines(&store, None).await.unwrap();
    assert!(
        shown
            .iter()
            .filter(|l| lines.contains(&l.id))
            .all(|l| l.checked_out.as_deref().is_some_and(|c| c.contains("luc")))
    );
    let second = dir.join("deux.sqlite");
    let none = regie::session::checkout(&store, &second, &regie::session::DEFAULT_LINES, None, "anne").await;
    assert!(none.unwrap_err().to_string().contains("aucune ligne"));
    assert!(!second.exists(), "nothing written");
    // A session is not an office, and an office file is not a session.
    let from_session = regie::session::checkout(
        &Store::open(&first).await.unwrap(),
        &second,
        &regie::session::DEFAULT_LINES,
        None,
        "luc",
    )
    .await;
    assert!(from_session.unwrap_err().to_string().contains("déjà une session"));
    let office_file = dir.join("bureau.sqlite");
    Store::open(&office_file).await.unwrap().close().await;
    assert!(
        regie::session::checkin(&store, &office_file, "claire")
            .await
            .unwrap_err()
            .to_string()
            .contains("n'est pas une session")
    );
    // Discarded: the lines are free for another laptop, and the file can no longer come back.
    let refused = regie(&db, &["session", "discard", &out.session, "--reason", " ", "--json"]);
    assert!(!refused.ok, "a reason is required");
    let gone =
        regie(&db, &["--user", "claire", "session", "discard", &out.session, "--reason", "portable perdu", "--json"]);
    assert!(gone.ok, "{}", gone.stderr);
    assert!(bank::lines(&store, None).await.unwrap().iter().all(|l| l.checked_out.is_none()));
    let again = regie::session::checkout(&store, &second, &regie::session::DEFAULT_LINES, None, "anne").await.unwrap();
    assert_eq!(again.lines, 3);
    let late = regie::session::checkin(&store, &first, "claire").await.unwrap_err();
    assert_eq!(late.code(), "conflict", "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_alone_holds_every_decision_even_while_the_laptop_has_it_open() {
    let (store, dir, [parent, initials, family]) = office("session-bytes").await;
    let laptop = dir.join("portable.sqlite");
    regie::session::checkout(&store, &laptop, &regie::session::DEFAULT_LINES, None, "luc").await.unwrap();
    let open = Store::open(&laptop).await.unwrap();
    bank::confirm(&open, parent, "25000001", None, "luc").await.unwrap();
    bank::confirm(&open, initials, "25000002", Some(Money::from_cents(10000)), "luc").await.unwrap();
    bank::hold(&open, family, "RIB demandé à la famille", "luc").await.unwrap();
    // The window reads the file's bytes (not its write-ahead log) while the laptop's app runs.
    let bytes = std::fs::read(&laptop).unwrap();
    let uploads = regie::uploads::Uploads::default();
    let sent = uploads.put("portable.sqlite", &bytes).unwrap();
    let back = regie::session::checkin_uploaded(&store, &uploads, sent, "claire").await.unwrap();
    assert_eq!((back.applied, back.conflicts.len()), (3, 0), "{back:?}");
    let lines = bank::lines(&store, None).await.unwrap();
    let split = lines.iter().find(|l| l.id == initials).unwrap();
    assert_eq!(split.unassigned, Money::from_cents(10600), "a part of the line, as on the laptop");
    let held = lines.iter().find(|l| l.id == family).unwrap();
    let why = held.held.as_deref().unwrap_or_default();
    assert!(why.starts_with("en attente : RIB demandé à la famille (luc"), "{why}");
    open.close().await;
    // Junk is no session, and is left as it was.
    let junk = uploads.put("portable.sqlite", b"not a database").unwrap();
    let junk = regie::session::checkin_uploaded(&store, &uploads, junk, "claire").await;
    assert!(junk.unwrap_err().to_string().contains("n'est pas une session"));
}

/// `laptop` copied to `name` beside it, then changed by `sql` run on the copy as plain SQLite.
async fn tampered(laptop: &std::path::Path, name: &str, sql: &'static str) -> std::path::PathBuf {
    use sqlx::Connection;
    let copy = laptop.with_file_name(name);
    std::fs::copy(laptop, &copy).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy);
    let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_file_regie_did_not_write_is_refused_before_anything_of_it_runs() {
    let (store, dir, [parent, _, _]) = office("session-tampered").await;
    let laptop = dir.join("portable.sqlite");
    regie::session::checkout(&store, &laptop, &regie::session::DEFAULT_LINES, None, "luc").await.unwrap();
    let open = Store::open(&laptop).await.unwrap();
    bank::confirm(&open, parent, "25000001", None, "luc").await.unwrap();
    open.close().await;

    // The decisions behind a view (it could be any query), a trigger of its own, its origin
    // behind a view.
    let view = tampered(
        &laptop,
        "vue.sqlite",
        "ALTER TABLE session_decisions RENAME TO d0; CREATE VIEW session_decisions AS SELECT * FROM d0;",
    )
    .await;
    let trigger = tampered(
        &laptop,
        "declencheur.sqlite",
        "CREATE TRIGGER t0 AFTER INSERT ON _sqlx_migrations BEGIN DELETE FROM session_decisions; END;",
    )
    .await;
    let origin = tampered(
        &laptop,
        "origine.sqlite",
        "ALTER TABLE session_origin RENAME TO o0; CREATE VIEW session_origin AS SELECT * FROM o0;",
    )
    .await;
    // A virtual table of its own, its text disguised (a comment between CREATE and VIRTUAL).
    let disguised = tampered(
        &laptop,
        "virtuelle.sqlite",
        "CREATE VIRTUAL TABLE t1 USING fts5(a);
         PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = replace(sql, 'CREATE VIRTUAL', 'create/* */virtual') WHERE name = 't1';
         PRAGMA writable_schema = OFF;",
    )
    .await;
    // A later Régie's file, with what this one does not know of.
    let newer = tampered(
        &laptop,
        "future.sqlite",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
           VALUES (99999, 'later', TRUE, X'00', 0);
         CREATE VIEW later_view AS SELECT 1;",
    )
    .await;
    // A page of the students' table overwritten.
    let damaged = laptop.with_file_name("abime.sqlite");
    std::fs::copy(&laptop, &damaged).unwrap();
    let (page, size): (i64, i64) = {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&damaged).read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        let page = sqlx::query_scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'students'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let size = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut c).await.unwrap();
        c.close().await.unwrap();
        (page, size)
    };
    let mut bytes = std::fs::read(&damaged).unwrap();
    let at = ((page - 1) * size) as usize;
    bytes[at..at + 64].fill(0xA5);
    std::fs::write(&damaged, &bytes).unwrap();

    for (file, says) in [
        (&view, "une vue que Régie ne crée pas (\"session_decisions\")"),
        (&trigger, "un déclencheur que Régie ne crée pas (\"t0\")"),
        (&origin, "n'est pas une session"),
        (&newer, "écrite par une version plus récente de Régie (schéma 99999)"),
        (&disguised, "une table virtuelle que Régie ne crée pas (\"t1\")"),
        (&damaged, "fichier endommagé"),
    ] {
        let before = std::fs::read(file).unwrap();
        let err = regie::session::checkin(&store, file, "claire").await.unwrap_err().to_string();
        assert!(err.contains(says) && err.contains(&file.display().to_string()), "{}: {err}", file.display());
        assert_eq!(std::fs::read(file).unwrap(), before, "{} is left as it was", file.display());
    }
    // Nothing came back to the office; the genuine file still does.
    let lines = bank::lines(&store, None).await.unwrap();
    assert!(lines.iter().find(|l| l.id == parent).unwrap().student_number.is_none(), "{lines:?}");
    let back = regie::session::checkin(&store, &laptop, "claire").await.unwrap();
    assert_eq!((back.applied, back.conflicts.len()), (1, 0), "{back:?}");
}
