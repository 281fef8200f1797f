//! Storage reads for documents: invoices and credit notes with what they print.

use chrono::NaiveDate;

use super::Conn;
use super::ledger::RequestInvoice;
use crate::Result;
use regie_rules::ledger::InvoiceSort;
use regie_rules::money::Money;
use regie_rules::page::Search;

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

/// The invoices list's columns, its totals looked up per invoice, followed by a static tail.
macro_rules! select_invoices {
    ($tail:expr) => {
        concat!(
            "SELECT i.number, i.date, s.number AS student_number, i.session,
            COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS total_cents,
            COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a JOIN installments t ON t.id = a.installment_id
                      WHERE t.invoice_id = i.id), 0) AS settled_cents,
            COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c WHERE c.invoice_id = i.id), 0) AS credited_cents,
            COALESCE((SELECT CAST(SUM(t.amount_cents - t.settled_cents) AS BIGINT) FROM installments t
                      WHERE t.invoice_id = i.id AND t.status <> 'cancelled'), 0) AS left_cents
         FROM invoices i JOIN students s ON s.id = i.student_id ",
            $tail
        )
    };
}

pub const INVOICES: &str = select_invoices!("WHERE $1 IS NULL OR i.session = $1 ORDER BY i.series, i.seq");

/// What narrows the invoices list, on `x` (an invoice): `$1` session, `$2` from, `$3` to (dates),
/// `$4` a `LIKE` pattern on the invoice's number, the student's number or name (the student is
/// looked up only then: a count reads the invoices alone).
macro_rules! invoices_filter {
    () => {
        concat!(
            "($1 IS NULL OR x.session = $1) AND ($2 IS NULL OR x.date >= $2) AND ($3 IS NULL OR x.date <= $3)
         AND ($4 IS NULL OR lower(x.number) LIKE $4 ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM students xf WHERE xf.id = x.student_id AND xf.search_key LIKE $4 ESCAPE '\\'))"
        )
    };
}

/// What an invoice's state is, on `x`, for the state code `$n` (0: any, 1: open, 2: settled,
/// 3: credited): the SQL form of `InvoiceStatus::of`, so that a list filtered by state is found,
/// counted and cut by the database (tests/paging.rs compares it with the rule on every invoice).
/// Credited: credit notes as large as the invoice; open: otherwise, an installment not settled
/// (the ledger never settles an installment beyond its amount, so "something left" is "an
/// installment not settled"); settled: neither. The open ones are found from the installments'
/// partial index of what is unsettled, the credited ones from their few credit notes.
macro_rules! invoice_state {
    ($n:literal) => {
        concat!(
            "(CAST(", $n, " AS BIGINT) = 0
              OR (CAST(", $n, " AS BIGINT) = 3 AND ", credited_full!(), ")
              OR (CAST(", $n, " AS BIGINT) = 1
                  AND x.id IN (SELECT u.invoice_id FROM installments u WHERE u.status <> 'cancelled' AND u.settled_cents < u.amount_cents)
                  AND NOT ", credited_full!(), ")
              OR (CAST(", $n, " AS BIGINT) = 2
                  AND NOT EXISTS (SELECT 1 FROM installments u WHERE u.invoice_id = x.id
                                  AND u.status <> 'cancelled' AND u.settled_cents < u.amount_cents)
                  AND NOT ", credited_full!(), "))"
        )
    };
}

/// Invoice `x`'s credit notes add up to its total (and to something).
macro_rules! credited_full {
    () => {
        "(EXISTS (SELECT 1 FROM credit_notes cf WHERE cf.invoice_id = x.id)
          AND (SELECT SUM(cf.amount_cents) FROM credit_notes cf WHERE cf.invoice_id = x.id)
              >= COALESCE((SELECT SUM(lf.excl_vat_cents + lf.vat_cents) FROM invoice_lines lf WHERE lf.invoice_id = x.id), 0))"
    };
}

/// One window of the invoices: its ids found first (`$5` rows from `$6`, in the state `$7`), then
/// only its totals.
macro_rules! invoice_page {
    ($inner:literal, $outer:literal) => {
        select_invoices!(concat!(
            "WHERE i.id IN (SELECT x.id FROM invoices x JOIN students xs ON xs.id = x.student_id WHERE ",
            invoices_filter!(),
            " AND ",
            invoice_state!("$7"),
            " ORDER BY ",
            $inner,
            " LIMIT $5 OFFSET $6) ORDER BY ",
            $outer
        ))
    };
}

/// The window's statement for a sort, either way.
pub const fn invoice_page_sql(sort: InvoiceSort, descending: bool) -> &'static str {
    match (sort, descending) {
        (InvoiceSort::Number, false) => invoice_page!("x.series, x.seq", "i.series, i.seq"),
        (InvoiceSort::Number, true) => invoice_page!("x.series DESC, x.seq DESC", "i.series DESC, i.seq DESC"),
        (InvoiceSort::Date, false) => invoice_page!("x.date, x.series, x.seq", "i.date, i.series, i.seq"),
        (InvoiceSort::Date, true) => {
            invoice_page!("x.date DESC, x.series DESC, x.seq DESC", "i.date DESC, i.series DESC, i.seq DESC")
        }
        (InvoiceSort::Student, false) => invoice_page!("xs.number, x.series, x.seq", "s.number, i.series, i.seq"),
        (InvoiceSort::Student, true) => {
            invoice_page!("xs.number DESC, x.series DESC, x.seq DESC", "s.number DESC, i.series DESC, i.seq DESC")
        }
        (InvoiceSort::Session, false) => invoice_page!("x.session, x.series, x.seq", "i.session, i.series, i.seq"),
        (InvoiceSort::Session, true) => {
            invoice_page!("x.session DESC, x.series DESC, x.seq DESC", "i.session DESC, i.series DESC, i.seq DESC")
        }
    }
}

pub const INVOICE_COUNT: &str =
    concat!("SELECT COUNT(*) FROM invoices x WHERE ", invoices_filter!(), " AND ", invoice_state!("$5"));

/// What narrows the invoices list, as the database holds it.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvoiceFilter<'a> {
    pub session: Option<&'a str>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub search: Option<&'a Search>,
    /// Only the invoices in this state.
    pub state: Option<InvoiceState>,
}

/// An invoice's state as the database filters by it; the same as the rule's `InvoiceStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceState {
    Open = 1,
    Settled = 2,
    Credited = 3,
}

fn state_code(state: Option<InvoiceState>) -> i64 {
    state.map_or(0, |s| s as i64)
}

/// How many invoices the filter keeps; unfiltered, asked plainly (see
/// `requests::count_matching`).
pub async fn count_matching(conn: &mut Conn, f: &InvoiceFilter<'_>) -> Result<i64> {
    if let InvoiceFilter { session: None, from: None, to: None, search: None, state: None } = f {
        return Ok(on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(c).await)?);
    }
    Ok(on!(conn, |c| sqlx::query_scalar(INVOICE_COUNT)
        .bind(f.session)
        .bind(f.from)
        .bind(f.to)
        .bind(f.search.map(Search::pattern))
        .bind(state_code(f.state))
        .fetch_one(c)
        .await)?)
}

/// `limit` invoices from `offset` of those the filter keeps, sorted, with their totals.
pub async fn window(
    conn: &mut Conn,
    f: &InvoiceFilter<'_>,
    sort: InvoiceSort,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<InvoiceListRow>> {
    Ok(on!(conn, |c| sqlx::query_as(invoice_page_sql(sort, descending))
        .bind(f.session)
        .bind(f.from)
        .bind(f.to)
        .bind(f.search.map(Search::pattern))
        .bind(limit)
        .bind(offset)
        .bind(state_code(f.state))
        .fetch_all(c)
        .await)?)
}

/// The sessions invoices were issued for, in order: each the first one after the previous in the
/// index by session, a few lookups per session where `DISTINCT` reads every invoice.
pub const SESSIONS: &str = "WITH RECURSIVE s (session) AS (
         SELECT MIN(session) FROM invoices
         UNION ALL
         SELECT (SELECT MIN(i.session) FROM invoices i WHERE i.session > s.session) FROM s WHERE s.session IS NOT NULL)
     SELECT session FROM s WHERE session IS NOT NULL";

/// The sessions invoices were issued for: the list's session filter.
pub async fn sessions(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(on!(conn, |c| sqlx::query_scalar(SESSIONS).fetch_all(c).await)?)
}

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
