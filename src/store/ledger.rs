//! Storage of the ledger's documents and movements, and the reads an account position is built from.

use chrono::NaiveDate;

use super::Conn;
use crate::Result;
use regie_rules::ledger::PaymentMethod;
use regie_rules::ledger::position::{self, LedgerRows};
use regie_rules::ledger::{InstallmentState, PaymentReversal, RefundStatus};

use super::Code;
use regie_rules::money::Money;

/// Takes the next number of a gapless series (`F2025` -> `F2025-00001`, `F2025-00002`, ...).
/// Must run inside the transaction that issues the document: a rollback returns the number.
pub async fn next_number(conn: &mut Conn, series: &str) -> Result<String> {
    Ok(number_in(series, reserve_numbers(conn, series, 1).await?))
}

/// Takes the next `n` numbers of a series at once (a batch of approvals): the first one's rank;
/// the others follow it without a gap.
pub async fn reserve_numbers(conn: &mut Conn, series: &str, n: i64) -> Result<i64> {
    let (first,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO number_series (series, next) VALUES ($1, $2 + 1)
         ON CONFLICT (series) DO UPDATE SET next = number_series.next + $2
         RETURNING next - $2",
    )
    .bind(series)
    .bind(n)
    .fetch_one(c)
    .await)?;
    Ok(first)
}

/// The number of rank `seq` in a series: `F2025-00042`.
pub fn number_in(series: &str, seq: i64) -> String {
    format!("{series}-{seq:05}")
}

fn seq_of(number: &str) -> i64 {
    number.rsplit('-').next().and_then(|s| s.parse().ok()).expect("numbers come from next_number")
}

pub async fn insert_order(
    conn: &mut Conn,
    number: &str,
    student_id: i64,
    request_id: Option<i64>,
    date: NaiveDate,
    excl_vat: Money,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO orders (number, student_id, request_id, date, excl_vat_cents, vat_cents)
         VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
    )
    .bind(number)
    .bind(student_id)
    .bind(request_id)
    .bind(date)
    .bind(excl_vat.cents())
    .fetch_one(c)
    .await)?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_invoice(
    conn: &mut Conn,
    series: &str,
    number: &str,
    order_id: i64,
    student_id: i64,
    date: NaiveDate,
    label: &str,
    session: &str,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO invoices (series, seq, number, order_id, student_id, date, label, session)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(series)
    .bind(seq_of(number))
    .bind(number)
    .bind(order_id)
    .bind(student_id)
    .bind(date)
    .bind(label)
    .bind(session)
    .fetch_one(c)
    .await)?;
    Ok(id)
}

pub async fn insert_line(
    conn: &mut Conn,
    invoice_id: i64,
    designation: &str,
    quantity: i64,
    excl_vat: Money,
    vat: Money,
) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, designation, quantity, discount_bp, vat_bp, excl_vat_cents, vat_cents)
         VALUES ($1, $2, $3, 0, 0, $4, $5)",
    )
    .bind(invoice_id)
    .bind(designation)
    .bind(quantity)
    .bind(excl_vat.cents())
    .bind(vat.cents())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn insert_installment(
    conn: &mut Conn,
    invoice_id: i64,
    n: u32,
    due: NaiveDate,
    amount: Money,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO installments (invoice_id, n, due_date, amount_cents) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(invoice_id)
    .bind(n as i64)
    .bind(due)
    .bind(amount.cents())
    .fetch_one(c)
    .await)?;
    recount_open(conn, &[id]).await?;
    Ok(id)
}

/// The largest id of the table that an import numbers its new rows after (0 when empty); the
/// writers' lock held by the transaction keeps anyone else from taking the next ones.
pub async fn last_id(conn: &mut Conn, table: Numbered) -> Result<i64> {
    let sql = match table {
        Numbered::Orders => "SELECT COALESCE(MAX(id), 0) FROM orders",
        Numbered::Invoices => "SELECT COALESCE(MAX(id), 0) FROM invoices",
    };
    Ok(on!(conn, |c| sqlx::query_scalar(sql).fetch_one(c).await)?)
}

/// The tables whose new rows a batch numbers itself.
#[derive(Debug, Clone, Copy)]
pub enum Numbered {
    Orders,
    Invoices,
}

/// An order, an invoice, its one line and its installments, numbered by the caller: what a batch
/// of approvals writes for each request.
pub struct NewInvoice<'a> {
    pub order_id: i64,
    pub order_number: String,
    pub invoice_id: i64,
    pub series: String,
    pub seq: i64,
    pub number: String,
    pub student_id: i64,
    pub request_id: Option<i64>,
    pub date: NaiveDate,
    pub label: &'a str,
    pub session: &'a str,
    pub designation: &'a str,
    pub total: Money,
    pub installments: &'a [regie_rules::plans::Installment],
}

/// Writes the invoices of a batch, with their orders, lines and installments, in multi-row
/// statements (the fewest round trips; within both engines' limits on bound values).
pub async fn insert_invoices_bulk(conn: &mut Conn, invoices: &[NewInvoice<'_>]) -> Result<()> {
    for chunk in invoices.chunks(2000) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO orders (id, number, student_id, request_id, date, excl_vat_cents, vat_cents) ",
            );
            q.push_values(chunk, |mut b, i| {
                b.push_bind(i.order_id)
                    .push_bind(&i.order_number)
                    .push_bind(i.student_id)
                    .push_bind(i.request_id)
                    .push_bind(i.date)
                    .push_bind(i.total.cents())
                    .push_bind(0_i64);
            });
            q.build().execute(&mut *c).await?;
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO invoices (id, series, seq, number, order_id, student_id, date, label, session) ",
            );
            q.push_values(chunk, |mut b, i| {
                b.push_bind(i.invoice_id)
                    .push_bind(&i.series)
                    .push_bind(i.seq)
                    .push_bind(&i.number)
                    .push_bind(i.order_id)
                    .push_bind(i.student_id)
                    .push_bind(i.date)
                    .push_bind(i.label)
                    .push_bind(i.session);
            });
            q.build().execute(&mut *c).await?;
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO invoice_lines (invoice_id, designation, quantity, discount_bp, vat_bp, excl_vat_cents, vat_cents) ",
            );
            q.push_values(chunk, |mut b, i| {
                b.push_bind(i.invoice_id)
                    .push_bind(i.designation)
                    .push_bind(1_i64)
                    .push_bind(0_i64)
                    .push_bind(0_i64)
                    .push_bind(i.total.cents())
                    .push_bind(0_i64);
            });
            q.build().execute(&mut *c).await?;
            let installments: Vec<(i64, &regie_rules::plans::Installment)> =
                chunk.iter().flat_map(|i| i.installments.iter().map(move |x| (i.invoice_id, x))).collect();
            for part in installments.chunks(4000) {
                let mut q =
                    sqlx::QueryBuilder::new("INSERT INTO installments (invoice_id, n, due_date, amount_cents) ");
                q.push_values(part, |mut b, (invoice, x)| {
                    b.push_bind(*invoice).push_bind(x.n as i64).push_bind(x.due_date).push_bind(x.amount.cents());
                });
                q.build().execute(&mut *c).await?;
            }
            Ok::<_, sqlx::Error>(())
        })?;
    }
    if !invoices.is_empty() {
        super::advance_ids(conn, "orders").await?;
        super::advance_ids(conn, "invoices").await?;
    }
    // Each new installment with something to pay is open: counted per student, not recounted.
    let opened = summed(
        invoices
            .iter()
            .map(|i| (i.student_id, i.installments.iter().filter(|x| x.amount.cents() > 0).count() as i64))
            .filter(|(_, n)| *n > 0)
            .collect(),
    );
    bulk!(
        conn,
        "WITH v (id, n) AS (",
        &opened,
        2000,
        |b, o| b.push_bind(o.0).push_bind(o.1);
        ") UPDATE students SET open_installments = students.open_installments + v.n FROM v WHERE students.id = v.id"
    )?;
    Ok(())
}

pub async fn insert_payment(
    conn: &mut Conn,
    student_id: i64,
    date: NaiveDate,
    amount: Money,
    method: PaymentMethod,
    reference: &str,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| {
        sqlx::query_as(
        "INSERT INTO payments (student_id, date, amount_cents, method, reference) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(student_id)
    .bind(date)
    .bind(amount.cents())
    .bind(method.code())
    .bind(reference)
    .fetch_one(c).await
    })?;
    Ok(id)
}

pub async fn insert_allocation(conn: &mut Conn, payment_id: i64, installment_id: i64, amount: Money) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO allocations (payment_id, installment_id, amount_cents) VALUES ($1, $2, $3)"
    )
    .bind(payment_id)
    .bind(installment_id)
    .bind(amount.cents())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    resettle(conn, &[installment_id]).await
}

/// Recomputes what is settled on `installments` from their allocations and credit allocations.
/// Every write of an allocation ends with it, so `installments.settled_cents` always equals those
/// sums (the model test checks it after every step) and Relances can read it instead.
pub async fn resettle(conn: &mut Conn, installments: &[i64]) -> Result<()> {
    for chunk in installments.chunks(500) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE installments SET settled_cents =
                    COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = installments.id), 0)
                  + COALESCE((SELECT SUM(x.amount_cents) FROM credit_allocations x WHERE x.installment_id = installments.id), 0)
                 WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    recount_open(conn, installments).await
}

/// Counts again how many open installments (neither cancelled nor settled) the students of
/// `installments` have: `students.open_installments`, by which Relances walks only the students
/// with something open (the partial index `students_owing`). Every write that can open or close
/// an installment ends with it, or keeps the count itself (`insert_invoices_bulk`,
/// `add_settled`); the model test checks it after every step.
pub async fn recount_open(conn: &mut Conn, installments: &[i64]) -> Result<()> {
    let students = students_of(conn, installments).await?;
    recount_students(conn, &students).await
}

/// The students whose invoices hold `installments`.
async fn students_of(conn: &mut Conn, installments: &[i64]) -> Result<Vec<i64>> {
    super::by_ids(
        conn,
        "SELECT DISTINCT i.student_id FROM installments b JOIN invoices i ON i.id = b.invoice_id WHERE b.id IN (",
        installments,
    )
    .await
}

/// `recount_open` for `students`.
async fn recount_students(conn: &mut Conn, students: &[i64]) -> Result<()> {
    for chunk in students.chunks(500) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE students SET open_installments = (
                     SELECT COUNT(*) FROM invoices i JOIN installments b ON b.invoice_id = i.id
                     WHERE i.student_id = students.id AND b.status <> 'cancelled' AND b.settled_cents < b.amount_cents)
                 WHERE id IN (",
            );
            super::push_ids(&mut q, chunk);
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// An installment with something left to pay.
#[derive(Debug, Clone)]
pub struct OpenInstallment {
    pub id: i64,
    pub invoice_id: i64,
    pub n: i64,
    pub due_date: NaiveDate,
    pub amount: Money,
    /// Net of the payments allocated to it.
    pub paid: Money,
    pub left_to_pay: Money,
}

impl regie_rules::ledger::allocation::Owed for OpenInstallment {
    fn id(&self) -> i64 {
        self.id
    }
    fn left(&self) -> Money {
        self.left_to_pay
    }
    fn settle(&mut self, part: Money) {
        self.left_to_pay -= part;
    }
}

fn open_of(rows: Vec<(i64, i64, i64, NaiveDate, i64, i64, i64)>) -> Vec<OpenInstallment> {
    rows.into_iter()
        .map(|(id, invoice_id, n, due_date, amount, paid, left)| OpenInstallment {
            id,
            invoice_id,
            n,
            due_date,
            amount: Money::from_cents(amount),
            paid: Money::from_cents(paid),
            left_to_pay: Money::from_cents(left),
        })
        .collect()
}

pub const OPEN_INSTALLMENTS: &str = "SELECT b.id, b.invoice_id, b.n, b.due_date, b.amount_cents, b.paid_cents, b.amount_cents - b.paid_cents - b.credited_cents
         FROM installment_balances b JOIN invoices i ON i.id = b.invoice_id
         WHERE i.student_id = $1 AND b.status <> 'cancelled' AND b.amount_cents - b.paid_cents - b.credited_cents > 0
         ORDER BY b.due_date, b.invoice_id, b.n";

/// The student's installments not cancelled and not fully settled, oldest due first.
pub async fn open_installments(conn: &mut Conn, student_id: i64) -> Result<Vec<OpenInstallment>> {
    let rows = on!(conn, |c| { sqlx::query_as(OPEN_INSTALLMENTS).bind(student_id).fetch_all(c).await })?;
    Ok(open_of(rows))
}

/// One invoice's installments not cancelled and not fully settled, oldest due first.
pub async fn open_installments_of_invoice(conn: &mut Conn, invoice_id: i64) -> Result<Vec<OpenInstallment>> {
    let rows = on!(conn, |c| {
        sqlx::query_as(
        "SELECT b.id, b.invoice_id, b.n, b.due_date, b.amount_cents, b.paid_cents, b.amount_cents - b.paid_cents - b.credited_cents
         FROM installment_balances b
         WHERE b.invoice_id = $1 AND b.status <> 'cancelled' AND b.amount_cents - b.paid_cents - b.credited_cents > 0
         ORDER BY b.due_date, b.n",
    )
    .bind(invoice_id)
    .fetch_all(c).await
    })?;
    Ok(open_of(rows))
}

/// An invoice's installments in due order: (due date, amount, paid, credited).
pub async fn installments_of_invoice(
    conn: &mut Conn,
    invoice_id: i64,
) -> Result<Vec<(NaiveDate, Money, Money, Money)>> {
    let rows: Vec<(NaiveDate, i64, i64, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT due_date, amount_cents, paid_cents, credited_cents FROM installment_balances
         WHERE invoice_id = $1 ORDER BY due_date, n",
    )
    .bind(invoice_id)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(d, a, p, c)| (d, Money::from_cents(a), Money::from_cents(p), Money::from_cents(c)))
        .collect())
}

pub async fn insert_credit_allocation(
    conn: &mut Conn,
    credit_note_id: i64,
    installment_id: i64,
    amount: Money,
) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO credit_allocations (credit_note_id, installment_id, amount_cents) VALUES ($1, $2, $3)"
    )
    .bind(credit_note_id)
    .bind(installment_id)
    .bind(amount.cents())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    resettle(conn, &[installment_id]).await
}

/// Takes `part` off an installment's amount: what a re-plan moves to the new schedule.
/// The installment keeps what was paid or credited on it.
/// False when the installment would be left with nothing (it should have been removed).
pub async fn shrink_installment(conn: &mut Conn, id: i64, part: Money) -> Result<bool> {
    let done = on!(conn, |c| sqlx::query(
        "UPDATE installments SET amount_cents = amount_cents - $2 WHERE id = $1 AND amount_cents > $2"
    )
    .bind(id)
    .bind(part.cents())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    recount_open(conn, &[id]).await?;
    Ok(done == 1)
}

/// Removes an installment nothing was ever paid or credited on (a re-plan replaces it): its
/// refused card debits stay in the card history without it, its reminder level goes. Returns
/// false, removing nothing, when a payment, a credit note or an exemption refers to it.
pub async fn remove_untouched_installment(conn: &mut Conn, id: i64) -> Result<bool> {
    let (untouched,): (bool,) = on!(conn, |c| sqlx::query_as(
        "SELECT NOT EXISTS (SELECT 1 FROM allocations a WHERE a.installment_id = $1)
            AND NOT EXISTS (SELECT 1 FROM credit_allocations c WHERE c.installment_id = $1)
            AND NOT EXISTS (SELECT 1 FROM exemption_outcomes o WHERE o.added_installment = $1)",
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    if !untouched {
        return Ok(false);
    }
    let students = students_of(conn, &[id]).await?;
    forget_refusal_and_level(conn, id).await?;
    on!(conn, |c| sqlx::query("UPDATE card_transactions SET installment_id = NULL WHERE installment_id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    on!(conn, |c| sqlx::query("DELETE FROM installments WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    recount_students(conn, &students).await?;
    Ok(true)
}

/// Gives an installment a new due date and amount (a re-plan reusing it). What its old schedule
/// earned it goes: its refused debit and its reminder level (a block included), returned for the
/// re-plan's audit record. The new schedule is reminded from its own due date, as a new
/// installment would be.
pub async fn reschedule_installment(conn: &mut Conn, id: i64, due: NaiveDate, amount: Money) -> Result<Forgotten> {
    on!(conn, |c| sqlx::query("UPDATE installments SET due_date = $2, amount_cents = $3 WHERE id = $1")
        .bind(id)
        .bind(due)
        .bind(amount.cents())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let forgotten = forget_refusal_and_level(conn, id).await?;
    recount_open(conn, &[id]).await?;
    Ok(forgotten)
}

/// What an installment's old schedule had earned it, forgotten with that schedule: its refused
/// debit (the bank's code and the day) and its reminder level (and the day it was raised).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Forgotten {
    pub refusal: Option<(String, NaiveDate)>,
    pub level: Option<(i64, NaiveDate)>,
}

/// An installment's refused debit and reminder level, which its schedule earned: gone with it.
async fn forget_refusal_and_level(conn: &mut Conn, id: i64) -> Result<Forgotten> {
    let refusal = on!(conn, |c| sqlx::query_as(
        "DELETE FROM card_refusals WHERE installment_id = $1 RETURNING response_code, date"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let level = forget_level(conn, id).await?;
    Ok(Forgotten { refusal, level })
}

/// Removes an installment's reminder level: the level and the day it was raised, if it had one.
async fn forget_level(conn: &mut Conn, id: i64) -> Result<Option<(i64, NaiveDate)>> {
    Ok(on!(conn, |c| sqlx::query_as("DELETE FROM dunning WHERE installment_id = $1 RETURNING level, raised_on")
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// The highest installment number of an invoice (new installments follow it).
pub async fn last_installment_n(conn: &mut Conn, invoice_id: i64) -> Result<i64> {
    let (n,): (i64,) =
        on!(conn, |c| sqlx::query_as("SELECT COALESCE(MAX(n), 0) FROM installments WHERE invoice_id = $1")
            .bind(invoice_id)
            .fetch_one(c)
            .await)?;
    Ok(n)
}

/// Marks an installment cancelled: a credit note removed all of it before anything was paid.
pub async fn cancel_installment(conn: &mut Conn, id: i64) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE installments SET status = 'cancelled' WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    recount_open(conn, &[id]).await
}

/// What each live payment of a student (neither a reversal nor reversed) left unallocated,
/// oldest first. A payment's reversal is found through the index of the payments that reverse
/// another, which holds those alone.
pub const LIVE_PAYMENTS_SPARE: &str = "SELECT p.id, p.amount_cents - COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = p.id), 0) AS spare
         FROM payments p
         WHERE p.student_id = $1 AND p.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
           AND NOT EXISTS (SELECT 1 FROM refunds g WHERE g.gives_back = p.id AND g.status <> 'cancelled')
         ORDER BY p.date, p.id";

/// The student's credit: unallocated parts of live payments (oldest first) and of credit notes
/// (oldest first), and the refunds paid and still to pay.
pub async fn credit(conn: &mut Conn, student_id: i64) -> Result<regie_rules::ledger::allocation::Credit> {
    use regie_rules::ledger::allocation::{Credit, Source};
    let payments: Vec<(i64, i64)> =
        on!(conn, |c| { sqlx::query_as(LIVE_PAYMENTS_SPARE).bind(student_id).fetch_all(c).await })?;
    let notes: Vec<(i64, i64)> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT c.id, c.amount_cents - COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x WHERE x.credit_note_id = c.id), 0)
         FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
         WHERE i.student_id = $1
         ORDER BY c.date, c.id",
    )
    .bind(student_id)
    .fetch_all(c).await
    })?;
    let (paid, to_pay): (i64, i64) = on!(conn, |c| sqlx::query_as(
        "SELECT COALESCE(CAST(SUM(CASE WHEN status = 'paid' THEN amount_cents ELSE 0 END) AS BIGINT), 0),
                COALESCE(CAST(SUM(CASE WHEN status = 'to_pay' THEN amount_cents ELSE 0 END) AS BIGINT), 0)
         FROM refunds WHERE student_id = $1 AND gives_back IS NULL",
    )
    .bind(student_id)
    .fetch_one(c)
    .await)?;
    let sources = payments
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(id, c)| (Source::Payment(id), Money::from_cents(c)))
        .chain(notes.into_iter().filter(|(_, c)| *c > 0).map(|(id, c)| (Source::CreditNote(id), Money::from_cents(c))))
        .collect();
    Ok(Credit { sources, refunds_paid: Money::from_cents(paid), refunds_to_pay: Money::from_cents(to_pay) })
}

/// A refund as the ledger changes it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRecord {
    pub id: i64,
    pub student_id: i64,
    pub credit_note_id: Option<i64>,
    /// The day it was granted: refunds owed are paid oldest first.
    pub date: NaiveDate,
    pub amount_cents: i64,
    #[sqlx(try_from = "String")]
    pub status: regie_rules::ledger::RefundStatus,
    pub iban: Option<String>,
}

pub async fn refund(conn: &mut Conn, id: i64) -> Result<Option<RefundRecord>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, student_id, credit_note_id, date, amount_cents, status, iban FROM refunds WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?)
}

/// The refunds drawn on a credit note's credit (an exemption's refund, and what replaced it when
/// it shrank), in order.
pub async fn refunds_of_credit_note(conn: &mut Conn, credit_note_id: i64) -> Result<Vec<RefundRecord>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, student_id, credit_note_id, date, amount_cents, status, iban FROM refunds
         WHERE credit_note_id = $1 ORDER BY id",
    )
    .bind(credit_note_id)
    .fetch_all(c)
    .await)?)
}

/// The student's refunds still to pay, latest first.
pub async fn refunds_to_pay(conn: &mut Conn, student_id: i64) -> Result<Vec<RefundRecord>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, student_id, credit_note_id, date, amount_cents, status, iban FROM refunds
         WHERE student_id = $1 AND status = 'to_pay' ORDER BY date DESC, id DESC",
    )
    .bind(student_id)
    .fetch_all(c)
    .await)?)
}

pub async fn insert_refund(
    conn: &mut Conn,
    student_id: i64,
    credit_note_id: Option<i64>,
    date: NaiveDate,
    amount: Money,
    iban: Option<&str>,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO refunds (student_id, credit_note_id, date, amount_cents, status, iban)
         VALUES ($1, $2, $3, $4, 'to_pay', $5) RETURNING id",
    )
    .bind(student_id)
    .bind(credit_note_id)
    .bind(date)
    .bind(amount.cents())
    .bind(iban)
    .fetch_one(c)
    .await)?;
    Ok(id)
}

/// Records a card refund that gives `payment` back, paid on `date`: its own credit, apart from
/// the account's.
pub async fn insert_give_back(
    conn: &mut Conn,
    student_id: i64,
    payment: i64,
    date: NaiveDate,
    amount: Money,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO refunds (student_id, date, amount_cents, status, paid_on, gives_back)
         VALUES ($1, $2, $3, 'paid', $2, $4) RETURNING id",
    )
    .bind(student_id)
    .bind(date)
    .bind(amount.cents())
    .bind(payment)
    .fetch_one(c)
    .await)?;
    Ok(id)
}

/// Cancels a refund still to pay; false when it was not (paid, or cancelled already).
pub async fn cancel_refund(conn: &mut Conn, id: i64) -> Result<bool> {
    let done =
        on!(conn, |c| sqlx::query("UPDATE refunds SET status = 'cancelled' WHERE id = $1 AND status = 'to_pay'")
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Marks a refund paid (only one still to pay), with the account it was paid to.
pub async fn pay_refund(conn: &mut Conn, id: i64, iban: Option<&str>, date: NaiveDate) -> Result<bool> {
    let done = on!(conn, |c| {
        sqlx::query(
        "UPDATE refunds SET status = 'paid', iban = COALESCE($1, iban), paid_on = $2 WHERE id = $3 AND status = 'to_pay'",
    )
    .bind(iban)
    .bind(date)
    .bind(id)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

/// The payment's student and amount, and whether it is live (neither a reversal nor reversed,
/// nor given back by a card refund).
pub async fn payment(conn: &mut Conn, id: i64) -> Result<Option<(i64, Money, bool)>> {
    let row: Option<(i64, i64, bool)> = on!(conn, |c| sqlx::query_as(
        "SELECT p.student_id, p.amount_cents,
                p.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
                AND NOT EXISTS (SELECT 1 FROM refunds g WHERE g.gives_back = p.id AND g.status <> 'cancelled')
         FROM payments p WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(|(s, c, live)| (s, Money::from_cents(c), live)))
}

/// Takes back what a live payment settled: negative allocations of the payment itself net each
/// installment it paid to nothing, so its amount is spare credit again and those installments are
/// due again. Returns them.
pub async fn release_payment(conn: &mut Conn, payment_id: i64) -> Result<Vec<i64>> {
    let touched: Vec<(i64,)> = on!(conn, |c| sqlx::query_as(
        "INSERT INTO allocations (payment_id, installment_id, amount_cents)
         SELECT payment_id, installment_id, -CAST(SUM(amount_cents) AS BIGINT) FROM allocations WHERE payment_id = $1
         GROUP BY payment_id, installment_id HAVING SUM(amount_cents) <> 0
         RETURNING installment_id",
    )
    .bind(payment_id)
    .fetch_all(c)
    .await)?;
    let touched: Vec<i64> = touched.into_iter().map(|(t,)| t).collect();
    resettle(conn, &touched).await?;
    Ok(touched)
}

/// Forgets the refused card debits of `installments` dated on or before `paid_on`: a payment of
/// that day or later settled them, and what makes them due again now is that payment coming
/// back, not the old refusal.
/// Returns the installments whose refusal it forgot.
pub async fn forget_refusals_before(conn: &mut Conn, installments: &[i64], paid_on: NaiveDate) -> Result<Vec<i64>> {
    let mut forgotten = Vec::new();
    for id in installments {
        let gone = on!(conn, |c| sqlx::query("DELETE FROM card_refusals WHERE installment_id = $1 AND date <= $2")
            .bind(*id)
            .bind(paid_on)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if gone > 0 {
            forgotten.push(*id);
        }
    }
    Ok(forgotten)
}

/// The installments a payment's allocations name that are settled now (not cancelled): read
/// before the payment is reversed or given back, they are those it makes due again after
/// their reminders were cleared.
pub async fn settled_by_payment(conn: &mut Conn, payment_id: i64) -> Result<Vec<i64>> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT b.id FROM installments b
         WHERE b.id IN (SELECT installment_id FROM allocations WHERE payment_id = $1)
           AND b.status <> 'cancelled' AND b.settled_cents >= b.amount_cents
         ORDER BY b.id"
    )
    .bind(payment_id)
    .fetch_all(c)
    .await)?)
}

/// Forgets the reminder levels of `installments`: (installment, level) forgotten. A payment
/// cleared them when it settled them (a run removes such a level, or would have: it may not
/// have come yet); once that payment comes back, its installments start from the first
/// reminder again rather than return to a level, a block included, that no letter announced.
pub async fn forget_reminders(conn: &mut Conn, installments: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut forgotten = Vec::new();
    for id in installments {
        if let Some((level, _)) = forget_level(conn, *id).await? {
            forgotten.push((*id, level));
        }
    }
    Ok(forgotten)
}

/// The installments a payment's allocations name.
pub async fn installments_of_payment(conn: &mut Conn, payment_id: i64) -> Result<Vec<i64>> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT DISTINCT installment_id FROM allocations WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_all(c)
        .await)?)
}

/// The day a payment was received.
pub async fn payment_date(conn: &mut Conn, id: i64) -> Result<Option<NaiveDate>> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT date FROM payments WHERE id = $1").bind(id).fetch_optional(c).await)?)
}

/// Records the reversal of a payment: a negative payment and negative allocations mirroring it.
pub async fn reverse_payment(
    conn: &mut Conn,
    payment_id: i64,
    why: regie_rules::ledger::PaymentReversal,
    date: NaiveDate,
    reference: &str,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO payments (student_id, date, amount_cents, method, reference, reverses, reversal)
         SELECT student_id, $1, -amount_cents, method, $2, id, $4 FROM payments WHERE id = $3 RETURNING id",
    )
    .bind(date)
    .bind(reference)
    .bind(payment_id)
    .bind(why.code())
    .fetch_one(c)
    .await)?;
    on!(conn, |c| sqlx::query(
        "INSERT INTO allocations (payment_id, installment_id, amount_cents)
         SELECT $1, installment_id, -amount_cents FROM allocations WHERE payment_id = $2",
    )
    .bind(id)
    .bind(payment_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let touched: Vec<(i64,)> =
        on!(conn, |c| sqlx::query_as("SELECT DISTINCT installment_id FROM allocations WHERE payment_id = $1")
            .bind(id)
            .fetch_all(c)
            .await)?;
    resettle(conn, &touched.into_iter().map(|(t,)| t).collect::<Vec<_>>()).await?;
    Ok(id)
}

/// The largest payment id. Inside a write transaction nobody else inserts, so a bulk import
/// can number its payments itself and link them without reading ids back.
pub async fn last_payment_id(conn: &mut Conn) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM payments").fetch_one(c).await)?;
    Ok(id)
}

/// A payment numbered by the caller, with its allocations, for the bulk insert.
pub struct BulkPayment<'a> {
    pub id: i64,
    pub student_id: i64,
    pub date: NaiveDate,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: &'a str,
    pub allocations: Vec<(i64, Money)>,
}

/// The (installment, cents) parts `payments` allocate.
pub fn allocated_parts(payments: &[BulkPayment<'_>]) -> Vec<(i64, i64)> {
    payments.iter().flat_map(|p| p.allocations.iter().map(|(installment, part)| (*installment, part.cents()))).collect()
}

/// Inserts payments and their allocations in multi-row statements (SQLite allows 32,766 bound
/// parameters per statement), leaving what settles each installment to `add_allocated`: the
/// caller adds every part once, after its last batch.
pub async fn insert_payment_rows(conn: &mut Conn, payments: &[BulkPayment<'_>]) -> Result<()> {
    const PAYMENTS: &str = "INSERT INTO payments (id, student_id, date, amount_cents, method, reference) ";
    const ALLOCATIONS: &str = "INSERT INTO allocations (payment_id, installment_id, amount_cents) ";
    let allocations: Vec<(i64, i64, Money)> =
        payments.iter().flat_map(|p| p.allocations.iter().map(move |(inst, part)| (p.id, *inst, *part))).collect();
    if let super::Engine::Sqlite(c) = conn.engine() {
        // One statement each over every row (`sqlite_rows`): the card benchmark's 87,225 payments
        // and 60,835 allocations, see the README.
        super::sqlite_rows::insert_rows(c, PAYMENTS, 6, payments, |b, p| {
            b.int(p.id).int(p.student_id).date(p.date).int(p.amount.cents()).text(p.method.code()).text(p.reference);
        })
        .await?;
        super::sqlite_rows::insert_rows(c, ALLOCATIONS, 3, &allocations, |b, a| {
            b.int(a.0).int(a.1).int(a.2.cents());
        })
        .await?;
    } else {
        bulk!(conn, PAYMENTS, payments, 1000, |b, p| {
            b.push_bind(p.id)
                .push_bind(p.student_id)
                .push_bind(p.date)
                .push_bind(p.amount.cents())
                .push_bind(p.method.code())
                .push_bind(p.reference)
        })?;
        bulk!(conn, ALLOCATIONS, &allocations, 2000, |b, a| b.push_bind(a.0).push_bind(a.1).push_bind(a.2.cents()))?;
    }
    if !payments.is_empty() {
        super::advance_ids(conn, "payments").await?;
    }
    Ok(())
}

/// The texts, for SQLite and for what follows PostgreSQL's values, of the statement `$sql!(v)`
/// writes over the pairs `v (id, n)` (`update_over_pairs`).
macro_rules! over_pairs {
    ($sql:ident) => {
        ($sql!("(SELECT c0 AS id, c1 AS n FROM regie_rows(?1)) v"), concat!(") ", $sql!("v")))
    };
}

/// Runs a statement over the pairs `v (id, n)` (`over_pairs!`): on SQLite, `v` read from the
/// virtual table by one statement; on PostgreSQL, from multi-row values.
async fn update_over_pairs(conn: &mut Conn, sqlite: &str, postgres: &'static str, pairs: &[(i64, i64)]) -> Result<()> {
    if let super::Engine::Sqlite(c) = conn.engine() {
        super::sqlite_rows::with_rows(c, sqlite, pairs, |b, a| {
            b.int(a.0).int(a.1);
        })
        .await?;
    } else {
        bulk!(conn, "WITH v (id, n) AS (", pairs, 2000, |b, a| b.push_bind(a.0).push_bind(a.1); postgres)?;
    }
    Ok(())
}

/// What each installment is settled by grows by the (installment, cents) parts just allocated
/// to it, and its student's count of open installments follows: added rather than summed again
/// (`resettle`), which read back every allocation of each.
pub async fn add_allocated(conn: &mut Conn, parts: Vec<(i64, i64)>) -> Result<()> {
    let added = summed(parts);
    add_to_settled(conn, &added).await?;
    // A part below zero would open again what it takes back: those students are counted again.
    let (closing, reopening): (Vec<_>, Vec<_>) = added.into_iter().partition(|a| a.1 > 0);
    add_settled(conn, &closing).await?;
    recount_open(conn, &reopening.iter().map(|a| a.0).collect::<Vec<_>>()).await
}

/// `add_allocated` for parts all above zero whose caller counted, per student, the installments
/// they settle whole (`closed`: (student, count)), as it allocated them on the open installments
/// it read in this transaction: each count is taken off its student at once. `add_settled` finds
/// them again by joining every part to its installment and invoice (the card benchmark's 60,000
/// parts: about 60 ms, against 35 here).
pub async fn add_allocated_counted(conn: &mut Conn, parts: Vec<(i64, i64)>, closed: Vec<(i64, i64)>) -> Result<()> {
    if let Some(p) = parts.iter().find(|p| p.1 <= 0) {
        return Err(crate::Error::Invalid(format!(
            "part de {} centimes sur l'échéance {} : aucune ne rouvre",
            p.1, p.0
        )));
    }
    add_to_settled(conn, &summed(parts)).await?;
    macro_rules! closing {
        ($v:literal) => {
            concat!(
                "UPDATE students SET open_installments = students.open_installments - v.n FROM ",
                $v,
                " WHERE students.id = v.id"
            )
        };
    }
    let (sqlite, postgres) = over_pairs!(closing);
    update_over_pairs(conn, sqlite, postgres, &summed(closed)).await
}

/// What settles each installment of `added` (installment, cents; one per installment) grows by
/// its cents.
async fn add_to_settled(conn: &mut Conn, added: &[(i64, i64)]) -> Result<()> {
    macro_rules! adding {
        ($v:literal) => {
            concat!(
                "UPDATE installments SET settled_cents = installments.settled_cents + v.n FROM ",
                $v,
                " WHERE installments.id = v.id"
            )
        };
    }
    let (sqlite, postgres) = over_pairs!(adding);
    update_over_pairs(conn, sqlite, postgres, added).await
}

/// One (key, total) per key of `pairs`, by key.
fn summed(mut pairs: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    pairs.sort_unstable();
    pairs.dedup_by(|later, first| {
        let same = later.0 == first.0;
        if same {
            first.1 += later.1;
        }
        same
    });
    pairs
}

/// The students' counts of open installments after `added` (installment, cents) was added to
/// what settles them: each installment the addition settled closes one (found from the parts
/// just added: settled now, not before), without counting anyone's installments again.
async fn add_settled(conn: &mut Conn, added: &[(i64, i64)]) -> Result<()> {
    /// What follows the parts `v (id, n)`, `n` their cents.
    macro_rules! closing {
        ($v:literal) => {
            concat!(
                "UPDATE students SET open_installments = students.open_installments - t.n
                 FROM (SELECT i.student_id, COUNT(*) AS n
                       FROM ",
                $v,
                " JOIN installments b ON b.id = v.id JOIN invoices i ON i.id = b.invoice_id
                       WHERE b.status <> 'cancelled' AND b.settled_cents >= b.amount_cents
                         AND b.settled_cents - v.n < b.amount_cents
                       GROUP BY i.student_id) t
                 WHERE students.id = t.student_id"
            )
        };
    }
    let (sqlite, postgres) = over_pairs!(closing);
    update_over_pairs(conn, sqlite, postgres, added).await
}

pub const POSITION_ORDERS: &str = "SELECT o.id, o.number, o.date,
            (o.blocked OR EXISTS (
                SELECT 1 FROM dunning d JOIN installment_balances b ON b.id = d.installment_id
                JOIN invoices i ON i.id = b.invoice_id
                WHERE i.order_id = o.id AND d.level >= 3 AND b.status <> 'cancelled'
                  AND b.amount_cents - b.paid_cents - b.credited_cents > 0)) AS blocked,
            o.excl_vat_cents, o.vat_cents
         FROM orders o WHERE o.student_id = $1 ORDER BY o.date, o.id";
pub const POSITION_INVOICES: &str = "SELECT i.id, i.order_id, i.number, i.date, i.session,
            COALESCE((SELECT CAST(SUM(l.excl_vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS excl_vat_cents,
            COALESCE((SELECT CAST(SUM(l.vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS vat_cents
         FROM invoices i WHERE i.student_id = $1 ORDER BY i.date, i.id";
pub const POSITION_INSTALLMENTS: &str = "SELECT b.id, b.invoice_id, b.n, b.due_date, b.amount_cents, b.status,
            b.paid_cents AS allocated_cents, b.credited_cents,
            (SELECT MAX(d) FROM (SELECT p.date AS d FROM allocations a JOIN payments p ON p.id = a.payment_id
                                 WHERE a.installment_id = b.id AND p.reverses IS NULL
                                   AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
                                   AND NOT EXISTS (SELECT 1 FROM refunds g WHERE g.gives_back = p.id AND g.status <> 'cancelled')
                                 UNION ALL
                                 SELECT c.date AS d FROM credit_allocations x JOIN credit_notes c ON c.id = x.credit_note_id
                                 WHERE x.installment_id = b.id) AS settled_dates) AS last_settled_on,
            (SELECT r.response_code FROM card_refusals r WHERE r.installment_id = b.id) AS refused_code,
            (b.n >= 2 AND EXISTS (SELECT 1 FROM orders o JOIN requests q ON q.id = o.request_id
                                  WHERE o.id = i.order_id AND q.plan IN ('three', 'six'))) AS debited
         FROM installment_balances b JOIN invoices i ON i.id = b.invoice_id
         WHERE i.student_id = $1 ORDER BY b.due_date, b.invoice_id, b.n";
pub const POSITION_PAYMENTS: &str = "SELECT p.id, p.date, p.reference, p.method, p.amount_cents,
            COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = p.id), 0) AS allocated_cents,
            p.reverses, p.reversal
         FROM payments p WHERE p.student_id = $1 ORDER BY p.date, p.id";
pub const POSITION_CREDIT_NOTES: &str = "SELECT c.id, c.invoice_id, c.number, c.date, c.amount_cents, c.reason
         FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
         WHERE i.student_id = $1 ORDER BY c.date, c.id";
pub const POSITION_REFUNDS: &str =
    "SELECT id, credit_note_id, date, amount_cents, status FROM refunds WHERE student_id = $1 ORDER BY date, id";

/// Every ledger row of one student, as the position is computed from them.
pub async fn rows_of(conn: &mut Conn, student_id: i64) -> Result<LedgerRows> {
    let orders = on!(conn, |c| sqlx::query_as::<_, OrderRow>(POSITION_ORDERS).bind(student_id).fetch_all(c).await)?;
    let invoices =
        on!(conn, |c| { sqlx::query_as::<_, InvoiceRow>(POSITION_INVOICES).bind(student_id).fetch_all(c).await })?;
    let installments = on!(conn, |c| {
        sqlx::query_as::<_, InstallmentRow>(POSITION_INSTALLMENTS).bind(student_id).fetch_all(c).await
    })?;
    let payments =
        on!(conn, |c| { sqlx::query_as::<_, PaymentRow>(POSITION_PAYMENTS).bind(student_id).fetch_all(c).await })?;
    let credit_notes =
        on!(conn, |c| sqlx::query_as::<_, CreditNoteRow>(POSITION_CREDIT_NOTES).bind(student_id).fetch_all(c).await)?;
    let refunds =
        on!(conn, |c| { sqlx::query_as::<_, RefundRow>(POSITION_REFUNDS).bind(student_id).fetch_all(c).await })?;
    Ok(LedgerRows {
        orders: orders.into_iter().map(Into::into).collect(),
        invoices: invoices.into_iter().map(Into::into).collect(),
        installments: installments.into_iter().map(Into::into).collect(),
        payments: payments.into_iter().map(Into::into).collect(),
        credit_notes: credit_notes.into_iter().map(Into::into).collect(),
        refunds: refunds.into_iter().map(Into::into).collect(),
    })
}

// The ledger's rows as this file's queries read them, turned into the rules' facts once read.

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    number: String,
    date: NaiveDate,
    blocked: bool,
    excl_vat_cents: i64,
    vat_cents: i64,
}

impl From<OrderRow> for position::OrderRow {
    fn from(r: OrderRow) -> Self {
        let OrderRow { id, number, date, blocked, excl_vat_cents, vat_cents } = r;
        position::OrderRow { id, number, date, blocked, excl_vat_cents, vat_cents }
    }
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: i64,
    order_id: i64,
    number: String,
    date: NaiveDate,
    session: String,
    excl_vat_cents: i64,
    vat_cents: i64,
}

impl From<InvoiceRow> for position::InvoiceRow {
    fn from(r: InvoiceRow) -> Self {
        let InvoiceRow { id, order_id, number, date, session, excl_vat_cents, vat_cents } = r;
        position::InvoiceRow { id, order_id, number, date, session, excl_vat_cents, vat_cents }
    }
}

#[derive(sqlx::FromRow)]
struct InstallmentRow {
    id: i64,
    invoice_id: i64,
    n: i64,
    due_date: NaiveDate,
    amount_cents: i64,
    status: Code<InstallmentState>,
    allocated_cents: i64,
    credited_cents: i64,
    last_settled_on: Option<NaiveDate>,
    refused_code: Option<String>,
    debited: bool,
}

impl From<InstallmentRow> for position::InstallmentRow {
    fn from(r: InstallmentRow) -> Self {
        position::InstallmentRow {
            id: r.id,
            invoice_id: r.invoice_id,
            n: r.n,
            due_date: r.due_date,
            amount_cents: r.amount_cents,
            status: r.status.0,
            allocated_cents: r.allocated_cents,
            credited_cents: r.credited_cents,
            last_settled_on: r.last_settled_on,
            refused_code: r.refused_code,
            debited: r.debited,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: i64,
    date: NaiveDate,
    reference: String,
    method: Code<PaymentMethod>,
    amount_cents: i64,
    allocated_cents: i64,
    reverses: Option<i64>,
    reversal: Option<Code<PaymentReversal>>,
}

impl From<PaymentRow> for position::PaymentRow {
    fn from(r: PaymentRow) -> Self {
        position::PaymentRow {
            id: r.id,
            date: r.date,
            reference: r.reference,
            method: r.method.0,
            amount_cents: r.amount_cents,
            allocated_cents: r.allocated_cents,
            reverses: r.reverses,
            reversal: r.reversal.map(|c| c.0),
        }
    }
}

#[derive(sqlx::FromRow)]
struct CreditNoteRow {
    id: i64,
    invoice_id: i64,
    number: String,
    date: NaiveDate,
    amount_cents: i64,
    reason: String,
}

impl From<CreditNoteRow> for position::CreditNoteRow {
    fn from(r: CreditNoteRow) -> Self {
        let CreditNoteRow { id, invoice_id, number, date, amount_cents, reason } = r;
        position::CreditNoteRow { id, invoice_id, number, date, amount_cents, reason }
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: i64,
    credit_note_id: Option<i64>,
    date: NaiveDate,
    amount_cents: i64,
    status: Code<RefundStatus>,
}

impl From<RefundRow> for position::RefundRow {
    fn from(r: RefundRow) -> Self {
        position::RefundRow {
            id: r.id,
            credit_note_id: r.credit_note_id,
            date: r.date,
            amount_cents: r.amount_cents,
            status: r.status.0,
        }
    }
}

/// Adds a credit note, and marks its invoice `credited` once its credit notes reach its total
/// (the model test checks the mark against the sums after every step).
#[allow(clippy::too_many_arguments)]
pub async fn insert_credit_note(
    conn: &mut Conn,
    series: &str,
    number: &str,
    invoice_id: i64,
    date: NaiveDate,
    amount: Money,
    reason: &str,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO credit_notes (series, seq, number, invoice_id, date, amount_cents, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(series)
    .bind(seq_of(number))
    .bind(number)
    .bind(invoice_id)
    .bind(date)
    .bind(amount.cents())
    .bind(reason)
    .fetch_one(c)
    .await)?;
    // Credit notes are only ever added, so an invoice once credited stays so.
    on!(conn, |c| {
        sqlx::query(
        "UPDATE invoices SET credited = TRUE
         WHERE id = $1 AND NOT credited
           AND (SELECT SUM(cf.amount_cents) FROM credit_notes cf WHERE cf.invoice_id = $1)
               >= COALESCE((SELECT SUM(lf.excl_vat_cents + lf.vat_cents) FROM invoice_lines lf WHERE lf.invoice_id = $1), 0)",
    )
    .bind(invoice_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(id)
}

/// The invoice issued for a request, with what was paid on it and what is already credited.
pub struct RequestInvoice {
    pub id: i64,
    pub student_id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub total: Money,
    pub settled: Money,
    pub credited: Money,
}

pub async fn invoice_of_request(conn: &mut Conn, request_id: i64) -> Result<Option<RequestInvoice>> {
    let number: Option<(String,)> = on!(conn, |c| sqlx::query_as(
        "SELECT i.number FROM invoices i JOIN orders o ON o.id = i.order_id WHERE o.request_id = $1"
    )
    .bind(request_id)
    .fetch_optional(c)
    .await)?;
    match number {
        Some((n,)) => super::invoices::invoice_totals(conn, &n).await,
        None => Ok(None),
    }
}

/// Detaches an approved request from its order, so that a reopened request can be approved again
/// (the old order and invoice stay, cancelled by their credit note).
pub async fn detach_order_from_request(conn: &mut Conn, request_id: i64) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE orders SET request_id = NULL, blocked = TRUE WHERE request_id = $1")
        .bind(request_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The installments still due of the invoice issued for a request: (due date, left to pay).
pub async fn schedule_of_request(conn: &mut Conn, request_id: i64) -> Result<Vec<(NaiveDate, Money)>> {
    let rows: Vec<(NaiveDate, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT b.due_date, b.amount_cents - b.paid_cents - b.credited_cents FROM installment_balances b
         JOIN invoices i ON i.id = b.invoice_id JOIN orders o ON o.id = i.order_id
         WHERE o.request_id = $1 AND b.status <> 'cancelled' AND b.amount_cents - b.paid_cents - b.credited_cents > 0
         ORDER BY b.n",
    )
    .bind(request_id)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(d, c)| (d, Money::from_cents(c))).collect())
}
