//! Several desktops on one database, as real processes of the `regie` binary racing each other:
//! invoice numbers stay gapless and unique, and a bank line pays once however many confirm it.
//! Runs on the SQLite file and, in the test command's second pass, on the PostgreSQL server.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{PAUL_DURAND, regie, temp_dir, write_1252};

/// Starts `regie` without waiting for it.
fn spawn(db: &Path, args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_regie"))
        .arg("--db")
        .arg(db)
        .args(["--user", "test-comptable"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start regie")
}

/// 1,000 ISIMA students asking for three installments.
fn thousand_requests(path: &Path) {
    let mut text = common::HEADER_FR.join(";") + "\r\n";
    for k in 0..1000 {
        text.push_str(&format!(
            "{};Nom{k};Prénom{k};e{k}@etu.uca.fr;ISIMA;P2526_ISI_1A;2;01;3;01/09/2025;;;;\r\n",
            26_000_000 + k
        ));
    }
    write_1252(path, &text);
}

#[test]
fn four_processes_approving_a_thousand_requests_number_invoices_without_gap() {
    let dir = temp_dir("race-approve");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    thousand_requests(&file);
    assert_eq!(
        regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json()["requests_created"],
        1000
    );
    let ids: Vec<String> = regie(&db, &["requests", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1000);
    // Each process goes through every request, starting a quarter further: they meet everywhere.
    let runs: Vec<_> = (0..4)
        .map(|p| {
            let mut order = ids.clone();
            order.rotate_left(p * 250);
            let mut args = vec!["requests".to_string(), "approve".to_string()];
            args.extend(order);
            args.push("--json".to_string());
            spawn(&db, &args)
        })
        .collect();
    let (mut decided, mut conflicts) = (0, 0);
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Each process meets requests the others approved first: conflicts, reported per request,
        // and the run fails with that code once its batch is done.
        assert!(out.status.success() || stderr.contains("\"conflict\""), "{stderr}");
        let batch: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let batch = batch.as_array().unwrap();
        assert_eq!(batch.len(), 1000, "every request has an outcome in every run");
        decided += batch.iter().filter(|d| d["outcome"] == "decided").count();
        conflicts += batch.iter().filter(|d| d["outcome"] == "conflict").count();
    }
    assert_eq!(decided, 1000, "each request approved once, by one of the four");
    assert_eq!(conflicts, 3000, "and found already approved by the three others");
    let invoices = regie(&db, &["invoices", "list", "--json"]).json();
    let numbers: Vec<String> =
        invoices.as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap().to_string()).collect();
    assert_eq!(numbers.len(), 1000);
    let series: BTreeSet<&str> = numbers.iter().map(|n| n.rsplit_once('-').unwrap().0).collect();
    assert_eq!(series.len(), 1, "{series:?}");
    let seqs: BTreeSet<u32> = numbers.iter().map(|n| n.rsplit_once('-').unwrap().1.parse().unwrap()).collect();
    assert_eq!(seqs, (1..=1000).collect::<BTreeSet<u32>>(), "numbers 1 to 1000, no gap, no duplicate");
}

#[test]
fn two_processes_confirming_the_same_bank_line_make_one_payment() {
    let dir = temp_dir("race-confirm");
    let db = common::db_at(&dir, "r");
    let regs = dir.join("inscriptions.csv");
    common::write_csv_1252(&regs, &[PAUL_DURAND]);
    regie(&db, &["import-registrations", regs.to_str().unwrap(), "--json"]).json();
    let id = regie(&db, &["requests", "list", "--json"]).json()[0]["id"].to_string();
    regie(&db, &["requests", "approve", &id, "--json"]).json();
    // A transfer whose label names nobody: it waits for the accountant.
    let file = dir.join("releve.csv");
    write_1252(
        &file,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n12/11/2025;12/11/2025;;206,00;VIR SEPA RECU /DE M OU MME X;\r\n",
    );
    regie(&db, &["statements", "import", file.to_str().unwrap(), "--json"]).json();
    let line = regie(&db, &["statements", "lines", "--json"]).json()[0]["id"].to_string();
    let student = PAUL_DURAND[0].to_string();
    let runs: Vec<_> = (0..2)
        .map(|_| spawn(&db, &["statements".into(), "confirm".into(), line.clone(), student.clone(), "--json".into()]))
        .collect();
    let outcomes: Vec<std::process::Output> = runs.into_iter().map(|r| r.wait_with_output().unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(won, 1, "one confirmation wins");
    let lost = outcomes.iter().find(|o| !o.status.success()).unwrap();
    let why = String::from_utf8_lossy(&lost.stderr);
    assert!(
        !why.contains("panicked") && why.contains("\"conflict\"") && why.contains("déjà"),
        "the other is told why: {why}"
    );
    let pos = regie(&db, &["account", &student, "--json"]).json();
    assert_eq!(pos["payments"].as_array().unwrap().len(), 1, "{pos}");
    assert_eq!(pos["summary"]["balance"], "412.00");
}

/// Waits for a process, at most `limit`: a writer that never gets the lock is a defect to
/// report, not a test to hang on.
fn finished_within(mut child: std::process::Child, limit: std::time::Duration) -> Option<std::process::Output> {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_refused_half_way_does_not_keep_the_writers_lock() {
    let (store, _dir) = common::approved("lock-release", &[PAUL_DURAND]).await;
    regie::users::set_role(&store, "Fanny", regie::users::Role::FinanceManager, "installateur").await.unwrap();
    regie::users::set_role(&store, "Paul", regie::users::Role::Accountant, "Fanny").await.unwrap();
    // Refused inside its transaction (after the writers' lock was taken): the transaction is
    // dropped, not committed; nothing else runs on this process's connections afterwards.
    let refused = regie::users::set_role(&store, "Paul", regie::users::Role::FinanceManager, "Paul").await;
    assert_eq!(refused.unwrap_err().code(), "forbidden");
    // Another desktop writes next.
    let db = common::db_of(&store);
    let other = tokio::task::spawn_blocking(move || {
        let args: Vec<String> =
            ["--user", "Fanny", "settings", "fee-tolerance", "10", "--reason", "frais SEPA"].map(String::from).to_vec();
        let mut child = Command::new(env!("CARGO_BIN_EXE_regie"));
        child.arg("--db").arg(&db).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
        finished_within(child.spawn().expect("start regie"), std::time::Duration::from_secs(60))
    })
    .await
    .unwrap();
    let out = other.expect("the other desktop's write waited for a lock nobody releases");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_imported_by_another_desktop_while_this_one_matched_is_not_paid_twice() {
    let (store, dir) = common::approved("import-race", &[PAUL_DURAND]).await;
    let file = dir.join("releve.csv");
    write_1252(
        &file,
        "Date;Libellé;Débit;Crédit\r\n08/09/2025;VIR SEPA RECU /DE PAUL DURAND /MOTIF POLYTECH;;206,00\r\n\
         09/09/2025;PRLV EDF;54,10;\r\n",
    );
    // This desktop matches the file, then waits before writing while another imports it whole.
    let (matched_tx, matched_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new((Some(matched_tx), go_rx));
    let here = {
        let (store, file) = (store.clone(), file.clone());
        tokio::spawn(async move {
            let progress = move |p: regie::bank::Progress| {
                if p.phase == "match" {
                    let mut gate = gate.lock().unwrap();
                    if let Some(matched) = gate.0.take() {
                        matched.send(()).unwrap();
                        gate.1.recv_timeout(std::time::Duration::from_secs(120)).expect("the other desktop finished");
                    }
                }
            };
            regie::bank::import_file_with(&store, &file, regie::bank::Columns::Detect, "claire", &progress).await
        })
    };
    let db = common::db_of(&store);
    let other = tokio::task::spawn_blocking(move || {
        matched_rx.recv_timeout(std::time::Duration::from_secs(120)).expect("this desktop matched");
        let out = regie(&db, &["statements", "import", file.to_str().unwrap(), "--json"]).json();
        go_tx.send(()).unwrap();
        out
    })
    .await
    .unwrap();
    assert_eq!((other["new"].as_u64(), other["auto_matched"].as_u64()), (Some(2), Some(1)), "{other}");
    let here = here.await.unwrap().expect("import");
    assert_eq!((here.new, here.already_known, here.auto_matched), (0, 2, 0), "{here:?}");
    let (paid,): (i64,) = common::one(&store, "SELECT COUNT(*) FROM payments").await;
    assert_eq!(paid, 1, "the transfer pays once");
}
