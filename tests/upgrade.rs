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
    let before = regie::store::backup::inspect(&db).await.unwrap();
    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(POSITIONS).unwrap()).unwrap();
    assert_eq!(expected.len(), 59);

    let store = regie::Store::open(&db).await.expect("the old file opens");
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
    store.close().await;
    assert!(counts.len() == 4 && counts.iter().all(|(_, kept, counted)| kept == counted), "{counts:?}");
    assert!(counts.iter().filter(|(_, kept, _)| *kept > 0).count() >= 2, "{counts:?}");
    let after = regie::store::backup::inspect(&db).await.unwrap();
    assert_eq!((after.integrity.as_str(), after.versions), ("ok", regie::store::known_versions()));
}
