//! The `regie` command line, run as a user would, on real database files.

mod common;

use common::{regie, registration_rows, temp_dir, write_csv_1252, write_xlsx};
use serde_json::Value;

fn amounts(v: &Value) -> Vec<String> {
    v["installments"].as_array().unwrap().iter().map(|i| i["amount"].as_str().unwrap().to_string()).collect()
}

#[test]
fn plan_gives_the_worked_examples_of_the_domain() {
    let db = common::db_at(&temp_dir("plan"), "r");
    let six =
        regie(&db, &["plan", "--amount", "3770", "--plan", "six", "--first", "601", "--start", "2022-09-01", "--json"])
            .json();
    assert_eq!(amounts(&six), ["601.00", "633.80", "633.80", "633.80", "633.80", "633.80"]);
    assert_eq!(six["total"], "3770.00");
    assert_eq!(six["installments"][1]["due_date"], "2022-10-10");

    let transfer = regie(
        &db,
        &["plan", "--amount", "3879", "--plan", "transfer", "--first", "618", "--start", "2025-09-05", "--json"],
    )
    .json();
    assert_eq!(amounts(&transfer), ["618.00", "1630.50", "1630.50"]);

    let exact = regie(&db, &["plan", "--amount", "601", "--plan", "three", "--start", "2022-06-24", "--json"]).json();
    assert_eq!(amounts(&exact), ["200.33", "200.33", "200.34"]);
    let portal = regie(
        &db,
        &["plan", "--amount", "601", "--plan", "three", "--rounding", "portal", "--start", "2022-06-24", "--json"],
    )
    .json();
    assert_eq!(amounts(&portal), ["200.31", "200.31", "200.38"]);
}

#[test]
fn a_day_is_typed_as_the_office_writes_it_or_as_iso() {
    let db = common::db_at(&temp_dir("days"), "r");
    let plan = |start: &str| {
        regie(&db, &["plan", "--amount", "3770", "--plan", "six", "--first", "601", "--start", start, "--json"]).json()
    };
    let iso = plan("2022-09-01");
    assert_eq!(iso["installments"][5]["due_date"], "2023-02-10");
    // As a spreadsheet may hold it, too: a two-digit year is this century's.
    for same in ["01/09/2022", "1/9/2022", "01.09.2022", "01/09/22"] {
        assert_eq!(plan(same), iso, "{same}");
    }
    // Refused as every other error is, naming the option and the day as typed.
    for wrong in ["2022-13-01", "31/02/2022", "demain"] {
        for (flag, command) in [
            ("--start", vec!["plan", "--amount", "3770", "--plan", "six"]),
            ("--as-of", vec!["dunning", "list"]),
            ("--as-of", vec!["dunning", "run", "--out", "relances"]),
            ("--date", vec!["card", "chargeback", "T-1", "--reason", "IMPAYE CB"]),
            ("--today", vec!["demo"]),
        ] {
            let args: Vec<&str> = command.into_iter().chain([flag, wrong, "--json"]).collect();
            let out = regie(&db, &args);
            assert!(!out.ok && out.stdout.is_empty(), "{args:?}");
            let err: Value = serde_json::from_str(out.stderr.trim()).unwrap();
            let message = err["error"]["message"].as_str().unwrap();
            assert_eq!(err["error"]["code"], "invalid_input", "{err}");
            assert!(message.contains(flag) && message.contains(&format!("« {wrong} »")), "{message}");
        }
    }
}

#[test]
fn plan_errors_are_classified_on_stderr() {
    let db = common::db_at(&temp_dir("plan-err"), "r");
    let out = regie(&db, &["plan", "--amount", "3770", "--plan", "six", "--json"]);
    assert!(!out.ok);
    assert!(out.stdout.is_empty());
    let err: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "invalid_plan");
    assert!(err["error"]["hint"].as_str().is_some_and(|h| h.contains("Choisissez")), "what to do: {err}");
    let out = regie(&db, &["plan", "--amount", "1.630", "--plan", "one"]);
    assert!(!out.ok && out.stderr.contains("ambigu"), "{}", out.stderr);
    assert!(out.stderr.contains("→ Écrivez le montant"), "the human form says what to do: {}", out.stderr);
}

#[test]
fn registrations_import_from_windows_1252_csv_then_reimport_changes_nothing() {
    let dir = temp_dir("import-csv");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &registration_rows());
    let first = regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        first,
        serde_json::json!({"rows": 5, "students_created": 5, "requests_created": 5, "unchanged": 0, "ignored_columns": []})
    );
    let again = regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        again,
        serde_json::json!({"rows": 5, "students_created": 0, "requests_created": 0, "unchanged": 5, "ignored_columns": []})
    );

    let students = regie(&db, &["students", "list", "--json"]).json();
    let names: Vec<&str> = students.as_array().unwrap().iter().map(|s| s["first_name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Léa") && names.contains(&"*Éloïse* [x]"), "{names:?}");

    let requests = regie(&db, &["requests", "list", "--json"]).json();
    let by_number = |n: &str| requests.as_array().unwrap().iter().find(|r| r["student_number"] == n).unwrap().clone();
    assert_eq!(by_number("22001002")["amount"], "3879.00", "priced from the 2025-26 grid");
    assert_eq!(by_number("22001003")["amount"], "3770.00", "amount from the file");
    let six_low = by_number("22001005");
    assert_eq!(six_low["amount"], "618.00");
    assert!(six_low["findings"].as_array().unwrap().iter().any(|f| f["code"] == "six_at_or_below_threshold"));
    let scholar = by_number("22001004");
    assert!(
        scholar["findings"].as_array().unwrap().iter().any(|f| f["code"] == "scholarship_certificate_missing")
            || scholar["amount"] == "0.00"
    );
}

#[test]
fn registrations_import_from_xlsx_with_real_dates_and_numbers() {
    let dir = temp_dir("import-xlsx");
    let db = common::db_at(&dir, "r");
    let file = dir.join("export portail.xlsx");
    write_xlsx(&file, &registration_rows());
    let summary = regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(summary["requests_created"], 5);
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    let lea = requests.as_array().unwrap().iter().find(|r| r["student_number"] == "22001001").unwrap();
    assert_eq!(lea["requested_on"], "2025-09-05");
    assert_eq!(lea["plan"], "three");
}

#[test]
fn a_bad_row_refuses_the_whole_file_naming_row_and_column() {
    let dir = temp_dir("import-bad");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    let mut rows = registration_rows();
    rows[3][7] = "99"; // row 5 of the file (after the header): unknown situation
    write_csv_1252(&file, &rows);
    let out = regie(&db, &["import-registrations", file.to_str().unwrap()]);
    assert!(!out.ok);
    assert!(out.stderr.contains("inscriptions.csv, ligne 5, colonne « Situation »"), "{}", out.stderr);
    assert!(out.stderr.contains("[bad_file]"), "{}", out.stderr);
    let students = regie(&db, &["students", "list", "--json"]).json();
    assert_eq!(students.as_array().unwrap().len(), 0, "nothing of the good rows was kept");
}

#[test]
fn demo_then_account_position_of_a_paying_student() {
    let db = common::db_at(&temp_dir("demo"), "r");
    let summary = regie(&db, &["demo", "--students", "120", "--today", "20/11/2025", "--json"]).json();
    assert_eq!(summary["students"], 120);
    assert!(summary["approved"].as_u64().unwrap() > 10);
    assert!(summary["payments"].as_u64().unwrap() > 10);
    let again = regie(&db, &["demo", "--json"]);
    assert!(!again.ok, "the demo only fills an empty database");

    let students = regie(&db, &["students", "list", "--json"]).json();
    let mut checked = 0;
    for s in students.as_array().unwrap() {
        let pos = regie(&db, &["account", s["number"].as_str().unwrap(), "--json"]).json();
        if pos["payments"].as_array().unwrap().is_empty() {
            continue;
        }
        let sum = |table: &str, field: &str| -> i64 {
            pos[table].as_array().unwrap().iter().map(|r| cents(r[field].as_str().unwrap())).sum()
        };
        let debit = sum("invoices", "incl_vat") + sum("refunds", "amount");
        // A payment that came back ("Impayé") credits nothing.
        let credit = sum("payments", "amount") - sum("payments", "unpaid") + sum("credit_notes", "amount");
        assert_eq!(cents(pos["summary"]["debit"].as_str().unwrap()), debit);
        assert_eq!(cents(pos["summary"]["credit"].as_str().unwrap()), credit);
        assert_eq!(cents(pos["summary"]["balance"].as_str().unwrap()), debit - credit);
        assert_eq!(pos["summary"]["balance"], s["balance"], "list and position agree");
        let scheduled: i64 =
            pos["schedule"].as_array().unwrap().iter().map(|r| cents(r["amount"].as_str().unwrap())).sum();
        assert_eq!(scheduled, sum("invoices", "incl_vat"), "schedules sum to their invoices");
        checked += 1;
    }
    assert!(checked > 5, "only {checked} paying students");
    let missing = regie(&db, &["account", "nobody", "--json"]);
    assert!(!missing.ok && missing.stderr.contains("student_not_found"), "{}", missing.stderr);
}

fn cents(s: &str) -> i64 {
    let (i, f) = s.split_once('.').unwrap();
    let sign = if i.starts_with('-') { -1 } else { 1 };
    sign * (i.trim_start_matches('-').parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap())
}

#[test]
fn the_fee_grid_is_editable_and_the_change_is_audited() {
    let dir = temp_dir("fees");
    let db = common::db_at(&dir, "r");
    assert!(regie(&db, &["users", "set-role", "test-comptable", "--role", "finance_manager"]).ok);
    let grid = regie(&db, &["fees", "list", "--json"]).json();
    let isima_05 = |g: &Value| {
        g.as_array()
            .unwrap()
            .iter()
            .find(|f| f["academic_year"] == "2025-26" && f["school"] == "ISIMA" && f["situation"] == "05")
            .unwrap()["amount"]
            .clone()
    };
    assert_eq!(isima_05(&grid), "3879.00");
    let set = regie(
        &db,
        &[
            "fees",
            "set",
            "--year",
            "2025-26",
            "--school",
            "ISIMA",
            "--situation",
            "05",
            "--amount",
            "3 941,00",
            "--reason",
            "arrêté 2026",
            "--json",
        ],
    );
    assert!(set.ok, "{}", set.stderr);
    assert_eq!(isima_05(&regie(&db, &["fees", "list", "--json"]).json()), "3941.00");
    // A registration priced from the grid now takes the new amount.
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &registration_rows()[1..2]);
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    assert_eq!(requests[0]["amount"], "3941.00");
    let bad =
        regie(&db, &["fees", "set", "--year", "2025-26", "--school", "ISIMA", "--situation", "05", "--amount", "-1"]);
    assert!(!bad.ok);
}

/// The demo is the current academic year, relative to the day it stands at (the year turning on
/// 1 June), priced with that year's grid: card payments on the portal and debits on the 10th,
/// transfers for ISIMA's differentiated fees, refused debits and charge-backs, nothing dated
/// after that day, and the sessions' full labels on its invoices. The money came in through the
/// gateway's export and the bank statement; those since the last debit day are left to import,
/// and importing them leaves every remittance reconciled.
#[test]
fn the_demo_is_this_year_up_to_today() {
    let dir = temp_dir("demo-today");
    let db = common::db_at(&dir, "r");
    let summary = regie(&db, &["demo", "--today", "20/11/2025", "--json"]).json();
    assert_eq!(summary["academic_year"], "2025-26");
    assert_eq!(summary["grid_carried_from"], Value::Null, "2025-26 has its own grid");
    assert!(summary["refused_debits"].as_u64().unwrap() > 0, "{summary}");
    // The office's reminders on the eve of the last debit day, on what it had imported.
    assert_eq!(summary["reminded_on"], "2025-11-09");
    let letters = summary["reminder_letters"].as_u64().unwrap();
    assert!(letters > 0, "{summary}");
    let files: Vec<&str> = summary["to_import"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    // Beside the demo's files (beside the database, or in the documents folder for a server).
    let demo_files = std::path::Path::new(files[0]).parent().unwrap();
    let sent = std::fs::read_to_string(demo_files.join("relances/relances-20251109.csv")).unwrap();
    assert_eq!(sent.lines().count() as u64, letters + 1, "a line per letter under the header: {sent}");
    assert!(files[0].ends_with("paybox-a-importer.csv") && files[1].ends_with("releve-a-importer.csv"), "{files:?}");
    let card_import = regie(&db, &["card", "import", files[0], "--json"]).json();
    assert!(card_import["paid"].as_u64().unwrap() > 20, "the debits of 10/11: {card_import}");
    assert_eq!(card_import["unknown"], 0);
    let bank_import = regie(&db, &["statements", "import", files[1], "--json"]).json();
    assert!(bank_import["remittances"].as_u64().unwrap() > 0, "{bank_import}");
    let charge_backs = summary["charge_backs"].as_u64().unwrap() + card_import["charged_back"].as_u64().unwrap();
    let remittances = regie(&db, &["card", "remittances", "--json"]).json();
    for r in remittances.as_array().unwrap() {
        assert!(!r["bank_line_id"].is_null(), "every remittance up to the day before is on the statement: {r}");
        assert_eq!(r["flagged"], false, "{r}");
    }
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    let requests = requests.as_array().unwrap();
    assert!(requests.iter().all(|r| r["session"].as_str().unwrap().starts_with("P2526_")));
    assert!(requests.iter().all(|r| r["requested_on"].as_str().unwrap() <= "2025-11-20"));
    // 05 at ISIMA in 2025-26: 3 879 €, paid by transfer (618 + 2 x 1 630,50).
    assert!(requests.iter().any(|r| r["school"] == "ISIMA" && r["situation"] == "05" && r["amount"] == "3879.00"));
    let students = regie(&db, &["students", "list", "--json"]).json();
    let (mut card, mut transfer, mut unpaid, mut overdue) = (0, 0, 0, 0);
    for s in students.as_array().unwrap().iter().filter(|s| s["balance"] != "0.00" || s["session"].is_string()) {
        let pos = regie(&db, &["account", s["number"].as_str().unwrap(), "--json"]).json();
        for p in pos["payments"].as_array().unwrap() {
            assert!(p["date"].as_str().unwrap() <= "2025-11-20", "nothing after the demo's day: {p}");
            match p["method"].as_str().unwrap() {
                "card" => card += 1,
                "transfer" => transfer += 1,
                other => panic!("the demo pays by card or transfer, not {other}"),
            }
            if p["unpaid"] != "0.00" {
                unpaid += 1;
            }
        }
        overdue += pos["schedule"].as_array().unwrap().iter().filter(|l| l["status"] == "overdue").count();
    }
    assert!(card > 50 && transfer > 5, "card {card}, transfer {transfer}");
    assert!(charge_backs > 0);
    assert_eq!(unpaid, charge_backs as usize);
    assert!(overdue > 0, "refused debits and late transfers leave installments overdue");
    // The list as the accountant reads it: each line's levels in words, now and after a run.
    let list = regie(&db, &["dunning", "list"]);
    assert!(list.ok, "{}", list.stderr);
    let levels = ["—", "1er rappel", "2e rappel", "bloquée"];
    let dated = |line: &str| {
        // "1er rappel le 17/11/2026 -> 2e rappel": the level reached, the day of its reminder.
        let (head, tail) = line.rsplit_once(" -> ")?;
        let head = match head.rsplit_once(" le ") {
            Some((level, day)) if chrono::NaiveDate::parse_from_str(day, "%d/%m/%Y").is_ok() => level,
            _ => head,
        };
        (levels.contains(&tail) && levels.iter().any(|l| head.ends_with(l))).then_some(())
    };
    let mut reminded = 0;
    for line in list.stdout.lines().filter(|l| !l.trim().is_empty()) {
        assert!(dated(line).is_some(), "{line}");
        // Reminded by the demo's run over a year ago: due a second reminder now.
        if line.contains("1er rappel le 09/11/2025") {
            assert!(line.ends_with(" -> 2e rappel"), "{line}");
            reminded += 1;
        }
    }
    assert!(reminded > 0, "{}", list.stdout);
    // After a run the reached level carries its day.
    let out = dir.join("relances");
    let run = regie(&db, &["dunning", "run", "--out", out.to_str().unwrap()]);
    assert!(run.ok, "{}", run.stderr);
    let list = regie(&db, &["dunning", "list"]);
    assert!(list.ok && list.stdout.lines().any(|l| !l.trim().is_empty()), "{}", list.stderr);
    let today = chrono::Local::now().date_naive().format("%d/%m/%Y").to_string();
    let mut second = 0;
    for line in list.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let raised = ["1er rappel", "2e rappel"].iter().any(|l| line.contains(&format!("{l} le {today} -> ")));
        assert!(dated(line).is_some() && raised, "{line}");
        second += usize::from(line.contains("2e rappel le "));
    }
    assert_eq!(second, reminded, "the demo's reminders are followed by a second, the others by a first");
    let invoices = regie(&db, &["invoices", "list", "--json"]).json();
    let first = invoices[0]["number"].as_str().unwrap();
    assert!(first.starts_with("F2025-"), "{first}");
    // A year the grid does not have yet carries the latest amounts over, and says so.
    let later = common::db_at(&temp_dir("demo-later"), "r");
    let summary = regie(&later, &["demo", "--students", "40", "--today", "01/12/2026", "--json"]).json();
    assert_eq!(
        (summary["academic_year"].as_str(), summary["grid_carried_from"].as_str()),
        (Some("2026-27"), Some("2025-26"))
    );
}

/// A server URL is not a file: `--db postgres://…` names a PostgreSQL server (here one that does not
/// answer: a clear error, the password never printed, no folder named `postgres:`); a `sqlite:` URL
/// names its file.
#[test]
fn a_database_url_is_not_taken_for_a_folder() {
    let dir = temp_dir("db-url");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regie"))
        .current_dir(&dir)
        .args(["--db", "postgres://claire:secret@server/regie", "init"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password is never printed: {stderr}");
    assert!(!dir.join("postgres:").exists());
    let file = dir.join("office.sqlite");
    let url = format!("sqlite:{}", file.display());
    assert!(regie(std::path::Path::new(&url), &["init", "--json"]).ok);
    assert!(file.exists());
}
