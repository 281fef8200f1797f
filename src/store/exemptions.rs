//! Storage of commission sessions and exemption outcomes, and the reads they are computed from.

use chrono::NaiveDate;

use super::{Code, Conn};
use crate::Result;
use regie_rules::exemptions::OutcomeKind;
use regie_rules::ledger::RefundStatus;
use regie_rules::money::Money;
use regie_rules::page::{Page, Search, Window};

pub async fn session_id(conn: &mut Conn, name: &str, date: NaiveDate) -> Result<i64> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO commission_sessions (name, date) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
    )
    .bind(name)
    .bind(date)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT id FROM commission_sessions WHERE name = $1")
        .bind(name)
        .fetch_one(c)
        .await)?;
    Ok(id)
}

/// A student the commission may decide on: an approved request in 05 (differentiated fees), or
/// one a finance manager added by hand (`added_by`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CandidateRow {
    pub student_id: i64,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: String,
    pub programme: String,
    pub academic_year: String,
    pub plan: String,
    pub situation: String,
    pub invoice_id: i64,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub total_cents: i64,
    pub paid_cents: i64,
    pub scheduled_left_cents: i64,
    pub added_by: Option<String>,
}

/// Who is before the commission, by invoice: the approved requests in 05, then the invoices a
/// finance manager added (of other situations, so none twice). `$1`: a `LIKE` pattern on the
/// student's search key, `$2`: an academic year, `$3`: a student number; each NULL for all. Two
/// branches rather than an `OR` so that each finds its few rows by an index (the added ones from
/// the additions, in that order: `CROSS JOIN` keeps SQLite from reading every approved request
/// first, as it did without statistics); the year's condition
/// `$year` is written in (`year!()` or `any_year!()`) so that a year's candidates are found by
/// the index on (situation, status, year) without reading the other years'.
macro_rules! candidate_ids {
    ($year:expr) => {
        concat!(
            "SELECT i2.id, s2.last_name, s2.first_name, s2.number
         FROM requests r2
         JOIN students s2 ON s2.id = r2.student_id
         JOIN orders o2 ON o2.request_id = r2.id
         JOIN invoices i2 ON i2.order_id = o2.id
         WHERE r2.situation = '05' AND r2.status = 'approved'
           AND ($1 IS NULL OR s2.search_key LIKE $1 ESCAPE '\\')
           AND ",
            $year,
            " AND ($3 IS NULL OR s2.number = $3)
         UNION ALL
         SELECT i2.id, s2.last_name, s2.first_name, s2.number
         FROM exemption_additions x2 CROSS JOIN invoices i2 CROSS JOIN orders o2 CROSS JOIN requests r2
              CROSS JOIN students s2
         WHERE i2.id = x2.invoice_id AND o2.id = i2.order_id AND r2.id = o2.request_id AND s2.id = r2.student_id
           AND r2.situation <> '05' AND r2.status = 'approved'
           AND ($1 IS NULL OR s2.search_key LIKE $1 ESCAPE '\\')
           AND ",
            $year,
            " AND ($3 IS NULL OR s2.number = $3)"
        )
    };
}

/// The candidates of the year `$2`.
macro_rules! year {
    () => {
        "r2.academic_year = $2"
    };
}

/// The candidates of every year (`$2` is NULL).
macro_rules! any_year {
    () => {
        "$2 IS NULL"
    };
}

/// The candidates of the invoices a window `w` names, with their totals looked up per invoice,
/// followed by a static tail.
macro_rules! select_candidates {
    ($window:expr, $tail:expr) => {
        concat!(
            "SELECT s.id AS student_id, s.number AS student_number, s.last_name, s.first_name, s.school, r.programme,
                r.academic_year, r.plan, r.situation, i.id AS invoice_id, i.number AS invoice_number, i.date AS invoice_date,
                COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0) AS total_cents,
                COALESCE((SELECT CAST(SUM(b.paid_cents) AS BIGINT) FROM installment_balances b WHERE b.invoice_id = i.id), 0) AS paid_cents,
                COALESCE((SELECT CAST(SUM(b.amount_cents - b.paid_cents - b.credited_cents) AS BIGINT) FROM installment_balances b
                          WHERE b.invoice_id = i.id AND b.status <> 'cancelled'), 0) AS scheduled_left_cents,
                x.added_by
         FROM (",
            $window,
            ") w
         JOIN invoices i ON i.id = w.id
         JOIN orders o ON o.id = i.order_id
         JOIN requests r ON r.id = o.request_id
         JOIN students s ON s.id = r.student_id
         LEFT JOIN exemption_additions x ON x.invoice_id = i.id ",
            $tail
        )
    };
}

/// Every candidate the filters keep, by student.
macro_rules! candidates {
    ($year:expr) => {
        select_candidates!(
            concat!("SELECT c.id FROM (", candidate_ids!($year), ") c"),
            "ORDER BY s.last_name, s.first_name, s.number, i.id"
        )
    };
}
pub const CANDIDATES: &str = candidates!(any_year!());
pub const YEAR_CANDIDATES: &str = candidates!(year!());

/// One window of the candidates (`$4` from `$5`): its invoices found first, then only its totals
/// computed.
macro_rules! candidate_page {
    ($year:expr) => {
        select_candidates!(
            concat!(
                "SELECT c.id FROM (",
                candidate_ids!($year),
                ") c ORDER BY c.last_name, c.first_name, c.number, c.id LIMIT $4 OFFSET $5"
            ),
            "ORDER BY s.last_name, s.first_name, s.number, i.id"
        )
    };
}
pub const CANDIDATE_PAGE: &str = candidate_page!(any_year!());
pub const YEAR_CANDIDATE_PAGE: &str = candidate_page!(year!());

/// The first `$4 + $5` candidates of every year, nothing else narrowing them, by student: the
/// approved requests in 05 found by walking the students by name (`CROSS JOIN` keeps that order
/// in SQLite; `|| ''` keeps it from the index by situation, which would read every year's
/// requests for each student), so that a first page reads as many students on ten years as on
/// five (the other way sorts every year's candidates: 21 -> 43 ms; this way 4.8 -> 5.5). Each
/// branch is cut to the window's end, where the window then is.
macro_rules! candidate_walk {
    () => {
        concat!(
            "SELECT * FROM (SELECT i2.id, s2.last_name, s2.first_name, s2.number
             FROM students s2 CROSS JOIN requests r2 CROSS JOIN orders o2 CROSS JOIN invoices i2
             WHERE r2.student_id = s2.id AND o2.request_id = r2.id AND i2.order_id = o2.id
               AND r2.situation || '' = '05' AND r2.status || '' = 'approved'
               AND $1 IS NULL AND $2 IS NULL AND $3 IS NULL
             ORDER BY 2, 3, 4, 1 LIMIT CAST($4 AS BIGINT) + CAST($5 AS BIGINT)) a
             UNION ALL
             SELECT * FROM (SELECT i2.id, s2.last_name, s2.first_name, s2.number
             FROM exemption_additions x2 CROSS JOIN invoices i2 CROSS JOIN orders o2 CROSS JOIN requests r2
                  CROSS JOIN students s2
             WHERE i2.id = x2.invoice_id AND o2.id = i2.order_id AND r2.id = o2.request_id AND s2.id = r2.student_id
               AND r2.situation <> '05' AND r2.status = 'approved'
               AND $1 IS NULL AND $2 IS NULL AND $3 IS NULL
             ORDER BY 2, 3, 4, 1 LIMIT CAST($4 AS BIGINT) + CAST($5 AS BIGINT)) b"
        )
    };
}

/// A window of every candidate, nothing else narrowing them (see `candidate_walk!`).
pub const CANDIDATE_WALK: &str = select_candidates!(
    concat!(
        "SELECT c.id FROM (",
        candidate_walk!(),
        ") c ORDER BY c.last_name, c.first_name, c.number, c.id LIMIT $4 OFFSET $5"
    ),
    "ORDER BY s.last_name, s.first_name, s.number, i.id"
);

pub const CANDIDATE_COUNT: &str = concat!("SELECT COUNT(*) FROM (", candidate_ids!(any_year!()), ") c");
pub const YEAR_CANDIDATE_COUNT: &str = concat!("SELECT COUNT(*) FROM (", candidate_ids!(year!()), ") c");

/// What narrows the candidates: a search on the number or the name, an academic year
/// (`2026-27`), one student.
#[derive(Debug, Clone, Copy, Default)]
pub struct CandidateFilter<'a> {
    pub search: Option<&'a Search>,
    pub year: Option<&'a str>,
    pub student: Option<&'a str>,
}

/// A window of the candidates the filter keeps, and how many there are (when `counted`).
pub async fn candidate_page(
    conn: &mut Conn,
    f: &CandidateFilter<'_>,
    window: Window,
    counted: bool,
) -> Result<Page<CandidateRow>> {
    let pattern = f.search.map(Search::pattern);
    let (count, page) = match f {
        CandidateFilter { year: Some(_), .. } => (YEAR_CANDIDATE_COUNT, YEAR_CANDIDATE_PAGE),
        CandidateFilter { year: None, search: None, student: None } => (CANDIDATE_COUNT, CANDIDATE_WALK),
        CandidateFilter { year: None, .. } => (CANDIDATE_COUNT, CANDIDATE_PAGE),
    };
    let total = match counted {
        true => Some(on!(conn, |c| sqlx::query_scalar(count)
            .bind(pattern)
            .bind(f.year)
            .bind(f.student)
            .fetch_one(c)
            .await)?),
        false => None,
    };
    let rows = on!(conn, |c| sqlx::query_as(page)
        .bind(pattern)
        .bind(f.year)
        .bind(f.student)
        .bind(window.limit())
        .bind(window.offset())
        .fetch_all(c)
        .await)?;
    Ok(Page { total, offset: window.offset(), rows })
}

/// Every candidate the filter keeps, by student.
pub async fn candidates(conn: &mut Conn, f: &CandidateFilter<'_>) -> Result<Vec<CandidateRow>> {
    Ok(on!(conn, |c| {
        let sql = if f.year.is_some() { YEAR_CANDIDATES } else { CANDIDATES };
        sqlx::query_as(sql).bind(f.search.map(Search::pattern)).bind(f.year).bind(f.student).fetch_all(c).await
    })?)
}

/// The academic years that have candidates, latest first: what Exonérations filters by.
/// The years of the candidates: each found by one step down the index of situations (the latest
/// year before the one found last), not by reading every candidate of every year to learn them
/// (0.9 / 1.9 ms on five / ten years, for each page Exonérations shows; 0.10 / 0.16 this way).
pub const CANDIDATE_YEARS: &str = "WITH RECURSIVE y (year) AS (
         SELECT MAX(r.academic_year) FROM requests r WHERE r.situation = '05' AND r.status = 'approved'
         UNION ALL
         SELECT (SELECT MAX(r.academic_year) FROM requests r
                 WHERE r.situation = '05' AND r.status = 'approved' AND r.academic_year < y.year)
         FROM y WHERE y.year IS NOT NULL)
     SELECT y.year FROM y WHERE y.year IS NOT NULL
     UNION
     SELECT r.academic_year FROM exemption_additions x CROSS JOIN invoices i CROSS JOIN orders o CROSS JOIN requests r
     WHERE i.id = x.invoice_id AND o.id = i.order_id AND r.id = o.request_id AND r.status = 'approved'
     ORDER BY 1 DESC";

pub async fn candidate_years(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(on!(conn, |c| { sqlx::query_scalar(CANDIDATE_YEARS).fetch_all(c).await })?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutcomeRow {
    pub id: i64,
    pub session: String,
    pub student_id: i64,
    pub invoice_id: i64,
    #[sqlx(try_from = "String")]
    pub outcome: OutcomeKind,
    pub exempted_cents: i64,
    pub reference: String,
    pub credit_note_id: Option<i64>,
    pub refund_id: Option<i64>,
    pub cancelled: String,
}

pub async fn active_outcome(conn: &mut Conn, invoice_id: i64) -> Result<Option<OutcomeRow>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT o.id, c.name AS session, o.student_id, o.invoice_id, o.outcome, o.exempted_cents, o.reference, o.credit_note_id,
                o.refund_id, o.cancelled
         FROM exemption_outcomes o JOIN commission_sessions c ON c.id = o.session_id
         WHERE o.invoice_id = $1 AND o.reversed_at IS NULL",
    )
    .bind(invoice_id)
    .fetch_optional(c).await
    })?)
}

/// The outcomes in force on `invoices`: those a page of candidates shows.
pub async fn active_outcomes_of(conn: &mut Conn, invoices: &[i64]) -> Result<Vec<OutcomeRow>> {
    let mut out = Vec::new();
    for chunk in invoices.chunks(500) {
        let rows: Vec<OutcomeRow> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT o.id, c.name AS session, o.student_id, o.invoice_id, o.outcome, o.exempted_cents, o.reference,
                        o.credit_note_id, o.refund_id, o.cancelled
                 FROM exemption_outcomes o JOIN commission_sessions c ON c.id = o.session_id
                 WHERE o.reversed_at IS NULL AND o.invoice_id IN (",
            );
            super::push_ids(&mut q, chunk);
            q.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows);
    }
    out.sort_by_key(|o| o.id);
    Ok(out)
}

pub async fn active_outcomes(conn: &mut Conn) -> Result<Vec<OutcomeRow>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT o.id, c.name AS session, o.student_id, o.invoice_id, o.outcome, o.exempted_cents, o.reference, o.credit_note_id,
                o.refund_id, o.cancelled
         FROM exemption_outcomes o JOIN commission_sessions c ON c.id = o.session_id
         WHERE o.reversed_at IS NULL ORDER BY o.id",
    )
    .fetch_all(c).await
    })?)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_outcome(
    conn: &mut Conn,
    session_id: i64,
    student_id: i64,
    invoice_id: i64,
    outcome: OutcomeKind,
    exempted: Money,
    reference: &str,
    actor: &str,
    credit_note_id: Option<i64>,
    refund_id: Option<i64>,
    cancelled: &[i64],
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| {
        sqlx::query_as(
        "INSERT INTO exemption_outcomes (session_id, student_id, invoice_id, outcome, exempted_cents, reference, decided_by, decided_at,
            credit_note_id, refund_id, cancelled)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(session_id)
    .bind(student_id)
    .bind(invoice_id)
    .bind(outcome.code())
    .bind(exempted.cents())
    .bind(reference)
    .bind(actor)
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(credit_note_id)
    .bind(refund_id)
    .bind(serde_json::to_string(cancelled).expect("json"))
    .fetch_one(c).await
    })?;
    Ok(id)
}

/// The re-billing invoices of an invoice's reversed outcomes, latest first.
pub async fn rebill_numbers(conn: &mut Conn, invoice_id: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = on!(conn, |c| sqlx::query_as(
        "SELECT i.number FROM exemption_outcomes o JOIN invoices i ON i.id = o.reversal_invoice_id
         WHERE o.invoice_id = $1 ORDER BY o.id DESC",
    )
    .bind(invoice_id)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

pub async fn mark_reversed(conn: &mut Conn, id: i64, reversal_invoice: Option<i64>) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "UPDATE exemption_outcomes SET reversed_at = $1, reversal_invoice_id = $2 WHERE id = $3"
    )
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(reversal_invoice)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn refund_status(conn: &mut Conn, id: i64) -> Result<(RefundStatus, Money)> {
    let (Code(s), c): (Code<RefundStatus>, i64) =
        on!(conn, |c| sqlx::query_as("SELECT status, amount_cents FROM refunds WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await)?;
    Ok((s, Money::from_cents(c)))
}

pub async fn credit_note(conn: &mut Conn, id: i64) -> Result<(String, Money)> {
    let (n, c): (String, i64) =
        on!(conn, |c| sqlx::query_as("SELECT number, amount_cents FROM credit_notes WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await)?;
    Ok((n, Money::from_cents(c)))
}

pub async fn credit_note_id(conn: &mut Conn, number: &str) -> Result<i64> {
    let (id,): (i64,) =
        on!(conn, |c| sqlx::query_as("SELECT id FROM credit_notes WHERE number = $1").bind(number).fetch_one(c).await)?;
    Ok(id)
}

pub async fn order_of_invoice(conn: &mut Conn, invoice_id: i64) -> Result<(i64, String)> {
    Ok(on!(conn, |c| sqlx::query_as("SELECT order_id, session FROM invoices WHERE id = $1")
        .bind(invoice_id)
        .fetch_one(c)
        .await)?)
}

/// Installments not cancelled by due day, from `$1` to `$2` (read from `installments_due` alone).
pub const EXPECTED_BY_DAY: &str = "SELECT due_date, CAST(SUM(amount_cents) AS BIGINT) FROM installments
         WHERE status <> 'cancelled' AND due_date >= $1 AND due_date <= $2 GROUP BY due_date";
/// What credit notes took off those installments, by their due day.
pub const CREDITED_BY_DAY: &str = "SELECT t.due_date, CAST(SUM(x.amount_cents) AS BIGINT)
         FROM credit_allocations x JOIN installments t ON t.id = x.installment_id
         WHERE t.status <> 'cancelled' AND t.due_date >= $1 AND t.due_date <= $2 GROUP BY t.due_date";
/// Payments by day, from `$1` to `$2` (read from `payments_date` alone).
pub const COLLECTED_BY_DAY: &str = "SELECT date, CAST(SUM(amount_cents) AS BIGINT) FROM payments
         WHERE date >= $1 AND date <= $2 GROUP BY date";

/// Expected (installments not cancelled, less what credit notes took, by due month) and collected
/// (payments, by month), between two days, each month as `2026-09`, in order. The database sums
/// by day (a few hundred rows a year), the months are added up here.
pub async fn monthly(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>)> {
    let expected: Vec<(NaiveDate, i64)> =
        on!(conn, |c| { sqlx::query_as(EXPECTED_BY_DAY).bind(from).bind(to).fetch_all(c).await })?;
    let credited: Vec<(NaiveDate, i64)> =
        on!(conn, |c| { sqlx::query_as(CREDITED_BY_DAY).bind(from).bind(to).fetch_all(c).await })?;
    let collected: Vec<(NaiveDate, i64)> =
        on!(conn, |c| { sqlx::query_as(COLLECTED_BY_DAY).bind(from).bind(to).fetch_all(c).await })?;
    let credits = credited.into_iter().map(|(day, cents)| (day, -cents));
    Ok((by_month(expected.into_iter().chain(credits)), by_month(collected)))
}

/// Day sums added up by month, in order.
fn by_month(days: impl IntoIterator<Item = (NaiveDate, i64)>) -> Vec<(String, i64)> {
    let mut months: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (day, cents) in days {
        *months.entry(day.format("%Y-%m").to_string()).or_default() += cents;
    }
    months.into_iter().collect()
}

/// The invoices of the active outcomes (of an academic year's requests, or all), with the school
/// and programme billed: what the report groups them by.
pub async fn outcome_groups(conn: &mut Conn, year: Option<&str>) -> Result<Vec<(i64, String, String)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT o.invoice_id, s.school, r.programme FROM exemption_outcomes o
         JOIN invoices i ON i.id = o.invoice_id
         JOIN orders d ON d.id = i.order_id
         JOIN requests r ON r.id = d.request_id
         JOIN students s ON s.id = r.student_id
         WHERE o.reversed_at IS NULL AND ($1 IS NULL OR r.academic_year = $1)"
    )
    .bind(year)
    .fetch_all(c)
    .await)?)
}

/// Refunds with their student, for the list of refunds to pay.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct RefundRow {
    pub id: i64,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub date: NaiveDate,
    pub amount_cents: i64,
    #[sqlx(try_from = "String")]
    pub status: RefundStatus,
    pub iban: Option<String>,
}

pub async fn refunds(conn: &mut Conn) -> Result<Vec<RefundRow>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT f.id, s.number AS student_number, s.last_name, s.first_name, f.date, f.amount_cents, f.status, f.iban
         FROM refunds f JOIN students s ON s.id = f.student_id WHERE f.status != 'cancelled' ORDER BY f.status DESC, f.date, f.id",
    )
    .fetch_all(c).await
    })?)
}

/// The invoice of a student's latest approved request, with its situation: what a finance manager
/// puts before the commission by hand.
pub async fn latest_request_invoice(conn: &mut Conn, student_number: &str) -> Result<Option<(i64, String, String)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT i.id, i.number, r.situation FROM requests r
         JOIN students s ON s.id = r.student_id
         JOIN orders o ON o.request_id = r.id
         JOIN invoices i ON i.order_id = o.id
         WHERE s.number = $1 AND r.status = 'approved'
         ORDER BY r.requested_on DESC, i.id DESC LIMIT 1",
    )
    .bind(student_number)
    .fetch_optional(c)
    .await)?)
}

/// Adds an invoice to the commission's candidates; false when it already was one.
pub async fn insert_addition(conn: &mut Conn, invoice_id: i64, actor: &str, reason: &str) -> Result<bool> {
    let done = on!(conn, |c| sqlx::query(
        "INSERT INTO exemption_additions (invoice_id, added_by, added_at, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (invoice_id) DO NOTHING",
    )
    .bind(invoice_id)
    .bind(actor)
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(reason)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
