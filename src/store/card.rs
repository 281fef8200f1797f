//! Storage of the gateway's card transactions, their imports and saved column mappings.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::Conn;
use crate::Result;
use regie_rules::card::export::{CardRow, Kind, Status, reference_key};
use regie_rules::card::{Outcome, TransactionSort};
use regie_rules::money::Money;
use regie_rules::page::{Page, Search, Window};

pub async fn insert_import(conn: &mut Conn, file: &str, sheet: Option<&str>, actor: &str, rows: usize) -> Result<i64> {
    let (id,): (i64,) = on!(conn, |c| {
        sqlx::query_as(
        "INSERT INTO card_imports (file, sheet, imported_at, imported_by, rows) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(file)
    .bind(sheet)
    .bind(chrono::Utc::now().to_rfc3339())
    .bind(actor)
    .bind(rows as i64)
    .fetch_one(c).await
    })?;
    Ok(id)
}

pub async fn set_import_counts(conn: &mut Conn, id: i64, new_rows: usize, known: usize) -> Result<()> {
    on!(conn, |c| sqlx::query("UPDATE card_imports SET new_rows = $2, already_known = $3 WHERE id = $1")
        .bind(id)
        .bind(new_rows as i64)
        .bind(known as i64)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The transactions already recorded among those dated `from`..=`to`, by number.
pub async fn known_numbers(conn: &mut Conn, from: NaiveDate, to: NaiveDate) -> Result<HashMap<String, Recorded>> {
    // One text for amount, kind, status and remittance rather than four values: a re-import
    // reads every row of its export back, and decoding each value costs more than the read
    // (100,000 rows: 517 ms instead of 754). The day is read as a date, whatever the engine's
    // way of writing one.
    let rows: Vec<(String, NaiveDate, String)> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT number, date, CAST(amount_cents AS TEXT) || '|' || kind || '|' || status || '|' || COALESCE(remittance, '')
         FROM card_transactions WHERE date BETWEEN $1 AND $2"
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await
    })?;
    Ok(rows.into_iter().map(|(n, date, said)| (n, Recorded { date, said })).collect())
}

/// What a recorded transaction says that an export must say again of it: day, amount, kind and
/// status (their codes), and its remittance once it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub date: NaiveDate,
    /// `cents|kind|status|remittance` as `known_numbers` reads it (remittance empty if none).
    said: String,
}

impl Recorded {
    fn part(&self, n: usize) -> &str {
        self.said.splitn(4, '|').nth(n).unwrap_or_default()
    }

    pub fn cents(&self) -> Option<i64> {
        self.part(0).parse().ok()
    }

    pub fn kind(&self) -> &str {
        self.part(1)
    }

    pub fn status(&self) -> &str {
        self.part(2)
    }

    /// None when the export that recorded it was taken before the gateway sent it to the bank.
    pub fn remittance(&self) -> Option<&str> {
        Some(self.part(3)).filter(|r| !r.is_empty())
    }

    /// Whether `row` says the same of it: a remittance may come later, never another one.
    pub fn same_as(&self, row: &CardRow) -> bool {
        let mut parts = self.said.splitn(4, '|');
        let mut next = || parts.next().unwrap_or_default();
        let (cents, kind, status, remittance) = (next(), next(), next(), next());
        self.date == row.date
            && cents.parse::<i64>().is_ok_and(|c| c == row.amount.cents())
            && kind == row.kind.code()
            && status == row.status.code()
            && (remittance.is_empty() || row.remittance.as_deref().is_none_or(|r| r == remittance))
    }

    /// Whether `row` cancels it: a debit recorded captured from an export taken before the
    /// gateway sent it to the bank, which the gateway cancelled before it did (same day and
    /// amount, still without a remittance).
    pub fn cancelled_by(&self, row: &CardRow) -> bool {
        self.debit_before_remittance(row, "captured", Status::Cancelled)
    }

    /// Whether `row` is an older view of it, taken before the gateway cancelled it: recorded
    /// cancelled without a remittance, the row says captured, still without one (same day and
    /// amount). The export is stale there, not contradicting: the row is already known.
    pub fn cancelled_since(&self, row: &CardRow) -> bool {
        self.debit_before_remittance(row, "cancelled", Status::Captured)
    }

    /// Both a debit of the same day and amount without a remittance, recorded `was` and said
    /// `now` by `row`.
    fn debit_before_remittance(&self, row: &CardRow, was: &str, now: Status) -> bool {
        self.kind() == "debit"
            && self.status() == was
            && self.remittance().is_none()
            && row.kind == Kind::Debit
            && row.status == now
            && row.remittance.is_none()
            && self.date == row.date
            && self.cents() == Some(row.amount.cents())
    }
}

/// Marks a transaction recorded captured as cancelled by the gateway, with why (its payment, if
/// it made one, reversed by the caller). Only while it has no remittance.
pub async fn cancel_transaction(conn: &mut Conn, id: i64, reasons: &str) -> Result<bool> {
    let n = on!(conn, |c| sqlx::query(
        "UPDATE card_transactions SET status = 'cancelled', outcome = 'cancelled', reasons = $2
         WHERE id = $1 AND status = 'captured' AND remittance IS NULL",
    )
    .bind(id)
    .bind(reasons)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Gives transactions recorded before the gateway sent them to the bank the remittance a later
/// export names (`rows`: such rows, one per transaction), and adds them to its totals. The only
/// change a recorded transaction takes: its remittance, from none to one.
pub async fn complete_remittances(conn: &mut Conn, rows: &[&CardRow]) -> Result<()> {
    for r in rows {
        on!(conn, |c| {
            sqlx::query(
            "UPDATE card_transactions SET remittance = $2, remittance_date = $3 WHERE number = $1 AND remittance IS NULL"
        )
        .bind(&r.number)
        .bind(&r.remittance)
        .bind(r.remittance_date)
        .execute(c)
        .await
        .map(|_| ())
        })?;
    }
    add_to_remittances(conn, rows.iter().copied()).await
}

/// Those of `numbers` already recorded, with the day each was recorded on.
pub async fn recorded_on(conn: &mut Conn, numbers: &[&str]) -> Result<Vec<(String, NaiveDate)>> {
    super::by_texts(conn, "SELECT number, date FROM card_transactions WHERE number IN (", numbers).await
}

/// Every student's e-mail (lower case) and number, for tying a transaction to its payer.
pub async fn students(conn: &mut Conn) -> Result<Vec<(i64, String, String)>> {
    const SQL: &str = "SELECT id, number, lower(email) FROM students ORDER BY id";
    match conn.engine() {
        // Read in place, as the open installments (`store::bank::payees`).
        super::Engine::Sqlite(c) => {
            let mut out = Vec::new();
            super::sqlite_rows::each_row(c, SQL, |r| {
                out.push((r.int(0)?, r.text(1)?.to_owned(), r.text(2)?.to_owned()));
                Ok(())
            })
            .await?;
            Ok(out)
        }
        super::Engine::Postgres(c) => Ok(sqlx::query_as(SQL).fetch_all(c).await?),
    }
}

/// Every invoice's number and student.
pub async fn invoice_students(conn: &mut Conn) -> Result<HashMap<String, i64>> {
    const SQL: &str = "SELECT number, student_id FROM invoices";
    match conn.engine() {
        super::Engine::Sqlite(c) => {
            let mut out = HashMap::new();
            super::sqlite_rows::each_row(c, SQL, |r| {
                out.insert(r.text(0)?.to_owned(), r.int(1)?);
                Ok(())
            })
            .await?;
            Ok(out)
        }
        super::Engine::Postgres(c) => {
            let rows: Vec<(String, i64)> = sqlx::query_as(SQL).fetch_all(c).await?;
            Ok(rows.into_iter().collect())
        }
    }
}

/// A transaction as stored.
pub struct NewTransaction<'a> {
    pub id: i64,
    pub import_id: i64,
    pub row: &'a CardRow,
    pub student_id: Option<i64>,
    pub installment_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub outcome: Outcome,
    pub reasons: String,
}

pub async fn last_transaction_id(conn: &mut Conn) -> Result<i64> {
    let (id,): (i64,) =
        on!(conn, |c| sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM card_transactions").fetch_one(c).await)?;
    Ok(id)
}

/// How many rows of an export an import matches before handing them to `insert_bulk` (and their
/// payments to the ledger), chunk after chunk, while it matches the next ones.
///
/// SQLite starts with 1,024 rows, so that writing starts about 3 ms after matching does (25 ms
/// with 8,192 at once), then doubles up to 8,192: writing a row takes about twice as long as
/// matching it, so each chunk is matched while the one before is written. PostgreSQL takes them
/// all at once: each batch ends in a multi-row statement of its own size, one more for the
/// server to prepare, and the 100,000-row import took 7.8–8.2 s in batches instead of 6.8–6.9.
pub fn chunk_sizes(conn: &Conn) -> ChunkSizes {
    if conn.is_postgres() {
        ChunkSizes { next: usize::MAX, most: usize::MAX }
    } else {
        ChunkSizes { next: 1024, most: 8192 }
    }
}

/// The sizes of an import's chunks, in order (`chunk_sizes`): never zero.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSizes {
    next: usize,
    most: usize,
}

impl Iterator for ChunkSizes {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let size = self.next;
        self.next = size.saturating_mul(2).min(self.most);
        Some(size)
    }
}

/// Inserts transactions: on SQLite in one statement over all of them (`sqlite_rows`), on
/// PostgreSQL in multi-row statements (23 values each, well under its limit).
pub async fn insert_bulk(conn: &mut Conn, rows: &[NewTransaction<'_>]) -> Result<()> {
    const COLUMNS: &str = "INSERT INTO card_transactions (id, import_id, number, source_row, date, time, call_number,
            order_ref, amount_cents, currency, kind, status, response_code, card_type, remittance, remittance_date,
            email, student_id, installment_id, payment_id, outcome, reasons, ref_key) ";
    // Each reference's number, made once for the row and for `card_reference_keys`.
    let rows: Vec<(&NewTransaction<'_>, i64)> = rows.iter().map(|t| (t, reference_key(&t.row.reference))).collect();
    if let super::Engine::Sqlite(c) = conn.engine() {
        super::sqlite_rows::insert_rows(c, COLUMNS, 23, &rows, |b, &(t, key)| {
            b.int(t.id)
                .int(t.import_id)
                .text(&t.row.number)
                .int(t.row.row as i64)
                .date(t.row.date)
                .opt_text(t.row.time.as_deref())
                .opt_text(t.row.call.as_deref())
                .text(&t.row.reference)
                .int(t.row.amount.cents())
                .text(&t.row.currency)
                .text(t.row.kind.code())
                .text(t.row.status.code())
                .opt_text(t.row.response.as_deref())
                .opt_text(t.row.card_type.as_deref())
                .opt_text(t.row.remittance.as_deref())
                .opt_date(t.row.remittance_date)
                .opt_text(t.row.email.as_deref())
                .opt_int(t.student_id)
                .opt_int(t.installment_id)
                .opt_int(t.payment_id)
                .text(t.outcome.code())
                .text(&t.reasons)
                .int(key);
        })
        .await?;
    } else {
        bulk!(conn, COLUMNS, &rows, 500, |b, row| {
            let (t, key) = *row;
            b.push_bind(t.id)
                .push_bind(t.import_id)
                .push_bind(&t.row.number)
                .push_bind(t.row.row as i64)
                .push_bind(t.row.date)
                .push_bind(&t.row.time)
                .push_bind(&t.row.call)
                .push_bind(&t.row.reference)
                .push_bind(t.row.amount.cents())
                .push_bind(&t.row.currency)
                .push_bind(t.row.kind.code())
                .push_bind(t.row.status.code())
                .push_bind(&t.row.response)
                .push_bind(&t.row.card_type)
                .push_bind(&t.row.remittance)
                .push_bind(t.row.remittance_date)
                .push_bind(&t.row.email)
                .push_bind(t.student_id)
                .push_bind(t.installment_id)
                .push_bind(t.payment_id)
                .push_bind(t.outcome.code())
                .push_bind(&t.reasons)
                .push_bind(key)
        })?;
    }
    if !rows.is_empty() {
        super::advance_ids(conn, "card_transactions").await?;
    }
    insert_reference_keys(conn, &rows).await?;
    add_to_remittances(conn, rows.iter().map(|(t, _)| t.row)).await
}

/// Writes each new transaction's reference number beside it (`card_reference_keys`, where the
/// lookups of `keyed!` find it), in the numbers' order: SQLite goes through the table's B-tree
/// once, where an index on the transactions put each number at a random place of its own.
async fn insert_reference_keys(conn: &mut Conn, rows: &[(&NewTransaction<'_>, i64)]) -> Result<()> {
    const INSERT: &str = "INSERT INTO card_reference_keys (ref_key, transaction_id) ";
    let mut keys: Vec<(i64, i64)> = rows.iter().map(|(t, key)| (*key, t.id)).collect();
    keys.sort_unstable();
    if let super::Engine::Sqlite(c) = conn.engine() {
        super::sqlite_rows::insert_rows(c, INSERT, 2, &keys, |b, k| {
            b.int(k.0).int(k.1);
        })
        .await?;
    } else {
        bulk!(conn, INSERT, &keys, 5000, |b, k| b.push_bind(k.0).push_bind(k.1))?;
    }
    Ok(())
}

/// A remittance's share of one import: (latest remittance date, latest date, cents, count).
type RemittanceShare = (Option<NaiveDate>, NaiveDate, i64, i64);

/// Adds the captured debits and refunds among `rows` (transactions new to their remittance) to
/// their remittances' totals, a refund less: the bank credits a remittance net of the refunds sent
/// back to cards with it. A transaction's fields never change afterwards (but for its remittance,
/// from none to one, added then), so the totals stay what summing every captured debit and refund
/// would give.
async fn add_to_remittances<'r>(conn: &mut Conn, rows: impl Iterator<Item = &'r CardRow>) -> Result<()> {
    let mut shares: std::collections::BTreeMap<&str, RemittanceShare> = std::collections::BTreeMap::new();
    for r in rows {
        let sign = match r.kind {
            Kind::Debit => 1,
            Kind::Refund => -1,
            Kind::Chargeback => continue,
        };
        let (Status::Captured, Some(number)) = (r.status, r.remittance.as_deref()) else {
            continue;
        };
        let share = shares.entry(number).or_insert((None, r.date, 0, 0));
        share.0 = share.0.max(r.remittance_date);
        share.1 = share.1.max(r.date);
        share.2 += sign * r.amount.cents();
        share.3 += 1;
    }
    let shares: Vec<(&str, RemittanceShare)> = shares.into_iter().collect();
    // A NULL compares to nothing: the CASEs keep the latest date either side has.
    bulk!(
        conn,
        "INSERT INTO card_remittances (number, remittance_date, last_date, gross_cents, count) ",
        &shares,
        1000,
        |b, s| b.push_bind(s.0).push_bind(s.1.0).push_bind(s.1.1).push_bind(s.1.2).push_bind(s.1.3);
        " ON CONFLICT (number) DO UPDATE SET
            remittance_date = CASE WHEN card_remittances.remittance_date IS NULL
                                     OR excluded.remittance_date > card_remittances.remittance_date
                                   THEN excluded.remittance_date ELSE card_remittances.remittance_date END,
            last_date = CASE WHEN excluded.last_date > card_remittances.last_date
                             THEN excluded.last_date ELSE card_remittances.last_date END,
            gross_cents = card_remittances.gross_cents + excluded.gross_cents,
            count = card_remittances.count + excluded.count"
    )?;
    Ok(())
}

/// Records refused debits against their installments, the latest one winning:
/// (installment, response code, date, transaction).
pub async fn record_refusals(conn: &mut Conn, refusals: &[(i64, String, NaiveDate, i64)]) -> Result<()> {
    // One row per installment and statement: PostgreSQL refuses an upsert that touches a row
    // twice (a debit refused, retried and refused again in the same export). The latest wins.
    let mut latest: std::collections::HashMap<i64, &(i64, String, NaiveDate, i64)> = std::collections::HashMap::new();
    for r in refusals {
        let keep = latest.get(&r.0).is_none_or(|k| (r.2, r.3) >= (k.2, k.3));
        if keep {
            latest.insert(r.0, r);
        }
    }
    let mut refusals: Vec<(i64, String, NaiveDate, i64)> = latest.into_values().cloned().collect();
    refusals.sort_by_key(|r| r.3);
    for chunk in refusals.chunks(5000) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO card_refusals (installment_id, response_code, date, transaction_id) ",
            );
            q.push_values(chunk, |mut b, (installment, code, date, id)| {
                b.push_bind(*installment).push_bind(code).push_bind(*date).push_bind(*id);
            });
            q.push(
            " ON CONFLICT (installment_id) DO UPDATE SET response_code = excluded.response_code, date = excluded.date,
                transaction_id = excluded.transaction_id WHERE excluded.date >= card_refusals.date",
        );
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Records what became of a transaction after it was stored (a refund, a charge-back, an assignment).
#[allow(clippy::too_many_arguments)]
pub async fn settle_transaction(
    conn: &mut Conn,
    id: i64,
    outcome: Outcome,
    student_id: Option<i64>,
    installment_id: Option<i64>,
    payment_id: Option<i64>,
    refund_id: Option<i64>,
    reasons: &str,
) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "UPDATE card_transactions SET outcome = $2, student_id = COALESCE($3, student_id),
            installment_id = COALESCE($4, installment_id), payment_id = COALESCE($5, payment_id),
            refund_id = COALESCE($6, refund_id), reasons = $7
         WHERE id = $1",
    )
    .bind(id)
    .bind(outcome.code())
    .bind(student_id)
    .bind(installment_id)
    .bind(payment_id)
    .bind(refund_id)
    .bind(reasons)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A transaction as the Cartes screen and the CLI list it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TransactionRow {
    pub id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub time: Option<String>,
    pub order_ref: String,
    #[serde(skip)]
    pub amount_cents: i64,
    #[sqlx(try_from = "String")]
    pub kind: Kind,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub response_code: Option<String>,
    pub card_type: Option<String>,
    pub remittance: Option<String>,
    pub email: Option<String>,
    pub student_number: Option<String>,
    pub student_name: Option<String>,
    pub invoice_number: Option<String>,
    pub installment_n: Option<i64>,
    pub payment_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub outcome: Outcome,
    #[serde(skip)]
    pub reasons: String,
}

/// The transaction columns joined with student and installment, followed by a static tail.
macro_rules! select_transactions {
    ($tail:expr) => {
        concat!(
            "SELECT c.id, c.number, c.date, c.time, c.order_ref, c.amount_cents, c.kind, c.status,
        c.response_code, c.card_type, c.remittance, c.email, s.number AS student_number,
        s.last_name || ' ' || s.first_name AS student_name, i.number AS invoice_number, t.n AS installment_n,
        c.payment_id, c.outcome, c.reasons
     FROM card_transactions c
     LEFT JOIN students s ON s.id = c.student_id
     LEFT JOIN installments t ON t.id = c.installment_id
     LEFT JOIN invoices i ON i.id = t.invoice_id ",
            $tail
        )
    };
}

pub const TRANSACTIONS: &str =
    select_transactions!("WHERE $1 IS NULL OR c.outcome = $1 ORDER BY c.date DESC, c.time DESC, c.id DESC LIMIT $2");

pub async fn transactions(conn: &mut Conn, outcome: Option<Outcome>, limit: i64) -> Result<Vec<TransactionRow>> {
    Ok(on!(conn, |c| sqlx::query_as(TRANSACTIONS).bind(outcome.map(Outcome::code)).bind(limit).fetch_all(c).await)?)
}

/// What narrows the transactions list, on `x`: `$1` outcome, `$2` remittance number, `$3` a
/// `LIKE` pattern on the transaction number, the order reference or the payer's e-mail. The table
/// has no secondary index (imports would pay for each): a filter reads it once, in C.
macro_rules! transactions_filter {
    () => {
        "($1 IS NULL OR x.outcome = $1) AND ($2 IS NULL OR x.remittance = $2)
         AND ($3 IS NULL OR lower(x.number) LIKE $3 ESCAPE '\\' OR lower(x.order_ref) LIKE $3 ESCAPE '\\'
              OR lower(COALESCE(x.email, '')) LIKE $3 ESCAPE '\\')"
    };
}

/// One window of the transactions: its ids found first (`$4` rows from `$5`), then only its
/// students and installments looked up.
macro_rules! transaction_page {
    ($inner:literal, $outer:literal) => {
        select_transactions!(concat!(
            "WHERE c.id IN (SELECT x.id FROM card_transactions x WHERE ",
            transactions_filter!(),
            " ORDER BY ",
            $inner,
            " LIMIT $4 OFFSET $5) ORDER BY ",
            $outer
        ))
    };
}

/// The window's statement for a sort, either way.
pub const fn transaction_page_sql(sort: TransactionSort, descending: bool) -> &'static str {
    match (sort, descending) {
        (TransactionSort::Date, false) => transaction_page!("x.date, x.time, x.id", "c.date, c.time, c.id"),
        (TransactionSort::Date, true) => {
            transaction_page!("x.date DESC, x.time DESC, x.id DESC", "c.date DESC, c.time DESC, c.id DESC")
        }
        (TransactionSort::Number, false) => transaction_page!("x.number", "c.number"),
        (TransactionSort::Number, true) => transaction_page!("x.number DESC", "c.number DESC"),
        (TransactionSort::Amount, false) => transaction_page!("x.amount_cents, x.id", "c.amount_cents, c.id"),
        (TransactionSort::Amount, true) => {
            transaction_page!("x.amount_cents DESC, x.id DESC", "c.amount_cents DESC, c.id DESC")
        }
    }
}

pub const TRANSACTION_COUNT: &str = concat!("SELECT COUNT(*) FROM card_transactions x WHERE ", transactions_filter!());

/// What narrows the transactions list, as the database holds it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransactionFilter<'a> {
    pub outcome: Option<Outcome>,
    pub remittance: Option<&'a str>,
    pub search: Option<&'a Search>,
}

/// `limit` transactions from `offset` of those the filter keeps, sorted, and how many it keeps.
pub async fn transaction_page(
    conn: &mut Conn,
    f: &TransactionFilter<'_>,
    sort: TransactionSort,
    descending: bool,
    window: Window,
) -> Result<Page<TransactionRow>> {
    let outcome = f.outcome.map(Outcome::code);
    let pattern = f.search.map(Search::pattern);
    // Unfiltered, asked plainly (see `requests::count_matching`).
    let total: i64 = match f {
        TransactionFilter { outcome: None, remittance: None, search: None } => {
            on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM card_transactions").fetch_one(c).await)?
        }
        _ => on!(conn, |c| sqlx::query_scalar(TRANSACTION_COUNT)
            .bind(outcome)
            .bind(f.remittance)
            .bind(pattern)
            .fetch_one(c)
            .await)?,
    };
    let rows = on!(conn, |c| sqlx::query_as(transaction_page_sql(sort, descending))
        .bind(outcome)
        .bind(f.remittance)
        .bind(pattern)
        .bind(window.limit())
        .bind(window.offset())
        .fetch_all(c)
        .await)?;
    Ok(Page { total: Some(total), offset: window.offset(), rows })
}

pub async fn transaction(conn: &mut Conn, number: &str) -> Result<Option<TransactionRow>> {
    let sql = select_transactions!("WHERE c.number = $1");
    Ok(on!(conn, |c| sqlx::query_as(sql).bind(number).fetch_optional(c).await)?)
}

/// The installment of rank `n` of invoice `invoice` when it is still open (not cancelled, not
/// wholly settled).
pub async fn open_installment_ranked(conn: &mut Conn, invoice: &str, n: i64) -> Result<Option<i64>> {
    let row: Option<(i64,)> = on!(conn, |c| sqlx::query_as(
        "SELECT b.id FROM installment_balances b JOIN invoices v ON v.id = b.invoice_id
         WHERE v.number = $1 AND b.n = $2 AND b.status <> 'cancelled'
           AND b.amount_cents - b.paid_cents - b.credited_cents > 0"
    )
    .bind(invoice)
    .bind(n)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(|(id,)| id))
}

/// A paid card debit: (its transaction, its payment, the installment it paid).
pub type PaidDebit = (i64, i64, Option<i64>);

/// The condition that transaction `$t` has the reference number `$4`, met through the numbers'
/// own table (`card_reference_keys`); the reference's text is compared too, by the caller.
macro_rules! keyed {
    ($t:literal) => {
        concat!($t, ".id IN (SELECT r.transaction_id FROM card_reference_keys r WHERE r.ref_key = $4)")
    };
}

/// The rest of `paid_debit_for`'s condition and its order: `$2` the amount, `$3` a student.
macro_rules! paid_debit {
    () => {
        "($3 IS NULL OR c.student_id = $3) AND c.amount_cents = $2
           AND c.kind = 'debit' AND c.outcome = 'paid' AND c.payment_id IS NOT NULL
         ORDER BY c.date DESC, c.time DESC, c.id DESC LIMIT 1"
    };
}

/// `paid_debit_for` with a reference (`$1`, and its `reference_key` `$4`).
pub const PAID_DEBIT_BY_REFERENCE: &str = concat!(
    "SELECT c.id, c.payment_id, c.installment_id FROM card_transactions c
     WHERE ",
    keyed!("c"),
    " AND c.order_ref = $1 AND ",
    paid_debit!()
);

/// `paid_debit_for` without one.
pub const PAID_DEBIT_BY_STUDENT: &str = concat!(
    "SELECT c.id, c.payment_id, c.installment_id FROM card_transactions c
     WHERE CAST($1 AS TEXT) IS NULL AND CAST($4 AS BIGINT) IS NULL AND ",
    paid_debit!()
);

/// The captured debit a charge-back or refund row refers to: same amount, still paid, the latest
/// first (by date, time and id); of that order reference, of that student, or both (`None`
/// leaves either open). With a reference, found through the table of the references' numbers
/// (`reference_key`, `keyed!`); by student alone (a refund the accountant assigns), every transaction is
/// read.
pub async fn paid_debit_for(
    conn: &mut Conn,
    reference: Option<&str>,
    student_id: Option<i64>,
    amount: Money,
) -> Result<Option<PaidDebit>> {
    // One statement each way: `($1 IS NULL OR c.order_ref = $1)` would keep the index unused.
    let sql = if reference.is_some() { PAID_DEBIT_BY_REFERENCE } else { PAID_DEBIT_BY_STUDENT };
    Ok(on!(conn, |c| sqlx::query_as(sql)
        .bind(reference)
        .bind(amount.cents())
        .bind(student_id)
        .bind(reference.map(reference_key))
        .fetch_optional(c)
        .await)?)
}

pub async fn declared_charge_back_for(
    conn: &mut Conn,
    reference: &str,
    student_id: Option<i64>,
    amount: Money,
) -> Result<Option<PaidDebit>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT c.id, c.payment_id, c.installment_id FROM card_transactions c
             WHERE ",
            keyed!("c"),
            " AND c.order_ref = $1 AND c.amount_cents = $2 AND c.kind = 'debit'
               AND c.outcome = 'charged_back'
               AND c.payment_id IS NOT NULL
               AND (CAST($3 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM payments p WHERE p.id = c.payment_id AND p.student_id = $3))
               AND NOT EXISTS (SELECT 1 FROM card_transactions k WHERE k.kind = 'chargeback' AND k.payment_id = c.payment_id)
             ORDER BY c.date, c.id LIMIT 1",
        ))
    .bind(reference)
    .bind(amount.cents())
    .bind(student_id)
    .bind(reference_key(reference))
    .fetch_optional(c)
    .await
    })?)
}

/// The charge-back row already recorded for a debit of that order reference and amount, with
/// the payment it undid and the installment due again: (its number, payment, installment). Only
/// when a new charge-back of them can be nothing else than that one told again: every captured
/// debit of them is charged back already, and has its charge-back row.
pub async fn recorded_charge_back_for(
    conn: &mut Conn,
    reference: &str,
    student_id: Option<i64>,
    amount: Money,
) -> Result<Option<(String, Option<i64>, Option<i64>)>> {
    Ok(on!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT k.number, k.payment_id, k.installment_id FROM card_transactions k
             WHERE ",
            keyed!("k"),
            " AND k.order_ref = $1 AND k.amount_cents = $2 AND k.kind = 'chargeback'
               AND k.outcome = 'charged_back'
               AND (CAST($3 AS BIGINT) IS NULL
                    OR EXISTS (SELECT 1 FROM payments p WHERE p.id = k.payment_id AND p.student_id = $3))
               AND NOT EXISTS (SELECT 1 FROM card_transactions d
                               WHERE ",
            keyed!("d"),
            " AND d.order_ref = $1 AND d.amount_cents = $2
                                 AND d.kind = 'debit' AND d.status = 'captured' AND d.outcome <> 'charged_back')
               AND (SELECT COUNT(*) FROM card_transactions b
                    WHERE ",
            keyed!("b"),
            " AND b.order_ref = $1 AND b.amount_cents = $2 AND b.kind = 'chargeback'
                      AND b.outcome = 'charged_back')
                   >= (SELECT COUNT(*) FROM card_transactions d
                       WHERE ",
            keyed!("d"),
            " AND d.order_ref = $1 AND d.amount_cents = $2 AND d.kind = 'debit'
                         AND d.outcome = 'charged_back')
             ORDER BY k.date, k.id LIMIT 1",
        ))
        .bind(reference)
        .bind(amount.cents())
        .bind(student_id)
        .bind(reference_key(reference))
        .fetch_optional(c)
        .await
    })?)
}

pub async fn profile(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = on!(conn, |c| sqlx::query_as("SELECT mapping FROM card_profiles WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|(m,)| m))
}

pub async fn save_profile(conn: &mut Conn, name: &str, mapping: &str) -> Result<()> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO card_profiles (name, mapping) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET mapping = excluded.mapping",
    )
    .bind(name)
    .bind(mapping)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A remittance as the gateway's captured debits make it up.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RemittanceRow {
    pub number: String,
    pub date: NaiveDate,
    pub gross_cents: i64,
    pub count: i64,
    pub bank_line_id: Option<i64>,
    pub bank_cents: Option<i64>,
    /// A "COMMISSION CB" debit line of the bank line's day, when the bank charges it apart.
    pub commission_cents: Option<i64>,
}

/// The remittances with their bank line, if one was imported, latest first; `$tail` cuts them
/// before their bank lines and commissions are looked up (a day's lines read for each).
macro_rules! select_remittances {
    ($tail:literal) => {
        concat!(
            "SELECT r.number, r.date, r.gross_cents, r.count, l.id AS bank_line_id, l.amount_cents AS bank_cents,
                (SELECT -CAST(SUM(x.amount_cents) AS BIGINT) FROM statement_lines x
                 WHERE r.gross_cents > 0 AND x.date = l.date AND x.amount_cents < 0
                   AND upper(x.label) LIKE '%COMMISSION%CB%') AS commission_cents
         FROM (SELECT number, COALESCE(remittance_date, last_date) AS date, gross_cents, count
               FROM card_remittances ORDER BY date DESC, number",
            $tail,
            ") r
         LEFT JOIN statement_lines l ON l.id = (SELECT MIN(y.id) FROM statement_lines y
                                                WHERE y.remittance = r.number AND (y.amount_cents < 0) = (r.gross_cents < 0))
         ORDER BY r.date DESC, r.number"
        )
    };
}

/// Every remittance with its bank line, if one was imported.
pub async fn remittances(conn: &mut Conn) -> Result<Vec<RemittanceRow>> {
    Ok(on!(conn, |c| sqlx::query_as(select_remittances!("")).fetch_all(c).await)?)
}

/// `limit` remittances from `offset`, latest first, and how many there are: the window asks for
/// a page, not for ten years of them (1,195 on the ten-year set).
pub async fn remittance_page(conn: &mut Conn, window: Window) -> Result<Page<RemittanceRow>> {
    let total: i64 = on!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM card_remittances").fetch_one(c).await)?;
    let rows = on!(conn, |c| sqlx::query_as(select_remittances!(" LIMIT $1 OFFSET $2"))
        .bind(window.limit())
        .bind(window.offset())
        .fetch_all(c)
        .await)?;
    Ok(Page { total: Some(total), offset: window.offset(), rows })
}

/// The remittances the gateway's exports make up: (number, date, gross).
pub async fn remittance_totals(conn: &mut Conn) -> Result<Vec<(String, NaiveDate, Money)>> {
    let rows: Vec<(String, NaiveDate, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT number, COALESCE(remittance_date, last_date), gross_cents FROM card_remittances ORDER BY number"
    )
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|(n, d, c)| (n, d, Money::from_cents(c))).collect())
}
