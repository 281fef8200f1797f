//! The accountants' review queue on real database files: the threshold per school and its
//! boundary, decisions taken once and audited, reopening, changing plan, letters.

mod common;

use chrono::NaiveDate;
use common::{regie, registration_rows, temp_dir, write_1252, write_csv_1252};
use regie::requests::RequestStatus;
use regie::requests::review;
use serde_json::Value;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Six-installment requests of chosen amounts, two per school, imported from a file.
fn threshold_file(dir: &std::path::Path) -> std::path::PathBuf {
    let rows: Vec<[&str; 14]> = vec![
        [
            "30000001",
            "Arnould",
            "Vincent",
            "v@etu.uca.fr",
            "ISIMA",
            "P2526_ISI_2A",
            "2",
            "01",
            "6",
            "01/09/2025",
            "1000,00",
            "non",
            "",
            "",
        ],
        [
            "30000002",
            "Bernard",
            "Inès",
            "i@etu.uca.fr",
            "ISIMA",
            "P2526_ISI_2A",
            "2",
            "01",
            "6",
            "01/09/2025",
            "1000,01",
            "non",
            "",
            "",
        ],
        [
            "30000003",
            "Caron",
            "Jules",
            "j@etu.uca.fr",
            "POLYTECH",
            "P2526_Y4_4A",
            "4",
            "01",
            "6",
            "01/09/2025",
            "999,99",
            "non",
            "",
            "",
        ],
        [
            "30000004",
            "Dumas",
            "Zoé",
            "z@etu.uca.fr",
            "POLYTECH",
            "P2526_Y4_4A",
            "4",
            "05",
            "6",
            "01/09/2025",
            "",
            "oui",
            "",
            "non",
        ],
        [
            "30000005",
            "Roux",
            "Léa",
            "l@etu.uca.fr",
            "POLYTECH",
            "P2526_Y4_4A",
            "4",
            "02",
            "3",
            "01/09/2025",
            "618,00",
            "non",
            "non",
            "",
        ],
    ];
    let file = dir.join("demandes.csv");
    write_csv_1252(&file, &rows);
    file
}

fn id_of(list: &Value, number: &str) -> i64 {
    list.as_array().unwrap().iter().find(|r| r["student_number"] == number).unwrap()["id"].as_i64().unwrap()
}

#[test]
fn auto_review_rejects_at_or_below_the_threshold_and_not_above() {
    let dir = temp_dir("auto");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    let (at, above, below, diff) =
        (id_of(&list, "30000001"), id_of(&list, "30000002"), id_of(&list, "30000003"), id_of(&list, "30000004"));

    let dry = regie(&db, &["requests", "auto-review", "--dry-run", "--json"]).json();
    let mut rejected: Vec<i64> = dry["rejected"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    rejected.sort();
    assert_eq!(rejected, vec![at, below]);
    assert_eq!(
        regie(&db, &["requests", "list", "--status", "rejected", "--json"]).json().as_array().unwrap().len(),
        0,
        "a dry run changes nothing"
    );

    let done = regie(&db, &["--user", "claire", "requests", "auto-review", "--json"]).json();
    assert_eq!(done["rejected"].as_array().unwrap().len(), 2);
    let flagged = done["flagged"].as_array().unwrap();
    let id5 = id_of(&list, "30000005");
    assert!(
        flagged.iter().any(|f| f["id"] == id5 && f["finding"]["code"] == "scholarship_certificate_missing"),
        "{flagged:?}"
    );
    let rejected = regie(&db, &["requests", "list", "--status", "rejected", "--json"]).json();
    let rejected = rejected.as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert!(rejected.iter().all(|r| r["reason"].as_str().unwrap().contains("1\u{202f}000,00 €")), "{rejected:?}");
    let pending = regie(&db, &["requests", "list", "--status", "pending", "--json"]).json();
    let pending_ids: Vec<i64> = pending.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(pending_ids.contains(&above) && pending_ids.contains(&diff));
    // A second run has nothing left to reject.
    assert_eq!(regie(&db, &["requests", "auto-review", "--json"]).json()["rejected"].as_array().unwrap().len(), 0);
}

#[test]
fn the_threshold_is_a_setting_per_school() {
    let dir = temp_dir("threshold");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    assert!(regie(&db, &["users", "set-role", "test-comptable", "--role", "finance_manager"]).ok);
    let set = regie(
        &db,
        &["settings", "set", "--school", "ISIMA", "--six-threshold", "5000", "--reason", "avertissement ISIMA"],
    );
    assert!(set.ok, "{}", set.stderr);
    let settings = regie(&db, &["settings", "list", "--json"]).json();
    assert_eq!(settings[0]["school"], "ISIMA");
    assert_eq!(settings[0]["six_threshold"], "5000.00");
    assert_eq!(settings[1]["six_threshold"], "1000.00");
    let done = regie(&db, &["requests", "auto-review", "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    let mut rejected: Vec<i64> = done["rejected"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    rejected.sort();
    // ISIMA's 1000.01 is now under its 5000 threshold; Polytech's 3770 is still above 1000.
    assert_eq!(rejected, vec![id_of(&list, "30000001"), id_of(&list, "30000002"), id_of(&list, "30000003")]);
}

#[test]
fn reject_needs_a_reason_then_change_plan_then_approve() {
    let dir = temp_dir("reject");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    let id = id_of(&list, "30000001").to_string();
    let no_reason = regie(&db, &["requests", "reject", &id, "--reason", "  "]);
    assert!(!no_reason.ok && no_reason.stderr.contains("motif"), "{}", no_reason.stderr);
    let approve_six = regie(&db, &["requests", "approve", &id]);
    assert!(!approve_six.ok, "a six at the threshold cannot be approved");
    let rejected = regie(&db, &["--user", "claire", "requests", "reject", &id, "--reason", "seuil", "--json"]).json();
    assert_eq!(rejected[0]["status"], "rejected");
    // Deciding twice gives one decision: the second is a conflict that says who decided.
    let twice = regie(&db, &["--json", "requests", "reject", &id, "--reason", "encore"]);
    assert!(!twice.ok, "a request already rejected cannot be rejected again");
    let error: serde_json::Value = serde_json::from_str(twice.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "conflict", "{}", twice.stderr);
    let batch: serde_json::Value = serde_json::from_str(&twice.stdout).unwrap();
    assert_eq!(batch[0]["outcome"], "conflict", "{batch}");
    let message = batch[0]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("demande {id} déjà refusée par claire le ")), "{message}");
    let changed = regie(&db, &["--user", "claire", "requests", "change-plan", &id, "--plan", "three", "--json"]).json();
    assert_eq!(changed[0]["status"], "pending");
    let approved = regie(&db, &["--user", "claire", "requests", "approve", &id, "--json"]).json();
    assert_eq!(approved[0]["status"], "approved");
    let invoice = approved[0]["invoice"].as_str().unwrap().to_string();
    let pos = regie(&db, &["account", "30000001", "--json"]).json();
    assert_eq!(pos["invoices"][0]["number"], invoice.as_str());
    let amounts: Vec<&str> =
        pos["schedule"].as_array().unwrap().iter().map(|l| l["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["333.33", "333.33", "333.34"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_is_audited_and_cancels_an_unpaid_invoice_by_credit_note() {
    let dir = temp_dir("reopen");
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &registration_rows());
    let s = regie::Store::open(&common::db_at(&dir, "r")).await.unwrap();
    regie::requests::import::import_file(&s, &file, "test").await.unwrap();
    let list = regie::requests::list(&s, Some(RequestStatus::Pending)).await.unwrap();
    let id = list.iter().find(|r| r.student_number == "22001002").unwrap().id;
    let approved = review::approve(&s, id, d(2025, 9, 3), "claire").await.unwrap();
    assert_eq!(approved.status, RequestStatus::Approved);
    assert!(review::reopen(&s, id, " ", d(2025, 9, 4), "claire").await.is_err(), "reopen needs a reason");
    let reopened = review::reopen(&s, id, "erreur de situation", d(2025, 9, 4), "claire").await.unwrap();
    assert_eq!(reopened.status, RequestStatus::Pending);
    let pos = regie::ledger::account_position(&s, "22001002").await.unwrap();
    assert_eq!(pos.credit_notes.len(), 1);
    assert_eq!(pos.credit_notes[0].amount, pos.invoices[0].incl_vat);
    assert_eq!(pos.credit_notes[0].number, "A2025-00001");
    assert!(pos.schedule.iter().all(|l| l.status == regie::ledger::InstallmentStatus::Cancelled));
    assert_eq!(pos.summary.balance, regie::Money::ZERO);
    // It can be approved again: a new invoice, the next number.
    let again = review::approve(&s, id, d(2025, 9, 5), "claire").await.unwrap();
    assert_eq!(again.invoice.as_deref(), Some("F2025-00002"));

    let mut c = s.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, None).await.unwrap();
    let reopen = log.iter().find(|e| e.action == "request.reopen").unwrap();
    assert_eq!((reopen.actor.as_str(), reopen.reason.as_deref()), ("claire", Some("erreur de situation")));
    assert!(log.iter().any(|e| e.action == "credit_note.issue" && e.reason.as_deref() == Some("erreur de situation")));
}

#[test]
fn letters_export_as_csv_and_xlsx() {
    use calamine::Reader;
    let dir = temp_dir("letters");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    regie(&db, &["requests", "auto-review", "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    regie(&db, &["requests", "approve", &id_of(&list, "30000004").to_string(), "--json"]).json();

    let csv_path = dir.join("lettres.csv");
    let out = regie(&db, &["requests", "export", "--out", csv_path.to_str().unwrap(), "--json"]).json();
    assert_eq!(out["letters"], 3);
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert!(text.starts_with('\u{feff}'));
    let approved_line = text.lines().find(|l| l.starts_with("30000004")).unwrap();
    assert!(approved_line.contains("Acceptée") && approved_line.contains("z@etu.uca.fr"), "{approved_line}");
    assert!(approved_line.contains("618,00 €"), "schedule listed: {approved_line}");
    assert!(
        text.lines().any(|l| l.starts_with("30000001") && l.contains("Refusée") && l.contains("Paiement en 6 fois"))
    );

    let xlsx_path = dir.join("lettres.xlsx");
    regie(&db, &["requests", "export", "--out", xlsx_path.to_str().unwrap(), "--json"]).json();
    let mut wb = calamine::open_workbook_auto(&xlsx_path).unwrap();
    let range = wb.worksheet_range("Décisions").unwrap();
    assert_eq!(range.height(), 4);
    assert_eq!(range.get((0, 8)).unwrap().to_string(), "decision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_demo_data_auto_review_is_exact_and_every_decision_is_audited() {
    let s = common::fresh_store("demo-review").await;
    let today = d(2025, 11, 20);
    regie::demo::fill(&s, regie::demo::DemoOptions { today, ..Default::default() }, "demo").await.unwrap();
    let before = regie::requests::list(&s, Some(RequestStatus::Pending)).await.unwrap();
    let threshold = regie::Money::from_cents(100_000);
    let mut low: Vec<i64> = before
        .iter()
        .filter(|r| r.plan == regie::plans::PlanKind::Six && r.amount <= threshold)
        .map(|r| r.id)
        .collect();
    low.sort();
    assert!(low.len() >= 5, "the demo has six-installment requests at or below the threshold: {}", low.len());

    let done = review::auto_review(&s, false, "claire").await.unwrap();
    let mut rejected = done.rejected.clone();
    rejected.sort();
    assert_eq!(rejected, low, "exactly the ones at or below the threshold");

    let after = regie::requests::list(&s, None).await.unwrap();
    assert!(
        !after.iter().any(|r| r.status == RequestStatus::Pending
            && r.plan == regie::plans::PlanKind::Six
            && r.amount <= threshold)
    );
    assert!(
        after
            .iter()
            .filter(|r| r.plan == regie::plans::PlanKind::Six && r.amount > threshold)
            .all(|r| r.status != RequestStatus::Rejected)
    );

    let mut c = s.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, Some("request")).await.unwrap();
    for id in &low {
        let entry =
            log.iter().find(|e| e.action == "request.reject" && e.entity_id == id.to_string()).expect("audited");
        assert_eq!(entry.actor, "claire");
        assert!(entry.reason.as_deref().unwrap().contains("Paiement en 6 fois"));
        assert!(chrono::DateTime::parse_from_rfc3339(&entry.at).is_ok(), "timestamped: {}", entry.at);
    }
}

/// Rules 1 and 2 of the seeds' checks: "L'inscription ... ne sera pas validée" whatever the price,
/// with the README's French optional headers read (`extra_ue`), and unknown headers reported.
#[test]
fn checks_run_on_zero_priced_requests_with_the_french_optional_headers() {
    let dir = temp_dir("zero-priced");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    // An extra-EU first-year student who declares 02 (priced 0) without a scholarship
    // certificate: two findings, although nothing would be billed.
    let text = "numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande;extra_ue;attestation_de_bourse;premiere_annee_ici;contrat_signe;telephone\r\n\
                25009001;Nguyen;An;an@etu.uca.fr;ISIMA;P2526_ISI_1A;1;02;1;02/09/2025;oui;non;;;0473000000\r\n";
    write_1252(&file, text);
    let summary = regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(summary["ignored_columns"], serde_json::json!(["telephone"]), "an unknown header is reported");
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    assert_eq!(requests[0]["amount"], "0.00");
    let codes: Vec<&str> =
        requests[0]["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"scholarship_certificate_missing"), "{codes:?}");
    assert!(codes.contains(&"extra_eu_first_year_not_05"), "{codes:?}");
}

/// Rules 3 to 5: ISIMA's "droits différenciés ... par virement" (05 in another plan blocks), the
/// transfer plan is only theirs, Polytech's 05 students pay in six by card, and a blocking finding
/// ("ne sera pas validée") refuses the approval unless the accountant overrides it, audited.
#[test]
fn blocking_findings_refuse_approval_unless_overridden() {
    let dir = temp_dir("blocking");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    let text = "numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande;extra_ue\r\n\
                25009101;Diallo;Awa;awa@etu.uca.fr;ISIMA;P2526_ISI_1A;1;05;3;02/09/2025;oui\r\n\
                25009102;Martin;Jules;jules@etu.uca.fr;POLYTECH;P2526_Y3_3A;3;01;virement;02/09/2025;non\r\n\
                25009103;Wang;Li;li@etu.uca.fr;POLYTECH;P2526_Y3_3A;3;05;6;02/09/2025;oui\r\n";
    write_1252(&file, text);
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    let of = |n: &str| requests.as_array().unwrap().iter().find(|r| r["student_number"] == n).unwrap().clone();
    let blocking = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "blocking")
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(blocking(&of("25009101")), vec!["differentiated_fees_by_transfer"]);
    assert_eq!(blocking(&of("25009102")), vec!["transfer_plan_not_allowed"]);
    assert!(blocking(&of("25009103")).is_empty(), "Polytech's 05 in six: {:?}", of("25009103")["findings"]);

    let id = of("25009101")["id"].to_string();
    let refused = regie(&db, &["requests", "approve", &id, "--json"]);
    assert!(!refused.ok && refused.stderr.contains("--override"), "{}", refused.stderr);
    assert_eq!(regie(&db, &["requests", "list", "--json"]).json()[0]["status"], "pending", "nothing changed");
    let ok = regie(&db, &["requests", "approve", &id, "--override", "accord de la direction", "--json"]).json();
    assert_eq!(ok[0]["status"], "approved");
    let audit: (String, String) = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let s = regie::Store::open(&db).await.unwrap();
            let mut c = s.read().await.unwrap();
            let log = regie::store::audit::list(&mut c, None).await.unwrap();
            let e = log.iter().find(|e| e.action == "request.approve").unwrap().clone();
            (e.reason.unwrap_or_default(), e.details)
        })
    };
    assert_eq!(audit.0, "accord de la direction");
    assert!(audit.1.contains("differentiated_fees_by_transfer"), "{}", audit.1);
}

/// "le paiement en 6 fois ... pour les montants supérieurs à 5000 €" with ISIMA's setting: an
/// ISIMA 05 student asking for six is told to pay by transfer, not to choose 1 or 3 installments.
#[test]
fn the_rejection_letter_of_isima_differentiated_fees_says_transfer() {
    let dir = temp_dir("letter-05");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    write_1252(
        &file,
        "numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande;extra_ue\r\n\
         25009201;Sow;Mariam;mariam@etu.uca.fr;ISIMA;P2526_ISI_1A;1;05;6;02/09/2025;oui\r\n",
    );
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert!(regie(&db, &["users", "set-role", "test-comptable", "--role", "finance_manager"]).ok);
    assert!(
        regie(&db, &["settings", "set", "--school", "ISIMA", "--six-threshold", "5000", "--reason", "avertissement"])
            .ok
    );
    regie(&db, &["requests", "auto-review", "--json"]).json();
    let r = &regie(&db, &["requests", "list", "--json"]).json()[0];
    assert_eq!(r["status"], "rejected");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("virement") && !reason.contains("1 ou 3"), "{reason}");
}

/// Rule 6. ISIMA: "Si vous êtes un étudiant en convention avec l'ISIMA (accord Brafitec, Ensam,
/// Ensias), vous cochez la case 07 Exonérations." Polytech: "Les étudiants en apprentissage doivent
/// sélectionner le code 01 « Etudiant non boursier »." The portal's optional columns say so.
#[test]
fn exchange_agreements_choose_07_and_apprentices_choose_01() {
    let dir = temp_dir("rule6");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    write_1252(
        &file,
        "numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande;accord_echange;apprenti\r\n\
         25009301;Silva;Rafael;rafael@etu.uca.fr;ISIMA;P2526_ISI_2A;2;01;1;02/09/2025;Brafitec;\r\n\
         25009302;Alaoui;Sara;sara@etu.uca.fr;ISIMA;P2526_ISI_2A;2;07;1;02/09/2025;Ensias;\r\n\
         25009303;Petit;Hugo;hugo@etu.uca.fr;ISIMA;P2526_ISI_2A;2;07;1;02/09/2025;non;\r\n\
         25009304;Roux;Emma;emma@etu.uca.fr;POLYTECH;P2526_Y4_4A;4;08;1;02/09/2025;;oui\r\n\
         25009305;Blanc;Théo;theo@etu.uca.fr;POLYTECH;P2526_Y4_4A;4;01;3;02/09/2025;;oui\r\n",
    );
    let summary = regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(summary["ignored_columns"], serde_json::json!([]), "both columns are read: {summary}");
    let requests = regie(&db, &["requests", "list", "--json"]).json();
    let blocking = |n: &str| -> Vec<String> {
        let r = requests.as_array().unwrap().iter().find(|r| r["student_number"] == n).unwrap();
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "blocking")
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(blocking("25009301"), ["exchange_agreement_not_07"], "Brafitec student declared 01");
    assert!(blocking("25009302").is_empty(), "Ensias student in 07: {:?}", blocking("25009302"));
    assert_eq!(blocking("25009303"), ["exemption_07_without_agreement"], "07 at 0 € with no agreement");
    assert!(blocking("25009304").contains(&"apprentice_not_01".to_string()), "{:?}", blocking("25009304"));
    assert!(blocking("25009305").is_empty(), "an apprentice in 01");
    // The agreement's name is kept as the portal wrote it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kept = rt.block_on(async {
        let s = regie::Store::open(&db).await.unwrap();
        let all = regie::store::requests::list(&mut s.read().await.unwrap(), None).await.unwrap();
        all.iter().map(|r| r.new.exchange_agreement.clone()).collect::<Vec<_>>()
    });
    use regie::requests::Agreement;
    assert!(kept.contains(&Some(Agreement::Under(Some("Brafitec".into())))), "{kept:?}");
    assert!(kept.contains(&Some(Agreement::None)), "{kept:?}");
}

/// Rule 7: a student who paid the first third of 3 870 € and asks to pay the rest in six keeps
/// what was paid; the rest is re-planned from today on the same invoice, audited with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_plan_after_a_payment_keeps_the_paid_part_and_replans_the_rest() {
    use common::{CHLOE_MOREAU_2022, approved, pay};
    use regie::Money;
    // Chloé, 3770 in six from 05/09/2022: she paid 601 then asks to pay the rest in three.
    let (store, _dir) = approved("replan", &[CHLOE_MOREAU_2022]).await;
    pay(&store, "22000004", d(2022, 9, 6), Money::from_cents(60100), regie::ledger::PaymentMethod::Card).await;
    let id = regie::requests::list(&store, None).await.unwrap()[0].id;
    let plan = regie::plans::PlanKind::Three;
    let no_reason = review::change_plan(&store, id, plan, d(2022, 10, 20), None, "paul").await;
    assert!(no_reason.is_err(), "after approval a reason is required");
    let before = regie::ledger::account_position(&store, "22000004").await.unwrap();
    let done =
        review::change_plan(&store, id, plan, d(2022, 10, 20), Some("demande de l'étudiante"), "paul").await.unwrap();
    assert_eq!(done.status, RequestStatus::Approved);
    let pos = regie::ledger::account_position(&store, "22000004").await.unwrap();
    assert_eq!(pos.invoices.len(), 1, "same invoice, no credit note");
    assert!(pos.credit_notes.is_empty());
    assert_eq!(pos.summary.balance, before.summary.balance, "the balance does not move");
    let live: Vec<(String, String, String)> = pos
        .schedule
        .iter()
        .map(|l| (l.due_date.to_string(), l.amount.to_string(), l.left_to_pay.to_string()))
        .collect();
    assert_eq!(
        live,
        [
            ("2022-09-05".into(), "601.00".into(), "0.00".into()),
            ("2022-10-20".into(), "1056.33".into(), "1056.33".into()),
            ("2022-11-10".into(), "1056.33".into(), "1056.33".into()),
            ("2022-12-10".into(), "1056.34".into(), "1056.34".into()),
        ]
    );
    assert_eq!(pos.schedule_left_total, Money::from_cents(316900));
    let request = regie::requests::list(&store, None).await.unwrap().remove(0);
    assert_eq!((request.plan, request.status), (plan, RequestStatus::Approved));
    let mut c = store.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, None).await.unwrap();
    let replan = log.iter().find(|e| e.action == "invoice.replan").expect("audited");
    assert_eq!(replan.reason.as_deref(), Some("demande de l'étudiante"));
    assert!(replan.details.contains("\"before\"") && replan.details.contains("633.80"), "{}", replan.details);
    drop(c);
    // The transfer plan stays ISIMA's differentiated fees' own, after approval too.
    let transfer = regie::plans::PlanKind::Transfer;
    let refused = review::change_plan(&store, id, transfer, d(2022, 10, 21), Some("virement"), "paul").await;
    assert!(refused.unwrap_err().to_string().contains("virements est réservé"));
}

/// Rule 8: the commission's candidates are the students paying differentiated fees (05); a
/// situation priced per contract (20: "Formation continue") is listed only when a finance manager
/// adds the student by hand, with a reason, audited.
#[test]
fn exemption_candidates_are_05_unless_a_manager_adds_one() {
    let dir = temp_dir("rule8");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    write_1252(
        &file,
        "numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande;montant;extra_ue\r\n\
         25009401;Kone;Ali;ali@etu.uca.fr;ISIMA;P2526_ISI_1A;1;05;virement;02/09/2025;;oui\r\n\
         25009402;Morel;Anne;anne@etu.uca.fr;ISIMA;P2526_ISI_3A;3;20;1;02/09/2025;6500,00;non\r\n",
    );
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    let ids: Vec<String> = regie(&db, &["requests", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string())
        .collect();
    for id in &ids {
        assert!(regie(&db, &["requests", "approve", id, "--json"]).ok);
    }
    let listed = |db: &std::path::Path| -> Vec<String> {
        regie(db, &["exemptions", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["student_number"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(listed(&db), ["25009401"], "6 500 € of continuing education is not differentiated fees");
    let first = regie(&db, &["exemptions", "list", "--json"]).json();
    assert_eq!(first[0]["plan_label"], "Virements", "plan names in French");
    // Only a finance manager adds, with a reason.
    assert!(regie(&db, &["users", "set-role", "claire", "--role", "finance_manager"]).ok);
    let by_accountant = regie(&db, &["--user", "paul", "exemptions", "add", "25009402", "--reason", "dossier"]);
    assert!(!by_accountant.ok, "{}", by_accountant.stdout);
    let added = regie(
        &db,
        &["--user", "claire", "exemptions", "add", "25009402", "--reason", "convention employeur", "--json"],
    );
    assert_eq!(added.json()["added"], true);
    assert_eq!(listed(&db), ["25009401", "25009402"]);
    let again = regie(&db, &["--user", "claire", "exemptions", "add", "25009402", "--reason", "x", "--json"]);
    assert_eq!(again.json()["added"], false, "adding twice changes nothing");
    let differentiated = regie(&db, &["--user", "claire", "exemptions", "add", "25009401", "--reason", "x"]);
    assert!(!differentiated.ok, "a 05 student is already a candidate");
}

#[test]
fn a_batch_stops_at_a_refusal_and_keeps_the_ones_before_decided_without_a_gap() {
    let dir = temp_dir("batch-stop");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    let (above, at, extra) = (
        id_of(&list, "30000002").to_string(),
        id_of(&list, "30000001").to_string(),
        id_of(&list, "30000004").to_string(),
    );
    // Decided together: the six at the threshold cannot be approved, the one after it waits.
    let stopped = regie(&db, &["requests", "approve", &above, &at, &extra, "--json"]);
    assert!(!stopped.ok && stopped.stderr.contains(&format!("demande {at}")), "{}", stopped.stderr);
    let status = |id: &str| {
        let list = regie(&db, &["requests", "list", "--json"]).json();
        let id: i64 = id.parse().unwrap();
        list.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()["status"].clone()
    };
    assert_eq!((status(&above), status(&at), status(&extra)), ("approved".into(), "pending".into(), "pending".into()));
    // Again with one already decided: a conflict for it alone; numbers follow without a gap.
    let again = regie(&db, &["--json", "requests", "approve", &extra, &above]);
    let batch: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        (batch[0]["status"].as_str(), batch[1]["outcome"].as_str()),
        (Some("approved"), Some("conflict")),
        "{batch}"
    );
    let invoices = regie(&db, &["invoices", "list", "--json"]).json();
    let mut numbers: Vec<&str> = invoices.as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["F2025-00001", "F2025-00002"]);
}

/// What one database's approvals wrote: each invoice with its order, student, request, total and
/// schedule, and each audit record of a decision or an invoice (without its time).
async fn approvals_written(db: &std::path::Path) -> (Vec<(String, String, String, i64, i64, String)>, Vec<String>) {
    let store = regie::Store::open(db).await.unwrap();
    let invoices: Vec<(String, String, String, i64, i64, String)> = common::rows(
        &store,
        "SELECT i.number, o.number, s.number, o.request_id,
                CAST((SELECT SUM(l.excl_vat_cents) FROM invoice_lines l WHERE l.invoice_id = i.id) AS BIGINT),
                i.label || ' ' || i.session || ' ' || CAST(i.date AS TEXT)
         FROM invoices i JOIN orders o ON o.id = i.order_id JOIN students s ON s.id = i.student_id
         ORDER BY i.number",
    )
    .await;
    let installments: Vec<(String, i64, String, i64)> = common::rows(
        &store,
        "SELECT i.number, CAST(x.n AS BIGINT), CAST(x.due_date AS TEXT), x.amount_cents
         FROM installments x JOIN invoices i ON i.id = x.invoice_id ORDER BY i.number, x.n",
    )
    .await;
    let audit: Vec<(String, String, String, Option<String>, String)> = common::rows(
        &store,
        "SELECT action, entity, entity_id, reason, details FROM audit_log
         WHERE action IN ('request.approve', 'invoice.issue') ORDER BY action, entity_id",
    )
    .await;
    store.close().await;
    let mut written: Vec<String> = installments.iter().map(|r| format!("{r:?}")).collect();
    written.extend(audit.iter().map(|r| format!("{r:?}")));
    (invoices, written)
}

#[tokio::test]
async fn a_batch_writes_what_approving_one_by_one_writes() {
    // Two academic years (two series of numbers each), every plan, a request of nothing.
    let dir = temp_dir("batch-same");
    let mut rows = registration_rows();
    rows.push(common::CHLOE_MOREAU_2022);
    rows.push([
        "24009901",
        "Zéro",
        "Inès",
        "ines@etu.uca.fr",
        "ISIMA",
        "P2526_ISI_1A",
        "1",
        "01",
        "1",
        "03/09/2025",
        "0",
        "non",
        "",
        "",
    ]);
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &rows);
    let (one, batch) = (common::db_at(&dir, "one"), common::db_at(&dir, "batch"));
    let mut decided = Vec::new();
    for db in [&one, &batch] {
        assert!(regie(db, &["import-registrations", file.to_str().unwrap(), "--json"]).ok);
    }
    let list = regie(&one, &["requests", "list", "--json"]).json();
    let mut ids: Vec<(String, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["student_number"].as_str().unwrap().to_string(), r["id"].as_i64().unwrap()))
        .collect();
    ids.sort();
    // One by one, in the order of their student numbers; those the rules refuse stay pending.
    for (_, id) in &ids {
        let id = id.to_string();
        if regie(&one, &["requests", "approve", &id, "--override", "accord de la direction", "--json"]).ok {
            decided.push(id);
        }
    }
    assert!(decided.len() >= 6, "most requests approvable: {decided:?}");
    // The same, in one batch, on the other database (the same ids: the same file, imported alike).
    let mut args = vec!["requests", "approve"];
    args.extend(decided.iter().map(String::as_str));
    args.extend(["--override", "accord de la direction", "--json"]);
    let together = regie(&batch, &args);
    assert!(together.ok, "{}", together.stderr);
    let outcomes = together.json();
    assert_eq!(outcomes.as_array().unwrap().len(), decided.len());

    let (invoices_one, rest_one) = approvals_written(&one).await;
    let (invoices_batch, rest_batch) = approvals_written(&batch).await;
    assert!(
        invoices_one.iter().any(|i| i.0.starts_with("F2022-")) && invoices_one.iter().any(|i| i.0 == "F2025-00001")
    );
    assert!(!invoices_one.iter().any(|i| i.2 == "24009901"), "a request of nothing has no invoice");
    assert_eq!(invoices_batch, invoices_one);
    assert_eq!(rest_batch, rest_one);
    // Each decision says which invoice it issued, as the database has it.
    for o in outcomes.as_array().unwrap() {
        let invoice = o["invoice"].as_str();
        let id = o["id"].as_i64().unwrap();
        let expected = invoices_batch.iter().find(|i| i.3 == id).map(|i| i.0.as_str());
        assert_eq!(invoice, expected, "{o}");
    }
}

#[test]
fn a_request_named_twice_in_a_batch_is_decided_once() {
    let dir = temp_dir("batch-twice");
    let db = common::db_at(&dir, "r");
    regie(&db, &["import-registrations", threshold_file(&dir).to_str().unwrap(), "--json"]).json();
    let list = regie(&db, &["requests", "list", "--json"]).json();
    let above = id_of(&list, "30000002").to_string();
    let twice = regie(&db, &["--json", "requests", "approve", &above, &above]);
    assert!(!twice.ok, "a conflict in the batch makes the command fail");
    let batch: Value = serde_json::from_str(&twice.stdout).unwrap();
    assert_eq!(
        (batch[0]["status"].as_str(), batch[1]["outcome"].as_str()),
        (Some("approved"), Some("conflict")),
        "{batch}"
    );
    let invoices = regie(&db, &["invoices", "list", "--json"]).json();
    assert_eq!(invoices.as_array().unwrap().len(), 1, "one invoice: {invoices}");
}
