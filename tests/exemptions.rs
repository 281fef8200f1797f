//! The exemption commission's worked cases on a real database: cancelled installments, credit
//! notes, refunds, balances at zero, idempotence, reversal, roles, and the report's totals.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, CHLOE_MOREAU_2022, temp_dir};
use regie::exemptions::{self, Outcome};
use regie::ledger::{PaymentMethod, RefundStatus, StudentNumber};
use regie::money::Money;
use regie::users::Role;
use regie::{Store, store};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn m(c: i64) -> Money {
    Money::from_cents(c)
}

/// Chloé (Polytech 2022-23, 3770 in six) and Amine (ISIMA 2025-26, 3879 by transfer), approved;
/// Claire is a finance manager, Paul an accountant.
async fn commission(tag: &str) -> Store {
    let (s, _) = common::approved(tag, &[CHLOE_MOREAU_2022, AMINE_BENALI]).await;
    regie::users::set_role(&s, "Claire", Role::FinanceManager, "admin").await.unwrap();
    regie::users::set_role(&s, "Paul", Role::Accountant, "Claire").await.unwrap();
    s
}

async fn pay(s: &Store, number: &str, cents: &[i64]) {
    let mut tx = s.begin().await.unwrap();
    let student = store::students::by_number(&mut tx, &StudentNumber::parse(number).unwrap()).await.unwrap().unwrap();
    for c in cents {
        regie::ledger::record_payment(&mut tx, &student, d(2022, 10, 10), m(*c), PaymentMethod::Debit, "PRLV", "paul")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn full_exemption_after_the_first_installment() {
    let s = commission("ex-first").await;
    pay(&s, "22000004", &[60100]).await;
    let a = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-2022-17",
        None,
        d(2022, 9, 28),
        "Claire",
    )
    .await
    .unwrap();
    assert_eq!(a.cancelled_installments.len(), 5, "the five last installments");
    assert_eq!(a.credit_note.as_ref().unwrap().amount, m(316900));
    assert!(a.refund.is_none());
    let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
    assert_eq!(pos.summary.balance, Money::ZERO);
    assert_eq!(pos.schedule_left_total, Money::ZERO);
    assert_eq!(pos.credit_notes[0].amount, m(316900));
}

#[tokio::test]
async fn full_exemption_after_two_installments_refunds_the_second() {
    let s = commission("ex-two").await;
    pay(&s, "22000004", &[60100, 63380]).await;
    let a = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-2022-18",
        None,
        d(2022, 10, 20),
        "Claire",
    )
    .await
    .unwrap();
    assert_eq!(a.credit_note.as_ref().unwrap().amount, m(316900));
    assert_eq!(a.refund.as_ref().unwrap().amount, m(63380));
    assert_eq!(a.cancelled_installments.len(), 4, "the paid second installment stays");
    let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
    assert_eq!(pos.summary.balance, m(-63380), "the school owes the refund until it is paid");
    assert_eq!((pos.refunds[0].amount, pos.refunds[0].status), (m(63380), RefundStatus::ToPay));
    let id = exemptions::refunds(&s).await.unwrap()[0].id;
    exemptions::pay_refund(&s, id, Some("FR76 1007 1630 0000 0010 0383 489"), "Claire").await.unwrap();
    assert_eq!(regie::ledger::account_position(&s, "22000004").await.unwrap().summary.balance, Money::ZERO);
}

/// The exemption's refund sent back to the card from the gateway's back office, in two parts: the
/// exports' refund rows pay the refund owed (a part, then the rest), never a second one, and the
/// installment its card payment settled stays paid.
#[tokio::test]
async fn an_exemption_refund_sent_back_to_the_card_is_paid_by_the_export() {
    let s = commission("ex-card-refund").await;
    let invoice = regie::invoices::list(&s, None)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.student_number == "22000004")
        .unwrap()
        .number;
    let dir = temp_dir("ex-card-refund-files");
    let header = "Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse;Numéro de remise";
    let paid = dir.join("paybox-octobre.csv");
    common::write_1252(
        &paid,
        &format!(
            "{header}\r\n06/09/2022;8800001;{invoice}-1;601,00;Débit;Télécollecté;00000;81200\r\n\
             10/10/2022;8800002;{invoice}-2;633,80;Débit;Télécollecté;00000;81234\r\n"
        ),
    );
    let store = &s;
    let cards = |file: std::path::PathBuf| async move {
        regie::card::import_file(store, &file, regie::card::Columns::Detect, "Paul").await.unwrap()
    };
    assert_eq!(cards(paid).await.paid, 2);
    let a = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-2022-19",
        None,
        d(2022, 10, 20),
        "Claire",
    )
    .await
    .unwrap();
    assert_eq!(a.refund.as_ref().unwrap().amount, m(63380));

    // 20,00 more paid by transfer (spare credit), then the 653,80 the school owes sent back in
    // two card refunds (400,00: the 20,00 and 380,00 of the refund owed; then its rest).
    pay(&s, "22000004", &[2000]).await;
    let refunded = |day: u32, number: u32, amount: &str| {
        let path = dir.join(format!("paybox-remboursement-{day}.csv"));
        let row = format!("{day}/10/2022;{number};{invoice}-2;{amount};Remboursement;Télécollecté;00000;81260");
        common::write_1252(&path, &format!("{header}\r\n{row}\r\n"));
        path
    };
    let to_pay = || async {
        let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
        let by = |status| pos.refunds.iter().filter(|r| r.status == status).map(|r| r.amount).sum::<Money>();
        (pos.summary.balance, by(RefundStatus::Paid), by(RefundStatus::ToPay), pos.schedule[1].left_to_pay)
    };
    let summary = cards(refunded(25, 8800003, "400,00")).await;
    assert_eq!((summary.refunded, summary.unknown), (1, 0), "{summary:?}");
    assert_eq!(to_pay().await, (m(-25380), m(40000), m(25380), Money::ZERO), "400,00 paid, the rest still owed");
    let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
    let rest: Vec<NaiveDate> = pos.refunds.iter().filter(|r| r.status == RefundStatus::ToPay).map(|r| r.date).collect();
    assert_eq!(rest, [d(2022, 10, 20)], "the rest keeps the day it was granted");
    let summary = cards(refunded(26, 8800004, "253,80")).await;
    assert_eq!((summary.refunded, summary.unknown), (1, 0), "{summary:?}");
    assert_eq!(to_pay().await, (Money::ZERO, m(65380), Money::ZERO, Money::ZERO), "all paid, the 2nd installment too");
    assert!(exemptions::refunds(&s).await.unwrap().iter().all(|r| r.status != RefundStatus::ToPay));
    let audit = regie::store::audit::list(&mut s.read().await.unwrap(), None).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "refund.paid" && a.reason.as_deref() == Some("remboursement carte 8800004"))
    );
}

#[tokio::test]
async fn isima_transfers_all_received_then_full_exemption() {
    let s = commission("ex-isima").await;
    pay(&s, "25000003", &[61800, 163050, 163050]).await;
    let a = exemptions::decide(
        &s,
        "Commission 2025-09",
        "25000003",
        Outcome::Full,
        "CE-2025-03",
        None,
        d(2025, 10, 20),
        "Claire",
    )
    .await
    .unwrap();
    assert_eq!(a.credit_note.as_ref().unwrap().amount, m(326100));
    assert_eq!(a.refund.as_ref().unwrap().amount, m(326100));
    assert!(a.cancelled_installments.is_empty(), "everything was paid: nothing left to cancel");
    assert_eq!(regie::ledger::account_position(&s, "25000003").await.unwrap().summary.balance, m(-326100));
    let id = exemptions::refunds(&s).await.unwrap()[0].id;
    exemptions::pay_refund(&s, id, Some("FR76 1007 1630 0000 0010 0383 489"), "Claire").await.unwrap();
    assert_eq!(regie::ledger::account_position(&s, "25000003").await.unwrap().summary.balance, Money::ZERO);
}

#[tokio::test]
async fn partial_outcome_is_idempotent_and_a_changed_outcome_reverses_cleanly() {
    let s = commission("ex-partial").await;
    pay(&s, "22000004", &[60100]).await;
    let first = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Partial(m(100000)),
        "CE-1",
        None,
        d(2022, 9, 28),
        "Claire",
    )
    .await
    .unwrap();
    assert!(first.changed);
    assert_eq!(first.credit_note.as_ref().unwrap().amount, m(100000));
    let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
    assert_eq!(pos.summary.balance, m(377000 - 60100 - 100000));
    assert_eq!(pos.schedule_left_total, pos.summary.balance, "what is scheduled is exactly what is still owed");

    let again = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Partial(m(100000)),
        "CE-1",
        None,
        d(2022, 9, 29),
        "Claire",
    )
    .await
    .unwrap();
    assert!(!again.changed);
    assert_eq!(
        regie::ledger::account_position(&s, "22000004").await.unwrap().credit_notes.len(),
        1,
        "nothing issued twice"
    );

    // The commission's decision changes: refused. The partial one is reversed by a re-billing.
    let refused = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Refused,
        "CE-1-bis",
        None,
        d(2022, 10, 2),
        "Claire",
    )
    .await
    .unwrap();
    assert!(refused.reversed.is_some() && refused.credit_note.is_none() && refused.refund.is_none());
    let pos = regie::ledger::account_position(&s, "22000004").await.unwrap();
    assert_eq!(pos.summary.balance, m(377000 - 60100));
    assert_eq!(pos.schedule_left_total, m(377000 - 60100), "the installments are back");
    // And full after all: credited against the re-billing first.
    let full = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-1-ter",
        None,
        d(2022, 10, 3),
        "Claire",
    )
    .await
    .unwrap();
    assert_eq!(full.credit_note.as_ref().unwrap().amount, m(316900));
    assert_eq!(regie::ledger::account_position(&s, "22000004").await.unwrap().summary.balance, Money::ZERO);
    let list = exemptions::list(&s, Some("Commission 2022-09"), None).await.unwrap();
    assert_eq!(list[0].outcome, Some(exemptions::OutcomeKind::Full));
    // Exonérations' page shows the outcome in force on each of its rows, the reversed one gone.
    let page = regie::page::PageQuery { limit: 100, ..Default::default() };
    let q = exemptions::CandidateQuery { session: None, year: None, page };
    let page = exemptions::page(&s, &q).await.unwrap().page;
    let row = page.rows.iter().find(|c| c.student_number == "22000004").unwrap();
    assert_eq!(row.outcome, Some(exemptions::OutcomeKind::Full));
    assert_eq!(row.session.as_deref(), Some("Commission 2022-09"));
    assert!(page.rows.iter().filter(|c| c.student_number != "22000004").all(|c| c.outcome.is_none()));
}

#[tokio::test]
async fn an_accountant_cannot_record_an_outcome() {
    let s = commission("ex-role").await;
    let e =
        exemptions::decide(&s, "Commission 2022-09", "22000004", Outcome::Full, "CE-9", None, d(2022, 9, 28), "Paul")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-9",
        None,
        d(2022, 9, 28),
        "Inconnu",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(regie::ledger::account_position(&s, "22000004").await.unwrap().credit_notes.is_empty());
}

#[tokio::test]
async fn the_report_totals_equal_the_sum_of_the_positions() {
    let s = commission("ex-report").await;
    pay(&s, "22000004", &[60100, 63380]).await;
    pay(&s, "25000003", &[61800]).await;
    exemptions::decide(&s, "Commission 2022-09", "22000004", Outcome::Full, "CE-A", None, d(2022, 10, 20), "Claire")
        .await
        .unwrap();
    exemptions::decide(
        &s,
        "Commission 2025-09",
        "25000003",
        Outcome::Partial(m(50000)),
        "CE-B",
        None,
        d(2025, 9, 28),
        "Claire",
    )
    .await
    .unwrap();
    let r = exemptions::report(&s, None).await.unwrap();
    let mut credit = Money::ZERO;
    let mut refunds = Money::ZERO;
    for n in ["22000004", "25000003"] {
        let p = regie::ledger::account_position(&s, n).await.unwrap();
        credit += p.credit_notes.iter().map(|c| c.amount).sum::<Money>();
        refunds += p.refunds.iter().filter(|f| f.status == RefundStatus::ToPay).map(|f| f.amount).sum::<Money>();
    }
    assert_eq!((r.totals.students, r.totals.credit_notes, r.totals.refunds_to_pay), (2, credit, refunds));
    assert_eq!(r.groups.len(), 2, "one line per school and programme");
    // The helper dates every payment 10/10/2022: 601 + 633.80 + 618.
    assert!(
        r.months.iter().any(|m| m.month == "2022-10" && m.collected == Money::from_cents(60100 + 63380 + 61800)),
        "{:?}",
        r.months
    );
    // Every month as the ledger's own view adds it up: due less what credit notes took (the
    // partial exemption's), and what was paid.
    let expected: Vec<(String, i64)> = common::rows(
        &s,
        "SELECT substr(CAST(due_date AS TEXT), 1, 7), CAST(SUM(amount_cents - credited_cents) AS BIGINT)
         FROM installment_balances WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1",
    )
    .await;
    let collected: Vec<(String, i64)> = common::rows(
        &s,
        "SELECT substr(CAST(date AS TEXT), 1, 7), CAST(SUM(amount_cents) AS BIGINT) FROM payments GROUP BY 1 ORDER BY 1",
    )
    .await;
    let credited: Vec<(i64,)> = common::rows(&s, "SELECT CAST(COUNT(*) AS BIGINT) FROM credit_allocations").await;
    assert!(credited[0].0 > 0, "credit notes took part of some installments");
    let month = |v: &[(String, i64)], m: &str| v.iter().find(|(k, _)| k == m).map_or(0, |(_, c)| *c);
    assert_eq!(
        r.months.len(),
        expected.iter().chain(&collected).map(|(m, _)| m).collect::<std::collections::BTreeSet<_>>().len()
    );
    for m in &r.months {
        assert_eq!(
            (m.expected.cents(), m.collected.cents()),
            (month(&expected, &m.month), month(&collected, &m.month)),
            "{}",
            m.month
        );
    }
    let out = temp_dir("ex-xlsx").join("rapport.xlsx");
    exemptions::report_xlsx(&s, None, &out).await.unwrap();
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&out).unwrap();
    assert_eq!(wb.worksheet_range("Exonérations").unwrap().height(), 4);
}

#[tokio::test]
async fn a_refund_carries_its_bank_details_and_is_paid_by_a_finance_manager() {
    let s = commission("ex-refund").await;
    pay(&s, "22000004", &[60100, 63380]).await;
    assert!(exemptions::parse_iban("FR76 1007 1630 0000 0010 0383 480").is_err(), "wrong key");
    let iban = "fr76 1007 1630 0000 0010 0383 489";
    exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Full,
        "CE-R",
        Some(iban),
        d(2022, 10, 20),
        "Claire",
    )
    .await
    .unwrap();
    let refunds = exemptions::refunds(&s).await.unwrap();
    assert_eq!((refunds[0].amount, refunds[0].status), (m(63380), RefundStatus::ToPay));
    assert_eq!(refunds[0].iban.as_deref(), Some("FR76 1007 1630 0000 0010 0383 489"));
    assert_eq!(exemptions::pay_refund(&s, refunds[0].id, None, "Paul").await.unwrap_err().code(), "forbidden");
    exemptions::pay_refund(&s, refunds[0].id, None, "Claire").await.unwrap();
    assert!(exemptions::pay_refund(&s, refunds[0].id, None, "Claire").await.is_err(), "paid once");
    let r = exemptions::report(&s, None).await.unwrap();
    assert_eq!((r.totals.refunds_to_pay, r.totals.refunds_paid), (Money::ZERO, m(63380)));
    // A paid refund cannot be undone by changing the outcome.
    let e = exemptions::decide(
        &s,
        "Commission 2022-09",
        "22000004",
        Outcome::Refused,
        "CE-R2",
        None,
        d(2022, 11, 2),
        "Claire",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("déjà payé"), "{e}");
}
