//! Storage of reminder levels and runs, and the read of what is overdue.

use chrono::NaiveDate;

use super::Conn;
use crate::Result;

/// An installment still due on or before `as_of`, or whose card debit was refused, with its
/// student and its reminder level so far (0: none).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueRow {
    pub installment_id: i64,
    pub n: i64,
    pub due_date: NaiveDate,
    pub left_cents: i64,
    pub invoice_number: String,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: String,
    pub plan: Option<String>,
    /// The gateway's response code of a refused card debit of it ('' when it gave none).
    pub refused_code: Option<String>,
    /// A payment of it came back (a charge-back, a returned transfer).
    pub came_back: bool,
    pub level: i64,
    /// The day of the run that raised it to `level` (none before any reminder).
    pub raised_on: Option<NaiveDate>,
}

pub const OVERDUE: &str =
    "SELECT b.id AS installment_id, b.n, b.due_date, b.amount_cents - b.settled_cents AS left_cents,
                i.number AS invoice_number, s.number AS student_number, s.last_name, s.first_name, s.email, s.school,
                r.plan,
                (SELECT r.response_code FROM card_refusals r WHERE r.installment_id = b.id) AS refused_code,
                EXISTS (SELECT 1 FROM allocations a JOIN payments p ON p.id = a.payment_id
                        WHERE a.installment_id = b.id AND p.reversal = 'unpaid') AS came_back,
                COALESCE(d.level, 0) AS level, d.raised_on
         FROM installments b
         JOIN invoices i ON i.id = b.invoice_id
         JOIN students s ON s.id = i.student_id
         JOIN orders o ON o.id = i.order_id
         LEFT JOIN requests r ON r.id = o.request_id
         LEFT JOIN dunning d ON d.installment_id = b.id
         WHERE b.status <> 'cancelled' AND b.settled_cents < b.amount_cents
           AND (b.due_date < $1
                OR EXISTS (SELECT 1 FROM card_refusals r WHERE r.installment_id = b.id AND r.date <= $1))
         ORDER BY s.last_name, s.first_name, s.number, b.due_date, b.n";

pub async fn overdue(conn: &mut Conn, as_of: NaiveDate) -> Result<Vec<OverdueRow>> {
    Ok(on!(conn, |c| { sqlx::query_as(OVERDUE).bind(as_of).fetch_all(c).await })?)
}

/// One school's `Cutoffs` as the levels' statements read them.
#[derive(Debug, Clone, Copy)]
pub struct SchoolCutoffs<'a> {
    pub school: &'a str,
    pub cutoffs: regie_rules::dunning::Cutoffs,
}

/// The level computations shared by the levels' statements, on `b` (an installment), `s` (its
/// student) and `d` (its reminders so far): the level already reached (0 to 3), the level its due
/// date and a refused debit give on `$1` (`Cutoffs::level`), and whether the level reached was
/// raised long enough ago for the next one (`spaced`), written as SQL with each school's cutoffs
/// (`$2` a school, `$3`-`$7` its first, second and block cutoffs, then its second-after-first and
/// block-after-second; `$8`-`$13` the other's). tests/paging.rs compares the result with the rule
/// (`dunning::list`) on every installment, on several days, between runs.
macro_rules! level_columns {
    () => {
        "CASE WHEN COALESCE(d.level, 0) >= 3 THEN 3 WHEN COALESCE(d.level, 0) <= 0 THEN 0 ELSE d.level END AS reached,
         CASE WHEN (s.school = $2 AND b.due_date <= $5) OR (s.school = $8 AND b.due_date <= $11) THEN 3
              WHEN (s.school = $2 AND b.due_date <= $4) OR (s.school = $8 AND b.due_date <= $10) THEN 2
              WHEN EXISTS (SELECT 1 FROM card_refusals f WHERE f.installment_id = b.id)
                   OR (s.school = $2 AND b.due_date <= $3) OR (s.school = $8 AND b.due_date <= $9) THEN 1
              ELSE 0 END AS due_level,
         CASE WHEN d.raised_on IS NULL THEN 1
              WHEN d.level = 1 AND ((s.school = $2 AND d.raised_on <= $6) OR (s.school = $8 AND d.raised_on <= $12)) THEN 1
              WHEN d.level = 2 AND ((s.school = $2 AND d.raised_on <= $7) OR (s.school = $8 AND d.raised_on <= $13)) THEN 1
              ELSE 0 END AS spaced"
    };
}

/// The installments `b` with their invoices `i` and students `s`, read from the installments
/// (the index of unsettled ones by due date): `from` the tables, `join` the join's condition.
macro_rules! from_installments {
    (from) => {
        "FROM installments b JOIN invoices i ON i.id = b.invoice_id JOIN students s ON s.id = i.student_id "
    };
    (join) => {
        ""
    };
}

/// The same read from the students with something open, in the list's order (the partial index
/// by name, `students_owing`): a first page then stops after the students it shows, as quick on
/// ten years as on five, where reading every overdue installment to sort them grows with the
/// history (21 -> 39 ms). Walking every student instead read 1,074 of them on five years and
/// 1,722 on ten for the first 100 rows (2.5 -> 3.4 ms); those with something open are 6,665 and
/// 11,167 of 64,405 and 122,512. `CROSS JOIN` keeps that order in SQLite. A search reads few rows
/// the other way.
macro_rules! from_students {
    (from) => {
        "FROM students s CROSS JOIN invoices i CROSS JOIN installments b "
    };
    (join) => {
        "s.open_installments > 0 AND i.student_id = s.id AND b.invoice_id = i.id AND "
    };
}

/// What is overdue on `$1` (as `OVERDUE`), `$columns` of each with the level a run would give it
/// (`next_level`: `Cutoffs::next`, one level up when the delays and the last reminder's age
/// allow), its rows read as `$from` says (`from_installments` or `from_students`).
macro_rules! leveled {
    ($from:ident, $columns:expr, $joins:expr, $and:expr) => {
        concat!(
            "SELECT o.*, CASE WHEN o.due_level <= o.reached THEN o.reached
                         WHEN o.reached = 0 THEN 1
                         WHEN o.spaced = 1 AND o.reached < 3 THEN o.reached + 1
                         ELSE o.reached END AS next_level
             FROM (SELECT ", $columns, ", ", level_columns!(), " ",
            $from!(from), $joins, "
                   LEFT JOIN dunning d ON d.installment_id = b.id
                   WHERE ", $from!(join), "b.status <> 'cancelled' AND b.settled_cents < b.amount_cents
                     AND (b.due_date < $1
                          OR EXISTS (SELECT 1 FROM card_refusals r WHERE r.installment_id = b.id AND r.date <= $1))",
            $and,
            ") o"
        )
    };
}

/// Only what the counts, the filters and the order read.
macro_rules! lean {
    ($from:ident) => {
        leveled!(
            $from,
            "b.id AS installment_id, b.n, b.due_date, i.number AS invoice_number, s.number AS student_number,
             s.last_name, s.first_name, s.search_key",
            "",
            ""
        )
    };
}

/// What the window keeps: `$14` a level (0: any), `$15` a `LIKE` pattern on the student's search
/// key or the invoice's number.
macro_rules! leveled_filter {
    () => {
        "(CAST($14 AS BIGINT) = 0 OR x.next_level = $14)
         AND ($15 IS NULL OR x.search_key LIKE $15 ESCAPE '\\' OR lower(x.invoice_number) LIKE $15 ESCAPE '\\')"
    };
}

/// Per level a run would give (1 to 3): how many installments, how many of them it raises, and
/// how many the window's filter keeps.
pub const LEVEL_COUNTS: &str = concat!(
    "SELECT x.next_level, COUNT(*), CAST(SUM(CASE WHEN x.next_level <> x.reached THEN 1 ELSE 0 END) AS BIGINT),
            CAST(SUM(CASE WHEN ",
    leveled_filter!(),
    " THEN 1 ELSE 0 END) AS BIGINT)
     FROM (",
    lean!(from_installments),
    ") x WHERE x.next_level > 0 GROUP BY x.next_level"
);

/// One window (`$16` rows from `$17`) in the list's order: its installments found on the lean
/// form first (read as `$from` says), then only theirs read whole.
macro_rules! leveled_page {
    ($from:ident) => {
        concat!(
            leveled!(
                from_installments,
                "b.id AS installment_id, b.n, b.due_date, b.amount_cents - b.settled_cents AS left_cents,
         i.number AS invoice_number, s.number AS student_number, s.last_name, s.first_name, s.email, s.school,
         rq.plan,
         (SELECT r.response_code FROM card_refusals r WHERE r.installment_id = b.id) AS refused_code,
         EXISTS (SELECT 1 FROM allocations a JOIN payments p ON p.id = a.payment_id
                 WHERE a.installment_id = b.id AND p.reversal = 'unpaid') AS came_back,
         COALESCE(d.level, 0) AS level, d.raised_on",
                "JOIN orders od ON od.id = i.order_id LEFT JOIN requests rq ON rq.id = od.request_id",
                concat!(
                    " AND b.id IN (SELECT x.installment_id FROM (",
                    lean!($from),
                    ") x WHERE x.next_level > 0 AND ",
                    leveled_filter!(),
                    " ORDER BY x.last_name, x.first_name, x.student_number, x.due_date, x.n LIMIT $16 OFFSET $17)"
                )
            ),
            " ORDER BY o.last_name, o.first_name, o.student_number, o.due_date, o.n"
        )
    };
}

/// A window of a search: its few students found from their installments.
pub const LEVELED_PAGE: &str = leveled_page!(from_installments);
/// A window of every overdue installment (or of a level): found by walking the students by name.
pub const LEVELED_WALK: &str = leveled_page!(from_students);

/// An overdue installment with the level a run would give it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeveledRow {
    #[sqlx(flatten)]
    pub row: OverdueRow,
    pub next_level: i64,
}

/// Binds the day and both schools' cutoffs ($1-$13) of the levels' statements.
macro_rules! bind_cutoffs {
    ($q:expr, $as_of:expr, $k:expr) => {
        $q.bind($as_of)
            .bind($k[0].school)
            .bind($k[0].cutoffs.first)
            .bind($k[0].cutoffs.second)
            .bind($k[0].cutoffs.blocked)
            .bind($k[0].cutoffs.second_after_first)
            .bind($k[0].cutoffs.block_after_second)
            .bind($k[1].school)
            .bind($k[1].cutoffs.first)
            .bind($k[1].cutoffs.second)
            .bind($k[1].cutoffs.blocked)
            .bind($k[1].cutoffs.second_after_first)
            .bind($k[1].cutoffs.block_after_second)
    };
}

/// Per level (1 to 3) on `as_of`: installments, of which raised by a run, of which kept by the
/// window's filter (`level`, any when `None`; `search`).
pub async fn level_counts(
    conn: &mut Conn,
    as_of: NaiveDate,
    k: &[SchoolCutoffs<'_>; 2],
    level: Option<i64>,
    search: Option<&regie_rules::page::Search>,
) -> Result<Vec<(i64, i64, i64, i64)>> {
    Ok(on!(conn, |c| bind_cutoffs!(sqlx::query_as(LEVEL_COUNTS), as_of, k)
        .bind(level.unwrap_or(0))
        .bind(search.map(regie_rules::page::Search::pattern))
        .fetch_all(c)
        .await)?)
}

/// A window of the overdue installments a run leaves at `level` (any when `None`) whose student
/// or invoice holds `search`.
pub async fn leveled_page(
    conn: &mut Conn,
    as_of: NaiveDate,
    k: &[SchoolCutoffs<'_>; 2],
    level: Option<i64>,
    search: Option<&regie_rules::page::Search>,
    window: regie_rules::page::Window,
) -> Result<Vec<LeveledRow>> {
    let sql = if search.is_some() { LEVELED_PAGE } else { LEVELED_WALK };
    Ok(on!(conn, |c| bind_cutoffs!(sqlx::query_as(sql), as_of, k)
        .bind(level.unwrap_or(0))
        .bind(search.map(regie_rules::page::Search::pattern))
        .bind(window.limit())
        .bind(window.offset())
        .fetch_all(c)
        .await)?)
}

/// The date of the latest reminders run (none before the first).
pub async fn latest_run(conn: &mut Conn) -> Result<Option<NaiveDate>> {
    let (on,): (Option<NaiveDate>,) =
        on!(conn, |c| sqlx::query_as("SELECT MAX(as_of) FROM dunning_runs").fetch_one(c).await)?;
    Ok(on)
}

pub async fn insert_run(conn: &mut Conn, as_of: NaiveDate, actor: &str) -> Result<i64> {
    let (id,): (i64,) =
        on!(conn, |c| sqlx::query_as("INSERT INTO dunning_runs (as_of, at, by) VALUES ($1, $2, $3) RETURNING id")
            .bind(as_of)
            .bind(chrono::Utc::now().to_rfc3339())
            .bind(actor)
            .fetch_one(c)
            .await)?;
    Ok(id)
}

pub async fn set_run_counts(
    conn: &mut Conn,
    id: i64,
    letters: usize,
    raised: usize,
    blocked: usize,
    cleared: usize,
) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "UPDATE dunning_runs SET letters = $2, raised = $3, blocked = $4, cleared = $5 WHERE id = $1"
    )
    .bind(id)
    .bind(letters as i64)
    .bind(raised as i64)
    .bind(blocked as i64)
    .bind(cleared as i64)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_level(conn: &mut Conn, installment_id: i64, level: i64, on: NaiveDate, run_id: i64) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO dunning (installment_id, level, raised_on, run_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (installment_id) DO UPDATE SET level = excluded.level, raised_on = excluded.raised_on,
            run_id = excluded.run_id",
    )
    .bind(installment_id)
    .bind(level)
    .bind(on)
    .bind(run_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes the levels of installments paid or cancelled since: (installment, level) removed.
pub async fn clear_settled(conn: &mut Conn) -> Result<Vec<(i64, i64)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "DELETE FROM dunning WHERE installment_id IN (
             SELECT b.id FROM installments b WHERE b.status = 'cancelled' OR b.settled_cents >= b.amount_cents)
         RETURNING installment_id, level",
    )
    .fetch_all(c)
    .await)?)
}
