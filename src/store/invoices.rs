//! Storage reads for documents: invoices and credit notes with what they print.

use chrono::NaiveDate;

use super::Conn;
use super::ledger::RequestInvoice;
use crate::Result;
use regie_rules::money::Money;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceDoc {
    pub id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub label: String,
    pub session: String,
    /// The session's full label, when the office recorded one.
    pub session_label: Option<String>,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: String,
}

pub async fn invoice_doc(conn: &mut Conn, number: &str) -> Result<Option<InvoiceDoc>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT i.id, i.number, i.date, i.label, i.session, sl.label AS session_label, s.number AS student_number,
                s.last_name, s.first_name, s.school
         FROM invoices i JOIN students s ON s.id = i.student_id LEFT JOIN session_labels sl ON sl.session = i.session
         WHERE i.number = $1",
    )
    .bind(number)
    .fetch_optional(c)
    .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineDoc {
    pub designation: String,
    pub quantity: i64,
    pub discount_bp: i64,
    pub vat_bp: i64,
    pub excl_vat_cents: i64,
    pub vat_cents: i64,
}

pub async fn invoice_lines(conn: &mut Conn, invoice_id: i64) -> Result<Vec<LineDoc>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT designation, quantity, discount_bp, vat_bp, excl_vat_cents, vat_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY id",
    )
    .bind(invoice_id)
    .fetch_all(c).await
    })?)
}

/// An invoice's totals by its number (for credit notes).
pub async fn invoice_totals(conn: &mut Conn, number: &str) -> Result<Option<RequestInvoice>> {
    let row: Option<(i64, i64, String, NaiveDate, i64, i64, i64)> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT i.id, i.student_id, i.number, i.date,
            COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0),
            COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a JOIN installments t ON t.id = a.installment_id
                      WHERE t.invoice_id = i.id), 0),
            COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c WHERE c.invoice_id = i.id), 0)
         FROM invoices i WHERE i.number = $1",
    )
    .bind(number)
    .fetch_optional(c)
    .await
    })?;
    Ok(row.map(|(id, student_id, number, date, total, settled, credited)| RequestInvoice {
        id,
        student_id,
        number,
        date,
        total: Money::from_cents(total),
        settled: Money::from_cents(settled),
        credited: Money::from_cents(credited),
    }))
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct InvoiceListRow {
    pub number: String,
    pub date: NaiveDate,
    pub student_number: String,
    pub session: String,
    pub total_cents: i64,
    pub settled_cents: i64,
    pub credited_cents: i64,
    /// What is left to pay on its installments.
    pub left_cents: i64,
}

pub const INVOICES: &str = "SELECT i.number, i.date, s.number AS student_number, i.session,
            COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS total_cents,
            COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a JOIN installments t ON t.id = a.installment_id
                      WHERE t.invoice_id = i.id), 0) AS settled_cents,
            COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c WHERE c.invoice_id = i.id), 0) AS credited_cents,
            COALESCE((SELECT CAST(SUM(b.amount_cents - b.paid_cents - b.credited_cents) AS BIGINT) FROM installment_balances b
                      WHERE b.invoice_id = i.id AND b.status <> 'cancelled'), 0) AS left_cents
         FROM invoices i JOIN students s ON s.id = i.student_id
         WHERE $1 IS NULL OR i.session = $1
         ORDER BY i.series, i.seq";

pub async fn list(conn: &mut Conn, session: Option<&str>) -> Result<Vec<InvoiceListRow>> {
    Ok(on!(conn, |c| { sqlx::query_as(INVOICES).bind(session).fetch_all(c).await })?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CreditNoteDoc {
    pub number: String,
    pub date: NaiveDate,
    pub amount_cents: i64,
    pub reason: String,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub session: String,
    pub session_label: Option<String>,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: String,
}

pub async fn credit_note_doc(conn: &mut Conn, number: &str) -> Result<Option<CreditNoteDoc>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT c.number, c.date, c.amount_cents, c.reason, i.number AS invoice_number, i.date AS invoice_date, i.session,
                sl.label AS session_label, s.number AS student_number, s.last_name, s.first_name, s.school
         FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id JOIN students s ON s.id = i.student_id
         LEFT JOIN session_labels sl ON sl.session = i.session
         WHERE c.number = $1",
    )
    .bind(number)
    .fetch_optional(c).await
    })?)
}

/// The plan of the request an invoice was issued for (`transfer` letters carry bank details).
pub async fn plan_of_invoice(conn: &mut Conn, number: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT r.plan FROM invoices i JOIN orders o ON o.id = i.order_id LEFT JOIN requests r ON r.id = o.request_id WHERE i.number = $1",
    )
    .bind(number)
    .fetch_optional(c).await
    })?;
    Ok(row.and_then(|(p,)| p))
}
