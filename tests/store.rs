//! The store and the ledger on real SQLite files: exact amounts, gapless numbers, audited
//! transactions, and one decision per request however many try at once.

mod common;

use chrono::NaiveDate;
use common::{fresh_store, registration_rows, temp_dir, write_csv_1252};
use regie::money::Money;
use regie::requests::RequestStatus;
use regie::store;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A SQLite file runs in WAL mode (readers never wait for a writer) with foreign keys enforced;
/// on either engine a dangling reference is refused.
#[tokio::test]
async fn connection_uses_wal_and_foreign_keys() {
    let s = fresh_store("pragmas").await;
    let on_server = std::env::var("REGIE_TEST_POSTGRES").is_ok_and(|v| !v.is_empty());
    assert_eq!(matches!(s.pool(), regie::store::Pool::Postgres(_)), on_server, "the engine the test command chose");
    if let regie::store::Pool::Sqlite(_) = s.pool() {
        let (mode,): (String,) = common::one(&s, "PRAGMA journal_mode").await;
        let (fk,): (i64,) = common::one(&s, "PRAGMA foreign_keys").await;
        assert_eq!((mode.as_str(), fk), ("wal", 1));
    }
    let bad = common::exec(
        &s,
        "INSERT INTO installments (invoice_id, n, due_date, amount_cents) VALUES (999, 1, '2025-01-01', 100)",
    )
    .await;
    assert!(bad.is_err(), "a dangling invoice id is refused");
}

/// An import writes without SQLite's key checks (`begin_bulk`); every write after it, on whichever
/// of the pool's connections and however the import ended, checks them again.
#[tokio::test]
async fn keys_are_checked_again_after_a_bulk_write() {
    const DANGLING: &str =
        "INSERT INTO installments (invoice_id, n, due_date, amount_cents) VALUES (999, 1, '2025-01-01', 100)";
    let s = fresh_store("bulk-keys").await;
    // Committed, rolled back, or dropped half-way (an import refused).
    for k in 0..9 {
        let mut tx = s.begin_bulk().await.unwrap();
        if let store::Engine::Sqlite(c) = tx.engine() {
            let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(c).await.unwrap();
            assert_eq!(fk, 0, "a bulk write leaves the keys to its caller");
        }
        match k % 3 {
            0 => tx.commit().await.unwrap(),
            1 => tx.rollback().await.unwrap(),
            _ => drop(tx),
        }
    }
    for _ in 0..8 {
        let mut tx = s.begin().await.unwrap();
        let bad = match tx.engine() {
            store::Engine::Sqlite(c) => sqlx::query(DANGLING).execute(c).await.map(|r| r.rows_affected()),
            store::Engine::Postgres(c) => sqlx::query(DANGLING).execute(c).await.map(|r| r.rows_affected()),
        };
        assert!(bad.is_err(), "a dangling invoice id is refused after a bulk write");
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn amounts_round_trip_exactly_through_the_database() {
    let s = fresh_store("money").await;
    let mut tx = s.begin().await.unwrap();
    let fee = regie::fees::grid::FeeEntry {
        academic_year: "2030-31".parse().unwrap(),
        school: regie::fees::School::Isima,
        programme: "ING".into(),
        situation: regie::fees::Situation::ExtraEu,
        amount: Money::parse("1 630,51").unwrap(),
    };
    store::settings::set_fee(&mut tx, &fee).await.unwrap();
    tx.commit().await.unwrap();
    let grid = store::settings::fee_grid(&mut s.read().await.unwrap()).await.unwrap();
    assert_eq!(grid.amount(fee.academic_year, fee.school, "ING", fee.situation), Some(Money::from_cents(163051)));
    assert_eq!(
        grid.standard_fee("2025-26".parse().unwrap(), regie::fees::School::Isima, "ING"),
        Some(Money::from_cents(61800))
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let s = fresh_store("audit").await;
    let mut tx = s.begin().await.unwrap();
    store::audit::record(&mut tx, "alice", "test.action", "thing", 1, Some("because"), serde_json::json!({"a": 1}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(common::exec(&s, "UPDATE audit_log SET actor = 'mallory'").await.is_err());
    assert!(common::exec(&s, "DELETE FROM audit_log").await.is_err());
    let mut c = s.read().await.unwrap();
    let entries = store::audit::list(&mut c, Some("thing")).await.unwrap();
    assert_eq!((entries.len(), entries[0].actor.as_str(), entries[0].reason.as_deref()), (1, "alice", Some("because")));
}

#[tokio::test]
async fn numbers_are_gapless_and_a_rollback_returns_its_number() {
    let s = fresh_store("series").await;
    let mut tx = s.begin().await.unwrap();
    assert_eq!(store::ledger::next_number(&mut tx, "F2025").await.unwrap(), "F2025-00001");
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    assert_eq!(store::ledger::next_number(&mut tx, "F2025").await.unwrap(), "F2025-00002");
    tx.rollback().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    assert_eq!(store::ledger::next_number(&mut tx, "F2025").await.unwrap(), "F2025-00002");
    assert_eq!(store::ledger::next_number(&mut tx, "A2025").await.unwrap(), "A2025-00001", "series are separate");
    tx.commit().await.unwrap();
}

async fn imported_store(tag: &str) -> regie::Store {
    let dir = temp_dir(tag);
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &registration_rows());
    let s = regie::Store::open(&common::db_at(&dir, "r")).await.unwrap();
    regie::requests::import::import_file(&s, &file, "test").await.unwrap();
    s
}

fn request_id(list: &[regie::requests::RequestView], number: &str) -> i64 {
    list.iter().find(|r| r.student_number == number).unwrap().id
}

#[tokio::test]
async fn approval_issues_order_invoice_and_installments_that_sum_to_the_amount() {
    let s = imported_store("approve").await;
    let list = regie::requests::list(&s, Some(RequestStatus::Pending)).await.unwrap();
    let id = request_id(&list, "22001003"); // 3770 in six, Polytech 2022-23
    let decided = regie::requests::review::approve(&s, id, d(2022, 9, 5), "claire").await.unwrap();
    assert_eq!(decided.status, RequestStatus::Approved);
    assert_eq!(decided.invoice.as_deref(), Some("F2022-00001"));
    let pos = regie::ledger::account_position(&s, "22001003").await.unwrap();
    assert_eq!(pos.orders.len(), 1);
    assert_eq!(pos.invoices[0].incl_vat, Money::from_cents(377000));
    let amounts: Vec<String> = pos.schedule.iter().map(|l| l.amount.to_string()).collect();
    assert_eq!(amounts, ["601.00", "633.80", "633.80", "633.80", "633.80", "633.80"]);
    assert_eq!(pos.schedule_left_total, Money::from_cents(377000));
    assert_eq!(pos.summary.balance, Money::from_cents(377000));

    let mut c = s.read().await.unwrap();
    let log = store::audit::list(&mut c, None).await.unwrap();
    assert!(log.iter().any(|e| e.action == "request.approve" && e.actor == "claire"));
    assert!(log.iter().any(|e| e.action == "invoice.issue" && e.entity_id == "F2022-00001"));
}

#[tokio::test]
async fn payments_are_allocated_oldest_first_and_overpayment_stays_as_credit() {
    let s = imported_store("pay").await;
    let list = regie::requests::list(&s, Some(RequestStatus::Pending)).await.unwrap();
    regie::requests::review::approve(&s, request_id(&list, "22001001"), d(2025, 9, 6), "claire").await.unwrap();
    let number = regie::ledger::StudentNumber::parse("22001001").unwrap();
    let mut tx = s.begin().await.unwrap();
    let student = store::students::by_number(&mut tx, &number).await.unwrap().unwrap();
    // 618 in three: 206.00 each. Pay 300, then 324: 6.00 over.
    regie::ledger::record_payment(
        &mut tx,
        &student,
        d(2025, 9, 6),
        Money::from_cents(30000),
        regie::ledger::PaymentMethod::Card,
        "CB",
        "claire",
    )
    .await
    .unwrap();
    regie::ledger::record_payment(
        &mut tx,
        &student,
        d(2025, 10, 10),
        Money::from_cents(32400),
        regie::ledger::PaymentMethod::Debit,
        "PRLV",
        "claire",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let pos = regie::ledger::account_position(&s, "22001001").await.unwrap();
    let left: Vec<String> = pos.schedule.iter().map(|l| l.left_to_pay.to_string()).collect();
    assert_eq!(left, ["0.00", "0.00", "0.00"]);
    assert_eq!(pos.payments[1].amount - pos.payments[1].allocated, Money::from_cents(600));
    assert_eq!(pos.payments[1].unpaid, Money::ZERO, "an over-payment is not an unpaid one");
    assert_eq!(pos.summary.balance, Money::from_cents(-600));
    assert_eq!(pos.summary.position, regie::ledger::position::PositionKind::Creditor);
}

#[tokio::test]
async fn concurrent_approvals_of_one_request_give_one_decision() {
    let s = imported_store("race").await;
    let list = regie::requests::list(&s, Some(RequestStatus::Pending)).await.unwrap();
    let id = request_id(&list, "22001002");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(
                async move { regie::requests::review::approve(&s, id, d(2025, 9, 3), &format!("user{i}")).await },
            )
        })
        .collect();
    let mut issued = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => issued += 1,
            Err(e) => assert_eq!(e.code(), "conflict", "the others are told someone decided first: {e}"),
        }
    }
    assert_eq!(issued, 1);
    let (invoices,): (i64,) = common::one(&s, "SELECT COUNT(*) FROM invoices").await;
    let (decisions,): (i64,) = common::one(&s, "SELECT COUNT(*) FROM audit_log WHERE action = 'request.approve'").await;
    assert_eq!((invoices, decisions), (1, 1));
}

#[tokio::test]
async fn a_registrations_preview_counts_what_the_import_will_do_lists_every_bad_row_and_writes_nothing() {
    let dir = temp_dir("reg-preview");
    let s = regie::Store::open(&common::db_at(&dir, "r")).await.unwrap();
    let file = dir.join("inscriptions.csv");
    let mut rows = registration_rows();
    let good = rows.len();
    rows[1][3] = "pas-un-mail";
    rows[3][8] = "12";
    write_csv_1252(&file, &rows);
    let p = regie::requests::import::preview_file(&s, &file).await.unwrap();
    assert_eq!((p.rows, p.sample.len()), (good, good - 2));
    let at: Vec<_> = p.errors.iter().map(|e| (e.row, e.column.as_deref())).collect();
    assert_eq!(at, [(Some(3), Some("Email")), (Some(5), Some("Echéancier"))], "{:?}", p.errors);
    assert!(regie::requests::import::import_file(&s, &file, "claire").await.is_err(), "a bad row refuses the file");
    let (students,): (i64,) = common::one(&s, "SELECT COUNT(*) FROM students").await;
    assert_eq!(students, 0, "neither the preview nor the refused import wrote anything");

    // Fixed, the preview gives the counts the import then gives; a second preview of the same
    // file after the import sees everything known.
    write_csv_1252(&file, &registration_rows());
    let p = regie::requests::import::preview_file(&s, &file).await.unwrap();
    assert!(p.errors.is_empty());
    let done = regie::requests::import::import_file(&s, &file, "claire").await.unwrap();
    let mut would = p.would.clone();
    would.ignored_columns = done.ignored_columns.clone();
    assert_eq!(would, done);
    assert!(done.students_created > 0 && done.requests_created == good);
    let again = regie::requests::import::preview_file(&s, &file).await.unwrap();
    assert_eq!((again.would.requests_created, again.would.students_created, again.would.unchanged), (0, 0, good));
}
