//! Hostile or mistyped input through the real `regie` binary: every bad file is refused with its
//! place and a normal error exit, never a panic or an abort.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{regie, temp_dir, write_csv_1252};

/// Runs `regie` and returns (exit code, stdout, stderr), checking it neither panicked nor aborted.
fn run(db: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regie"))
        .arg("--db")
        .arg(db)
        .args(["--user", "test-comptable"])
        .args(args)
        .output()
        .expect("run regie");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(!stderr.contains("memory allocation"), "{args:?} aborted: {stderr}");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Runs `regie` expecting a clean refusal (exit code 1) whose message holds every one of `parts`.
fn refused(db: &Path, args: &[&str], parts: &[&str]) -> String {
    let (code, _, stderr) = run(db, args);
    assert_eq!(code, Some(1), "{args:?} must fail cleanly: {stderr}");
    for p in parts {
        assert!(stderr.contains(p), "{args:?}: « {p} » missing from: {stderr}");
    }
    stderr
}

#[test]
fn a_statement_amount_beyond_ten_million_is_refused_with_its_place() {
    let dir = temp_dir("huge-amount");
    let db = dir.join("r.sqlite");
    let file = dir.join("releve.csv");
    std::fs::write(&file, "Date;Libellé;Montant\n05/09/2025;VIR A;10,00\n06/09/2025;VIR B;100000000000000000\n")
        .unwrap();
    refused(
        &db,
        &["statements", "import", file.to_str().unwrap()],
        &["releve.csv", "ligne 3", "Montant", "hors limites"],
    );
    std::fs::write(&file, "Date;Libellé;Montant\n06/09/2025;VIR B;-10 000 000,00\n").unwrap();
    refused(&db, &["statements", "import", file.to_str().unwrap()], &["ligne 2", "Montant"]);
}
