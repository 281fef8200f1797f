//! Storage of students.

use super::Conn;
use crate::Result;
use regie_rules::ledger::{NewStudent, Student, StudentNumber};

#[derive(sqlx::FromRow)]
struct StudentRow {
    id: i64,
    number: String,
    last_name: String,
    first_name: String,
    email: String,
    school: String,
}

impl StudentRow {
    fn into_student(self) -> Result<Student> {
        Ok(Student {
            id: self.id,
            number: StudentNumber::parse(&self.number)?,
            last_name: self.last_name,
            first_name: self.first_name,
            email: self.email,
            school: self.school.parse()?,
        })
    }
}

pub async fn by_number(conn: &mut Conn, number: &StudentNumber) -> Result<Option<Student>> {
    let row: Option<StudentRow> = on!(conn, |c| sqlx::query_as(
        "SELECT id, number, last_name, first_name, email, school FROM students WHERE number = $1"
    )
    .bind(number.as_str())
    .fetch_optional(c)
    .await)?;
    row.map(StudentRow::into_student).transpose()
}

pub async fn insert(conn: &mut Conn, s: &NewStudent) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO students (number, last_name, first_name, email, school, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(s.number.as_str())
    .bind(&s.last_name)
    .bind(&s.first_name)
    .bind(&s.email)
    .bind(s.school.code())
    .bind(chrono::Utc::now().to_rfc3339())
    .fetch_one(c)
    .await)?;
    Ok(id)
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM students").fetch_one(c).await)?;
    Ok(n)
}

/// One line of the students list, with the ledger totals its balance is computed from.
#[derive(Debug, sqlx::FromRow)]
pub struct StudentTotalsRow {
    pub number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: String,
    pub session: Option<String>,
    pub situation: Option<String>,
    pub invoiced_cents: i64,
    pub refunds_cents: i64,
    pub payments_cents: i64,
    pub credit_notes_cents: i64,
}

/// The students a search finds (`$1`: `%text%` in lower case, or NULL for all): one filter for the
/// list and its count, so that the count is always the list's.
macro_rules! students_matching {
    () => {
        " WHERE $1 IS NULL OR lower(s.number) LIKE $1 OR lower(s.last_name) LIKE $1 OR lower(s.first_name) LIKE $1
            OR lower(s.last_name || ' ' || s.first_name) LIKE $1 OR lower(s.first_name || ' ' || s.last_name) LIKE $1 "
    };
}

pub const STUDENTS: &str = concat!(
    "SELECT s.number, s.last_name, s.first_name, s.email, s.school,
            (SELECT r.session FROM requests r WHERE r.student_id = s.id ORDER BY r.requested_on DESC, r.id DESC LIMIT 1) AS session,
            (SELECT r.situation FROM requests r WHERE r.student_id = s.id ORDER BY r.requested_on DESC, r.id DESC LIMIT 1) AS situation,
            COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l
                      JOIN invoices i ON i.id = l.invoice_id WHERE i.student_id = s.id), 0) AS invoiced_cents,
            COALESCE((SELECT CAST(SUM(f.amount_cents) AS BIGINT) FROM refunds f WHERE f.student_id = s.id AND f.status = 'paid'), 0) AS refunds_cents,
            COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM payments p WHERE p.student_id = s.id), 0) AS payments_cents,
            COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
                      WHERE i.student_id = s.id), 0) AS credit_notes_cents
         FROM students s",
    students_matching!(),
    "         ORDER BY s.last_name, s.first_name, s.number
         LIMIT $2"
);

/// How many students match `query`, as `list_with_totals` matches them.
pub async fn count_matching(conn: &mut Conn, query: Option<&str>) -> Result<i64> {
    let pattern = query.map(|q| format!("%{}%", q.trim().to_lowercase()));
    let (n,): (i64,) =
        on!(conn, |c| sqlx::query_as(concat!("SELECT COUNT(*) FROM students s", students_matching!()),)
            .bind(pattern)
            .fetch_one(c)
            .await)?;
    Ok(n)
}

/// Students matching `query` (number, last or first name, case-insensitive), with their totals.
pub async fn list_with_totals(conn: &mut Conn, query: Option<&str>, limit: i64) -> Result<Vec<StudentTotalsRow>> {
    let pattern = query.map(|q| format!("%{}%", q.trim().to_lowercase()));
    Ok(on!(conn, |c| { sqlx::query_as(STUDENTS).bind(pattern).bind(limit).fetch_all(c).await })?)
}
