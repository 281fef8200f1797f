//! Storage of statements, their lines, the payments they became, payer aliases and import profiles.

use std::collections::HashMap;

use chrono::NaiveDate;
use regie_rules::bank::matching::{LineStatus, OpenInstallment, Payee, PayeeName, payees as payees_of};
use regie_rules::bank::{LineSort, StatementFormat};
use regie_rules::money::Money;
use regie_rules::page::{Page, Search, Window};

use super::Conn;
use crate::Result;

pub async fn insert_statement(
    conn: &mut Conn,
    file: &str,
    sheet: Option<&str>,
    format: StatementFormat,
    actor: &str,
    rows: usize,
) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| sqlx::query_as(
        "INSERT INTO statements (file, sheet, format, imported_at, imported_by, rows, new_lines, already_known)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0) RETURNING id",
    )
    .bind(file)
    .bind(sheet)
    .bind(format.code())
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(actor)
    .bind(rows as i64)
    .fetch_one(c)
    .await)?;
    Ok(id)
}

pub async fn set_statement_counts(conn: &mut Conn, id: i64, new_lines: usize, already_known: usize) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE statements SET new_lines = $1, already_known = $2 WHERE id = $3")
        .bind(new_lines as i64)
        .bind(already_known as i64)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_line_status(conn: &mut Conn, id: i64, status: LineStatus) -> Result<()> {
    // The line leaves its status's count for the new one's (nothing moves when it keeps it, or
    // when there is no such line: the comparison with NULL holds for no row).
    on!(conn, |c| sqlx::query(
        "UPDATE line_counts SET n = n + CASE WHEN status = $1 THEN 1 ELSE -1 END
         WHERE status IN ($1, (SELECT l.status FROM statement_lines l WHERE l.id = $2))
           AND $1 <> (SELECT l.status FROM statement_lines l WHERE l.id = $2)"
    )
    .bind(status.code())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on!(conn, |c| sqlx::query("UPDATE statement_lines SET status = $1 WHERE id = $2")
        .bind(status.code())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn link_payment(conn: &mut Conn, line_id: i64, payment_id: i64) -> Result<()> {
    on!(conn, |c| sqlx::query("INSERT INTO line_payments (line_id, payment_id) VALUES ($1, $2)")
        .bind(line_id)
        .bind(payment_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: i64,
    pub date: NaiveDate,
    pub label: String,
    pub amount_cents: i64,
    #[sqlx(try_from = "String")]
    pub status: LineStatus,
    pub score: Option<i64>,
    pub reasons: String,
    pub suggestions: String,
    /// The student of the line's first payment, when matched.
    pub student_number: Option<String>,
    /// That student's name, "LAST First".
    pub student_name: Option<String>,
    /// What the line's payments add up to (reversals included).
    pub assigned_cents: i64,
    pub remittance: Option<String>,
    pub held_reason: Option<String>,
    pub held_by: Option<String>,
    pub held_at: Option<String>,
}

macro_rules! select_lines {
    ($tail:expr) => {
        concat!(
            "SELECT l.id, l.date, l.label, l.amount_cents, l.status, l.score, l.reasons, l.suggestions,
                s.number AS student_number, s.last_name || ' ' || s.first_name AS student_name,
                COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
                          WHERE lp.line_id = l.id), 0) AS assigned_cents, l.remittance,
                l.held_reason, l.held_by, l.held_at
             FROM statement_lines l
             LEFT JOIN (SELECT id AS student_id, number, last_name, first_name FROM students) s ON s.student_id = (
                 SELECT p.student_id FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
                  WHERE lp.line_id = l.id AND p.reverses IS NULL
                    AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id) ORDER BY p.id LIMIT 1) ",
            $tail
        )
    };
}

pub const LINES: &str = select_lines!("WHERE $1 IS NULL OR l.status = $1 ORDER BY l.date, l.id");

pub async fn lines(conn: &mut Conn, status: Option<LineStatus>) -> Result<Vec<LineRow>> {
    Ok(on!(conn, |c| sqlx::query_as(LINES).bind(status.map(LineStatus::code)).fetch_all(c).await)?)
}

/// One window of the lines: the window's ids are found first (filter, order, limit), and only its
/// rows get their payments looked up. One statement per order, each with bound values only.
macro_rules! line_page {
    ($order:literal) => {
        select_lines!(concat!(
            "WHERE l.id IN (SELECT x.id FROM statement_lines x
                             WHERE ($1 IS NULL OR x.status = $1) AND ($2 IS NULL OR x.search_label LIKE $2 ESCAPE '\\')
                               AND ($5 IS NULL OR x.id = $5)
                             ORDER BY ", $order, " LIMIT $3 OFFSET $4)
             ORDER BY ", $order
        ))
    };
}

/// The statement `$page!` makes for each sort, either way.
macro_rules! per_sort {
    ($page:ident, $sort:expr, $descending:expr) => {
        match ($sort, $descending) {
            (LineSort::Date, false) => $page!("date, id"),
            (LineSort::Date, true) => $page!("date DESC, id DESC"),
            (LineSort::Label, false) => $page!("label, id"),
            (LineSort::Label, true) => $page!("label DESC, id DESC"),
            (LineSort::Amount, false) => $page!("amount_cents, id"),
            (LineSort::Amount, true) => $page!("amount_cents DESC, id DESC"),
            (LineSort::Score, false) => $page!("score, id"),
            (LineSort::Score, true) => $page!("score DESC, id DESC"),
        }
    };
}

/// The window's statement for a sort, either way; the outer query sorts `l` as the inner one `x`.
pub const fn line_page_sql(sort: LineSort, descending: bool) -> &'static str {
    per_sort!(line_page, sort, descending)
}

pub const LINE_COUNT: &str = "SELECT COUNT(*) FROM statement_lines x
     WHERE ($1 IS NULL OR x.status = $1) AND ($2 IS NULL OR x.search_label LIKE $2 ESCAPE '\\')
       AND ($3 IS NULL OR x.id = $3)";

/// The same window for a search the lines' text index serves (SQLite): the lines it finds up to
/// its mark, and every line after it, are the only ones read, each checked against the exact
/// pattern. A rare name's first page no longer goes through the lines in their order until it
/// has a page of them (124,000 of them for "dupont" on five years, 178,000 on ten).
macro_rules! line_text_page {
    ($order:literal) => {
        select_lines!(concat!(
            "WHERE l.id IN (SELECT x.id FROM (",
            text_candidates!(),
            ") c
                             CROSS JOIN statement_lines x ON x.id = c.line
                             WHERE ($1 IS NULL OR x.status = $1) AND x.search_label LIKE $2 ESCAPE '\\'
                               AND ($5 IS NULL OR x.id = $5)
                             ORDER BY ",
            $order,
            " LIMIT $3 OFFSET $4)
             ORDER BY ",
            $order
        ))
    };
}

/// The ids (`line`) of the lines that may hold the pattern `$2`: those the text index finds (its
/// `LIKE` folds case and reads no `ESCAPE`: `indexed` keeps the patterns where that changes
/// nothing), and those after its mark.
macro_rules! text_candidates {
    () => {
        "SELECT t.rowid AS line FROM statement_line_text t WHERE t.search_label LIKE $2
         UNION ALL
         SELECT y.id AS line FROM statement_lines y WHERE y.id > (SELECT upto FROM statement_line_text_upto)"
    };
}

/// The window's statement through the text index, for a sort, either way.
pub const fn line_text_page_sql(sort: LineSort, descending: bool) -> &'static str {
    per_sort!(line_text_page, sort, descending)
}

pub const LINE_TEXT_COUNT: &str = concat!(
    "SELECT COUNT(*) FROM (",
    text_candidates!(),
    ") c CROSS JOIN statement_lines x ON x.id = c.line
     WHERE ($1 IS NULL OR x.status = $1) AND x.search_label LIKE $2 ESCAPE '\\'
       AND ($3 IS NULL OR x.id = $3)"
);

/// Whether the text index can serve `search`: three characters at least (its trigrams), and no
/// `%`, `_` or `\` in the text (the index's `LIKE` would take them as wildcards, and its pattern
/// is the one given, unescaped).
fn indexed(search: &Search) -> bool {
    let pattern = search.pattern();
    let text = pattern.strip_prefix('%').and_then(|p| p.strip_suffix('%')).unwrap_or("");
    text.chars().count() >= 3 && !text.contains(['%', '_', '\\'])
}

/// One window of the lines with a status (all when `None`) whose label holds `search` (and only
/// line `id`, when given).
#[allow(clippy::too_many_arguments)]
pub async fn line_page(
    conn: &mut Conn,
    status: Option<LineStatus>,
    search: Option<&Search>,
    id: Option<i64>,
    sort: LineSort,
    descending: bool,
    window: Window,
    counted: bool,
) -> Result<Page<LineRow>> {
    let text = matches!(conn.engine(), super::Engine::Sqlite(_)) && search.is_some_and(indexed);
    let (sql, count_sql) = match text {
        true => (line_text_page_sql(sort, descending), LINE_TEXT_COUNT),
        false => (line_page_sql(sort, descending), LINE_COUNT),
    };
    let code = status.map(LineStatus::code);
    let pattern = search.map(Search::pattern);
    // Unfiltered, asked plainly (see `requests::count_matching`); by status alone, as kept.
    let total: Option<i64> = match (counted, status, &pattern, id) {
        (false, ..) => None,
        (true, Some(only), None, None) => Some(status_count(conn, only).await?),
        (true, None, None, None) => {
            Some(on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM statement_lines").fetch_one(c).await)?)
        }
        _ => Some(on!(conn, |c| sqlx::query_scalar(count_sql).bind(code).bind(pattern).bind(id).fetch_one(c).await)?),
    };
    let rows = on!(conn, |c| sqlx::query_as(sql)
        .bind(code)
        .bind(pattern)
        .bind(window.limit())
        .bind(window.offset())
        .bind(id)
        .fetch_all(c)
        .await)?;
    Ok(Page { total, offset: window.offset(), rows })
}

/// How many lines have each of `statuses`, as kept in `line_counts` (counting them in the index by
/// status read every line of every year: 10 ms on ten years, half on five).
pub async fn status_counts(conn: &mut Conn, statuses: &[LineStatus]) -> Result<Vec<(LineStatus, i64)>> {
    let mut out = Vec::with_capacity(statuses.len());
    for &status in statuses {
        out.push((status, status_count(conn, status).await?));
    }
    Ok(out)
}

/// How many lines have `status`, as kept in `line_counts`.
pub async fn status_count(conn: &mut Conn, status: LineStatus) -> Result<i64> {
    let n: Option<i64> = on!(conn, |c| sqlx::query_scalar("SELECT n FROM line_counts WHERE status = $1")
        .bind(status.code())
        .fetch_optional(c)
        .await)?;
    Ok(n.unwrap_or(0))
}

/// Counts the lines of each status again (a session file, once the office's lines are copied in).
pub async fn recount_lines(conn: &mut Conn) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "UPDATE line_counts SET n = (SELECT COUNT(*) FROM statement_lines l WHERE l.status = line_counts.status)"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The card remittance lines still unmatched that an import of the gateway's export may now tie:
/// those announcing one of `numbers`, and those without a number (found by date and amount):
/// (id, date, amount, the number announced or "").
pub async fn waiting_remittance_lines(
    conn: &mut Conn,
    numbers: &[&str],
) -> Result<Vec<(i64, NaiveDate, Money, String)>> {
    let mut rows: Vec<(i64, NaiveDate, i64, String)> = on!(conn, |c| sqlx::query_as(
        "SELECT id, date, amount_cents, remittance FROM statement_lines
         WHERE status = 'unmatched' AND remittance = '' AND amount_cents <> 0 ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    rows.extend(remittance_lines_of(conn, LineStatus::Unmatched, numbers).await?);
    Ok(rows.into_iter().map(|(id, date, cents, number)| (id, date, Money::from_cents(cents), number)).collect())
}

/// The remittances a statement line ties already: a line without a number takes none of them.
pub async fn credited_remittances(conn: &mut Conn) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<(String,)> = on!(conn, |c| sqlx::query_as(
        "SELECT DISTINCT remittance FROM statement_lines WHERE remittance > '' AND status = 'matched'"
    )
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// The card remittance lines already tied to one of `numbers`: (id, date, amount, number).
pub async fn tied_remittance_lines(conn: &mut Conn, numbers: &[&str]) -> Result<Vec<(i64, NaiveDate, Money, String)>> {
    let rows = remittance_lines_of(conn, LineStatus::Matched, numbers).await?;
    Ok(rows.into_iter().map(|(id, date, cents, number)| (id, date, Money::from_cents(cents), number)).collect())
}

/// The lines in `status` that name one of `numbers` as their remittance (credits, and the debits
/// of remittances of refunds only).
async fn remittance_lines_of(
    conn: &mut Conn,
    status: LineStatus,
    numbers: &[&str],
) -> Result<Vec<(i64, NaiveDate, i64, String)>> {
    let mut rows = Vec::new();
    for chunk in numbers.chunks(500) {
        rows.extend(on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, date, amount_cents, remittance FROM statement_lines WHERE status = ",
            );
            q.push_bind(status.code());
            q.push(" AND amount_cents <> 0 AND remittance IN (");
            let mut list = q.separated(", ");
            for n in chunk {
                list.push_bind(*n);
            }
            q.push(") ORDER BY id");
            q.build_query_as().fetch_all(c).await
        })?);
    }
    Ok(rows)
}

/// Ties a remittance line to remittance `number`, with why: it becomes matched.
pub async fn tie_remittance_line(conn: &mut Conn, id: i64, number: &str, reasons: &str) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE statement_lines SET remittance = $1, reasons = $2 WHERE id = $3")
        .bind(number)
        .bind(reasons)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    set_line_status(conn, id, LineStatus::Matched).await
}

pub async fn line(conn: &mut Conn, id: i64) -> Result<Option<LineRow>> {
    Ok(on!(conn, |c| sqlx::query_as(select_lines!("WHERE l.id = $1")).bind(id).fetch_optional(c).await)?)
}

/// Puts a line on hold with its reason, who and when; `None` lifts the hold.
pub async fn set_hold(conn: &mut Conn, id: i64, hold: Option<(&str, &str)>) -> Result<()> {
    let at = hold.map(|_| chrono::Utc::now().to_rfc3339());
    on!(conn, |c| sqlx::query(
        "UPDATE statement_lines SET held_reason = $1, held_by = $2, held_at = $3 WHERE id = $4"
    )
    .bind(hold.map(|h| h.0))
    .bind(hold.map(|h| h.1))
    .bind(at.clone())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The line's payments not yet reversed: (payment id, student id, amount).
pub async fn live_payments(conn: &mut Conn, line_id: i64) -> Result<Vec<(i64, i64, Money)>> {
    let rows: Vec<(i64, i64, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT p.id, p.student_id, p.amount_cents FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
         WHERE lp.line_id = $1 AND p.reverses IS NULL AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
         ORDER BY p.id",
    )
    .bind(line_id)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(p, s, c)| (p, s, Money::from_cents(c))).collect())
}

/// Every open installment: its invoice, id, rank, due date and what is left to pay. Read from the
/// index of unsettled installments with what each was settled by, as the ledger keeps it
/// (`settled_cents`): summing every allocation of every year instead made this read grow with
/// the history (ten years: 0.8 s). In no order: `payees` puts them in settling order.
pub const OPEN_INSTALLMENTS: &str = "SELECT t.invoice_id, t.id, t.n, t.due_date, t.amount_cents - t.settled_cents
         FROM installments t WHERE t.status <> 'cancelled' AND t.settled_cents < t.amount_cents";

/// Each invoice with something left to pay: its number and its student (number, names, school),
/// the invoices taken once each from the same index, in its order, before the names are joined.
pub const OPEN_INVOICES: &str = "SELECT i.id, i.number, s.id, s.number, s.last_name, s.first_name, s.school
         FROM (SELECT DISTINCT t.invoice_id FROM installments t
               WHERE t.status <> 'cancelled' AND t.settled_cents < t.amount_cents) o
         JOIN invoices i ON i.id = o.invoice_id JOIN students s ON s.id = i.student_id";

type OpenRow = (i64, i64, i64, NaiveDate, i64);
type InvoiceRow = (i64, String, i64, String, String, String, String);

/// `OPEN_INSTALLMENTS` and `OPEN_INVOICES` as rows. On SQLite read in place (`sqlite_rows`): the
/// card benchmark's 72,000 open installments took 0.3 s through sqlx, packed by invoice
/// (decoding a row cost more than reading it), where SQLite alone reads them in under 10 ms.
async fn open_rows(conn: &mut Conn) -> Result<(Vec<OpenRow>, Vec<InvoiceRow>)> {
    match conn.engine() {
        super::Engine::Sqlite(c) => {
            let mut open = Vec::new();
            let mut bad = None;
            super::sqlite_rows::each_row(c, OPEN_INSTALLMENTS, |r| {
                let due = r.text(3)?;
                match regie_rules::sheet::iso_date(due) {
                    Some(d) => open.push((r.int(0)?, r.int(1)?, r.int(2)?, d, r.int(4)?)),
                    None => {
                        bad.get_or_insert_with(|| due.to_owned());
                    }
                }
                Ok(())
            })
            .await?;
            if let Some(due) = bad {
                return Err(crate::Error::Invalid(format!("échéance mal lue dans la base: {due}")));
            }
            let mut invoices = Vec::new();
            super::sqlite_rows::each_row(c, OPEN_INVOICES, |r| {
                invoices.push((
                    r.int(0)?,
                    r.text(1)?.to_owned(),
                    r.int(2)?,
                    r.text(3)?.to_owned(),
                    r.text(4)?.to_owned(),
                    r.text(5)?.to_owned(),
                    r.text(6)?.to_owned(),
                ));
                Ok(())
            })
            .await?;
            Ok((open, invoices))
        }
        super::Engine::Postgres(c) => {
            let open = sqlx::query_as(OPEN_INSTALLMENTS).fetch_all(&mut *c).await?;
            let invoices = sqlx::query_as(OPEN_INVOICES).fetch_all(c).await?;
            Ok((open, invoices))
        }
    }
}

/// Every student with something left to pay, with open installments and aliases; the rules put
/// them in settling order.
pub async fn payees(conn: &mut Conn) -> Result<Vec<Payee>> {
    let (rows, invoice_rows) = open_rows(conn).await?;
    let aliases: Vec<(i64, String)> =
        on!(conn, |c| sqlx::query_as("SELECT student_id, alias FROM payer_aliases ORDER BY id").fetch_all(c).await)?;
    let mut by_student: HashMap<i64, Vec<String>> = HashMap::new();
    for (s, a) in aliases {
        by_student.entry(s).or_default().push(a);
    }
    let mut invoices = HashMap::with_capacity(invoice_rows.len());
    let mut student_of = HashMap::with_capacity(invoice_rows.len());
    let mut students = HashMap::with_capacity(invoice_rows.len());
    for (invoice_id, invoice_number, student_id, number, last_name, first_name, school) in invoice_rows {
        invoices.insert(invoice_id, invoice_number);
        student_of.insert(invoice_id, student_id);
        if let std::collections::hash_map::Entry::Vacant(v) = students.entry(student_id) {
            let aliases = by_student.remove(&student_id).unwrap_or_default();
            v.insert(PayeeName { number, last_name, first_name, school: school.parse()?, aliases });
        }
    }
    // An installment whose invoice was not read (settled in between, on another connection) is
    // left out, as `payees_of` leaves out one without its student.
    let open = rows
        .into_iter()
        .filter_map(|(invoice_id, installment_id, n, due_date, left)| {
            Some(OpenInstallment {
                student_id: *student_of.get(&invoice_id)?,
                invoice_id,
                installment_id,
                n,
                due_date,
                left: Money::from_cents(left),
            })
        })
        .collect();
    Ok(payees_of(open, students, &invoices))
}

/// The suggestions (as the import wrote them, JSON) of these lines.
pub async fn suggestions_of(conn: &mut Conn, lines: &[i64]) -> Result<Vec<String>> {
    super::by_ids(conn, "SELECT suggestions FROM statement_lines WHERE id IN (", lines).await
}

/// The statements these lines belong to.
pub async fn statements_of(conn: &mut Conn, lines: &[i64]) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> =
        super::by_ids(conn, "SELECT DISTINCT statement_id FROM statement_lines WHERE id IN (", lines).await?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Remembers a payer's name as an alias of a student; returns whether it was new.
pub async fn add_alias(conn: &mut Conn, student_id: i64, alias: &str) -> Result<bool> {
    let done = on!(conn, |c| sqlx::query(
        "INSERT INTO payer_aliases (student_id, alias, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(student_id)
    .bind(alias)
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn save_profile(conn: &mut Conn, name: &str, mapping: &str) -> Result<()> {
    on!(conn, |c| {
        sqlx::query("INSERT INTO import_profiles (name, mapping) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping")
        .bind(name)
        .bind(mapping)
        .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn profile(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = on!(conn, |c| sqlx::query_as("SELECT mapping FROM import_profiles WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|(m,)| m))
}

pub async fn profiles(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    Ok(on!(conn, |c| sqlx::query_as("SELECT name, mapping FROM import_profiles ORDER BY name").fetch_all(c).await)?)
}

/// The fingerprints already stored for lines dated between `from` and `to`: one query, so
/// that an import can tell new lines from known ones without asking line by line.
pub async fn known_fingerprints(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<(String,)> =
        on!(conn, |c| sqlx::query_as("SELECT fingerprint FROM statement_lines WHERE date BETWEEN $1 AND $2")
            .bind(from)
            .bind(to)
            .fetch_all(c)
            .await)?;
    Ok(rows.into_iter().map(|(f,)| f).collect())
}

/// How many lines each (day, amount in cents) has between two dates among the statements read
/// from another format than `format`.
pub async fn counts_of_other_formats(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
    format: StatementFormat,
) -> Result<std::collections::HashMap<(NaiveDate, i64), usize>> {
    let rows: Vec<(NaiveDate, i64, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT l.date, l.amount_cents, COUNT(*) FROM statement_lines l JOIN statements s ON s.id = l.statement_id
          WHERE l.date BETWEEN $1 AND $2 AND s.format <> $3 GROUP BY l.date, l.amount_cents"
    )
    .bind(from)
    .bind(to)
    .bind(format.code())
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(d, a, n)| ((d, a), n as usize)).collect())
}

/// The largest line id. Inside a write transaction nobody else inserts, so a bulk import can
/// number its lines itself and link them without reading ids back.
pub async fn last_line_id(conn: &mut Conn) -> Result<i64> {
    let (id,): (i64,) =
        on!(conn, |c| sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM statement_lines").fetch_one(c).await)?;
    Ok(id)
}

/// A new statement line with its matching outcome, for the bulk insert.
pub struct NewLine<'a> {
    pub id: i64,
    pub fingerprint: &'a str,
    pub row: usize,
    pub date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub label: &'a str,
    pub amount: Money,
    pub status: LineStatus,
    pub score: Option<i64>,
    pub reasons: String,
    pub suggestions: String,
    /// The card remittance the line credits, when it is one.
    pub remittance: Option<String>,
}

/// Inserts lines and the links of their automatic payments (line, payment) in multi-row
/// statements; the payments themselves are the ledger's.
pub async fn insert_lines_bulk(
    conn: &mut Conn,
    statement_id: i64,
    lines: &[NewLine<'_>],
    links: &[(i64, i64)],
) -> Result<()> {
    // SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535.
    bulk!(
        conn,
        "INSERT INTO statement_lines (id, statement_id, fingerprint, source_row, date, value_date, label, amount_cents, status, score, reasons, suggestions, remittance, search_label) ",
        lines,
        500,
        |b, l| {
            b.push_bind(l.id)
                .push_bind(statement_id)
                .push_bind(l.fingerprint)
                .push_bind(l.row as i64)
                .push_bind(l.date)
                .push_bind(l.value_date)
                .push_bind(l.label)
                .push_bind(l.amount.cents())
                .push_bind(l.status.code())
                .push_bind(l.score)
                .push_bind(&l.reasons)
                .push_bind(&l.suggestions)
                .push_bind(&l.remittance)
                .push_bind(regie_rules::page::fold(l.label))
        }
    )?;
    if !lines.is_empty() {
        super::advance_ids(conn, "statement_lines").await?;
    }
    let mut added: Vec<(LineStatus, i64)> = Vec::new();
    for l in lines {
        match added.iter_mut().find(|(s, _)| *s == l.status) {
            Some((_, n)) => *n += 1,
            None => added.push((l.status, 1)),
        }
    }
    for (status, n) in added {
        on!(conn, |c| sqlx::query("UPDATE line_counts SET n = n + $1 WHERE status = $2")
            .bind(n)
            .bind(status.code())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    bulk!(conn, "INSERT INTO line_payments (line_id, payment_id) ", links, 5000, |b, l| b
        .push_bind(l.0)
        .push_bind(l.1))?;
    Ok(())
}

/// Whether lines written before the folded label was kept have none yet.
pub async fn labels_unfolded(conn: &mut Conn) -> Result<bool> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM statement_lines WHERE search_label IS NULL)")
        .fetch_one(c)
        .await)?)
}

/// Gives every line without one its folded label, in multi-row statements.
pub async fn fold_labels(conn: &mut Conn) -> Result<u64> {
    let rows: Vec<(i64, String)> =
        on!(conn, |c| sqlx::query_as("SELECT id, label FROM statement_lines WHERE search_label IS NULL ORDER BY id")
            .fetch_all(c)
            .await)?;
    for chunk in rows.chunks(1000) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new("UPDATE statement_lines SET search_label = v.column2 FROM (");
            q.push_values(chunk, |mut b, (id, label)| {
                b.push_bind(*id).push_bind(regie_rules::page::fold(label));
            });
            q.push(") AS v WHERE statement_lines.id = v.column1");
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(rows.len() as u64)
}

/// How many lines came after the text index's mark, as many as ids past it (SQLite; none on a
/// server, whose trigram index PostgreSQL keeps itself): what a search reads one by one. Read
/// from the last id rather than counted, since every import asks.
pub async fn lines_after_text_index(conn: &mut Conn) -> Result<i64> {
    let super::Engine::Sqlite(c) = conn.engine() else { return Ok(0) };
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(id), 0) - (SELECT upto FROM statement_line_text_upto) FROM statement_lines",
    )
    .fetch_one(c)
    .await?)
}

/// Adds the lines after the text index's mark to it, and moves the mark past the last line
/// (SQLite). Lines are never deleted and get ids above every earlier one, so nothing under the
/// mark is ever missing from the index. About 2.7 ms per 1,000 lines.
pub async fn index_line_text(conn: &mut Conn) -> Result<u64> {
    let super::Engine::Sqlite(c) = conn.engine() else { return Ok(0) };
    let added = sqlx::query(
        "INSERT INTO statement_line_text (rowid, search_label)
         SELECT id, search_label FROM statement_lines
         WHERE id > (SELECT upto FROM statement_line_text_upto) AND search_label IS NOT NULL ORDER BY id",
    )
    .execute(&mut *c)
    .await?
    .rows_affected();
    sqlx::query("UPDATE statement_line_text_upto SET upto = (SELECT COALESCE(MAX(id), 0) FROM statement_lines)")
        .execute(&mut *c)
        .await?;
    Ok(added)
}
