//! The lists and the account position stay fast as the office grows: each engine is asked how it
//! runs every one of them (`store::PLANNED`) over a demo office, and no large table may be read
//! whole inside a per-row subquery (which makes a list quadratic in its rows).

mod common;

use regie::store::{Engine, PLANNED, Store};
use sqlx::Row;

/// The statement with its parameters as NULL: a plan is asked for, nothing is bound. The text
/// is our own constant (`store::PLANNED`), never user input.
fn unbound(sql: &str) -> String {
    let mut out = sql.to_string();
    for n in (1..=20).rev() {
        out = out.replace(&format!("${n}"), "NULL");
    }
    out
}

/// SQLite's plan: rows (id, parent, detail); a scan under a correlated subquery is a defect.
fn sqlite_offences(rows: &[(i64, i64, String)]) -> Vec<String> {
    let parent_of = |id: i64| rows.iter().find(|r| r.0 == id).map(|r| r.1);
    let detail_of = |id: i64| rows.iter().find(|r| r.0 == id).map(|r| r.2.as_str()).unwrap_or("");
    let mut out = Vec::new();
    // The subqueries' results, read as tables (a window of ids, say): an index SQLite builds on
    // one reads those few rows only.
    let subqueries: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.2.strip_prefix("CO-ROUTINE ").or_else(|| r.2.strip_prefix("MATERIALIZE ")))
        .collect();
    for (id, _, detail) in rows {
        // An index SQLite builds on a table for the statement reads the whole table each time
        // the statement runs.
        let on = detail.split(' ').nth(1).unwrap_or("");
        if detail.contains(" AUTOMATIC ") && !subqueries.contains(&on) {
            out.push(detail.clone());
            continue;
        }
        if !detail.starts_with("SCAN ") || detail.starts_with("SCAN CONSTANT ROW") {
            continue;
        }
        let mut at = parent_of(*id);
        while let Some(p) = at.filter(|p| *p != 0) {
            if detail_of(p).starts_with("CORRELATED") {
                out.push(format!("{detail} inside {}", detail_of(p)));
                break;
            }
            at = parent_of(p);
        }
    }
    out
}

/// PostgreSQL's plan, asked with sequential scans discouraged: a `Seq Scan` left inside a
/// `SubPlan` is a lookup no index can serve.
fn postgres_offences(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut subplans: Vec<usize> = Vec::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        subplans.retain(|&k| indent > k);
        let text = line.trim_start().trim_start_matches("->  ");
        if text.starts_with("SubPlan") {
            subplans.push(indent);
        } else if !subplans.is_empty() && text.starts_with("Seq Scan on ") {
            out.push(format!("{} inside a SubPlan", text.split("  (").next().unwrap_or(text)));
        }
    }
    out
}

/// An engine's plan: SQLite's rows (id, parent, detail), PostgreSQL's lines (asked with
/// sequential scans discouraged).
enum Plan {
    Sqlite(Vec<(i64, i64, String)>),
    Postgres(Vec<String>),
}

async fn explain(store: &Store, sql: &str) -> Plan {
    let mut tx = store.begin().await.unwrap();
    let plan = match tx.engine() {
        Engine::Sqlite(c) => {
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&mut *c).await.unwrap();
            Plan::Sqlite(rows.iter().map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<String, _>(3))).collect())
        }
        Engine::Postgres(c) => {
            sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *c).await.unwrap();
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))).fetch_all(&mut *c).await.unwrap();
            Plan::Postgres(rows.iter().map(|r| r.get::<String, _>(0)).collect())
        }
    };
    tx.rollback().await.unwrap();
    plan
}

async fn offences(store: &Store, sql: &str) -> Vec<String> {
    match explain(store, &unbound(sql)).await {
        Plan::Sqlite(rows) => sqlite_offences(&rows),
        Plan::Postgres(lines) => postgres_offences(&lines),
    }
}

/// The plan of `sql` as text.
async fn plan_of(store: &Store, sql: &str) -> String {
    match explain(store, &unbound(sql)).await {
        Plan::Sqlite(rows) => rows.into_iter().map(|r| r.2).collect::<Vec<_>>().join("\n"),
        Plan::Postgres(lines) => lines.join("\n"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_list_reads_a_large_table_whole_for_each_of_its_rows() {
    let dir = common::temp_dir("plans");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let mut all = Vec::new();
    for &(name, sql) in PLANNED {
        for o in offences(&store, sql).await {
            all.push(format!("{name}: {o}"));
        }
    }
    assert!(all.is_empty(), "per-row scans:\n{}", all.join("\n"));
}

/// The lookups an import makes before it matches or undoes anything go through their indexes:
/// the open installments through the index of unsettled ones (not every allocation of every
/// year), the debit a charge-back undoes through the table of reference numbers (not every
/// transaction, once per charge-back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_s_lookups_use_their_indexes() {
    let dir = common::temp_dir("plans-import");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    // A reference given (a NULL one, PostgreSQL sees, can match nothing and plans no scan).
    let by_reference = regie::store::card::PAID_DEBIT_BY_REFERENCE
        .replace("$1", "'F2026-00001-2'")
        .replace("$2", "20600")
        .replace("$4", &regie_rules::card::export::reference_key("F2026-00001-2").to_string());
    // The table of reference numbers: by its key, as SQLite and PostgreSQL each name it.
    let reference_keys = ["r USING PRIMARY KEY (ref_key=?)", "card_reference_keys_pkey"];
    for (sql, index) in [
        (by_reference.as_str(), &reference_keys[..]),
        (regie::store::bank::OPEN_INSTALLMENTS, &["installments_unsettled"][..]),
        (regie::store::bank::OPEN_INVOICES, &["installments_unsettled"][..]),
    ] {
        let plan = plan_of(&store, sql).await;
        assert!(index.iter().any(|i| plan.contains(i)), "{index:?} unused by {sql}:\n{plan}");
    }
}

#[test]
fn the_checks_see_a_per_row_scan() {
    // What the invoices list gave before invoice_lines had an index on invoice_id.
    let sqlite = [
        (2, 0, "SCAN i USING INDEX sqlite_autoindex_invoices_2".to_string()),
        (5, 0, "CORRELATED SCALAR SUBQUERY 1".to_string()),
        (9, 5, "SCAN l".to_string()),
        (12, 0, "CORRELATED SCALAR SUBQUERY 3".to_string()),
        (15, 12, "SEARCH c USING INDEX credit_notes_invoice (invoice_id=?)".to_string()),
    ];
    assert_eq!(sqlite_offences(&sqlite), ["SCAN l inside CORRELATED SCALAR SUBQUERY 1"]);
    let postgres: Vec<String> = [
        "Sort  (cost=1.1..1.2 rows=10 width=8)",
        "  ->  Seq Scan on invoices i  (cost=0.0..1.0 rows=10 width=8)",
        "  SubPlan 1",
        "    ->  Aggregate  (cost=1.0..1.1 rows=1 width=8)",
        "          ->  Seq Scan on invoice_lines l  (cost=10000000000.00..10000000001.00 rows=1 width=8)",
        "  SubPlan 2",
        "    ->  Index Scan using credit_notes_invoice on credit_notes c  (cost=0.1..1.0 rows=1 width=8)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(postgres_offences(&postgres), ["Seq Scan on invoice_lines l inside a SubPlan"]);
    assert!(sqlite_offences(&sqlite[3..]).is_empty());
    // What the CLI's SQLite (3.40) made of Relances' walk before the unsettled installments had
    // an index led by their invoice: an index built from every installment, each time. One built
    // on a window of a few ids is no offence.
    let built = [
        (1, 0, "CO-ROUTINE w".to_string()),
        (4, 1, "SCAN s USING INDEX students_name".to_string()),
        (7, 1, "SEARCH b USING AUTOMATIC PARTIAL COVERING INDEX (invoice_id=?)".to_string()),
        (9, 0, "SEARCH w USING AUTOMATIC COVERING INDEX (id=?)".to_string()),
    ];
    assert_eq!(sqlite_offences(&built), ["SEARCH b USING AUTOMATIC PARTIAL COVERING INDEX (invoice_id=?)"]);
}

/// A searched page of statement lines starts from the lines' text index (SQLite's FTS5 table of
/// trigrams, PostgreSQL's trigram index): a rare name is not looked for line by line in date
/// order through every year.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_searched_page_of_statement_lines_reads_the_text_index() {
    use regie::bank::LineSort;
    use regie::store::bank::{LINE_TEXT_COUNT, line_page_sql, line_text_page_sql};
    let dir = common::temp_dir("plans-text");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let statements = match store.path() {
        Some(_) => [(line_text_page_sql(LineSort::Date, false), "VIRTUAL TABLE"), (LINE_TEXT_COUNT, "VIRTUAL TABLE")],
        None => [
            (line_page_sql(LineSort::Date, false), "statement_lines_text"),
            (regie::store::bank::LINE_COUNT, "statement_lines_text"),
        ],
    };
    for (sql, index) in statements {
        let sql = sql.replace("$2", "'%dupont%'");
        let plan = plan_of(&store, &sql).await;
        assert!(plan.contains(index), "{index} unused by {sql}:\n{plan}");
        assert_eq!(offences(&store, &sql).await, Vec::<String>::new());
    }
}

/// Relances' walk by name looks up each student's unsettled installments in their partial index
/// (led by the invoice, holding what the walk reads), not every installment row of every invoice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminders_walk_reads_the_unsettled_installments_by_invoice() {
    let dir = common::temp_dir("plans-walk");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    // The day, both schools' cutoffs (due dates, then days reminded), any level, no search, the first 100 (unbound, the day
    // would leave PostgreSQL nothing to plan).
    let mut walk = regie::store::dunning::LEVELED_WALK.to_string();
    for (n, value) in [
        (17, "0"),
        (16, "100"),
        (15, "NULL"),
        (14, "0"),
        (13, "'2026-11-07'"),
        (12, "'2026-11-17'"),
        (11, "'2026-10-17'"),
        (10, "'2026-11-10'"),
        (9, "'2026-11-24'"),
        (8, "'POLYTECH'"),
        (7, "'2026-11-07'"),
        (6, "'2026-11-17'"),
        (5, "'2026-10-17'"),
        (4, "'2026-11-10'"),
        (3, "'2026-11-24'"),
        (2, "'ISIMA'"),
        (1, "'2026-12-01'"),
    ] {
        walk = walk.replace(&format!("${n}"), value);
    }
    let open = regie::store::invoices::invoice_page_sql(
        regie::ledger::InvoiceSort::Number,
        false,
        Some(regie::store::invoices::InvoiceState::Open),
    );
    for sql in [walk.as_str(), open] {
        match store.path() {
            // SQLite follows the statement's order of tables (`CROSS JOIN`): the index is the
            // design's.
            Some(_) => {
                let plan = plan_of(&store, sql).await;
                assert!(plan.contains("installments_unsettled"), "installments_unsettled unused by {sql}:\n{plan}");
            }
            // PostgreSQL picks its own order and indexes from the demo's statistics: no index
            // expected, no table read whole per row either.
            None => assert_eq!(offences(&store, sql).await, Vec::<String>::new()),
        }
    }
}
