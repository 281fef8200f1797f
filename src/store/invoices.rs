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

/// What an invoice's state is, on `x`: the SQL form of `InvoiceStatus::of`, so that a list
/// filtered by state is found, counted and cut by the database (tests/paging.rs compares it with
/// the rule on every invoice). Credited: credit notes as large as the invoice (`x.credited`, kept by
/// the ledger as it writes a credit note, and read from the index of credited invoices); open: otherwise,
/// an installment not settled (the ledger never settles an installment beyond its amount, so
/// "something left" is "an installment not settled"); settled: neither.
/// Each state is its own statement, its code `$n` still bound (`CAST($n …) = k`): an `OR` of the
/// four kept SQLite from finding the open and settled ones from the partial index of unsettled
/// installments (read from the index alone: it holds each one's invoice; ten years: the open
/// invoices counted in 24 ms -> 11). The open ones are found among that index's invoices, not looked up invoice by invoice
/// with an `EXISTS` of their own: SQLite 3.51 runs such an `EXISTS` as a join ("SEARCH u EXISTS")
/// and its `OFFSET` then also skipped invoices the `EXISTS` rejected, so a window's second page
/// began inside the first (tests/paging.rs; an `EXISTS` under an `OR`, as in the search, is not
/// run that way: every windowed list pages as its whole list, checked on the demo).
macro_rules! invoice_state {
    (any, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 0")
    };
    (open, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 1 AND ", unsettled!(), " AND NOT x.credited")
    };
    (settled, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 2 AND NOT ", unsettled!(), " AND NOT x.credited")
    };
    (credited, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 3 AND x.credited")
    };
    // A page's forms: see `unsettled_here!`.
    (open_page, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 1 AND ", unsettled_here!(), " AND NOT x.credited")
    };
    (settled_page, $n:literal) => {
        concat!("CAST(", $n, " AS BIGINT) = 2 AND NOT ", unsettled_here!(), " AND NOT x.credited")
    };
}

/// `unsettled!` for a page: invoice `x`'s own installments looked up. A page walks the invoices in
/// its order and stops at its last row; the open ones are 8 % of an old year's invoices and
/// most of this year's, so it reads about as many invoices on ten years as on five, where the set
/// of every year's unsettled installments grows with the history (first page of the open ones
/// 8.7 -> 18.2 ms; 1.2 -> 1.3 this way). A scalar subquery, not an `EXISTS`, which SQLite would run
/// as a join (see `invoice_state!`).
macro_rules! unsettled_here {
    () => {
        "(SELECT 1 FROM installments u WHERE u.invoice_id = x.id AND u.status <> 'cancelled'
              AND u.settled_cents < u.amount_cents LIMIT 1) IS NOT NULL"
    };
}

/// Invoice `x` has an installment not settled: `x` among the invoices of the partial index of
/// what is unsettled.
macro_rules! unsettled {
    () => {
        "x.id IN (SELECT u.invoice_id FROM installments u WHERE u.status <> 'cancelled' AND u.settled_cents < u.amount_cents)"
    };
}

/// One window of the invoices in state `$state`: its ids found first (`$5` rows from `$6`, the
/// state's code `$7`), then only its totals.
macro_rules! invoice_page {
    ($state:ident, $inner:literal, $outer:literal) => {
        select_invoices!(concat!(
            "WHERE i.id IN (SELECT x.id FROM invoices x JOIN students xs ON xs.id = x.student_id WHERE ",
            invoices_filter!(),
            " AND ",
            invoice_state!($state, "$7"),
            " ORDER BY ",
            $inner,
            " LIMIT $5 OFFSET $6) ORDER BY ",
            $outer
        ))
    };
}

/// The window's statement for a state (`None`: any), in the order given on `x`/`xs` inside and
/// on `i`/`s` outside.
macro_rules! invoice_page_of {
    ($state:expr, $inner:literal, $outer:literal) => {
        match $state {
            None => invoice_page!(any, $inner, $outer),
            Some(InvoiceState::Open) => invoice_page!(open_page, $inner, $outer),
            Some(InvoiceState::Settled) => invoice_page!(settled_page, $inner, $outer),
            Some(InvoiceState::Credited) => invoice_page!(credited, $inner, $outer),
        }
    };
}

/// The window's statement for a sort, either way, and a state.
pub const fn invoice_page_sql(sort: InvoiceSort, descending: bool, state: Option<InvoiceState>) -> &'static str {
    match (sort, descending) {
        (InvoiceSort::Number, false) => invoice_page_of!(state, "x.series, x.seq", "i.series, i.seq"),
        (InvoiceSort::Number, true) => {
            invoice_page_of!(state, "x.series DESC, x.seq DESC", "i.series DESC, i.seq DESC")
        }
        (InvoiceSort::Date, false) => {
            invoice_page_of!(state, "x.date, x.series, x.seq", "i.date, i.series, i.seq")
        }
        (InvoiceSort::Date, true) => {
            invoice_page_of!(state, "x.date DESC, x.series DESC, x.seq DESC", "i.date DESC, i.series DESC, i.seq DESC")
        }
        (InvoiceSort::Student, false) => {
            invoice_page_of!(state, "xs.number, x.series, x.seq", "s.number, i.series, i.seq")
        }
        (InvoiceSort::Student, true) => invoice_page_of!(
            state,
            "xs.number DESC, x.series DESC, x.seq DESC",
            "s.number DESC, i.series DESC, i.seq DESC"
        ),
        (InvoiceSort::Session, false) => {
            invoice_page_of!(state, "x.session, x.series, x.seq", "i.session, i.series, i.seq")
        }
        (InvoiceSort::Session, true) => invoice_page_of!(
            state,
            "x.session DESC, x.series DESC, x.seq DESC",
            "i.session DESC, i.series DESC, i.seq DESC"
        ),
    }
}

/// How many invoices in state `$state` the filter keeps (`$5`: the state's code).
macro_rules! invoice_count {
    ($state:ident) => {
        concat!("SELECT COUNT(*) FROM invoices x WHERE ", invoices_filter!(), " AND ", invoice_state!($state, "$5"))
    };
}

/// The count's statement for a state (`None`: any).
pub const fn invoice_count_sql(state: Option<InvoiceState>) -> &'static str {
    match state {
        None => invoice_count!(any),
        Some(InvoiceState::Open) => invoice_count!(open),
        Some(InvoiceState::Settled) => invoice_count!(settled),
        Some(InvoiceState::Credited) => invoice_count!(credited),
    }
}

/// How many invoices are in a state (`$1`: its code), nothing else narrowing them: the other
/// filters' conditions on unbound values would be evaluated on every invoice (see
/// `requests::count_matching`; the open ones on ten years: 24 ms -> 11).
pub const fn state_count_sql(state: InvoiceState) -> &'static str {
    match state {
        InvoiceState::Open => concat!("SELECT COUNT(*) FROM invoices x WHERE ", invoice_state!(open, "$1")),
        InvoiceState::Settled => {
            concat!("SELECT COUNT(*) FROM invoices x WHERE ", invoice_state!(settled, "$1"))
        }
        InvoiceState::Credited => {
            concat!("SELECT COUNT(*) FROM invoices x WHERE ", invoice_state!(credited, "$1"))
        }
    }
}

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
    if let InvoiceFilter { session: None, from: None, to: None, search: None, state } = f {
        return Ok(match state {
            None => on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(c).await)?,
            Some(state) => on!(conn, |c| sqlx::query_scalar(state_count_sql(*state))
                .bind(state_code(Some(*state)))
                .fetch_one(c)
                .await)?,
        });
    }
    Ok(on!(conn, |c| sqlx::query_scalar(invoice_count_sql(f.state))
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
    Ok(on!(conn, |c| sqlx::query_as(invoice_page_sql(sort, descending, f.state))
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
