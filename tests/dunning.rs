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

    // 17/10: Léa's transfer is 7 days late.
    let run = dunning::run(&store, &ts, d(2025, 10, 17), &out, false, "claire").await.unwrap();
    assert_eq!((run.letters, run.raised), (1, 1));
    let lea = text_of(&std::fs::read(out.join("relance-25000001-20251017.pdf")).unwrap());
    assert!(
        lea.contains("virement non reçu") && lea.contains("1 630,50 €") && !lea.contains("par carte bancaire"),
        "{lea}"
    );

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
