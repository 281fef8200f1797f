//! Moving an office's SQLite file onto its PostgreSQL server: every table copied row for row, ids,
//! numbering and the audit log included, in the order the foreign keys need.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::{Postgres, QueryBuilder, Row};

use super::{Conn, Engine};
use crate::{Error, Result};

/// Every table, parents before children. The seeded settings, programmes and grid of a new
/// server are replaced by the file's.
pub const TABLES: [&str; 39] = [
    "school_settings",
    "programmes",
    "fee_grid",
    "session_labels",
    "users",
    "app_prefs",
    "students",
    "requests",
    "number_series",
    "orders",
    "invoices",
    "invoice_lines",
    "installments",
    "payments",
    "allocations",
    "credit_notes",
    "refunds",
    "credit_allocations",
    "statements",
    "statement_lines",
    "line_payments",
    "line_counts",
    "sessions",
    "session_lines",
    "session_returns",
    "payer_aliases",
    "import_profiles",
    "commission_sessions",
    "exemption_outcomes",
    "exemption_additions",
    "card_imports",
    "card_transactions",
    "card_reference_keys",
    "card_remittances",
    "card_refusals",
    "card_profiles",
    "dunning_runs",
    "dunning",
    "audit_log",
];

/// What the server holds already, among what a copy would bring: students, requests, audit lines.
pub async fn occupied(target: &mut Conn) -> Result<i64> {
    let Engine::Postgres(c) = target.engine() else { return Err(not_a_server()) };
    let (n,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM students) + (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM audit_log)",
    )
    .fetch_one(c)
    .await?;
    Ok(n)
}

fn not_a_file() -> Error {
    Error::Invalid("la source doit être un fichier SQLite".into())
}

fn not_a_server() -> Error {
    Error::Invalid("la destination doit être un serveur PostgreSQL (postgres://…)".into())
}

/// One value on its way, typed as the server's column is.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Date(Option<NaiveDate>),
    Bool(Option<bool>),
}

/// Copies every table of `source` (a SQLite file) into `target` (an empty server's transaction),
/// then moves the server's id sequences past the copied ids. Returns the rows copied per table.
pub async fn copy(source: &mut Conn, target: &mut Conn) -> Result<BTreeMap<&'static str, u64>> {
    let Engine::Sqlite(_) = source.engine() else {
        return Err(not_a_file());
    };
    let mut copied = BTreeMap::new();
    for table in TABLES.iter().rev() {
        let Engine::Postgres(t) = target.engine() else { return Err(not_a_server()) };
        QueryBuilder::<Postgres>::new(format!("DELETE FROM {table}")).build().execute(&mut *t).await?;
    }
    for table in TABLES {
        let Engine::Postgres(t) = target.engine() else { return Err(not_a_server()) };
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *t)
        .await?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let Engine::Sqlite(s) = source.engine() else {
            return Err(not_a_file());
        };
        // In id order (the first column): a reversal comes after the payment it reverses, also
        // across the statements a large table is inserted in.
        let rows =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!("SELECT {} FROM {table} ORDER BY 1", names.join(", ")))
                .build()
                .fetch_all(&mut *s)
                .await?;
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut v = Vec::with_capacity(columns.len());
            for (i, (name, kind)) in columns.iter().enumerate() {
                let bad = |e: sqlx::Error| Error::Invalid(format!("{table}.{name} : valeur illisible ({e})"));
                v.push(match kind.as_str() {
                    "bigint" => Value::Int(row.try_get(i).map_err(bad)?),
                    "boolean" => Value::Bool(row.try_get::<Option<i64>, _>(i).map_err(bad)?.map(|b| b != 0)),
                    "date" => {
                        let text: Option<String> = row.try_get(i).map_err(bad)?;
                        Value::Date(
                            text.map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d"))
                                .transpose()
                                .map_err(|e| Error::Invalid(format!("{table}.{name} : date illisible ({e})")))?,
                        )
                    }
                    _ => Value::Text(row.try_get(i).map_err(bad)?),
                });
            }
            values.push(v);
        }
        // PostgreSQL takes at most 65,535 bound values per statement.
        let per_statement = (60_000 / columns.len().max(1)).max(1);
        for chunk in values.chunks(per_statement) {
            let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
            q.push_values(chunk, |mut b, row| {
                for v in row {
                    match v {
                        Value::Int(x) => b.push_bind(*x),
                        Value::Text(x) => b.push_bind(x.clone()),
                        Value::Date(x) => b.push_bind(*x),
                        Value::Bool(x) => b.push_bind(*x),
                    };
                }
            });
            q.build().execute(&mut *t).await?;
        }
        if names.contains(&"id") {
            super::advance_ids(target, table).await?;
        }
        copied.insert(table, values.len() as u64);
    }
    Ok(copied)
}

/// How many rows `table` holds, on either engine.
pub async fn count(conn: &mut Conn, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(on!(conn, |c| QueryBuilder::new(sql.clone()).build_query_as::<(i64,)>().fetch_one(c).await)?.0)
}
