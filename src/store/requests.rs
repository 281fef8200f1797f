//! Storage of payment-plan requests as they arrive from the portal.

use chrono::NaiveDate;

use super::Conn;
use crate::Result;
use regie_rules::fees::{School, Situation};
use regie_rules::page::Search;
use regie_rules::plans::PlanKind;
use regie_rules::requests::{NewRequest, Request, RequestSort, RequestStatus};

/// Inserts requests (each with its student's id) in multi-row statements, skipping those already
/// there (same student, session, plan and date: re-importing changes nothing); returns how many
/// were new.
pub async fn insert_many_if_new(conn: &mut Conn, requests: &[(&NewRequest, i64)]) -> Result<usize> {
    let mut created = 0;
    // 17 values a row: SQLite takes 32,766 per statement.
    for chunk in requests.chunks(1000) {
        let rows: Vec<(i64,)> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO requests (student_id, academic_year, school, programme, session, year_of_study, situation, plan,
                    amount_cents, amount_source, requested_on, extra_eu, certificate, first_year_here, contract_signed,
                    exchange_agreement, apprentice) ",
            );
            q.push_values(chunk, |mut b, (r, student_id)| {
                b.push_bind(*student_id)
                    .push_bind(r.academic_year.to_string())
                    .push_bind(r.school.code())
                    .push_bind(&r.programme)
                    .push_bind(r.session.as_str())
                    .push_bind(r.year_of_study as i64)
                    .push_bind(r.situation.code())
                    .push_bind(r.plan.code())
                    .push_bind(r.amount.cents())
                    .push_bind(if r.amount_from_file { "file" } else { "grid" })
                    .push_bind(r.requested_on)
                    .push_bind(r.extra_eu)
                    .push_bind(r.certificate)
                    .push_bind(r.first_year_here)
                    .push_bind(r.contract_signed)
                    .push_bind(r.exchange_agreement.as_ref().map(regie_rules::requests::Agreement::stored))
                    .push_bind(r.apprentice);
            });
            q.push(" ON CONFLICT (student_id, session, plan, requested_on) DO NOTHING RETURNING id");
            q.build_query_as().fetch_all(c).await
        })?;
        created += rows.len();
    }
    Ok(created)
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    student_id: i64,
    student_number: String,
    last_name: String,
    first_name: String,
    email: String,
    academic_year: String,
    school: String,
    programme: String,
    session: String,
    year_of_study: i64,
    situation: String,
    plan: String,
    amount_cents: i64,
    amount_source: String,
    requested_on: NaiveDate,
    extra_eu: Option<bool>,
    certificate: Option<bool>,
    first_year_here: Option<bool>,
    contract_signed: Option<bool>,
    exchange_agreement: Option<String>,
    apprentice: Option<bool>,
    status: String,
    reason: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<String>,
}

impl RequestRow {
    fn into_request(self) -> Result<Request> {
        Ok(Request {
            id: self.id,
            student_id: self.student_id,
            student_number: self.student_number,
            last_name: self.last_name,
            first_name: self.first_name,
            email: self.email,
            new: NewRequest {
                academic_year: self.academic_year.parse()?,
                school: self.school.parse()?,
                programme: self.programme,
                session: regie_rules::fees::Session::parse(&self.session)?,
                year_of_study: self.year_of_study as u8,
                situation: self.situation.parse()?,
                plan: self.plan.parse()?,
                amount: regie_rules::money::Money::from_cents(self.amount_cents),
                amount_from_file: self.amount_source == "file",
                requested_on: self.requested_on,
                extra_eu: self.extra_eu,
                certificate: self.certificate,
                first_year_here: self.first_year_here,
                contract_signed: self.contract_signed,
                exchange_agreement: self
                    .exchange_agreement
                    .as_deref()
                    .map(regie_rules::requests::Agreement::parse)
                    .transpose()
                    .map_err(crate::Error::Invalid)?
                    .flatten(),
                apprentice: self.apprentice,
            },
            status: self.status.parse()?,
            reason: self.reason,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
        })
    }
}

/// The request columns joined with the student, followed by a static tail (`WHERE ...`).
macro_rules! select_requests {
    ($tail:expr) => {
        concat!(
            "SELECT r.id, r.student_id, s.number AS student_number, s.last_name, s.first_name, s.email,
    r.academic_year, r.school, r.programme, r.session, r.year_of_study, r.situation, r.plan, r.amount_cents,
    r.amount_source, r.requested_on, r.extra_eu, r.certificate, r.first_year_here, r.contract_signed,
    r.exchange_agreement, r.apprentice, r.status, r.reason, r.decided_by, r.decided_at
    FROM requests r JOIN students s ON s.id = r.student_id ",
            $tail
        )
    };
}

pub const REQUESTS: &str = select_requests!("WHERE $1 IS NULL OR r.status = $1 ORDER BY r.requested_on, r.id");

pub async fn list(conn: &mut Conn, status: Option<RequestStatus>) -> Result<Vec<Request>> {
    let rows: Vec<RequestRow> =
        on!(conn, |c| sqlx::query_as(REQUESTS).bind(status.map(|s| s.code())).fetch_all(c).await)?;
    rows.into_iter().map(RequestRow::into_request).collect()
}

/// What narrows the requests list, on `x` (a request): `$1` status, `$2` school, `$3` plan,
/// `$4` situation, `$5` a `LIKE` pattern on the student's number or name (the student is looked up
/// only then: a count reads the requests alone), `$6` a finding's pattern on the kept codes. The status is written in the statement, either
/// `x.status = $1` or `CAST($1 AS TEXT) IS NULL`: an `OR` of both would keep the database from
/// the index by status and date, the queue's order.
macro_rules! requests_filter {
    ($status:literal) => {
        concat!(
            $status,
            " AND ($2 IS NULL OR x.school = $2) AND ($3 IS NULL OR x.plan = $3)
         AND ($4 IS NULL OR x.situation = $4)
         AND ($5 IS NULL OR EXISTS (SELECT 1 FROM students xf WHERE xf.id = x.student_id AND xf.search_key LIKE $5 ESCAPE '\\'))
         AND ($6 IS NULL OR x.finding_codes LIKE $6)"
        )
    };
}

/// One window of the requests: its ids found first (`$7` rows from `$8`), in the order given on
/// `x`/`xs` inside and on `r`/`s` outside, with or without a status. The students `xs` are read
/// inside only for an order of theirs (`by student`): a window by date reads the requests alone,
/// where each one's student row was read as well (as many of them as rows read to fill the page,
/// scattered over every year's students).
macro_rules! request_page {
    ($by_status:expr, $inner:literal, $outer:literal) => {
        request_page!($by_status, $inner, $outer, "")
    };
    ($by_status:expr, $inner:literal, $outer:literal, by student) => {
        request_page!($by_status, $inner, $outer, "JOIN students xs ON xs.id = x.student_id ")
    };
    ($by_status:expr, $inner:literal, $outer:literal, $join:literal) => {
        if $by_status {
            request_page!(@ "x.status = $1", $inner, $outer, $join)
        } else {
            request_page!(@ "CAST($1 AS TEXT) IS NULL", $inner, $outer, $join)
        }
    };
    (@ $status:literal, $inner:literal, $outer:literal, $join:literal) => {
        select_requests!(concat!(
            "WHERE r.id IN (SELECT x.id FROM requests x ", $join, "WHERE ",
            requests_filter!($status),
            " ORDER BY ",
            $inner,
            " LIMIT $7 OFFSET $8) ORDER BY ",
            $outer
        ))
    };
}

/// The window's statement for a sort, either way, for one status or all.
pub const fn request_page_sql(sort: RequestSort, descending: bool, by_status: bool) -> &'static str {
    use RequestSort::*;
    let s = by_status;
    match (sort, descending) {
        (RequestedOn, false) => request_page!(s, "x.requested_on, x.id", "r.requested_on, r.id"),
        (RequestedOn, true) => request_page!(s, "x.requested_on DESC, x.id DESC", "r.requested_on DESC, r.id DESC"),
        (Number, false) => request_page!(s, "xs.number, x.id", "s.number, r.id", by student),
        (Number, true) => request_page!(s, "xs.number DESC, x.id DESC", "s.number DESC, r.id DESC", by student),
        (Name, false) => {
            request_page!(s, "xs.last_name, xs.first_name, x.id", "s.last_name, s.first_name, r.id", by student)
        }
        (Name, true) => request_page!(
            s,
            "xs.last_name DESC, xs.first_name DESC, x.id DESC",
            "s.last_name DESC, s.first_name DESC, r.id DESC",
            by student
        ),
        (School, false) => request_page!(s, "x.school, x.id", "r.school, r.id"),
        (School, true) => request_page!(s, "x.school DESC, x.id DESC", "r.school DESC, r.id DESC"),
        (Situation, false) => request_page!(s, "x.situation, x.id", "r.situation, r.id"),
        (Situation, true) => request_page!(s, "x.situation DESC, x.id DESC", "r.situation DESC, r.id DESC"),
        (Plan, false) => request_page!(s, "x.plan, x.id", "r.plan, r.id"),
        (Plan, true) => request_page!(s, "x.plan DESC, x.id DESC", "r.plan DESC, r.id DESC"),
        (Amount, false) => request_page!(s, "x.amount_cents, x.id", "r.amount_cents, r.id"),
        (Amount, true) => request_page!(s, "x.amount_cents DESC, x.id DESC", "r.amount_cents DESC, r.id DESC"),
        (Status, false) => request_page!(s, "x.status, x.id", "r.status, r.id"),
        (Status, true) => request_page!(s, "x.status DESC, x.id DESC", "r.status DESC, r.id DESC"),
    }
}

/// How many requests the filter keeps, for one status or all.
pub const fn request_count_sql(by_status: bool) -> &'static str {
    if by_status {
        concat!("SELECT COUNT(*) FROM requests x WHERE ", requests_filter!("x.status = $1"))
    } else {
        concat!("SELECT COUNT(*) FROM requests x WHERE ", requests_filter!("CAST($1 AS TEXT) IS NULL"))
    }
}

/// What narrows the requests list, as the database holds it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFilter<'a> {
    pub status: Option<RequestStatus>,
    pub school: Option<School>,
    pub plan: Option<PlanKind>,
    pub situation: Option<Situation>,
    pub search: Option<&'a Search>,
    /// A finding code, read from the codes kept beside each request (`finding_index_stamp`).
    pub finding: Option<&'a str>,
}

/// How many requests the filter keeps. Unfiltered, the count is asked plainly: SQLite then
/// counts the entries of the smallest index, where the filter's conditions on unbound
/// parameters would be evaluated row by row (the whole list's count on ten years: 7 ms -> 0.5).
pub async fn count_matching(conn: &mut Conn, f: &RequestFilter<'_>) -> Result<i64> {
    let RequestFilter { status: None, school: None, plan: None, situation: None, search: None, finding: None } = f
    else {
        return count_filtered(conn, f).await;
    };
    count(conn).await
}

async fn count_filtered(conn: &mut Conn, f: &RequestFilter<'_>) -> Result<i64> {
    Ok(on!(conn, |c| sqlx::query_scalar(request_count_sql(f.status.is_some()))
        .bind(f.status.map(|s| s.code()))
        .bind(f.school.map(School::code))
        .bind(f.plan.map(PlanKind::code))
        .bind(f.situation.map(Situation::code))
        .bind(f.search.map(Search::pattern))
        .bind(f.finding.map(regie_rules::requests::finding_pattern))
        .fetch_one(c)
        .await)?)
}

/// `limit` requests from `offset` of those the filter keeps, sorted.
pub async fn window(
    conn: &mut Conn,
    f: &RequestFilter<'_>,
    sort: RequestSort,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<Request>> {
    let rows: Vec<RequestRow> = on!(conn, |c| sqlx::query_as(request_page_sql(sort, descending, f.status.is_some()))
        .bind(f.status.map(|s| s.code()))
        .bind(f.school.map(School::code))
        .bind(f.plan.map(PlanKind::code))
        .bind(f.situation.map(Situation::code))
        .bind(f.search.map(Search::pattern))
        .bind(f.finding.map(regie_rules::requests::finding_pattern))
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(RequestRow::into_request).collect()
}

pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<Request>> {
    let row: Option<RequestRow> =
        on!(conn, |c| sqlx::query_as(select_requests!("WHERE r.id = $1")).bind(id).fetch_optional(c).await)?;
    row.map(RequestRow::into_request).transpose()
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM requests").fetch_one(c).await)?;
    Ok(n)
}

/// Records a decision. Only a request still in `from` changes: a second, concurrent decision
/// finds it decided and changes nothing (returns false).
pub async fn set_status(
    conn: &mut Conn,
    id: i64,
    from: &[RequestStatus],
    to: RequestStatus,
    reason: Option<&str>,
    actor: &str,
) -> Result<bool> {
    let allowed: Vec<&str> = from.iter().map(|s| s.code()).collect();
    let done = on!(conn, |c| sqlx::query(
        "UPDATE requests SET status = $1, reason = $2, decided_by = $3, decided_at = $4
         WHERE id = $5 AND $6 LIKE '%,' || status || ',%'",
    )
    .bind(to.code())
    .bind(reason)
    .bind(actor)
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(id)
    .bind(format!(",{},", allowed.join(",")))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The requests of a batch, by id (those that exist).
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Request>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let rows: Vec<RequestRow> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(select_requests!("WHERE r.id IN ("));
            super::push_ids(&mut q, chunk);
            q.build_query_as().fetch_all(c).await
        })?;
        for row in rows {
            out.push(row.into_request()?);
        }
    }
    Ok(out)
}

/// `set_status` for a batch: the ids that were still in `from` and changed.
pub async fn set_status_many(
    conn: &mut Conn,
    ids: &[i64],
    from: &[RequestStatus],
    to: RequestStatus,
    actor: &str,
) -> Result<Vec<i64>> {
    let allowed: Vec<&str> = from.iter().map(|s| s.code()).collect();
    let allowed = format!(",{},", allowed.join(","));
    let at = chrono::Utc::now().to_rfc3339();
    let mut done = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let changed: Vec<i64> = on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new("UPDATE requests SET status = ");
            q.push_bind(to.code());
            q.push(", reason = NULL, decided_by = ");
            q.push_bind(actor);
            q.push(", decided_at = ");
            q.push_bind(&at);
            q.push(" WHERE ");
            q.push_bind(&allowed);
            q.push(" LIKE '%,' || status || ',%' AND id IN (");
            super::push_ids(&mut q, chunk);
            q.push(" RETURNING id");
            q.build_query_scalar().fetch_all(c).await
        })?;
        done.extend(changed);
    }
    Ok(done)
}

/// Changes the plan of a request: an approved one keeps its decision (its invoice was
/// re-planned), any other goes back to the queue. False when the student already has a request
/// for that plan, session and date (the unique key refused it; on PostgreSQL the transaction is
/// then spoilt and must be rolled back).
pub async fn set_plan(
    conn: &mut Conn,
    id: i64,
    plan: regie_rules::plans::PlanKind,
    keep_decision: bool,
) -> Result<bool> {
    let sql = if keep_decision {
        "UPDATE requests SET plan = $1, finding_codes = NULL WHERE id = $2"
    } else {
        "UPDATE requests SET plan = $1, finding_codes = NULL, status = 'pending', reason = NULL, decided_by = NULL,
             decided_at = NULL WHERE id = $2"
    };
    match on!(conn, |c| sqlx::query(sql).bind(plan.code()).bind(id).execute(c).await.map(|r| r.rows_affected())) {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The stamp of the finding codes kept (`regie_rules::requests::findings_stamp`), if any.
pub async fn finding_index_stamp(conn: &mut Conn) -> Result<Option<String>> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT stamp FROM finding_index WHERE id = 1").fetch_optional(c).await)?)
}

pub async fn set_finding_index_stamp(conn: &mut Conn, stamp: &str) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO finding_index (id, stamp) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp"
    )
    .bind(stamp)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a request's finding codes are still to compute (new or re-planned since).
pub async fn any_unindexed(conn: &mut Conn) -> Result<bool> {
    let found: Option<i64> =
        on!(conn, |c| sqlx::query_scalar("SELECT id FROM requests WHERE finding_codes IS NULL LIMIT 1")
            .fetch_optional(c)
            .await)?;
    Ok(found.is_some())
}

pub const UNINDEXED: &str = select_requests!("WHERE r.finding_codes IS NULL ORDER BY r.id");
pub const EVERY_REQUEST: &str = select_requests!("ORDER BY r.id");

/// The requests whose finding codes are to compute: every one, or those without codes.
pub async fn to_index(conn: &mut Conn, every: bool) -> Result<Vec<Request>> {
    let sql = if every { EVERY_REQUEST } else { UNINDEXED };
    let rows: Vec<RequestRow> = on!(conn, |c| sqlx::query_as(sql).fetch_all(c).await)?;
    rows.into_iter().map(RequestRow::into_request).collect()
}

/// Keeps these finding codes (`finding_key`s) beside their requests, in multi-row statements.
pub async fn set_finding_codes(conn: &mut Conn, codes: &[(i64, String)]) -> Result<()> {
    for chunk in codes.chunks(1000) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new("UPDATE requests SET finding_codes = v.column2 FROM (");
            q.push_values(chunk, |mut b, (id, key)| {
                b.push_bind(*id).push_bind(key.as_str());
            });
            q.push(") AS v WHERE requests.id = v.column1");
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}
