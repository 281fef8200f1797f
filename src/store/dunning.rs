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
}

pub const OVERDUE: &str =
    "SELECT b.id AS installment_id, b.n, b.due_date, b.amount_cents - b.settled_cents AS left_cents,
                i.number AS invoice_number, s.number AS student_number, s.last_name, s.first_name, s.email, s.school,
                r.plan,
                (SELECT r.response_code FROM card_refusals r WHERE r.installment_id = b.id) AS refused_code,
                EXISTS (SELECT 1 FROM allocations a JOIN payments p ON p.id = a.payment_id
                        WHERE a.installment_id = b.id AND p.reversal = 'unpaid') AS came_back,
                COALESCE(d.level, 0) AS level
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
