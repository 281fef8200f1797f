//! The ledger's defects seen by a new user, each reproduced on a real database: refunds that
//! were never paid counted as refunded, credit notes that left installments due, paid
//! installments shown as scheduled, a bank match undone under a refund computed from it.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, PAUL_DURAND, write_1252};
use regie::bank::{self, Columns};
use regie::exemptions::{self, Outcome};
use regie::ledger::position::PositionKind;
use regie::ledger::{InstallmentStatus, RefundStatus};
use regie::money::Money;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn m(c: i64) -> Money {
    Money::from_cents(c)
}

fn statement(lines: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n");
    for (date, amount, label) in lines {
        s.push_str(&format!("{date};{date};;{amount};{label};\r\n"));
    }
    s
}

/// Amine BENALI (ISIMA 3879 by transfer) pays his three transfers from the bank statement.
async fn amine_paid_by_transfer(tag: &str) -> (regie::Store, std::path::PathBuf) {
    let (s, dir) = common::approved(tag, &[AMINE_BENALI]).await;
    regie::users::set_role(&s, "Claire", regie::users::Role::FinanceManager, "admin").await.unwrap();
    let file = dir.join("releve.csv");
    write_1252(
        &file,
        &statement(&[
            ("08/09/2025", "618,00", "VIR SEPA RECU /DE BENALI AMINE /MOTIF BENALI AMINE+ISIMA+F.I"),
            ("10/10/2025", "1 630,50", "VIR SEPA RECU /DE BENALI AMINE /MOTIF BENALI AMINE+ISIMA+F.I 2"),
            ("10/11/2025", "1 630,50", "VIR SEPA RECU /DE BENALI AMINE /MOTIF BENALI AMINE+ISIMA+F.I 3"),
        ]),
    );
    let summary = bank::import_file(&s, &file, Columns::Detect, "paul").await.unwrap();
    assert_eq!(summary.auto_matched, 3, "{summary:?}");
    (s, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_cancelled_or_not_yet_paid_is_not_refunded() {
    let (s, _) = amine_paid_by_transfer("ledger-refund").await;
    let full = exemptions::decide(&s, "C 2025-09", "25000003", Outcome::Full, "CE-1", None, d(2025, 11, 20), "Claire")
        .await
        .unwrap();
    assert_eq!(full.refund.unwrap().amount, m(326100));
    let pos = regie::ledger::account_position(&s, "25000003").await.unwrap();
    // The school owes 3 261,00 until the refund is paid.
    assert_eq!((pos.summary.balance, pos.summary.position), (m(-326100), PositionKind::Creditor));

    let refused =
        exemptions::decide(&s, "C 2025-09", "25000003", Outcome::Refused, "CE-1-bis", None, d(2025, 11, 21), "Claire")
            .await
            .unwrap();
    assert!(refused.reversed.is_some());
    let pos = regie::ledger::account_position(&s, "25000003").await.unwrap();
    assert_eq!(pos.refunds[0].status, RefundStatus::Cancelled);
    assert_eq!((pos.summary.balance, pos.summary.position), (Money::ZERO, PositionKind::Settled), "{:?}", pos.summary);
    assert_eq!(pos.schedule_left_total, Money::ZERO, "the re-billed transfers were paid long ago");
    let listed = regie::ledger::list_students(&s, Some("25000003"), 0, 10).await.unwrap();
    assert_eq!(listed[0].balance, Money::ZERO, "the students list says the same");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_students_cut_short_says_how_many_match() {
    let (s, _dir) = common::approved("ledger-page", &[common::LEA_DURAND, PAUL_DURAND, AMINE_BENALI]).await;
    let first = |search: Option<&str>, limit| regie::page::PageQuery {
        search: search.map(str::to_string),
        limit,
        ..Default::default()
    };
    let page = regie::ledger::student_page(&s, &first(None, 1)).await.unwrap();
    assert_eq!((page.students.len(), page.total), (1, 3));
    let page = regie::ledger::student_page(&s, &first(Some("  durand "), 10)).await.unwrap();
    assert_eq!((page.students.len(), page.total), (2, 2));
    let page = regie::ledger::student_page(&s, &first(Some("zzz"), 10)).await.unwrap();
    assert_eq!((page.students.len(), page.total), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_credit_note_leaves_nothing_due_and_nothing_to_match() {
    let (s, dir) = common::approved("ledger-credit", &[PAUL_DURAND]).await;
    let db = common::db_of(&s);
    assert!(common::regie(&db, &["users", "set-role", "test-comptable", "--role", "finance_manager"]).ok);
    let invoice = regie::invoices::list(&s, None).await.unwrap()[0].number.clone();
    let out =
        common::regie(&db, &["--json", "credit-notes", "issue", &invoice, "--amount", "618", "--reason", "erreur"]);
    assert_eq!(out.json()["amount"], "618.00");
    let pos = regie::ledger::account_position(&s, "25000002").await.unwrap();
    assert_eq!(pos.schedule_left_total, Money::ZERO);
    assert!(pos.schedule.iter().all(|l| l.status == InstallmentStatus::Cancelled), "{:?}", pos.schedule);
    assert_eq!(pos.summary.balance, Money::ZERO);

    // A later transfer from Paul finds nothing to pay: it is not matched onto the credited invoice.
    let file = dir.join("releve.csv");
    write_1252(
        &file,
        &statement(&[("10/10/2025", "206,00", "VIR SEPA RECU /DE DURAND PAUL /MOTIF POLYTECH 25000002")]),
    );
    let summary = bank::import_file(&s, &file, Columns::Detect, "paul").await.unwrap();
    assert_eq!(summary.auto_matched, 0, "{summary:?}");
    let line = &bank::lines(&s, None).await.unwrap()[0];
    assert!(line.suggestions.iter().all(|g| g.student_number != "25000002"), "{:?}", line.suggestions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_credit_note_shrinks_the_latest_installments() {
    let (s, _) = common::approved("ledger-partial", &[PAUL_DURAND]).await;
    regie::users::set_role(&s, "claire", regie::users::Role::FinanceManager, "admin").await.unwrap();
    let invoice = regie::invoices::list(&s, None).await.unwrap()[0].number.clone();
    regie::invoices::issue_credit_note(&s, &invoice, m(30000), "geste", "claire").await.unwrap();
    let pos = regie::ledger::account_position(&s, "25000002").await.unwrap();
    let left: Vec<Money> = pos.schedule.iter().map(|l| l.left_to_pay).collect();
    assert_eq!(left, vec![m(20600), m(11200), Money::ZERO]);
    assert_eq!(pos.schedule[2].status, InstallmentStatus::Cancelled);
    assert_eq!(pos.schedule_left_total, pos.summary.balance);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installments_say_paid_partly_paid_and_overdue() {
    let (s, _) = common::approved("ledger-status", &[PAUL_DURAND]).await;
    common::pay(&s, "25000002", d(2025, 9, 5), m(30000), regie::ledger::PaymentMethod::Card).await;
    let pos = regie::ledger::account_position_on(&s, "25000002", d(2025, 10, 1)).await.unwrap();
    let statuses: Vec<InstallmentStatus> = pos.schedule.iter().map(|l| l.status).collect();
    assert_eq!(statuses, vec![InstallmentStatus::Paid, InstallmentStatus::PartlyPaid, InstallmentStatus::Scheduled]);
    let later = regie::ledger::account_position_on(&s, "25000002", d(2025, 12, 1)).await.unwrap();
    assert_eq!(later.schedule[1].status, InstallmentStatus::Overdue);
    assert_eq!(later.schedule[2].status, InstallmentStatus::Overdue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_a_match_gives_way_to_the_refund_computed_from_it() {
    let (s, _) = amine_paid_by_transfer("ledger-undo").await;
    exemptions::decide(&s, "C 2025-09", "25000003", Outcome::Full, "CE-2", None, d(2025, 11, 20), "Claire")
        .await
        .unwrap();
    let last = bank::lines(&s, None).await.unwrap().into_iter().find(|l| l.label.ends_with("F.I 3")).unwrap();
    bank::undo(&s, last.id, "pas le bon virement", d(2025, 11, 22), "paul").await.unwrap();
    let pos = regie::ledger::account_position(&s, "25000003").await.unwrap();
    let to_pay: Vec<Money> = pos.refunds.iter().filter(|r| r.status == RefundStatus::ToPay).map(|r| r.amount).collect();
    assert_eq!(to_pay, vec![m(163050)], "only what was really paid beyond 618 is refunded: {:?}", pos.refunds);
    assert_eq!(pos.summary.balance, m(-163050));
    assert_eq!(pos.schedule_left_total, Money::ZERO);

    // Once that refund is paid, undoing the other transfer is a fact the ledger records: the
    // student was refunded money they had not paid, and owes it again, on its installment.
    let refund = exemptions::refunds(&s).await.unwrap().into_iter().find(|r| r.status == RefundStatus::ToPay).unwrap();
    exemptions::pay_refund(&s, refund.id, Some("FR76 3000 6000 0112 3456 7890 189"), "Claire").await.unwrap();
    let second = bank::lines(&s, None).await.unwrap().into_iter().find(|l| l.label.ends_with("F.I 2")).unwrap();
    bank::undo(&s, second.id, "erreur", d(2025, 11, 23), "paul").await.unwrap();
    let pos = regie::ledger::account_position(&s, "25000003").await.unwrap();
    assert_eq!((pos.summary.balance, pos.summary.position), (m(163050), PositionKind::Debtor));
    assert_eq!(pos.schedule_left_total, m(163050), "owed on the transfer's installment");
    assert_eq!(pos.debited_total, Money::ZERO, "a transfer is sent, never debited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_gives_each_invoice_its_status() {
    let (s, _) = common::approved("ledger-invoice-status", &[PAUL_DURAND, AMINE_BENALI]).await;
    regie::users::set_role(&s, "claire", regie::users::Role::FinanceManager, "admin").await.unwrap();
    let list = regie::invoices::list(&s, None).await.unwrap();
    assert!(list.iter().all(|i| i.status == regie::invoices::InvoiceStatus::Open));
    let paul = list.iter().find(|i| i.student_number == "25000002").unwrap().number.clone();
    let amine = list.iter().find(|i| i.student_number == "25000003").unwrap().number.clone();
    regie::invoices::issue_credit_note(&s, &paul, m(61800), "annulation", "claire").await.unwrap();
    // Amine pays everything but 1 630,50, which a credit note then removes: settled, not credited.
    common::pay(&s, "25000003", d(2025, 10, 1), m(224850), regie::ledger::PaymentMethod::Transfer).await;
    // The amount as the window sends it, typed the French way.
    let typed: Money = serde_json::from_str("\"1.630,50\"").unwrap();
    regie::invoices::issue_credit_note(&s, &amine, typed, "exonération", "claire").await.unwrap();
    let list = regie::invoices::list(&s, None).await.unwrap();
    let status = |n: &str| list.iter().find(|i| i.number == n).unwrap().status;
    assert_eq!(status(&paul), regie::invoices::InvoiceStatus::Credited);
    assert_eq!(status(&amine), regie::invoices::InvoiceStatus::Settled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_json_that_does_not_decode_is_an_error_not_a_default() {
    let (s, dir) = amine_paid_by_transfer("ledger-json").await;
    exemptions::decide(&s, "C 2025-09", "25000003", Outcome::Full, "CE-3", None, d(2025, 11, 20), "Claire")
        .await
        .unwrap();
    let file = dir.join("autre.csv");
    write_1252(&file, &statement(&[("12/11/2025", "50,00", "VIR SEPA RECU /DE INCONNU")]));
    bank::import_file(&s, &file, Columns::Detect, "paul").await.unwrap();
    common::exec(&s, "UPDATE statement_lines SET suggestions = '[{\"tronqué' WHERE label LIKE '%INCONNU%'")
        .await
        .unwrap();
    let e = bank::lines(&s, None).await.unwrap_err();
    assert!(e.to_string().contains("illisibles"), "{e}");
    common::exec(&s, "UPDATE exemption_outcomes SET cancelled = 'pas du json'").await.unwrap();
    let e = exemptions::decide(&s, "C 2025-09", "25000003", Outcome::Full, "CE-3", None, d(2025, 11, 21), "Claire")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("illisible"), "{e}");
}
