//! Storage of offline sessions: in the office, the sessions checked out, the lines each took and
//! what became of each decision brought back; in a session file, its origin, versions and the
//! decisions taken offline. Also the copy of an office's rows into a new session file.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::{QueryBuilder, Row, Sqlite, TypeInfo, ValueRef};

use super::{Conn, Engine};
use crate::{Error, Result};

/// A session as the office knows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub name: String,
    pub file: String,
    pub checked_out_at: String,
    pub checked_out_by: String,
    pub status: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
}

pub async fn insert(conn: &mut Conn, name: &str, file: &str, at: &str, by: &str) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO sessions (name, file, checked_out_at, checked_out_by, status) VALUES ($1, $2, $3, $4, 'out')",
    )
    .bind(name)
    .bind(file)
    .bind(at)
    .bind(by)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<SessionRow>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT name, file, checked_out_at, checked_out_by, status, closed_at, closed_by FROM sessions WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(c)
    .await)?)
}

pub async fn list(conn: &mut Conn) -> Result<Vec<SessionRow>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT name, file, checked_out_at, checked_out_by, status, closed_at, closed_by FROM sessions
         ORDER BY checked_out_at DESC, name",
    )
    .fetch_all(c)
    .await)?)
}

/// Closes a session (`checked_in` or `discarded`): its lines are no longer shown as taken.
pub async fn close(conn: &mut Conn, name: &str, status: &str, at: &str, by: &str) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE sessions SET status = $1, closed_at = $2, closed_by = $3 WHERE name = $4")
        .bind(status)
        .bind(at)
        .bind(by)
        .bind(name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The lines a check-out may take: of these statuses (and of this statement), not held by a
/// session still out; each with its version: how many payments and reversals it is linked to,
/// and what they add up to.
pub async fn takeable_lines(
    conn: &mut Conn,
    statuses: &[&'static str],
    statement: Option<i64>,
) -> Result<Vec<(i64, i64, i64)>> {
    let wanted = format!(",{},", statuses.join(","));
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT l.id,
                (SELECT COUNT(*) FROM line_payments lp WHERE lp.line_id = l.id),
                COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM line_payments lp
                          JOIN payments p ON p.id = lp.payment_id WHERE lp.line_id = l.id), 0)
         FROM statement_lines l
         WHERE $1 LIKE '%,' || l.status || ',%' AND ($2 IS NULL OR l.statement_id = $2)
           AND l.remittance IS NULL
           AND NOT EXISTS (SELECT 1 FROM session_lines sl JOIN sessions s ON s.name = sl.session
                           WHERE sl.line_id = l.id AND s.status = 'out')
         ORDER BY l.date, l.id",
    )
    .bind(wanted)
    .bind(statement)
    .fetch_all(c)
    .await)?)
}

pub async fn take_line(conn: &mut Conn, session: &str, line_id: i64, links: i64, assigned_cents: i64) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO session_lines (session, line_id, links, assigned_cents) VALUES ($1, $2, $3, $4)",
    )
    .bind(session)
    .bind(line_id)
    .bind(links)
    .bind(assigned_cents)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The version of `line_id` when `session` took it: (links, assigned cents).
pub async fn taken(conn: &mut Conn, session: &str, line_id: i64) -> Result<Option<(i64, i64)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT links, assigned_cents FROM session_lines WHERE session = $1 AND line_id = $2"
    )
    .bind(session)
    .bind(line_id)
    .fetch_optional(c)
    .await)?)
}

/// How many payments and reversals a line is linked to now.
pub async fn line_links(conn: &mut Conn, line_id: i64) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM line_payments WHERE line_id = $1")
        .bind(line_id)
        .fetch_one(c)
        .await)?;
    Ok(n)
}

/// The links the session's applied decisions added to a line.
pub async fn returned_links(conn: &mut Conn, session: &str, line_id: i64) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(links), 0) AS BIGINT) FROM session_returns
         WHERE session = $1 AND line_id = $2 AND outcome = 'applied'",
    )
    .bind(session)
    .bind(line_id)
    .fetch_one(c)
    .await)?;
    Ok(n)
}

/// What a decision already became in the office: `applied` or `conflict`.
pub async fn returned(conn: &mut Conn, session: &str, seq: i64) -> Result<Option<String>> {
    let row: Option<(String,)> =
        on!(conn, |c| sqlx::query_as("SELECT outcome FROM session_returns WHERE session = $1 AND seq = $2")
            .bind(session)
            .bind(seq)
            .fetch_optional(c)
            .await)?;
    Ok(row.map(|(o,)| o))
}

/// A decision brought back: what it became in the office.
pub struct Return<'a> {
    pub session: &'a str,
    pub seq: i64,
    pub line_id: i64,
    pub applied: bool,
    pub links: i64,
    pub reason: Option<&'a str>,
    pub office: Option<&'a str>,
    pub at: &'a str,
    pub by: &'a str,
}

/// Records what a decision became; a conflict met again is replaced by the newer finding.
pub async fn record_return(conn: &mut Conn, r: &Return<'_>) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO session_returns (session, seq, line_id, outcome, links, reason, office, returned_at, returned_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (session, seq) DO UPDATE SET outcome = excluded.outcome, links = excluded.links,
             reason = excluded.reason, office = excluded.office, returned_at = excluded.returned_at,
             returned_by = excluded.returned_by",
    )
    .bind(r.session)
    .bind(r.seq)
    .bind(r.line_id)
    .bind(if r.applied { "applied" } else { "conflict" })
    .bind(r.links)
    .bind(r.reason)
    .bind(r.office)
    .bind(r.at)
    .bind(r.by)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The conflicts a session's check-ins left, for the window: (line, reason, office).
pub async fn conflicts(conn: &mut Conn, session: &str) -> Result<Vec<(i64, String, String)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT line_id, COALESCE(reason, ''), COALESCE(office, '') FROM session_returns
         WHERE session = $1 AND outcome = 'conflict' ORDER BY seq",
    )
    .bind(session)
    .fetch_all(c)
    .await)?)
}

pub const LINES_OUT: &str = "SELECT sl.line_id, s.name, s.checked_out_by, s.checked_out_at
     FROM session_lines sl JOIN sessions s ON s.name = sl.session WHERE s.status = 'out'";

/// Which session holds each line still out: line id -> (session, by, since).
pub async fn lines_out(conn: &mut Conn) -> Result<HashMap<i64, (String, String, String)>> {
    let rows: Vec<(i64, String, String, String)> = on!(conn, |c| sqlx::query_as(LINES_OUT).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(l, n, by, at)| (l, (n, by, at))).collect())
}

/// What the office did on a line since `since` (RFC 3339): (at, actor, action), from the audit log.
pub async fn line_history(conn: &mut Conn, line_id: i64, since: &str) -> Result<Vec<(String, String, String)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT at, actor, action FROM audit_log
         WHERE entity = 'statement_line' AND entity_id = $1 AND at >= $2 ORDER BY id",
    )
    .bind(line_id.to_string())
    .bind(since)
    .fetch_all(c)
    .await)?)
}

// --- In a session file.

/// Whether the SQLite file at `path` is a session file, looked at read-only: any other file (an
/// office's, someone's unrelated database, junk) is left exactly as it is.
pub async fn is_session_file(path: &std::path::Path) -> Result<bool> {
    let Ok(mut c) = read_only(path).await else { return Ok(false) };
    // A table, not a view or a virtual table: counting their rows would run their code.
    let kind: std::result::Result<Option<(String, String)>, sqlx::Error> =
        sqlx::query_as("SELECT type, COALESCE(sql, '') FROM sqlite_schema WHERE name = 'session_origin'")
            .fetch_optional(&mut c)
            .await;
    let found: std::result::Result<Option<(i64,)>, sqlx::Error> = match kind {
        Ok(Some((kind, sql))) if kind == "table" && !is_virtual(&sql) => {
            sqlx::query_as("SELECT COUNT(*) FROM session_origin").fetch_optional(&mut c).await
        }
        _ => Ok(None),
    };
    let _ = sqlx::Connection::close(c).await;
    Ok(matches!(found, Ok(Some((1,)))))
}

/// A read-only connection to the file at `path` that runs none of its schema's code with side
/// effects (`trusted_schema`) and checks each page's cells as it reads them.
async fn read_only(path: &std::path::Path) -> std::result::Result<sqlx::SqliteConnection, sqlx::Error> {
    use sqlx::Connection;
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .read_only(true)
        .pragma("trusted_schema", "OFF")
        .pragma("cell_size_check", "ON")
        .pragma("mmap_size", "0");
    sqlx::SqliteConnection::connect_with(&options).await
}

/// What a session file holds that Régie's own files never do, looked at read-only before the file
/// is opened as a database (which upgrades it, and so runs its schema): a damaged page, or a view,
/// trigger or virtual table other than Régie's (kind, name and text, as one of its migrations
/// left them): a name the check-in reads could otherwise run any query, and an upgrade any
/// statement. `None` when there is none.
pub async fn foreign_schema(path: &std::path::Path) -> Result<Option<String>> {
    let allowed = own_code().await?;
    let unreadable = |e: sqlx::Error| Error::Invalid(format!("{} : session illisible ({e})", path.display()));
    let mut c = read_only(path).await.map_err(unreadable)?;
    let objects: Vec<(String, String, String)> =
        sqlx::query_as(SCHEMA_OBJECTS).fetch_all(&mut c).await.map_err(unreadable)?;
    // A newer Régie's file holds what this one cannot know: said so, as opening it would. Its
    // list of migrations is read only when it is a table (a view's query would run).
    let newer = if objects.iter().any(|(kind, name, _)| kind == "table" && name == "_sqlx_migrations") {
        let known = super::known_versions();
        let versions: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations").fetch_all(&mut c).await.map_err(unreadable)?;
        versions.into_iter().map(|v| v.0).find(|v| !known.contains(v))
    } else {
        None
    };
    if let Some(newer) = newer {
        let _ = sqlx::Connection::close(c).await;
        return Ok(Some(format!(
            "écrite par une version plus récente de Régie (schéma {newer}) : installez la dernière version de Régie"
        )));
    }
    let foreign = objects.iter().find(|o| is_code(o) && !allowed.contains(*o)).map(|(kind, name, _)| {
        let what = match kind.as_str() {
            "view" => "une vue",
            "trigger" => "un déclencheur",
            _ => "une table virtuelle",
        };
        let name: String = name.chars().take(60).collect();
        format!("{what} que Régie ne crée pas ({name:?})")
    });
    if foreign.is_some() {
        let _ = sqlx::Connection::close(c).await;
        return Ok(foreign);
    }
    // Only then the pages: checking them also runs the virtual tables' own checks.
    // A page too damaged to be checked stops the check with SQLite's "corrupt": that is damage
    // too; a check that could not run (the file busy, a disk error) is an error, not damage.
    let found = match sqlx::query_as::<_, (String,)>("PRAGMA quick_check(5)").fetch_all(&mut c).await {
        Ok(rows) if rows.iter().map(|r| r.0.as_str()).eq(["ok"]) => None,
        Ok(rows) => Some(rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join(" ; ")),
        Err(e) if is_damage(&e) => {
            Some(e.as_database_error().map_or_else(|| e.to_string(), |d| d.message().to_string()))
        }
        Err(e) => {
            let _ = sqlx::Connection::close(c).await;
            return Err(unreadable(e));
        }
    };
    let _ = sqlx::Connection::close(c).await;
    Ok(found.map(|found| format!("fichier endommagé ({found})")))
}

/// Whether SQLite's error says the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB, in their
/// extended forms too), rather than that it could not be read just now.
fn is_damage(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code()).and_then(|c| c.parse::<i32>().ok());
    code.is_some_and(|c| matches!(c & 0xff, 11 | 26))
}

/// Whether a schema object (kind, name, text) runs code when used: a view, a trigger, a virtual
/// table (its module reads its own tables its own way).
fn is_code((kind, _, sql): &(String, String, String)) -> bool {
    kind == "view" || kind == "trigger" || (kind == "table" && is_virtual(sql))
}

/// Whether a table's text creates a virtual table: its first two words, as SQLite reads them
/// (in any case, apart by any spaces and comments), are CREATE VIRTUAL.
fn is_virtual(sql: &str) -> bool {
    let mut rest = sql;
    let mut words = Vec::new();
    while words.len() < 2 {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\u{c}');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, next)| next);
        } else {
            let end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '_').unwrap_or(rest.len());
            if end == 0 {
                return false;
            }
            words.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    words[0].eq_ignore_ascii_case("CREATE") && words[1].eq_ignore_ascii_case("VIRTUAL")
}

/// A database's schema objects as (kind, name, text).
const SCHEMA_OBJECTS: &str = "SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY rowid";

/// The views, triggers and virtual tables each of Régie's migrations leaves, as (kind, name,
/// text): its migrations run one by one on a database made in memory.
async fn own_code() -> Result<std::collections::HashSet<(String, String, String)>> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    let mut code = std::collections::HashSet::new();
    for m in sqlx::migrate!("./migrations/sqlite").iter() {
        sqlx::raw_sql(m.sql.as_ref()).execute(&mut c).await?;
        let objects: Vec<(String, String, String)> = sqlx::query_as(SCHEMA_OBJECTS).fetch_all(&mut c).await?;
        code.extend(objects.into_iter().filter(is_code));
    }
    let _ = c.close().await;
    Ok(code)
}

/// Where a session file comes from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Origin {
    pub name: String,
    pub office: String,
    pub checked_out_at: String,
    pub checked_out_by: String,
}

/// The session this database is, when it is a session file.
pub async fn origin(conn: &mut Conn) -> Result<Option<Origin>> {
    Ok(on!(conn, |c| sqlx::query_as("SELECT name, office, checked_out_at, checked_out_by FROM session_origin")
        .fetch_optional(c)
        .await)?)
}

pub async fn insert_origin(conn: &mut Conn, o: &Origin) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO session_origin (name, office, checked_out_at, checked_out_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(&o.name)
    .bind(&o.office)
    .bind(&o.checked_out_at)
    .bind(&o.checked_out_by)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn insert_version(conn: &mut Conn, kind: &str, row_id: i64, version: &str) -> Result<()> {
    on!(conn, |c| sqlx::query("INSERT INTO session_versions (kind, row_id, version) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(row_id)
        .bind(version)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The versions of the rows of one kind a session took: row id -> version.
pub async fn versions(conn: &mut Conn, kind: &str) -> Result<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> =
        on!(conn, |c| sqlx::query_as("SELECT row_id, version FROM session_versions WHERE kind = $1")
            .bind(kind)
            .fetch_all(c)
            .await)?;
    Ok(rows.into_iter().collect())
}

/// A decision taken on a session file, as a check-in replays it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Decision {
    pub seq: i64,
    pub action: String,
    pub line_id: i64,
    pub student_number: Option<String>,
    pub amount_cents: Option<i64>,
    pub payment_id: Option<i64>,
    pub reason: Option<String>,
    pub date: NaiveDate,
    pub actor: String,
    pub at: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn record_decision(
    conn: &mut Conn,
    action: &str,
    line_id: i64,
    student_number: Option<&str>,
    amount_cents: Option<i64>,
    payment_id: Option<i64>,
    reason: Option<&str>,
    date: NaiveDate,
    actor: &str,
) -> Result<()> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO session_decisions (action, line_id, student_number, amount_cents, payment_id, reason, date, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(action)
    .bind(line_id)
    .bind(student_number)
    .bind(amount_cents)
    .bind(payment_id)
    .bind(reason)
    .bind(date)
    .bind(actor)
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn decisions(conn: &mut Conn) -> Result<Vec<Decision>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT seq, action, line_id, student_number, amount_cents, payment_id, reason, date, actor, at
         FROM session_decisions ORDER BY seq",
    )
    .fetch_all(c)
    .await)?)
}

/// The (installment, cents) parts a payment was allocated in.
pub async fn allocations_of(conn: &mut Conn, payment_id: i64) -> Result<Vec<(i64, i64)>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT installment_id, amount_cents FROM allocations WHERE payment_id = $1 ORDER BY installment_id"
    )
    .bind(payment_id)
    .fetch_all(c)
    .await)?)
}

// --- The copy into a new session file.

/// The tables a session file holds, parents before children, each with the column its rows are
/// chosen by (`None`: the whole table). The ids are those of the office.
pub const COPIED: [(&str, Option<&str>); 22] = [
    ("school_settings", None),
    ("programmes", None),
    ("fee_grid", None),
    ("session_labels", None),
    ("users", None),
    ("app_prefs", None),
    ("import_profiles", None),
    // Every student, so that a line can go to anyone; the ledger only of those concerned.
    ("students", None),
    ("payer_aliases", Some("student_id")),
    ("requests", Some("student_id")),
    ("orders", Some("student_id")),
    ("invoices", Some("student_id")),
    ("invoice_lines", Some("invoice_id")),
    ("installments", Some("invoice_id")),
    ("payments", Some("student_id")),
    ("allocations", Some("payment_id")),
    ("credit_notes", Some("invoice_id")),
    ("refunds", Some("student_id")),
    ("credit_allocations", Some("credit_note_id")),
    ("statements", Some("id")),
    ("statement_lines", Some("id")),
    ("line_payments", Some("line_id")),
];

/// The ids of `table`'s rows whose `column` is among `among`.
pub async fn ids_where(conn: &mut Conn, table: &'static str, column: &'static str, among: &[i64]) -> Result<Vec<i64>> {
    let head: &'static str = match (table, column) {
        ("invoices", "student_id") => "SELECT id FROM invoices WHERE student_id IN (",
        ("payments", "student_id") => "SELECT id FROM payments WHERE student_id IN (",
        ("credit_notes", "invoice_id") => "SELECT id FROM credit_notes WHERE invoice_id IN (",
        _ => return Err(Error::Invalid(format!("{table}.{column} : pas une sélection de session"))),
    };
    let mut ids: Vec<i64> = super::by_ids(conn, head, among).await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Every student with an open installment (something left to pay on it).
pub async fn students_owing(conn: &mut Conn) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = on!(conn, |c| sqlx::query_as(
        "SELECT DISTINCT i.student_id FROM installment_balances b JOIN invoices i ON i.id = b.invoice_id
         WHERE b.status <> 'cancelled' AND b.amount_cents - b.paid_cents - b.credited_cents > 0
         ORDER BY i.student_id",
    )
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The students of the payments linked to these lines.
pub async fn line_students(conn: &mut Conn, lines: &[i64]) -> Result<Vec<i64>> {
    super::by_ids(
        conn,
        "SELECT DISTINCT p.student_id FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
         WHERE lp.line_id IN (",
        lines,
    )
    .await
}

/// The students' ids of these numbers.
pub async fn student_ids(conn: &mut Conn, numbers: &[String]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(500) {
        let rows: Vec<(i64,)> = on!(conn, |c| {
            let mut q = QueryBuilder::new("SELECT id FROM students WHERE number IN (");
            let mut list = q.separated(", ");
            for n in chunk {
                list.push_bind(n.clone());
            }
            q.push(")");
            q.build_query_as().fetch_all(c).await
        })?;
        out.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(out)
}

/// One value on its way from the office (either engine) to a session file.
enum Value {
    Null,
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Bool(bool),
}

fn unreadable(table: &str, column: &str, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{table}.{column} : valeur illisible pour la session ({what})"))
}

/// Forgets, in a new session file, which user last signed in at the office's desk: the laptop's
/// user signs in on the laptop.
pub async fn forget_desk_user(target: &mut Conn) -> Result<()> {
    on!(target, |c| sqlx::query("DELETE FROM app_prefs WHERE key = 'last_user'")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Empties a table of the new session file (the settings a new database is seeded with).
pub async fn clear(target: &mut Conn, table: &'static str) -> Result<()> {
    let Engine::Sqlite(t) = target.engine() else { return Err(not_a_file()) };
    QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table}")).build().execute(t).await?;
    Ok(())
}

fn not_a_file() -> Error {
    Error::Invalid("une session s'écrit dans un fichier SQLite".into())
}

/// Copies the rows of `table` whose `column` is among `among` (all of them when `column` is
/// `None`) from the office into the session file, ids kept. Returns how many.
pub async fn copy_rows(
    source: &mut Conn,
    target: &mut Conn,
    table: &'static str,
    column: Option<&'static str>,
    among: &[i64],
) -> Result<u64> {
    let chunks: Vec<&[i64]> = match column {
        None => vec![&[]],
        Some(_) => among.chunks(500).collect(),
    };
    let mut copied = 0;
    for chunk in chunks {
        let rows: Vec<(Vec<String>, Vec<Value>)> = match source.engine() {
            Engine::Sqlite(c) => {
                let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT * FROM {table}"));
                if let Some(col) = column {
                    q.push(format!(" WHERE {col} IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                }
                q.push(" ORDER BY 1");
                let rows = q.build().fetch_all(c).await?;
                rows.iter().map(|r| sqlite_values(table, r)).collect::<Result<_>>()?
            }
            Engine::Postgres(c) => {
                let mut q = QueryBuilder::<sqlx::Postgres>::new(format!("SELECT * FROM {table}"));
                if let Some(col) = column {
                    q.push(format!(" WHERE {col} IN ("));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                }
                q.push(" ORDER BY 1");
                let rows = q.build().fetch_all(c).await?;
                rows.iter().map(|r| postgres_values(table, r)).collect::<Result<_>>()?
            }
        };
        let Some((names, _)) = rows.first() else { continue };
        let names = names.clone();
        let Engine::Sqlite(t) = target.engine() else { return Err(not_a_file()) };
        // SQLite takes at most 32,766 bound values per statement.
        for part in rows.chunks((30_000 / names.len().max(1)).max(1)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
            q.push_values(part, |mut b, (_, values)| {
                for v in values {
                    match v {
                        Value::Null => b.push_bind(None::<i64>),
                        Value::Int(x) => b.push_bind(*x),
                        Value::Text(x) => b.push_bind(x.clone()),
                        Value::Date(x) => b.push_bind(*x),
                        Value::Bool(x) => b.push_bind(*x),
                    };
                }
            });
            q.build().execute(&mut *t).await?;
        }
        copied += rows.len() as u64;
    }
    Ok(copied)
}

fn sqlite_values(table: &str, row: &sqlx::sqlite::SqliteRow) -> Result<(Vec<String>, Vec<Value>)> {
    use sqlx::Column;
    let mut names = Vec::with_capacity(row.len());
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            match raw.type_info().name() {
                "INTEGER" | "BOOLEAN" | "INT" | "BIGINT" => {
                    Value::Int(row.try_get(i).map_err(|e| unreadable(table, name, e))?)
                }
                "TEXT" | "DATE" | "DATETIME" => Value::Text(row.try_get(i).map_err(|e| unreadable(table, name, e))?),
                other => return Err(unreadable(table, name, other)),
            }
        };
        names.push(name.to_string());
        values.push(value);
    }
    Ok((names, values))
}

fn postgres_values(table: &str, row: &sqlx::postgres::PgRow) -> Result<(Vec<String>, Vec<Value>)> {
    use sqlx::Column;
    let mut names = Vec::with_capacity(row.len());
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        let raw = row.try_get_raw(i)?;
        let bad = |e: sqlx::Error| unreadable(table, name, e);
        let value = if raw.is_null() {
            Value::Null
        } else {
            match raw.type_info().name() {
                "INT8" => Value::Int(row.try_get(i).map_err(bad)?),
                "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(bad)?.into()),
                "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(bad)?.into()),
                "BOOL" => Value::Bool(row.try_get(i).map_err(bad)?),
                "DATE" => Value::Date(row.try_get(i).map_err(bad)?),
                "TEXT" | "VARCHAR" => Value::Text(row.try_get(i).map_err(bad)?),
                other => return Err(unreadable(table, name, other)),
            }
        };
        names.push(name.to_string());
        values.push(value);
    }
    Ok((names, values))
}

#[cfg(test)]
mod tests {
    use super::{is_damage, is_virtual};

    #[tokio::test]
    async fn a_file_that_is_busy_is_not_said_to_be_damaged() {
        use sqlx::{Connection, Executor};
        let dir = std::env::temp_dir().join(format!("regie-damage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.sqlite");
        std::fs::write(&junk, [0x5a_u8; 8192]).unwrap();
        let err = match super::read_only(&junk).await {
            Ok(mut c) => sqlx::query("SELECT * FROM sqlite_schema").fetch_all(&mut c).await.unwrap_err(),
            Err(e) => e,
        };
        assert!(is_damage(&err), "{err}");

        // A writer holds the file (rollback journal, exclusive): the reader gives up at once.
        let busy = dir.join("busy.sqlite");
        let url = format!("sqlite://{}?mode=rwc", busy.display());
        let mut writer = sqlx::SqliteConnection::connect(&url).await.unwrap();
        writer
            .execute("PRAGMA journal_mode = DELETE; CREATE TABLE t (a); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let mut reader = super::read_only(&busy).await.unwrap();
        reader.execute("PRAGMA busy_timeout = 0").await.unwrap();
        let err = sqlx::query("PRAGMA quick_check").fetch_all(&mut reader).await.unwrap_err();
        assert!(!is_damage(&err), "{err}");
        let _ = reader.close().await;
        let _ = writer.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_virtual_table_is_one_however_its_text_is_spelt() {
        for sql in [
            "CREATE VIRTUAL TABLE t USING fts5(a)",
            "create  virtual table t using fts5(a)",
            "CREATE/**/VIRTUAL TABLE t USING rtree(id, a, b)",
            "\n\t CREATE -- a comment\n VIRTUAL TABLE t USING fts5(a)",
        ] {
            assert!(is_virtual(sql), "{sql}");
        }
        for sql in ["CREATE TABLE virtual (a)", "CREATE TABLE t (virtual TEXT)", "", "/* CREATE VIRTUAL", "CREATE"] {
            assert!(!is_virtual(sql), "{sql}");
        }
    }
}
