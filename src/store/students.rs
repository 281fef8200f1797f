//! Storage of students.

use std::collections::HashMap;

use super::Conn;
use crate::Result;
use regie_rules::ledger::{NewStudent, Student, StudentNumber};
use regie_rules::page::{Search, search_key};

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
        "INSERT INTO students (number, last_name, first_name, email, school, created_at, search_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(s.number.as_str())
    .bind(&s.last_name)
    .bind(&s.first_name)
    .bind(&s.email)
    .bind(s.school.code())
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(search_key(s.number.as_str(), &s.last_name, &s.first_name))
    .fetch_one(c)
    .await)?;
    Ok(id)
}

/// The ids of the students among `numbers` who exist, by number.
pub async fn ids_of(conn: &mut Conn, numbers: &[&str]) -> Result<HashMap<String, i64>> {
    Ok(super::by_texts(conn, "SELECT number, id FROM students WHERE number IN (", numbers).await?.into_iter().collect())
}

/// Inserts students in multi-row statements; returns their ids by number.
pub async fn insert_many(conn: &mut Conn, students: &[&NewStudent]) -> Result<HashMap<String, i64>> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut out = HashMap::with_capacity(students.len());
    for chunk in students.chunks(1000) {
        let rows: Vec<(String, i64)> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO students (number, last_name, first_name, email, school, created_at, search_key) ",
            );
            q.push_values(chunk, |mut b, s| {
                b.push_bind(s.number.as_str())
                    .push_bind(&s.last_name)
                    .push_bind(&s.first_name)
                    .push_bind(&s.email)
                    .push_bind(s.school.code())
                    .push_bind(&now)
                    .push_bind(search_key(s.number.as_str(), &s.last_name, &s.first_name));
            });
            q.push(" RETURNING number, id");
            q.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
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

/// The students a search finds (`$1`: a `LIKE` pattern on the search key, or NULL for all), on `x`:
/// one filter for the list and its count, so that the count is always the list's.
macro_rules! students_matching {
    () => {
        " WHERE $1 IS NULL OR x.search_key LIKE $1 ESCAPE '\\' "
    };
}

/// One window of the students (`$2` from `$3`) by name, its ids found first: only its students'
/// totals are computed.
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
         FROM students s
         WHERE s.id IN (SELECT x.id FROM students x",
    students_matching!(),
    "         ORDER BY x.last_name, x.first_name, x.number LIMIT $2 OFFSET $3)
         ORDER BY s.last_name, s.first_name, s.number"
);

/// Whether students added before the search key was kept have none yet.
pub async fn keys_missing(conn: &mut Conn) -> Result<bool> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM students WHERE search_key = '')")
        .fetch_one(c)
        .await)?)
}

/// Gives every student without one its search key (a student always has a number: a key is never
/// empty once filled).
pub async fn fill_search_keys(conn: &mut Conn) -> Result<u64> {
    let rows: Vec<(i64, String, String, String)> = on!(conn, |c| sqlx::query_as(
        "SELECT id, number, last_name, first_name FROM students WHERE search_key = '' ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    for (id, number, last, first) in &rows {
        on!(conn, |c| sqlx::query("UPDATE students SET search_key = $2 WHERE id = $1")
            .bind(id)
            .bind(search_key(number, last, first))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(rows.len() as u64)
}

/// How many students match `search`, as `list_with_totals` matches them; without a search, asked
/// plainly (see `requests::count_matching`).
pub async fn count_matching(conn: &mut Conn, search: Option<&Search>) -> Result<i64> {
    if search.is_none() {
        return Ok(on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM students").fetch_one(c).await)?);
    }
    let (n,): (i64,) =
        on!(conn, |c| sqlx::query_as(concat!("SELECT COUNT(*) FROM students x", students_matching!()),)
            .bind(search.map(Search::pattern))
            .fetch_one(c)
            .await)?;
    Ok(n)
}

/// Students matching `search` (number, last or first name, case-insensitive), by name, with
/// their totals: `limit` from `offset`.
pub async fn list_with_totals(
    conn: &mut Conn,
    search: Option<&Search>,
    offset: i64,
    limit: i64,
) -> Result<Vec<StudentTotalsRow>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(STUDENTS).bind(search.map(Search::pattern)).bind(limit).bind(offset).fetch_all(c).await
    })?)
}
