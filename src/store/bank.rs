//! Storage of statements, their lines, the payments they became, payer aliases and import profiles.

use chrono::NaiveDate;

use super::Conn;
use crate::Result;
use crate::bank::matching::{OpenItem, Payee};
use crate::money::Money;

pub async fn insert_statement(
    conn: &mut Conn,
    file: &str,
    sheet: Option<&str>,
    actor: &str,
    rows: usize,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO statements (file, sheet, imported_at, imported_by, rows, new_lines, already_known)
         VALUES ($1, $2, $3, $4, $5, 0, 0) RETURNING id",
    )
    .bind(file)
    .bind(sheet)
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(actor)
    .bind(rows as i64)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn set_statement_counts(conn: &mut Conn, id: i64, new_lines: usize, already_known: usize) -> Result<()> {
    sqlx::query("UPDATE statements SET new_lines = $1, already_known = $2 WHERE id = $3")
        .bind(new_lines as i64)
        .bind(already_known as i64)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts a line unless its fingerprint is known; returns its id when new.
#[allow(clippy::too_many_arguments)]
pub async fn insert_line(
    conn: &mut Conn,
    statement_id: i64,
    fingerprint: &str,
    row: usize,
    date: NaiveDate,
    value_date: Option<NaiveDate>,
    label: &str,
    amount: Money,
) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO statement_lines (statement_id, fingerprint, source_row, date, value_date, label, amount_cents, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'unmatched')
         ON CONFLICT (fingerprint) DO NOTHING RETURNING id",
    )
    .bind(statement_id)
    .bind(fingerprint)
    .bind(row as i64)
    .bind(date)
    .bind(value_date)
    .bind(label)
    .bind(amount.cents())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn set_line_outcome(
    conn: &mut Conn,
    id: i64,
    status: &str,
    score: Option<i64>,
    reasons: &str,
    suggestions: &str,
) -> Result<()> {
    sqlx::query("UPDATE statement_lines SET status = $1, score = $2, reasons = $3, suggestions = $4 WHERE id = $5")
        .bind(status)
        .bind(score)
        .bind(reasons)
        .bind(suggestions)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_line_status(conn: &mut Conn, id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE statement_lines SET status = $1 WHERE id = $2").bind(status).bind(id).execute(conn).await?;
    Ok(())
}

pub async fn link_payment(conn: &mut Conn, line_id: i64, payment_id: i64) -> Result<()> {
    sqlx::query("INSERT INTO line_payments (line_id, payment_id) VALUES ($1, $2)")
        .bind(line_id)
        .bind(payment_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: i64,
    pub date: NaiveDate,
    pub label: String,
    pub amount_cents: i64,
    pub status: String,
    pub score: Option<i64>,
    pub reasons: String,
    pub suggestions: String,
    /// The student of the line's first payment, when matched.
    pub student_number: Option<String>,
    /// What the line's payments add up to (reversals included).
    pub assigned_cents: i64,
}

macro_rules! select_lines {
    ($tail:literal) => {
        concat!(
            "SELECT l.id, l.date, l.label, l.amount_cents, l.status, l.score, l.reasons, l.suggestions,
                (SELECT s.number FROM line_payments lp JOIN payments p ON p.id = lp.payment_id JOIN students s ON s.id = p.student_id
                 WHERE lp.line_id = l.id AND p.reverses IS NULL
                   AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id) ORDER BY p.id LIMIT 1) AS student_number,
                COALESCE((SELECT SUM(p.amount_cents) FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
                          WHERE lp.line_id = l.id), 0) AS assigned_cents
             FROM statement_lines l ",
            $tail
        )
    };
}

pub async fn lines(conn: &mut Conn, status: Option<&str>) -> Result<Vec<LineRow>> {
    Ok(sqlx::query_as(select_lines!("WHERE $1 IS NULL OR l.status = $1 ORDER BY l.date, l.id"))
        .bind(status)
        .fetch_all(conn)
        .await?)
}

pub async fn line(conn: &mut Conn, id: i64) -> Result<Option<LineRow>> {
    Ok(sqlx::query_as(select_lines!("WHERE l.id = $1")).bind(id).fetch_optional(conn).await?)
}

/// The line's payments not yet reversed: (payment id, student id, amount).
pub async fn live_payments(conn: &mut Conn, line_id: i64) -> Result<Vec<(i64, i64, Money)>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT p.id, p.student_id, p.amount_cents FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
         WHERE lp.line_id = $1 AND p.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
         ORDER BY p.id",
    )
    .bind(line_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(p, s, c)| (p, s, Money::from_cents(c))).collect())
}

/// Records the reversal of a payment: a negative payment and negative allocations mirroring it.
pub async fn reverse_payment(conn: &mut Conn, payment_id: i64, date: NaiveDate, reference: &str) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO payments (student_id, date, amount_cents, method, reference, reverses)
         SELECT student_id, $1, -amount_cents, method, $2, id FROM payments WHERE id = $3 RETURNING id",
    )
    .bind(date)
    .bind(reference)
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO allocations (payment_id, installment_id, amount_cents)
         SELECT $1, installment_id, -amount_cents FROM allocations WHERE payment_id = $2",
    )
    .bind(id)
    .bind(payment_id)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Every student with something left to pay, with open installments in due order and aliases.
pub async fn payees(conn: &mut Conn) -> Result<Vec<Payee>> {
    let rows: Vec<(i64, String, String, String, String, i64, i64, NaiveDate, i64, String)> = sqlx::query_as(
        "SELECT s.id, s.number, s.last_name, s.first_name, s.school, t.id, t.n, t.due_date,
                t.amount_cents - COALESCE(a.paid, 0), i.number
         FROM installments t
         JOIN invoices i ON i.id = t.invoice_id
         JOIN students s ON s.id = i.student_id
         LEFT JOIN (SELECT installment_id, SUM(amount_cents) AS paid FROM allocations GROUP BY installment_id) a
                ON a.installment_id = t.id
         WHERE t.status = 'scheduled' AND t.amount_cents - COALESCE(a.paid, 0) > 0
         ORDER BY s.id, t.due_date, t.invoice_id, t.n",
    )
    .fetch_all(&mut *conn)
    .await?;
    let aliases: Vec<(i64, String)> =
        sqlx::query_as("SELECT student_id, alias FROM payer_aliases ORDER BY id").fetch_all(&mut *conn).await?;
    let mut by_student: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for (s, a) in aliases {
        by_student.entry(s).or_default().push(a);
    }
    let mut out: Vec<Payee> = Vec::new();
    for (sid, number, last, first, school, tid, n, due, left, invoice) in rows {
        if out.last().is_none_or(|p| p.student_id != sid) {
            out.push(Payee {
                student_id: sid,
                number,
                last_name: last,
                first_name: first,
                school: school.parse()?,
                open: Vec::new(),
                aliases: by_student.remove(&sid).unwrap_or_default(),
            });
        }
        let p = out.last_mut().expect("just pushed");
        p.open.push(OpenItem {
            installment_id: tid,
            n,
            due_date: due,
            left: Money::from_cents(left),
            invoice_number: invoice,
        });
    }
    Ok(out)
}

/// Remembers a payer's name as an alias of a student; returns whether it was new.
pub async fn add_alias(conn: &mut Conn, student_id: i64, alias: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO payer_aliases (student_id, alias, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(student_id)
    .bind(alias)
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn save_profile(conn: &mut Conn, name: &str, mapping: &str) -> Result<()> {
    sqlx::query("INSERT INTO import_profiles (name, mapping) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping")
        .bind(name)
        .bind(mapping)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn profile(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT mapping FROM import_profiles WHERE name = $1").bind(name).fetch_optional(conn).await?;
    Ok(row.map(|(m,)| m))
}

pub async fn profiles(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT name, mapping FROM import_profiles ORDER BY name").fetch_all(conn).await?)
}
