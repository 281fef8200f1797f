//! Storage of the ledger's documents and movements, and the reads an account position is built from.

use chrono::NaiveDate;

use super::Conn;
use crate::Result;
use crate::ledger::PaymentMethod;
use crate::ledger::position::{CreditNoteRow, InstallmentRow, InvoiceRow, LedgerRows, OrderRow, PaymentRow, RefundRow};
use crate::money::Money;

/// Takes the next number of a gapless series (`F2025` -> `F2025-00001`, `F2025-00002`, ...).
/// Must run inside the transaction that issues the document: a rollback returns the number.
pub async fn next_number(conn: &mut Conn, series: &str) -> Result<String> {
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO number_series (series, next) VALUES ($1, 2)
         ON CONFLICT (series) DO UPDATE SET next = number_series.next + 1
         RETURNING next - 1",
    )
    .bind(series)
    .fetch_one(conn)
    .await?;
    Ok(format!("{series}-{seq:05}"))
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
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orders (number, student_id, request_id, date, excl_vat_cents, vat_cents)
         VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
    )
    .bind(number)
    .bind(student_id)
    .bind(request_id)
    .bind(date)
    .bind(excl_vat.cents())
    .fetch_one(conn)
    .await?;
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
    let (id,): (i64,) = sqlx::query_as(
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
    .fetch_one(conn)
    .await?;
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
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, designation, quantity, discount_bp, vat_bp, excl_vat_cents, vat_cents)
         VALUES ($1, $2, $3, 0, 0, $4, $5)",
    )
    .bind(invoice_id)
    .bind(designation)
    .bind(quantity)
    .bind(excl_vat.cents())
    .bind(vat.cents())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_installment(
    conn: &mut Conn,
    invoice_id: i64,
    n: u32,
    due: NaiveDate,
    amount: Money,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO installments (invoice_id, n, due_date, amount_cents) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(invoice_id)
    .bind(n as i64)
    .bind(due)
    .bind(amount.cents())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn insert_payment(
    conn: &mut Conn,
    student_id: i64,
    date: NaiveDate,
    amount: Money,
    method: PaymentMethod,
    reference: &str,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO payments (student_id, date, amount_cents, method, reference) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(student_id)
    .bind(date)
    .bind(amount.cents())
    .bind(method.code())
    .bind(reference)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn insert_allocation(conn: &mut Conn, payment_id: i64, installment_id: i64, amount: Money) -> Result<()> {
    sqlx::query("INSERT INTO allocations (payment_id, installment_id, amount_cents) VALUES ($1, $2, $3)")
        .bind(payment_id)
        .bind(installment_id)
        .bind(amount.cents())
        .execute(conn)
        .await?;
    Ok(())
}

/// An installment with something left to pay.
pub struct OpenInstallment {
    pub id: i64,
    pub left_to_pay: Money,
}

/// The student's scheduled installments not fully paid, oldest due first.
pub async fn open_installments(conn: &mut Conn, student_id: i64) -> Result<Vec<OpenInstallment>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT t.id, t.amount_cents - COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0)
         FROM installments t JOIN invoices i ON i.id = t.invoice_id
         WHERE i.student_id = $1 AND t.status = 'scheduled'
         ORDER BY t.due_date, t.invoice_id, t.n",
    )
    .bind(student_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, left)| *left > 0)
        .map(|(id, left)| OpenInstallment { id, left_to_pay: Money::from_cents(left) })
        .collect())
}

/// Every ledger row of one student, as the position is computed from them.
pub async fn rows_of(conn: &mut Conn, student_id: i64) -> Result<LedgerRows> {
    let orders = sqlx::query_as::<_, OrderRow>(
        "SELECT id, number, date, blocked != 0 AS blocked, excl_vat_cents, vat_cents FROM orders
         WHERE student_id = $1 ORDER BY date, id",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    let invoices = sqlx::query_as::<_, InvoiceRow>(
        "SELECT i.id, i.order_id, i.number, i.date, i.session,
            COALESCE((SELECT SUM(l.excl_vat_cents + l.vat_cents) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS total_cents
         FROM invoices i WHERE i.student_id = $1 ORDER BY i.date, i.id",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    let installments = sqlx::query_as::<_, InstallmentRow>(
        "SELECT t.id, t.invoice_id, t.n, t.due_date, t.amount_cents, t.status,
            COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0) AS allocated_cents
         FROM installments t JOIN invoices i ON i.id = t.invoice_id
         WHERE i.student_id = $1 ORDER BY t.due_date, t.invoice_id, t.n",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    let payments = sqlx::query_as::<_, PaymentRow>(
        "SELECT p.id, p.date, p.reference, p.method, p.amount_cents,
            COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.payment_id = p.id), 0) AS allocated_cents
         FROM payments p WHERE p.student_id = $1 ORDER BY p.date, p.id",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    let credit_notes = sqlx::query_as::<_, CreditNoteRow>(
        "SELECT c.id, c.invoice_id, c.number, c.date, c.amount_cents, c.reason
         FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
         WHERE i.student_id = $1 ORDER BY c.date, c.id",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    let refunds = sqlx::query_as::<_, RefundRow>(
        "SELECT id, credit_note_id, date, amount_cents, status FROM refunds WHERE student_id = $1 ORDER BY date, id",
    )
    .bind(student_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(LedgerRows { orders, invoices, installments, payments, credit_notes, refunds })
}

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
    let (id,): (i64,) = sqlx::query_as(
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
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The invoice issued for a request, with what was paid on it and what is already credited.
pub struct RequestInvoice {
    pub id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub total: Money,
    pub settled: Money,
    pub credited: Money,
}

pub async fn invoice_of_request(conn: &mut Conn, request_id: i64) -> Result<Option<RequestInvoice>> {
    let number: Option<(String,)> =
        sqlx::query_as("SELECT i.number FROM invoices i JOIN orders o ON o.id = i.order_id WHERE o.request_id = $1")
            .bind(request_id)
            .fetch_optional(&mut *conn)
            .await?;
    match number {
        Some((n,)) => super::invoices::invoice_totals(conn, &n).await,
        None => Ok(None),
    }
}

/// Cancels the invoice's installments that are still scheduled; returns how many.
pub async fn cancel_scheduled_installments(conn: &mut Conn, invoice_id: i64) -> Result<u64> {
    let done =
        sqlx::query("UPDATE installments SET status = 'cancelled' WHERE invoice_id = $1 AND status = 'scheduled'")
            .bind(invoice_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}

/// Detaches an approved request from its order, so that a reopened request can be approved again
/// (the old order and invoice stay, cancelled by their credit note).
pub async fn detach_order_from_request(conn: &mut Conn, request_id: i64) -> Result<()> {
    sqlx::query("UPDATE orders SET request_id = NULL, blocked = 1 WHERE request_id = $1")
        .bind(request_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The installments of the invoice issued for a request: (due date, amount, status).
pub async fn schedule_of_request(conn: &mut Conn, request_id: i64) -> Result<Vec<(NaiveDate, Money, String)>> {
    let rows: Vec<(NaiveDate, i64, String)> = sqlx::query_as(
        "SELECT t.due_date, t.amount_cents, t.status FROM installments t
         JOIN invoices i ON i.id = t.invoice_id JOIN orders o ON o.id = i.order_id
         WHERE o.request_id = $1 ORDER BY t.n",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(d, c, s)| (d, Money::from_cents(c), s)).collect())
}
