//! Reminders over time, on a real database: a refused card debit and a missing transfer climb
//! from the first reminder to the block; letters are real PDFs read back, the mail-merge file a
//! real CSV; a payment lifts the block, an exemption means no reminder.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, CHLOE_MOREAU, LEA_DURAND, PAUL_DURAND, approved, pay, temp_dir, write_1252};
use regie::Money;
use regie::dunning::{self, Level};
use regie::invoices::Typesetter;
use regie::ledger::PaymentMethod;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn text_of(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf).expect("the PDF reads back");
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('\u{202f}', " ").replace('’', "'")
}

/// An installment charged back, its retry refused, reminded up to the block, then re-planned: the
/// schedule reuses it (a payment and its reversal stay on it), and its new due date starts its
/// reminders afresh. The order is no longer blocked, the refusal is gone (both audited), and the
/// next reminder is a first one, from the new date.
#[tokio::test]
async fn a_replanned_installment_leaves_its_old_reminders_behind() {
    let (store, dir) = approved("dunning-replan", &[PAUL_DURAND]).await;
    let invoice = regie::invoices::list(&store, None).await.unwrap()[0].number.clone();
    let export = dir.join("paybox.csv");
    write_1252(
        &export,
        &format!(
            "Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse;Numéro de remise\r\n\
             05/09/2025;9300001;{invoice}-1;206,00;Débit;Télécollecté;00000;81200\r\n\
             10/10/2025;9300002;{invoice}-2;206,00;Débit;Télécollecté;00000;81234\r\n\
             14/10/2025;9300003;{invoice}-2;206,00;Impayé;Télécollecté;00141;\r\n\
             20/10/2025;9300004;{invoice}-2;206,00;Débit;Refusé;00151;\r\n"
        ),
    );
    let s = regie::card::import_file(&store, &export, regie::card::Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.charged_back, s.refused), (2, 1, 1), "{s:?}");
    let ts = Typesetter::new();
    let out = temp_dir("dunning-replan-out");
    for day in [d(2025, 10, 17), d(2025, 10, 31), d(2025, 11, 24)] {
        dunning::run(&store, &ts, day, &out, true, "claire").await.unwrap();
    }
    assert!(regie::ledger::account_position(&store, "25000002").await.unwrap().orders[0].blocked);

    // 25/11: the rest (412,00) in one payment, due at once.
    let id = regie::requests::list(&store, None).await.unwrap()[0].id;
    regie::requests::review::change_plan(
        &store,
        id,
        regie::plans::PlanKind::One,
        d(2025, 11, 25),
        Some("demande de l'étudiant"),
        "paul",
    )
    .await
    .unwrap();
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert!(!pos.orders[0].blocked, "the old schedule's block went with it: {:?}", pos.orders);
    assert_eq!(pos.schedule[1].refusal, None, "and its refused retry: {:?}", pos.schedule[1]);
    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    let replan = audit.iter().find(|a| a.action == "invoice.replan").unwrap();
    assert!(
        replan.details.contains(r#""refusal":["00151","2025-10-20"]"#)
            && replan.details.contains(r#""level":[3,"2025-11-24"]"#),
        "what was forgotten is audited: {}",
        replan.details
    );
    let list = dunning::list(&store, d(2025, 12, 2)).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].due_date, list[0].amount), (d(2025, 11, 25), Money::from_cents(41200)));
    assert_eq!((list[0].level, list[0].next_level), (Level::None, Level::First), "{:?}", list[0]);
}

/// A second run on the same day into the same folder, with letters of its own (a debit refused
/// since the first): its files are numbered, and the first run's letters and mail-merge file,
/// perhaps sent already, stay as they were.
#[tokio::test]
async fn a_second_run_of_the_day_keeps_the_first_ones_files() {
    let (store, dir) = approved("dunning-twice", &[PAUL_DURAND, CHLOE_MOREAU]).await;
    let invoices = regie::invoices::list(&store, None).await.unwrap();
    let invoice = |n: &str| invoices.iter().find(|i| i.student_number == n).unwrap().number.clone();
    let refused = |file: &str, number: &str, reference: String, amount: &str| {
        let path = dir.join(file);
        write_1252(
            &path,
            &format!(
                "Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse\r\n10/10/2025;{number};{reference};{amount};Débit;Refusé;00151\r\n"
            ),
        );
        path
    };
    // The first installments are paid: only the refused debits are due on 10/10.
    pay(&store, "25000002", d(2025, 9, 5), Money::from_cents(20600), PaymentMethod::Card).await;
    pay(&store, "25000004", d(2025, 9, 5), Money::from_cents(61800), PaymentMethod::Card).await;
    let ts = Typesetter::new();
    let out = temp_dir("dunning-twice-out");
    let paul = refused("paul.csv", "9200001", format!("{}-2", invoice("25000002")), "206,00");
    regie::card::import_file(&store, &paul, regie::card::Columns::Detect, "claire").await.unwrap();
    for merged in [true, false] {
        let morning = dunning::run(&store, &ts, d(2025, 10, 10), &out, merged, "claire").await.unwrap();
        assert_eq!(morning.letters, 1, "{morning:?}");
        if merged {
            // The afternoon: Chloé's debit comes back refused.
            let chloe = refused("chloe.csv", "9200002", format!("{}-2", invoice("25000004")), "652,20");
            regie::card::import_file(&store, &chloe, regie::card::Columns::Detect, "claire").await.unwrap();
        }
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "relance-25000004-20251010-2.pdf",
            "relances-20251010-2.csv",
            "relances-20251010-2.xlsx",
            "relances-20251010.csv",
            "relances-20251010.pdf",
            "relances-20251010.xlsx",
        ],
        "the second run (one PDF each), numbered as a whole, beside the first (merged)"
    );
    let first = text_of(&std::fs::read(out.join("relances-20251010.pdf")).unwrap());
    assert!(first.contains("Durand Paul") && !first.contains("Moreau"), "{first}");
    let csv = std::fs::read_to_string(out.join("relances-20251010.csv")).unwrap();
    assert!(csv.contains("paul@etu.uca.fr") && !csv.contains("chloe@"), "{csv}");
    let second = std::fs::read_to_string(out.join("relances-20251010-2.csv")).unwrap();
    assert!(second.contains("chloe@") && !second.contains("paul@"), "{second}");
}

#[tokio::test]
async fn reminders_climb_to_the_block_and_a_payment_lifts_it() {
    // Paul: 618 in three by card (206 on 05/09, 10/10, 10/11). Léa: ISIMA's differentiated fees by
    // transfer (618 on 05/09, 1 630,50 on 10/10 and 10/11).
    let (store, dir) = approved("dunning", &[PAUL_DURAND, LEA_DURAND]).await;
    pay(&store, "25000002", d(2025, 9, 5), Money::from_cents(20600), PaymentMethod::Card).await;
    pay(&store, "25000001", d(2025, 9, 8), Money::from_cents(61800), PaymentMethod::Transfer).await;
    // The debit of 10/10 is refused by Paul's bank (the gateway's export says so).
    let paul_invoice = regie::invoices::list(&store, None)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.student_number == "25000002")
        .unwrap()
        .number;
    let export = dir.join("paybox.csv");
    write_1252(
        &export,
        &format!(
            "Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse\r\n10/10/2025;9100001;{paul_invoice}-2;206,00;Débit;Refusé;00151\r\n"
        ),
    );
    regie::card::import_file(&store, &export, regie::card::Columns::Detect, "claire").await.unwrap();
    let ts = Typesetter::new();
    let out = temp_dir("dunning-out");

    // 10/10: the refused debit is reminded at once; Léa's transfer is not late yet.
    let list = dunning::list(&store, d(2025, 10, 10)).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].student_number.as_str(), list[0].next_level), ("25000002", Level::First));
    assert_eq!(list[0].reason, "prélèvement refusé : provision insuffisante");
    let run = dunning::run(&store, &ts, d(2025, 10, 10), &out, false, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised, run.blocked), (1, 1, 0));
    let letter = std::fs::read(out.join("relance-25000002-20251010.pdf")).unwrap();
    let text = text_of(&letter);
    for expected in [
        "CLERMONT AUVERGNE INP",
        "Premier rappel",
        "Durand Paul",
        "prélèvement refusé : provision insuffisante",
        "206,00 €",
        "10/10/2025",
        "par carte bancaire sur le portail",
        "FR76 1007 1630 0000 0010 0383 489",
        "DURAND Paul+POLYTECH+F.I",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    let csv = std::fs::read_to_string(out.join("relances-20251010.csv")).unwrap();
    assert!(csv.starts_with("\u{feff}numero;email;nom;prenom;ecole;niveau;total_du"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "one line per letter");
    assert!(csv.contains("paul@etu.uca.fr") && csv.contains("Premier rappel"));
    // The same day again: nothing new to send.
    let again = dunning::run(&store, &ts, d(2025, 10, 10), &out, false, "claire").await.unwrap();
    assert_eq!((again.letters, again.raised), (0, 0));
    assert!(again.files.is_empty(), "{again:?}");
    let kept = std::fs::read_to_string(out.join("relances-20251010.csv")).unwrap();
    assert_eq!(kept, csv, "the first run's mail-merge file is left as it was");

    // 17/10: Léa's transfer is 7 days late.
    let run = dunning::run(&store, &ts, d(2025, 10, 17), &out, false, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised), (1, 1));
    let lea = text_of(&std::fs::read(out.join("relance-25000001-20251017.pdf")).unwrap());
    assert!(
        lea.contains("virement non reçu") && lea.contains("1 630,50 €") && !lea.contains("par carte bancaire"),
        "{lea}"
    );
    // Her line of the mail-merge file does not offer the card either.
    let mail = std::fs::read_to_string(out.join("relances-20251017.csv")).unwrap();
    assert!(mail.contains("lea") && mail.contains("FR76") && !mail.contains("par carte"), "{mail}");

    // 31/10: 21 days, second reminders; 24/11: 45 days, the orders are blocked.
    let run = dunning::run(&store, &ts, d(2025, 10, 31), &out, true, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised, run.blocked), (2, 2, 0));
    let merged = text_of(&std::fs::read(out.join("relances-20251031.pdf")).unwrap());
    assert_eq!(merged.matches("Second rappel").count(), 2, "{merged}");
    let run = dunning::run(&store, &ts, d(2025, 11, 24), &out, true, "claire").await.unwrap();
    assert_eq!(run.blocked, 2, "{run:?}");
    let blocked = text_of(&std::fs::read(out.join("relances-20251124.pdf")).unwrap());
    assert!(blocked.contains("Inscription bloquée") && blocked.contains("est bloquée jusqu'au règlement"), "{blocked}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert!(pos.orders[0].blocked, "Blocage on the order");

    // Paul pays what is due: the block is lifted at once, and the next run clears his levels.
    pay(&store, "25000002", d(2025, 11, 25), Money::from_cents(41200), PaymentMethod::Card).await;
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert!(!pos.orders[0].blocked, "a payment lifts the block");
    let run = dunning::run(&store, &ts, d(2025, 11, 26), &out, false, "claire").await.unwrap();
    assert_eq!(run.cleared, 2, "{run:?}");
    assert!(dunning::list(&store, d(2025, 11, 26)).await.unwrap().iter().all(|e| e.student_number != "25000002"));

    // Léa is exempted by the commission: her two transfers are cancelled, never reminded again.
    regie::users::set_role(&store, "fanny", regie::users::Role::FinanceManager, "admin").await.unwrap();
    regie::exemptions::decide(
        &store,
        "Commission 2025-09",
        "25000001",
        regie::exemptions::Outcome::Full,
        "CE-1",
        None,
        d(2025, 11, 27),
        "fanny",
    )
    .await
    .unwrap();
    assert!(dunning::list(&store, d(2025, 12, 31)).await.unwrap().is_empty());
    let run = dunning::run(&store, &ts, d(2025, 11, 28), &out, false, "claire").await.unwrap();
    assert_eq!((run.cleared, run.letters), (2, 0));
    assert!(!regie::ledger::account_position(&store, "25000001").await.unwrap().orders[0].blocked);

    // Every run is audited.
    let mut c = store.read().await.unwrap();
    let runs = regie::store::audit::list(&mut c, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "dunning.run")
        .count();
    assert_eq!(runs, 7);
}

#[tokio::test]
async fn a_payment_that_comes_back_starts_its_reminders_again() {
    // Paul's 10/10 debit is refused, reminded up to the block; his 25/11 card payment lifts it,
    // then, before any run has cleared his level, it goes away: his bank takes it back, the
    // gateway refunds it to his card, or the gateway's next export says it cancelled it.
    for (tag, back, action) in [
        ("impaye", "26/11/2025;9200003;{invoice}-2;206,00;Impayé;Télécollecté;00141", "payment.reverse"),
        ("rembourse", "26/11/2025;9200003;{invoice}-2;206,00;Remboursement;Télécollecté;00000", "payment.give_back"),
        ("annule", "25/11/2025;9200002;{invoice}-2;206,00;Débit;Annulé;00000", "payment.reverse"),
    ] {
        comes_back(tag, back, action).await;
    }
}

async fn comes_back(tag: &str, back: &str, action: &str) {
    let (store, dir) = approved(&format!("dunning-back-{tag}"), &[PAUL_DURAND]).await;
    pay(&store, "25000002", d(2025, 9, 5), Money::from_cents(20600), PaymentMethod::Card).await;
    let invoice = regie::invoices::list(&store, None).await.unwrap()[0].number.clone();
    let import = |name: &str, rows: &str| {
        let path = dir.join(name);
        write_1252(
            &path,
            &format!("Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse\r\n{rows}"),
        );
        path
    };
    let refused = import("refus.csv", &format!("10/10/2025;9200001;{invoice}-2;206,00;Débit;Refusé;00151\r\n"));
    regie::card::import_file(&store, &refused, regie::card::Columns::Detect, "claire").await.unwrap();
    let ts = Typesetter::new();
    let out = temp_dir(&format!("dunning-back-out-{tag}"));
    // The block on 24/11, with a first reminder of the 10/11 installment, never debited.
    for (day, raised, blocked) in [(d(2025, 10, 10), 1, 0), (d(2025, 10, 31), 1, 0), (d(2025, 11, 24), 2, 1)] {
        let run = dunning::run(&store, &ts, day, &out, false, "claire").await.unwrap();
        assert_eq!((run.letters, run.raised, run.blocked), (1, raised, blocked), "{day}: {run:?}");
    }
    assert!(regie::ledger::account_position(&store, "25000002").await.unwrap().orders[0].blocked);
    let paid = import("paye.csv", &format!("25/11/2025;9200002;{invoice}-2;206,00;Débit;Télécollecté;00000\r\n"));
    regie::card::import_file(&store, &paid, regie::card::Columns::Detect, "claire").await.unwrap();
    assert!(!regie::ledger::account_position(&store, "25000002").await.unwrap().orders[0].blocked);
    let back = import("retour.csv", &format!("{}\r\n", back.replace("{invoice}", &invoice)));
    let summary = regie::card::import_file(&store, &back, regie::card::Columns::Detect, "claire").await.unwrap();
    assert_eq!(summary.charged_back + summary.refunded + summary.cancelled_since, 1, "{tag}: {summary:?}");

    // Due again, and not blocked: no letter has said so since the payment cleared the reminders.
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert!(!pos.orders[0].blocked, "{tag}: the block a payment lifted does not come back unannounced");
    let list = dunning::list(&store, d(2025, 11, 27)).await.unwrap();
    let levels: Vec<_> = list.iter().map(|e| (e.installment, e.level, e.next_level)).collect();
    assert_eq!(levels, [(2, Level::None, Level::First), (3, Level::First, Level::First)], "{tag}: {list:?}");
    let run = dunning::run(&store, &ts, d(2025, 11, 27), &out, false, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised, run.blocked), (1, 1, 0), "{run:?}");
    let letter = text_of(&std::fs::read(out.join("relance-25000002-20251127.pdf")).unwrap());
    assert!(letter.contains("Premier rappel") && letter.contains("206,00 €"), "{letter}");
    // The reversal says which level it forgot.
    let mut c = store.read().await.unwrap();
    let reversal = regie::store::audit::list(&mut c, None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == action)
        .expect("the payment's way back is audited");
    let installment = list[0].installment_id;
    let details: serde_json::Value = serde_json::from_str(&reversal.details).unwrap();
    assert_eq!(details["reminders_forgotten"], serde_json::json!([[installment, 3]]), "{tag}: {details}");
}

#[tokio::test]
async fn a_late_first_run_sends_the_first_reminder_and_the_block_comes_after_two() {
    // Paul pays his first 206 on 05/09, then nothing: 10/10 and 10/11 are due. The office runs its
    // first reminders on 01/12, 52 days after 10/10 (past the block's 45).
    let (store, _dir) = approved("dunning-late", &[PAUL_DURAND]).await;
    pay(&store, "25000002", d(2025, 9, 5), Money::from_cents(20600), PaymentMethod::Card).await;
    let ts = Typesetter::new();
    let out = temp_dir("dunning-late-out");
    let levels =
        |list: &[dunning::Entry]| list.iter().map(|e| (e.installment, e.level, e.next_level)).collect::<Vec<_>>();

    let list = dunning::list(&store, d(2025, 12, 1)).await.unwrap();
    assert_eq!(levels(&list), [(2, Level::None, Level::First), (3, Level::None, Level::First)]);
    let run = dunning::run(&store, &ts, d(2025, 12, 1), &out, false, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised, run.blocked), (1, 2, 0));
    let text = text_of(&std::fs::read(out.join("relance-25000002-20251201.pdf")).unwrap());
    assert!(text.contains("Premier rappel") && !text.contains("Inscription bloquée"), "{text}");
    assert!(text.contains("Sauf erreur de notre part") && !text.contains("Malgré"), "{text}");
    assert!(!regie::ledger::account_position(&store, "25000002").await.unwrap().orders[0].blocked);
    let list = dunning::list(&store, d(2025, 12, 2)).await.unwrap();
    assert!(list.iter().all(|e| e.reminded_on == Some(d(2025, 12, 1))), "{list:?}");
    // A run dated before it would shorten the wait before the next reminder: refused.
    let back = dunning::run(&store, &ts, d(2025, 11, 30), &out, false, "claire").await.unwrap_err();
    assert!(back.to_string().contains("datée du 01/12/2025"), "{back}");

    // The second reminder waits 14 days (21 - 7) after the first; the block 24 (45 - 21) after it.
    for (day, want) in [
        (d(2025, 12, 14), Level::First),
        (d(2025, 12, 15), Level::Second),
        (d(2026, 1, 7), Level::Second),
        (d(2026, 1, 8), Level::Blocked),
    ] {
        let list = dunning::list(&store, day).await.unwrap();
        assert!(list.iter().all(|e| e.next_level == want), "{day}: {:?}", levels(&list));
        let run = dunning::run(&store, &ts, day, &out, false, "claire").await.unwrap();
        assert_eq!(run.raised, if want == list[0].level { 0 } else { 2 }, "{day}: {run:?}");
    }
    // Each letter recalls the reminder before it, and so does the mail-merge file.
    let text = text_of(&std::fs::read(out.join("relance-25000002-20251215.pdf")).unwrap());
    assert!(text.contains("Second rappel") && text.contains("Malgré notre rappel du 01/12/2025"), "{text}");
    let csv = std::fs::read_to_string(out.join("relances-20251215.csv")).unwrap();
    let (head, line) = (csv.lines().next().unwrap(), csv.lines().nth(1).unwrap());
    assert!(head.trim_end().ends_with(";rappel_precedent") && line.trim_end().ends_with(";01/12/2025"), "{csv}");
    let text = text_of(&std::fs::read(out.join("relance-25000002-20260108.pdf")).unwrap());
    assert!(text.contains("Inscription bloquée") && text.contains("Malgré notre rappel du 15/12/2025"), "{text}");
    assert!(regie::ledger::account_position(&store, "25000002").await.unwrap().orders[0].blocked);
}

#[tokio::test]
async fn each_letter_of_a_run_is_its_own_student_s() {
    // Four students, nothing paid: the letters are shared out between the cores, and each file
    // must still carry its own student's name and debts (two of them are namesakes).
    let (store, _dir) = approved("dunning-each", &[LEA_DURAND, PAUL_DURAND, AMINE_BENALI, CHLOE_MOREAU]).await;
    let out = temp_dir("dunning-each-out");
    let as_of = d(2025, 10, 20);
    let list = dunning::list(&store, as_of).await.unwrap();
    let mut students: Vec<&str> = list.iter().map(|e| e.student_number.as_str()).collect();
    students.dedup();
    assert_eq!(students.len(), 4, "{list:?}");
    let run = dunning::run(&store, &Typesetter::new(), as_of, &out, false, "claire").await.unwrap();
    assert_eq!(run.letters, 4, "{run:?}");
    let names = [
        ("25000001", "Durand Léa"),
        ("25000002", "Durand Paul"),
        ("25000003", "Benali Amine"),
        ("25000004", "Moreau Chloé"),
    ];
    let letters: Vec<&String> = run.files.iter().filter(|f| f.ends_with(".pdf")).collect();
    assert_eq!(letters.len(), 4, "{:?}", run.files);
    for ((number, name), file) in names.iter().zip(&letters) {
        assert!(file.ends_with(&format!("relance-{number}-20251020.pdf")), "{file} in the students' order");
        let text = text_of(&std::fs::read(file).unwrap());
        assert!(text.contains(name), "{name} missing from {file}: {text}");
        for (_, other) in names.iter().filter(|(n, _)| n != number) {
            assert!(!text.contains(other), "{other} in {name}'s letter: {text}");
        }
        let due: Money = list.iter().filter(|e| e.student_number == *number).map(|e| e.amount).sum();
        let due = due.to_french().split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(&format!("Total dû : {due}")), "{name} owes {due}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_recorded_while_the_letters_render_is_not_reminded() {
    // The letters render before the run takes the write lock; Paul pays (card, 206 on 05/09 and
    // 10/10) while they do. The run must notice and leave him out, and the office must not have
    // waited for the letters to record his payment.
    let first = [LEA_DURAND, PAUL_DURAND, AMINE_BENALI, CHLOE_MOREAU];
    let (store, out, running) = forty_rendering("dunning-race", &first, 2501).await;
    pay(&store, "25000002", d(2025, 10, 15), Money::from_cents(41200), PaymentMethod::Card).await;
    let run = running.await.unwrap().unwrap();

    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    let at = |action: &str| audit.iter().rposition(|a| a.action == action).unwrap();
    assert!(
        at("payment.record") < at("dunning.run"),
        "the payment waited for the letters: {:?}",
        audit.iter().map(|a| (a.id, &a.action, &a.at)).collect::<Vec<_>>()
    );
    let details: serde_json::Value = serde_json::from_str(&audit[at("dunning.run")].details).unwrap();
    assert_eq!(details["renders"], 2, "the letters changed: rendered again");
    assert_eq!(details["typeset"], 40, "only the letters that changed are laid out again (Paul's went)");
    assert_eq!(run.letters, 39, "{run:?}");
    let files: Vec<String> = walk(&out).iter().map(|p| p.strip_prefix(&out).unwrap().display().to_string()).collect();
    let mut expected: Vec<String> = (1..=36)
        .map(|k| format!("2501{k:04}"))
        .chain(["25000001", "25000003", "25000004"].map(String::from))
        .map(|n| format!("relance-{n}-20251020.pdf"))
        .chain(["relances-20251020.csv".into(), "relances-20251020.xlsx".into()])
        .collect();
    expected.sort();
    let mut found = files.clone();
    found.sort();
    assert_eq!(found, expected, "only the run's files, and none for Paul");
    let csv = std::fs::read_to_string(out.join("relances-20251020.csv")).unwrap();
    assert!(!csv.contains("25000002"), "Paul in the mail-merge file: {csv}");
    // His installments were not raised: nothing of his is overdue.
    let after = dunning::list(&store, d(2025, 10, 20)).await.unwrap();
    assert!(after.iter().all(|e| e.student_number != "25000002"), "{after:?}");
    assert!(after.iter().all(|e| e.level != Level::None), "the others were raised: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_changed_while_they_render_is_rendered_again_and_only_it() {
    // Paul owes 206 of 05/09 and 206 of 10/10; while the letters render he pays 206, which
    // settles the first. His letter must say what he owes now; the 39 others stay as rendered.
    let (store, out, running) = forty_rendering("dunning-changed", &[PAUL_DURAND], 2503).await;
    pay(&store, "25000002", d(2025, 10, 15), Money::from_cents(20600), PaymentMethod::Card).await;
    let run = running.await.unwrap().unwrap();
    assert_eq!(run.letters, 40, "{run:?}");
    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    let at = |action: &str| audit.iter().rposition(|a| a.action == action).unwrap();
    assert!(at("payment.record") < at("dunning.run"), "the payment waited for the letters");
    let details: serde_json::Value = serde_json::from_str(&audit[at("dunning.run")].details).unwrap();
    assert_eq!((details["renders"].as_u64(), details["typeset"].as_u64()), (Some(2), Some(41)), "{details}");
    let text = text_of(&std::fs::read(out.join("relance-25000002-20251020.pdf")).unwrap());
    assert!(text.contains("Total dû : 206,00 €"), "{text}");
    let other = text_of(&std::fs::read(out.join("relance-25030001-20251020.pdf")).unwrap());
    assert!(other.contains("Total dû : 412,00 €"), "{other}");
    let csv = std::fs::read_to_string(out.join("relances-20251020.csv")).unwrap();
    let paul = csv.lines().find(|l| l.starts_with("25000002;")).unwrap();
    assert!(paul.contains("éch. 2 ") && !paul.contains("éch. 1 ") && !paul.contains("412,00"), "{paul}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accountants_running_the_reminders_at_once_send_each_letter_once() {
    // Two workstations on the office's database click "Lancer les relances" on the same day.
    // The other workstation is open before the first run starts: the second run's read then
    // comes well before the first run's forty letters are rendered.
    let (store, out) = forty("dunning-twice", &[PAUL_DURAND], 2504).await;
    let other = regie::Store::open(&common::db_of(&store)).await.unwrap();
    let other_out = temp_dir("dunning-twice-other");
    let running = rendering(&store, &out).await;
    let second = dunning::run(&other, &Typesetter::new(), d(2025, 10, 20), &other_out, false, "fanny").await.unwrap();
    let first = running.await.unwrap().unwrap();
    let mut counts = [first.letters, second.letters];
    counts.sort();
    assert_eq!(counts, [0, 40], "{first:?} {second:?}");
    let pdfs = |dir: &std::path::Path| walk(dir).iter().filter(|p| p.extension().is_some_and(|e| e == "pdf")).count();
    assert_eq!(pdfs(&out) + pdfs(&other_out), 40, "each letter written once");
    assert_eq!(walk(&out).len() + walk(&other_out).len(), 42, "and one mail-merge file, CSV and XLSX");
    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    let runs: Vec<serde_json::Value> =
        audit.iter().filter(|a| a.action == "dunning.run").map(|a| serde_json::from_str(&a.details).unwrap()).collect();
    let raised: Vec<u64> = runs.iter().map(|r| r["raised"].as_u64().unwrap()).collect();
    assert_eq!(runs.len(), 2, "both runs recorded");
    assert!(raised.contains(&0) && raised.iter().sum::<u64>() == 80, "each installment raised once: {raised:?}");
    // The one that sent nothing had rendered the forty letters too: the runs overlapped.
    let idle = runs.iter().find(|r| r["raised"] == 0).unwrap();
    assert_eq!((idle["renders"].as_u64(), idle["typeset"].as_u64()), (Some(2), Some(40)), "{idle}");
    other.close().await;
}

/// `forty` students and their `rendering` run (forty letters on this machine's cores).
async fn forty_rendering(
    tag: &str,
    first: &[common::Row],
    series: u32,
) -> (regie::Store, std::path::PathBuf, tokio::task::JoinHandle<regie::Result<dunning::RunSummary>>) {
    let (store, out) = forty(tag, first, series).await;
    let running = rendering(&store, &out).await;
    (store, out, running)
}

/// Forty students (`first` and namesakes of Paul numbered from `series`), nothing paid, and the
/// folder for their reminders.
async fn forty(tag: &str, first: &[common::Row], series: u32) -> (regie::Store, std::path::PathBuf) {
    let mut rows = first.to_vec();
    for k in 1..=(40 - first.len()) {
        let mut row = PAUL_DURAND;
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        row[0] = leak(format!("{series}{k:04}"));
        row[1] = leak(format!("Élève{k}"));
        row[3] = leak(format!("eleve{k}@etu.uca.fr"));
        rows.push(row);
    }
    let (store, _dir) = approved(tag, &rows).await;
    (store, temp_dir(&format!("{tag}-out")))
}

/// A reminders run on 20/10/2025 (one PDF each) into `out`, on another task: returned once its
/// first letter is rendered, with the run still going.
async fn rendering(
    store: &regie::Store,
    out: &std::path::Path,
) -> tokio::task::JoinHandle<regie::Result<dunning::RunSummary>> {
    let running = {
        let (store, out) = (store.clone(), out.to_path_buf());
        tokio::spawn(
            async move { dunning::run(&store, &Typesetter::new(), d(2025, 10, 20), &out, false, "claire").await },
        )
    };
    // A letter in the folder: the run has read the office (before its first letter), and is
    // rendering the others.
    while !walk(out).iter().any(|p| p.parent() != Some(out) && p.extension().is_some_and(|e| e == "pdf")) {
        assert!(!running.is_finished(), "the run ended before its letters were seen rendering");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    running
}

/// Every file under `dir`, its subfolders' included.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn letters_that_cannot_take_their_place_after_the_run_wait_in_a_folder_the_accountant_sees() {
    // The mail-merge file's name is taken, by a folder: the run is recorded, so its files must
    // not be lost with the folder they were rendered in. An earlier such folder is there already.
    let (store, _dir) = approved("dunning-kept", &[PAUL_DURAND, AMINE_BENALI]).await;
    let out = temp_dir("dunning-kept-out");
    std::fs::create_dir_all(out.join("relances-20251020.csv").join("occupé")).unwrap();
    let earlier = out.join("relances-20251020-non-deplacees-1");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("relances-20251020.csv"), "numero;email\n").unwrap();
    let err = dunning::run(&store, &Typesetter::new(), d(2025, 10, 20), &out, false, "claire").await.unwrap_err();
    let said = err.to_string();
    assert!(said.contains("relances-20251020.csv") && said.contains("relance enregistrée"), "{said}");
    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "dunning.run").count(), 1, "the run is recorded");
    // Under a name the accountant sees (a dot would hide it), the next free one: the files not
    // moved and the mark that keeps any later run from removing them, nothing else.
    let kept = out.join("relances-20251020-non-deplacees-2");
    assert!(said.contains(&kept.display().to_string()), "{said} names the folder");
    let mut names: Vec<String> =
        std::fs::read_dir(&kept).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, [".relance-enregistree", "relances-20251020.csv", "relances-20251020.xlsx"]);
    let hidden: Vec<_> = walk(&out).into_iter().filter(|p| p.to_string_lossy().contains("/.relances")).collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // The letters, moved before it, are in place.
    assert!(out.join("relance-25000002-20251020.pdf").is_file() && out.join("relance-25000003-20251020.pdf").is_file());
}

#[tokio::test]
async fn a_run_removes_the_folders_that_runs_killed_midway_left_behind_and_only_those() {
    // Five hidden folders in the run's folder: one left by a run killed before it recorded
    // anything (its lock free for hours), one of a run still rendering elsewhere (its lock held),
    // one of a run that has just started (its lock not taken yet), one of a run killed after it
    // was marked recorded (its letters must not be lost), one on a drive that cannot lock.
    let (store, _dir) = approved("dunning-left", &[PAUL_DURAND, AMINE_BENALI]).await;
    let out = temp_dir("dunning-left-out");
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    let folder = |n: u32, lock: bool, recorded: bool| {
        let dir = out.join(format!(".relances-en-cours-0-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("relance-25000002-20251020.pdf"), b"%PDF-1.7 half a letter").unwrap();
        if recorded {
            std::fs::write(dir.join(".relance-enregistree"), b"").unwrap();
        }
        lock.then(|| std::fs::File::create(dir.join(".verrou")).unwrap())
    };
    let killed = folder(0, true, false).unwrap();
    killed.set_modified(hours_ago).unwrap();
    drop(killed);
    let rendering = folder(1, true, false).unwrap();
    rendering.set_modified(hours_ago).unwrap();
    rendering.lock().unwrap();
    drop(folder(2, true, false).unwrap());
    let recorded = folder(3, true, true).unwrap();
    recorded.set_modified(hours_ago).unwrap();
    drop(recorded);
    assert!(folder(4, false, false).is_none());

    let run = dunning::run(&store, &Typesetter::new(), d(2025, 10, 20), &out, false, "claire").await.unwrap();
    assert_eq!(run.letters, 2, "{run:?}");
    let hidden = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    };
    let named = |ns: &[u32]| ns.iter().map(|n| format!(".relances-en-cours-0-{n}")).collect();
    assert_eq!(hidden(), named(&[1, 2, 3, 4]), "only the killed run's folder goes, and the run leaves none of its own");
    for n in [1, 2, 3, 4] {
        let letter = out.join(format!(".relances-en-cours-0-{n}/relance-25000002-20251020.pdf"));
        assert!(letter.is_file(), "{} is left as it was", letter.display());
    }
    // Once the other run is gone, its folder goes with the next run.
    drop(rendering);
    let next = dunning::run(&store, &Typesetter::new(), d(2025, 10, 21), &out, false, "claire").await.unwrap();
    assert_eq!(next.letters, 0, "{next:?}");
    assert_eq!(hidden(), named(&[2, 3, 4]), "a recorded run's folder, and one without a lock, are never removed");
}

#[tokio::test]
async fn a_run_from_the_window_removes_what_a_killed_run_left_in_its_own_folder() {
    // The window's runs each write to a new folder: a run killed midway left its staging folder
    // in the folder of its own, which the next run removes (and the folder, empty then). An
    // earlier run's letters stay.
    let (store, _dir) = approved("dunning-window-left", &[PAUL_DURAND]).await;
    let exports = temp_dir("dunning-window-exports");
    let killed = exports.join("relances-20251019-101500");
    let staging = killed.join(".relances-en-cours-0-0");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("relances-20251019.csv"), "numero;email\n").unwrap();
    let lock = std::fs::File::create(staging.join(".verrou")).unwrap();
    lock.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600)).unwrap();
    drop(lock);
    let earlier = exports.join("relances-20251018-090000");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("relances-20251018.csv"), "numero;email\n").unwrap();

    let run =
        dunning::run_in_folder_of(&store, &Typesetter::new(), d(2025, 10, 20), &exports, true, "claire").await.unwrap();
    assert_eq!(run.letters, 1, "{run:?}");
    assert!(!killed.exists(), "the killed run's folder goes");
    assert!(earlier.join("relances-20251018.csv").is_file(), "an earlier run's files stay");
    let folders = std::fs::read_dir(&exports).unwrap().count();
    assert_eq!(folders, 2, "the earlier run's and this one's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_changes_no_letter_while_they_render_does_not_render_them_again() {
    // Forty students reminded; while their letters render, Fanny is made a finance manager
    // (audited, as every change is): the run reads the office again, finds the same letters, and
    // keeps the files it has.
    let (store, out, running) = forty_rendering("dunning-same", &[PAUL_DURAND], 2502).await;
    regie::users::set_role(&store, "fanny", regie::users::Role::FinanceManager, "admin").await.unwrap();
    let run = running.await.unwrap().unwrap();

    let audit = regie::store::audit::list(&mut store.read().await.unwrap(), None).await.unwrap();
    let at = |action: &str| audit.iter().rposition(|a| a.action == action).unwrap();
    assert!(at("user.role") < at("dunning.run"), "the change waited for the letters");
    let details: serde_json::Value = serde_json::from_str(&audit[at("dunning.run")].details).unwrap();
    assert_eq!(details["renders"], 1, "{details}");
    assert_eq!(run.letters, 40, "{run:?}");
    let pdfs = walk(&out).iter().filter(|p| p.extension().is_some_and(|e| e == "pdf")).count();
    assert_eq!(pdfs, 40);
    assert!(walk(&out).iter().all(|p| p.parent() == Some(out.as_path())), "nothing left aside");
}
