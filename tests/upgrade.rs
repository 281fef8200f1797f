//! A database written by an earlier Régie opens in this one and keeps every position: the file
//! in `tests/fixtures/` was made by the release of 4 December 2026 (`demo --students 40 --years 2
//! --today 01/12/2026`, then `backup`), with each student's figures as that release showed them.
//! Every later migration must open it (after backing it up) and show the same figures.

mod common;

use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/regie-2026-12-04.sqlite");
const POSITIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/regie-2026-12-04.positions.json");

/// The figures of a position that do not depend on the day they are read (statuses do).
fn figures(p: &Value) -> Value {
    let schedule: Vec<Value> = p["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!([l["invoice_number"], l["due_date"], l["amount"], l["paid"], l["credited"], l["left_to_pay"]]))
        .collect();
    let payments: Vec<Value> =
        p["payments"].as_array().unwrap().iter().map(|x| json!([x["date"], x["amount"]])).collect();
    json!({"summary": p["summary"], "totals": p["totals"], "schedule": schedule, "payments": payments})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_4_december_2026_release_opens_with_every_position() {
    let dir = common::temp_dir("upgrade");
    let db = dir.join("regie.sqlite");
    std::fs::copy(FIXTURE, &db).unwrap();
    // Times as that release kept some gateway rows (read again by migration 31): a CSV's as
    // written, an ods time's ISO text, an xlsx time's date, junk.
    let legacy = ["6:10:31", "14:02", "PT14H02M11S", "PT06H10M31.000S", "30/12/1899", "99:99:99"];
    {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        for (k, time) in legacy.iter().enumerate() {
            sqlx::query("UPDATE card_transactions SET time = $1 WHERE id = (SELECT id FROM card_transactions ORDER BY id LIMIT 1 OFFSET $2)")
                .bind(time)
                .bind(k as i64)
                .execute(&mut c)
                .await
                .unwrap();
        }
        c.close().await.unwrap();
    }
    let before = regie::store::backup::inspect(&db).await.unwrap();
    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(POSITIONS).unwrap()).unwrap();
    assert_eq!(expected.len(), 59);

    let store = regie::Store::open(&db).await.expect("the old file opens");
    // Migration 30 restated the CHECKs of the tables imports fill, in place: the same values are
    // refused, and the connections the store opened before it ran see the new text (SQLite names
    // the failed CHECK), not the one they had read.
    let regie::store::Pool::Sqlite(pool) = store.pool() else { unreachable!("a file") };
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(pool.acquire().await.unwrap());
    }
    for (sql, check) in [
        ("UPDATE payments SET method = 'cash' WHERE id = (SELECT MIN(id) FROM payments)", "method = 'card' OR"),
        ("UPDATE payments SET reversal = 'oops' WHERE id = (SELECT MIN(id) FROM payments)", "reversal = 'unpaid' OR"),
        (
            "UPDATE card_transactions SET kind = 'gift' WHERE id = (SELECT MIN(id) FROM card_transactions)",
            "kind = 'debit' OR",
        ),
        (
            "UPDATE card_transactions SET status = 'lost' WHERE id = (SELECT MIN(id) FROM card_transactions)",
            "status = 'captured' OR",
        ),
        (
            "UPDATE card_transactions SET outcome = 'won' WHERE id = (SELECT MIN(id) FROM card_transactions)",
            "outcome = 'paid' OR",
        ),
        (
            "UPDATE statement_lines SET status = 'gone' WHERE id = (SELECT MIN(id) FROM statement_lines)",
            "status = 'matched' OR",
        ),
        (
            "UPDATE installments SET status = 'paid' WHERE id = (SELECT MIN(id) FROM installments)",
            "status = 'scheduled' OR",
        ),
        ("UPDATE requests SET plan = 'twelve' WHERE id = (SELECT MIN(id) FROM requests)", "plan = 'one' OR"),
        (
            "UPDATE requests SET amount_source = 'guess' WHERE id = (SELECT MIN(id) FROM requests)",
            "amount_source = 'grid' OR",
        ),
        ("UPDATE requests SET status = 'maybe' WHERE id = (SELECT MIN(id) FROM requests)", "status = 'pending' OR"),
    ] {
        for conn in held.iter_mut() {
            let refused = sqlx::query(sql).execute(&mut **conn).await.expect_err(sql).to_string();
            assert!(refused.contains("CHECK constraint failed") && refused.contains(check), "{sql}: {refused}");
        }
    }
    drop(held);
    let (lists,): (i64,) = common::one(
        &store,
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND sql LIKE '% IN (''%'
           AND name IN ('payments', 'card_transactions', 'statement_lines', 'installments', 'requests')",
    )
    .await;
    assert_eq!(lists, 0);
    store.close().await;
    let pending: Vec<i64> =
        regie::store::known_versions().into_iter().filter(|v| !before.versions.contains(v)).collect();
    let backups: Vec<String> = std::fs::read_dir(dir.join("backups"))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    // Upgraded (when a later migration exists) only after a backup of the file as it was.
    assert_eq!(backups.len(), usize::from(!pending.is_empty()), "{pending:?} {backups:?}");

    for (number, want) in &expected {
        let got = common::regie(&db, &["account", number, "--json"]).json();
        assert_eq!(&figures(&got), want, "student {number}");
    }
    // The counts of lines by status, kept since migration 22, are the old file's lines counted.
    let store = regie::Store::open(&db).await.unwrap();
    let counts: Vec<(String, i64, i64)> = common::rows(
        &store,
        "SELECT k.status, k.n, (SELECT COUNT(*) FROM statement_lines l WHERE l.status = k.status) FROM line_counts k
         ORDER BY k.status",
    )
    .await;
    // Migration 26 marks the invoices whose credit notes reach their total: not the one credited in
    // part.
    let credited: Vec<(i64, i64)> = common::rows(
        &store,
        "SELECT CASE WHEN i.credited THEN 1 ELSE 0 END, (SELECT COUNT(*) FROM credit_notes c WHERE c.invoice_id = i.id)
         FROM invoices i WHERE i.credited OR i.id IN (SELECT c.invoice_id FROM credit_notes c)",
    )
    .await;
    assert_eq!(credited, [(0, 1)]);
    let times: Vec<(Option<String>,)> =
        common::rows(&store, "SELECT time FROM card_transactions ORDER BY id LIMIT 6").await;
    let times: Vec<Option<&str>> = times.iter().map(|t| t.0.as_deref()).collect();
    assert_eq!(times, [Some("06:10:31"), Some("14:02:00"), Some("14:02:11"), Some("06:10:31"), None, None]);
    let (odd,): (i64,) = common::one(
        &store,
        "SELECT COUNT(*) FROM card_transactions WHERE time IS NOT NULL AND NOT time GLOB '[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'",
    )
    .await;
    assert_eq!(odd, 0, "every other time already in one form");
    // Migration 35 numbers each transaction's reference as an import numbers a new one, and 36
    // writes each number beside its transaction in the table the lookups read.
    let keyed: Vec<(String, i64)> = common::rows(
        &store,
        "SELECT c.order_ref, r.ref_key FROM card_transactions c JOIN card_reference_keys r ON r.transaction_id = c.id
         WHERE r.ref_key = c.ref_key ORDER BY c.id",
    )
    .await;
    assert_eq!(keyed.len(), 66);
    for (reference, key) in &keyed {
        assert_eq!(*key, regie_rules::card::export::reference_key(reference), "{reference}");
    }
    let (rows,): (i64,) = common::one(&store, "SELECT COUNT(*) FROM card_reference_keys").await;
    assert_eq!(rows, 66, "one row per transaction");
    store.close().await;
    assert!(counts.len() == 4 && counts.iter().all(|(_, kept, counted)| kept == counted), "{counts:?}");
    assert!(counts.iter().filter(|(_, kept, _)| *kept > 0).count() >= 2, "{counts:?}");
    let after = regie::store::backup::inspect(&db).await.unwrap();
    assert_eq!((after.integrity.as_str(), after.versions), ("ok", regie::store::known_versions()));
}
