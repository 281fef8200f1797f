//! Ledger: students, orders, invoices, installments, payments and their allocations, credit notes,
//! refunds. The only writer of money rows: inside the caller's transaction, audited; positions are computed.

pub use regie_rules::ledger::*;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::fees::AcademicYear;
use crate::money::Money;
use crate::store::{Conn, audit, ledger as sql};
use crate::{Error, Result};

/// Creates the order, the invoice (next number of its series) and the installments of the schedule.
///
/// Runs inside the caller's transaction: numbers are taken there, so a rollback leaves no gap.
pub async fn issue_invoice(conn: &mut Conn, draft: &InvoiceDraft<'_>, actor: &str) -> Result<IssuedInvoice> {
    let InvoiceDraft { student_id, request_id, year, session, date, schedule, label, .. } = *draft;
    let total = schedule.total;
    let order_number = sql::next_number(conn, &order_series(year)).await?;
    let order_id = sql::insert_order(conn, &order_number, student_id, request_id, date, total).await?;
    let series = invoice_series(year);
    let invoice_number = sql::next_number(conn, &series).await?;
    let invoice_id =
        sql::insert_invoice(conn, &series, &invoice_number, order_id, student_id, date, label, session).await?;
    sql::insert_line(conn, invoice_id, TUITION, 1, total, Money::ZERO).await?;
    for i in &schedule.installments {
        sql::insert_installment(conn, invoice_id, i.n, i.due_date, i.amount).await?;
    }
    audit::record(conn, actor, "invoice.issue", "invoice", &invoice_number, None, issued_details(draft, &order_number))
        .await?;
    Ok(IssuedInvoice { order_number, invoice_number, invoice_id, total })
}

/// `issue_invoice` for each draft of a batch of approvals, in order: the same rows, numbers and
/// audit records, each series' numbers taken at once and the rows written in bulk.
pub async fn issue_invoices(conn: &mut Conn, drafts: &[InvoiceDraft<'_>], actor: &str) -> Result<Vec<IssuedInvoice>> {
    use std::collections::HashMap;
    // Each series' next number, taken for all its drafts at once.
    let mut next: HashMap<String, i64> = HashMap::new();
    for d in drafts {
        for series in [order_series(d.year), invoice_series(d.year)] {
            *next.entry(series).or_default() += 1;
        }
    }
    let mut series: Vec<_> = next.into_iter().collect();
    series.sort();
    let mut next = HashMap::new();
    for (name, n) in series {
        let first = sql::reserve_numbers(conn, &name, n).await?;
        next.insert(name, first);
    }
    let mut take = |series: &str| -> Result<i64> {
        let seq = next.get_mut(series).ok_or_else(|| Error::Invalid(format!("série {series} non réservée")))?;
        *seq += 1;
        Ok(*seq - 1)
    };
    let mut order_id = sql::last_id(conn, sql::Numbered::Orders).await?;
    let mut invoice_id = sql::last_id(conn, sql::Numbered::Invoices).await?;
    let mut rows = Vec::with_capacity(drafts.len());
    for d in drafts {
        let orders = order_series(d.year);
        let order_number = sql::number_in(&orders, take(&orders)?);
        let series = invoice_series(d.year);
        let seq = take(&series)?;
        order_id += 1;
        invoice_id += 1;
        rows.push(sql::NewInvoice {
            order_id,
            order_number,
            invoice_id,
            number: sql::number_in(&series, seq),
            series,
            seq,
            student_id: d.student_id,
            request_id: d.request_id,
            date: d.date,
            label: d.label,
            session: d.session,
            designation: TUITION,
            total: d.schedule.total,
            installments: &d.schedule.installments,
        });
    }
    sql::insert_invoices_bulk(conn, &rows).await?;
    let records: Vec<_> =
        drafts.iter().zip(&rows).map(|(d, r)| (r.number.clone(), None, issued_details(d, &r.order_number))).collect();
    audit::record_many(conn, actor, "invoice.issue", "invoice", &records).await?;
    Ok(rows
        .into_iter()
        .map(|r| IssuedInvoice {
            order_number: r.order_number,
            invoice_number: r.number,
            invoice_id: r.invoice_id,
            total: r.total,
        })
        .collect())
}

/// The series of an academic year's orders (`C2025`) and invoices (`F2025`).
fn order_series(year: AcademicYear) -> String {
    format!("C{}", year.start_year())
}

fn invoice_series(year: AcademicYear) -> String {
    format!("F{}", year.start_year())
}

/// What the audit log keeps of an issued invoice.
fn issued_details(d: &InvoiceDraft<'_>, order_number: &str) -> serde_json::Value {
    json!({
        "student": d.student_number, "order": order_number, "total": d.schedule.total, "session": d.session,
        "installments": d.schedule.installments,
    })
}

/// Records a payment and allocates it to the student's open installments, oldest due first.
/// What exceeds the open installments stays unallocated: a credit on the account.
pub async fn record_payment(
    conn: &mut Conn,
    student: &Student,
    date: NaiveDate,
    amount: Money,
    method: PaymentMethod,
    reference: &str,
    actor: &str,
) -> Result<i64> {
    if !amount.is_positive() {
        return Err(Error::Invalid(format!("un règlement doit être positif ({amount})")));
    }
    let payment_id = sql::insert_payment(conn, student.id, date, amount, method, reference).await?;
    let mut open = sql::open_installments(conn, student.id).await?;
    let (parts, unallocated) = allocation::spread(open.iter_mut(), amount);
    for (installment, part) in &parts {
        sql::insert_allocation(conn, payment_id, *installment, *part).await?;
    }
    audit::record(
        conn,
        actor,
        "payment.record",
        "payment",
        payment_id,
        None,
        json!({"student": student.number, "amount": amount, "method": method, "reference": reference,
               "allocations": parts.iter().map(|(i, a)| json!({"installment": i, "amount": a})).collect::<Vec<_>>(),
               "unallocated": unallocated}),
    )
    .await?;
    Ok(payment_id)
}

/// How a payment of `amount` would be allocated now (installment, part), without recording it:
/// what `record_payment` would do in this transaction.
pub async fn allocation_preview(conn: &mut Conn, student_id: i64, amount: Money) -> Result<Vec<(i64, Money)>> {
    let mut open = sql::open_installments(conn, student_id).await?;
    Ok(allocation::spread(open.iter_mut(), amount).0)
}

/// A payment the bank import has numbered and allocated itself (with [`allocation::spread`] on
/// the open installments it read in the same transaction).
pub use sql::BulkPayment;

/// Records many payments at once (a statement's automatic matches). The caller allocated them
/// with [`allocation::spread`] on installments read in this transaction; audited by the caller's
/// import record, which lists each payment.
pub async fn record_payments_bulk(conn: &mut Conn, payments: &[BulkPayment<'_>]) -> Result<()> {
    let mut batches = PaymentBatches::default();
    batches.record(conn, payments).await?;
    batches.settle(conn).await
}

/// `record_payments_bulk` over several batches (an import that writes while it still matches):
/// each batch's payments and allocations are inserted as it comes, and what they settle is added
/// once, by `settle`, after the last (adding it per batch took the card benchmark's 100,000 rows
/// 0.2 to 0.4 s more). Until then the installments' settled amounts lag behind their allocations: nothing
/// may read them in between, and a caller that does not call `settle` leaves them wrong.
#[derive(Default)]
#[must_use = "what the payments settle is added by `settle`"]
pub struct PaymentBatches {
    /// (installment, cents) of every allocation recorded so far.
    parts: Vec<(i64, i64)>,
}

impl PaymentBatches {
    pub async fn record(&mut self, conn: &mut Conn, payments: &[BulkPayment<'_>]) -> Result<()> {
        for p in payments {
            let allocated: Money = p.allocations.iter().map(|(_, a)| *a).sum();
            if !p.amount.is_positive() || allocated > p.amount || p.allocations.iter().any(|(_, a)| !a.is_positive()) {
                return Err(Error::Invalid(format!("règlement {} mal réparti ({} sur {})", p.id, allocated, p.amount)));
            }
        }
        sql::insert_payment_rows(conn, payments).await?;
        self.parts.extend(sql::allocated_parts(payments));
        Ok(())
    }

    pub async fn settle(self, conn: &mut Conn) -> Result<()> {
        sql::add_allocated(conn, self.parts).await
    }

    /// `settle`, when the caller counted, per student, the installments its payments settled
    /// whole (`closed`: (student, count)) as it allocated them on the open installments it read
    /// in this transaction (`CardIndex::allocate`): the students' open counts are lowered by
    /// those, without finding each settled installment again.
    pub async fn settle_counted(self, conn: &mut Conn, closed: Vec<(i64, i64)>) -> Result<()> {
        sql::add_allocated_counted(conn, self.parts, closed).await
    }
}

/// Reverses a payment (a bank match undone or a card debit the gateway cancelled: `Correction`; a
/// card payment charged back: `Unpaid`): a negative payment mirrors it and its allocations, so
/// what it paid is due again. A refund computed from it gives way: one still to pay shrinks or is
/// cancelled; one already paid makes the reversal impossible here. The installments it had
/// settled start their reminders again from the first, whether or not a run has cleared their
/// levels since (`forget_reminders`). Audited.
pub async fn reverse_payment(
    conn: &mut Conn,
    payment_id: i64,
    why: PaymentReversal,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<i64> {
    let (student_id, amount, live) = sql::payment(conn, payment_id)
        .await?
        .ok_or_else(|| Error::Invalid(format!("règlement {payment_id} introuvable")))?;
    if !live {
        return Err(Error::Invalid(format!("le règlement {payment_id} est déjà annulé")));
    }
    let label = match why {
        PaymentReversal::Unpaid => "Impayé",
        PaymentReversal::Correction => "Annulation",
    };
    let settled = sql::settled_by_payment(conn, payment_id).await?;
    let reversal = sql::reverse_payment(conn, payment_id, why, date, &format!("{label}: {reason}")).await?;
    let mut forgotten = Vec::new();
    if why == PaymentReversal::Unpaid
        && let Some(paid_on) = sql::payment_date(conn, payment_id).await?
    {
        let due_again = sql::installments_of_payment(conn, payment_id).await?;
        forgotten = sql::forget_refusals_before(conn, &due_again, paid_on).await?;
    }
    let reminders = sql::forget_reminders(conn, &settled).await?;
    audit::record(
        conn,
        actor,
        "payment.reverse",
        "payment",
        reversal,
        Some(reason),
        json!({"reverses": payment_id, "amount": -amount, "why": why, "refusals_forgotten": forgotten,
               "reminders_forgotten": reminders}),
    )
    .await?;
    settle(conn, student_id, date, true, actor).await?;
    Ok(reversal)
}

/// Gives a live payment back to its payer (a card refund of its whole amount, which the
/// account's spare credit cannot cover): what it settled is taken back, so those installments are
/// due again, and a refund of it is recorded, paid on `date`, tied to it. The payment stays on the
/// account, beside its refund; neither counts in the account's credit any more, so no settlement
/// puts the payment on an installment again nor takes the refund out of other credit. A refusal
/// of those installments older than the payment no longer says why they are due. Audited.
/// Returns the refund and the installments due again.
pub async fn give_back_payment(
    conn: &mut Conn,
    payment_id: i64,
    amount: Money,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<(i64, Vec<i64>)> {
    let (student_id, paid, live) = sql::payment(conn, payment_id)
        .await?
        .ok_or_else(|| Error::Invalid(format!("règlement {payment_id} introuvable")))?;
    if !live || paid.is_negative() {
        return Err(Error::Invalid(format!("le règlement {payment_id} est annulé : rien à rembourser")));
    }
    if amount != paid {
        return Err(Error::Invalid(format!(
            "remboursement de {} sur un règlement de {} : seul un règlement entier se rend",
            amount.to_french(),
            paid.to_french()
        )));
    }
    let settled = sql::settled_by_payment(conn, payment_id).await?;
    let released = sql::release_payment(conn, payment_id).await?;
    let forgotten = match sql::payment_date(conn, payment_id).await? {
        Some(paid_on) => sql::forget_refusals_before(conn, &released, paid_on).await?,
        None => Vec::new(),
    };
    let reminders = sql::forget_reminders(conn, &settled).await?;
    let refund = sql::insert_give_back(conn, student_id, payment_id, date, amount).await?;
    audit::record(
        conn,
        actor,
        "payment.give_back",
        "payment",
        payment_id,
        Some(reason),
        json!({"amount": amount, "installments": released, "refusals_forgotten": forgotten,
               "reminders_forgotten": reminders, "refund": refund}),
    )
    .await?;
    audit::record(
        conn,
        actor,
        "refund.paid",
        "refund",
        refund,
        Some(reason),
        json!({"student_id": student_id, "amount": amount, "date": date, "gives_back": payment_id}),
    )
    .await?;
    settle(conn, student_id, date, false, actor).await?;
    Ok((refund, released))
}

/// What issuing a credit note did.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCreditNote {
    pub id: i64,
    pub number: String,
    pub amount: Money,
    /// Installments it cancelled (all of them was still due).
    pub cancelled: Vec<i64>,
    /// What it removed beyond its invoice's unpaid installments: a credit on the account.
    pub spare: Money,
}

/// Issues a credit note on an invoice, numbered in the gapless series of its own date's academic
/// year (`A2025-00001`), whatever the invoice's year.
/// What it removes is no longer due: the invoice's unpaid installments shrink, latest first, and
/// are cancelled when nothing is left of them; the rest is a credit on the account, put on
/// the student's other open installments. Never exceeds what the invoice still carries. Audited.
pub async fn issue_credit_note(
    conn: &mut Conn,
    invoice: &sql::RequestInvoice,
    amount: Money,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<IssuedCreditNote> {
    if !amount.is_positive() || amount > invoice.total - invoice.credited {
        return Err(Error::Invalid(format!(
            "avoir de {} impossible sur la facture {} (reste {})",
            amount,
            invoice.number,
            invoice.total - invoice.credited
        )));
    }
    // The series of the credit note's own date, like any document: numbers stay chronological.
    let year = AcademicYear::containing(date).start_year();
    let series = format!("A{year}");
    let number = sql::next_number(conn, &series).await?;
    let id = sql::insert_credit_note(conn, &series, &number, invoice.id, date, amount, reason).await?;
    let mut open = sql::open_installments_of_invoice(conn, invoice.id).await?;
    let (parts, spare) = allocation::spread(open.iter_mut().rev(), amount);
    let mut cancelled = Vec::new();
    for (installment, part) in &parts {
        sql::insert_credit_allocation(conn, id, *installment, *part).await?;
    }
    // Nothing paid on it and all of it removed: it is cancelled, not paid.
    for o in open.iter().filter(|o| o.left_to_pay.is_zero() && o.paid.is_zero()) {
        if parts.iter().any(|(i, _)| *i == o.id) {
            sql::cancel_installment(conn, o.id).await?;
            cancelled.push(o.id);
        }
    }
    audit::record(
        conn,
        actor,
        "credit_note.issue",
        "credit_note",
        &number,
        Some(reason),
        json!({"invoice": invoice.number, "amount": amount,
               "installments": parts.iter().map(|(i, a)| json!({"installment": i, "amount": a})).collect::<Vec<_>>(),
               "cancelled": cancelled, "spare": spare}),
    )
    .await?;
    if spare.is_positive() {
        settle(conn, invoice.student_id, date, false, actor).await?;
    }
    Ok(IssuedCreditNote { id, number, amount, cancelled, spare })
}

/// Re-plans what is still due on an invoice (the student changed plan after paying part of it):
/// what was paid or credited stays where it is (a partly settled installment shrinks to it, an
/// untouched one is replaced), and the rest is due as `rest` says, on the same invoice, whose
/// total does not change. `rest` must add up to what was still due. Audited, with the schedule
/// before and after.
pub async fn replan(
    conn: &mut Conn,
    invoice: &sql::RequestInvoice,
    rest: &crate::plans::Schedule,
    reason: &str,
    actor: &str,
) -> Result<()> {
    let before = sql::installments_of_invoice(conn, invoice.id).await?;
    let open = sql::open_installments_of_invoice(conn, invoice.id).await?;
    let left: Money = open.iter().map(|o| o.left_to_pay).sum();
    if left != rest.total {
        return Err(Error::Invalid(format!(
            "facture {} : le nouvel échéancier ({}) ne couvre pas ce qui reste dû ({})",
            invoice.number,
            rest.total.to_french(),
            left.to_french()
        )));
    }
    // An installment nothing is left on after netting (a payment and its reversal) cannot be
    // removed: it carries the next part of the new schedule instead.
    let mut reusable = Vec::new();
    for o in &open {
        let settled_nothing = o.paid.is_zero() && o.left_to_pay == o.amount;
        if settled_nothing {
            if !sql::remove_untouched_installment(conn, o.id).await? {
                reusable.push(o.id);
            }
        } else if !sql::shrink_installment(conn, o.id, o.left_to_pay).await? {
            return Err(Error::Invalid(format!(
                "facture {} : l'échéance du {} ne peut pas être remplacée",
                invoice.number,
                o.due_date.format("%d/%m/%Y")
            )));
        }
    }
    if reusable.len() > rest.installments.len() {
        return Err(Error::Invalid(format!(
            "facture {} : des règlements annulés restent attachés à {} échéances ; choisissez un échéancier d'au moins autant d'échéances",
            invoice.number,
            reusable.len()
        )));
    }
    let mut n = sql::last_installment_n(conn, invoice.id).await?;
    // What the reused installments' old schedule had earned them (a refusal, a reminder level).
    let mut forgotten = Vec::new();
    for (k, i) in rest.installments.iter().enumerate() {
        match reusable.get(k) {
            Some(id) => {
                let f = sql::reschedule_installment(conn, *id, i.due_date, i.amount).await?;
                if f != sql::Forgotten::default() {
                    forgotten.push(json!({"installment": id, "refusal": f.refusal, "level": f.level}));
                }
            }
            None => {
                n += 1;
                sql::insert_installment(conn, invoice.id, n as u32, i.due_date, i.amount).await?;
            }
        }
    }
    let dated = |rows: &[(NaiveDate, Money, Money, Money)]| {
        rows.iter().map(|(d, a, _, _)| json!({"due_date": d, "amount": a})).collect::<Vec<_>>()
    };
    let after = sql::installments_of_invoice(conn, invoice.id).await?;
    audit::record(
        conn,
        actor,
        "invoice.replan",
        "invoice",
        &invoice.number,
        Some(reason),
        json!({"left": left, "before": dated(&before), "after": dated(&after), "forgotten": forgotten}),
    )
    .await?;
    Ok(())
}

/// Re-bills an amount on the order of an earlier invoice (a new invoice, next number of its
/// series): how a credit note is undone, since a document is never deleted nor renumbered. The
/// new invoice carries the installments the credit removed: those of `original`, latest first,
/// up to `amount`, on their due dates. Spare credit on the account settles them at once.
#[allow(clippy::too_many_arguments)]
pub async fn issue_rebill(
    conn: &mut Conn,
    student_id: i64,
    order_id: i64,
    original_invoice_id: i64,
    session: &str,
    amount: Money,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<(i64, String)> {
    let series = format!("F{}", AcademicYear::containing(date).start_year());
    let number = sql::next_number(conn, &series).await?;
    let id = sql::insert_invoice(conn, &series, &number, order_id, student_id, date, REBILL_LABEL, session).await?;
    sql::insert_line(conn, id, TUITION, 1, amount, Money::ZERO).await?;
    let mut left = amount;
    let mut parts = Vec::new();
    for (due, installment, _, _) in sql::installments_of_invoice(conn, original_invoice_id).await?.into_iter().rev() {
        if !left.is_positive() {
            break;
        }
        let part = left.min(installment);
        parts.push((due, part));
        left -= part;
    }
    if left.is_positive() {
        parts.push((date, left));
    }
    parts.reverse();
    for (n, (due, part)) in parts.iter().enumerate() {
        sql::insert_installment(conn, id, n as u32 + 1, *due, *part).await?;
    }
    audit::record(
        conn,
        actor,
        "invoice.rebill",
        "invoice",
        &number,
        Some(reason),
        json!({"amount": amount, "installments": parts.iter().map(|(d, a)| json!({"due_date": d, "amount": a})).collect::<Vec<_>>()}),
    )
    .await?;
    settle(conn, student_id, date, false, actor).await?;
    Ok((id, number))
}

/// The credit on a student's account that no refund claims.
pub async fn spare_credit(conn: &mut Conn, student_id: i64) -> Result<Money> {
    Ok(sql::credit(conn, student_id).await?.spare())
}

/// Records a refund to pay to a student, within the credit their account has. Audited.
pub async fn issue_refund(
    conn: &mut Conn,
    student_id: i64,
    credit_note_id: Option<i64>,
    date: NaiveDate,
    amount: Money,
    iban: Option<&str>,
    actor: &str,
) -> Result<i64> {
    let spare = spare_credit(conn, student_id).await?;
    if !amount.is_positive() || amount > spare {
        return Err(Error::Invalid(format!(
            "remboursement de {} impossible : le compte n'a que {} de crédit",
            amount.to_french(),
            spare.to_french()
        )));
    }
    let id = sql::insert_refund(conn, student_id, credit_note_id, date, amount, iban).await?;
    audit::record(
        conn,
        actor,
        "refund.issue",
        "refund",
        id,
        None,
        json!({"student_id": student_id, "amount": amount, "credit_note": credit_note_id, "iban": iban}),
    )
    .await?;
    Ok(id)
}

/// Cancels a refund still to pay; its credit is put on what the student still owes. Refused
/// once the refund is paid. Audited.
pub async fn cancel_refund(conn: &mut Conn, id: i64, date: NaiveDate, reason: &str, actor: &str) -> Result<()> {
    let refund =
        sql::refund(conn, id).await?.ok_or_else(|| Error::Invalid(format!("remboursement {id} introuvable")))?;
    if refund.status == RefundStatus::Paid {
        return Err(Error::Invalid(format!(
            "le remboursement de {} est déjà payé : il ne peut plus être annulé",
            Money::from_cents(refund.amount_cents).to_french()
        )));
    }
    if !sql::cancel_refund(conn, id).await? {
        return Ok(());
    }
    audit::record(
        conn,
        actor,
        "refund.cancel",
        "refund",
        id,
        Some(reason),
        json!({"amount": Money::from_cents(refund.amount_cents)}),
    )
    .await?;
    settle(conn, refund.student_id, date, false, actor).await
}

/// Pays `amount` out of the refunds a student is owed (still to pay), oldest first, sent back to
/// a card by the gateway (`how`: its transaction) rather than by transfer: each is paid whole
/// while it fits; the one it does not fit is cut, its part paid and the rest still to pay (same
/// credit note and bank details). `None`, and nothing changed, when they owe less than `amount`.
/// Each refund paid, cut or left to pay is audited. Returns the refunds paid, in order.
pub async fn pay_owed_refunds(
    conn: &mut Conn,
    student_id: i64,
    amount: Money,
    date: NaiveDate,
    how: &str,
    actor: &str,
) -> Result<Option<Vec<i64>>> {
    let mut owed = sql::refunds_to_pay(conn, student_id).await?;
    // Oldest first (the list comes latest first).
    owed.reverse();
    let total: i64 = owed.iter().map(|r| r.amount_cents).sum();
    if !amount.is_positive() || total < amount.cents() {
        return Ok(None);
    }
    let mut left = amount.cents();
    let mut paid = Vec::new();
    for r in owed {
        if left == 0 {
            break;
        }
        let part = left.min(r.amount_cents);
        let id = if part == r.amount_cents {
            r.id
        } else {
            // Cut in two, each audited as the refund it is: the part paid now, the rest (keeping
            // its refund's day, and so its place among the refunds of other days) still to pay.
            sql::cancel_refund(conn, r.id).await?;
            let id = sql::insert_refund(
                conn,
                student_id,
                r.credit_note_id,
                date,
                Money::from_cents(part),
                r.iban.as_deref(),
            )
            .await?;
            let rest = Money::from_cents(r.amount_cents - part);
            let rest_id =
                sql::insert_refund(conn, student_id, r.credit_note_id, r.date, rest, r.iban.as_deref()).await?;
            audit::record(
                conn,
                actor,
                "refund.split",
                "refund",
                r.id,
                Some(how),
                json!({"amount": Money::from_cents(r.amount_cents), "paid_part": id, "rest": rest_id}),
            )
            .await?;
            audit::record(
                conn,
                actor,
                "refund.issue",
                "refund",
                rest_id,
                Some(how),
                json!({"student_id": student_id, "amount": rest, "credit_note": r.credit_note_id, "rest_of": r.id}),
            )
            .await?;
            id
        };
        pay_refund_because(conn, id, None, date, Some(how), actor).await?;
        paid.push(id);
        left -= part;
    }
    Ok(Some(paid))
}

/// Records that a refund still to pay was paid (to `iban` if given now). Audited.
pub async fn pay_refund(conn: &mut Conn, id: i64, iban: Option<&str>, date: NaiveDate, actor: &str) -> Result<()> {
    pay_refund_because(conn, id, iban, date, None, actor).await
}

/// `pay_refund`, its audit record saying how (a card refund of the gateway's, say).
async fn pay_refund_because(
    conn: &mut Conn,
    id: i64,
    iban: Option<&str>,
    date: NaiveDate,
    reason: Option<&str>,
    actor: &str,
) -> Result<()> {
    if !sql::pay_refund(conn, id, iban, date).await? {
        return Err(Error::Invalid(format!("remboursement {id} introuvable ou déjà payé")));
    }
    let paid = sql::refund(conn, id).await?.ok_or_else(|| Error::Invalid(format!("remboursement {id} introuvable")))?;
    audit::record(
        conn,
        actor,
        "refund.paid",
        "refund",
        id,
        reason,
        json!({"iban": paid.iban, "amount": Money::from_cents(paid.amount_cents), "date": date}),
    )
    .await
}

/// Brings a student's account back to its rule: spare credit (unallocated payments, credit notes
/// beyond their invoice) is put on open installments, oldest first, never the credit a refund
/// claims, unless `net_pending_refunds` (a payment was reversed: a refund not yet paid then
/// gives way to what is due again); refunds still to pay shrink, latest first, to the credit
/// left. Refunds already paid must stay covered: an error otherwise, and the caller's
/// transaction is rolled back. Audited when it changes anything.
pub async fn settle(
    conn: &mut Conn,
    student_id: i64,
    date: NaiveDate,
    net_pending_refunds: bool,
    actor: &str,
) -> Result<()> {
    let credit = sql::credit(conn, student_id).await?;
    if credit.sources.is_empty() && credit.refunds_paid.is_zero() && credit.refunds_to_pay.is_zero() {
        return Ok(());
    }
    let mut open = sql::open_installments(conn, student_id).await?;
    let plan = allocation::plan(&credit, &mut open, net_pending_refunds).map_err(|e| {
        Error::Invalid(format!(
            "{e} : un remboursement déjà payé a été calculé sur ce règlement, l'opération est refusée"
        ))
    })?;
    for p in &plan.placements {
        match p.source {
            allocation::Source::Payment(id) => sql::insert_allocation(conn, id, p.installment_id, p.amount).await?,
            allocation::Source::CreditNote(id) => {
                sql::insert_credit_allocation(conn, id, p.installment_id, p.amount).await?
            }
        }
    }
    let mut cut = plan.refunds_to_cut;
    let mut refunds = Vec::new();
    if cut.is_positive() {
        for r in sql::refunds_to_pay(conn, student_id).await? {
            if !cut.is_positive() {
                break;
            }
            let amount = Money::from_cents(r.amount_cents);
            let part = cut.min(amount);
            sql::cancel_refund(conn, r.id).await?;
            let replaced_by = if part < amount {
                Some(
                    sql::insert_refund(conn, student_id, r.credit_note_id, date, amount - part, r.iban.as_deref())
                        .await?,
                )
            } else {
                None
            };
            refunds.push(json!({"refund": r.id, "was": amount, "cut": part, "replaced_by": replaced_by}));
            cut -= part;
        }
    }
    if plan.placements.is_empty() && refunds.is_empty() {
        return Ok(());
    }
    audit::record(
        conn,
        actor,
        "account.settle",
        "student",
        student_id,
        None,
        json!({
            "placements": plan.placements.iter().map(|p| json!({
                "source": match p.source { allocation::Source::Payment(id) => json!({"payment": id}), allocation::Source::CreditNote(id) => json!({"credit_note": id}) },
                "installment": p.installment_id, "amount": p.amount,
            })).collect::<Vec<_>>(),
            "refunds": refunds,
        }),
    )
    .await
}

/// One line of the students list.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export, rename = "StudentRow")]
pub struct StudentListItem {
    pub number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: String,
    pub session: Option<String>,
    pub situation: Option<String>,
    pub balance: Money,
}

/// The students the window shows: a page of those matching, and how many match in all.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct StudentPage {
    pub total: i64,
    pub offset: i64,
    pub students: Vec<StudentListItem>,
}

/// A page of the students matching the query's search (number or name), by name, and how many match.
pub async fn student_page(store: &crate::store::Store, q: &crate::page::PageQuery) -> Result<StudentPage> {
    let window = q.window()?;
    let search = q.search();
    let total = crate::store::students::count_matching(&mut *store.read().await?, search.as_ref()).await?;
    let students = list_students(store, q.search.as_deref(), window.offset(), window.limit()).await?;
    Ok(StudentPage { total, offset: window.offset(), students })
}

/// Students matching `query` (number or name), with their balance, `limit` from `offset`.
pub async fn list_students(
    store: &crate::store::Store,
    query: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<StudentListItem>> {
    let search = crate::page::Search::parse(query);
    let rows =
        crate::store::students::list_with_totals(&mut *store.read().await?, search.as_ref(), offset, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = Money::from_cents;
            let summary = position::Summary::from_totals(
                m(r.invoiced_cents),
                m(r.refunds_cents),
                m(r.payments_cents),
                m(r.credit_notes_cents),
            );
            StudentListItem {
                number: r.number,
                last_name: r.last_name,
                first_name: r.first_name,
                email: r.email,
                school: r.school,
                session: r.session,
                situation: r.situation,
                balance: summary.balance,
            }
        })
        .collect())
}

/// A student's account position, computed from the ledger now.
pub async fn account_position(store: &crate::store::Store, number: &str) -> Result<position::AccountPosition> {
    account_position_on(store, number, chrono::Local::now().date_naive()).await
}

/// The account position as it stands on `today` (what is overdue depends on it).
pub async fn account_position_on(
    store: &crate::store::Store,
    number: &str,
    today: NaiveDate,
) -> Result<position::AccountPosition> {
    let number = StudentNumber::parse(number)?;
    let mut conn = store.read().await?;
    let student = crate::store::students::by_number(&mut conn, &number)
        .await?
        .ok_or_else(|| Error::StudentNotFound(number.to_string()))?;
    let rows = sql::rows_of(&mut conn, student.id).await?;
    Ok(position::compute(student, &rows, today))
}
