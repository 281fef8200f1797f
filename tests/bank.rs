//! Bank statements on real files and a real database: French banks' layouts (title rows, `;` CSV
//! in Windows-1252, xlsx with real numbers and dates, ods), idempotent imports, explained
//! matching, confirmation with alias learning, audited undo.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, CHLOE_MOREAU, LEA_DURAND, PAUL_DURAND, write_1252, write_ods};
use regie::Store;
use regie::bank::{self, Columns};
use regie::money::Money;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn m(c: i64) -> Money {
    Money::from_cents(c)
}

/// Students with approved schedules: Léa DURAND (ISIMA transfers 618 + 2 x 1630.50), Paul DURAND
/// (Polytech, 618 in three), Amine BENALI (ISIMA transfers), Chloé MOREAU (Polytech 3879 in six).
async fn school_year(tag: &str) -> (Store, std::path::PathBuf) {
    common::approved(tag, &[LEA_DURAND, PAUL_DURAND, AMINE_BENALI, CHLOE_MOREAU]).await
}

fn line<'a>(lines: &'a [bank::LineView], label_part: &str) -> &'a bank::LineView {
    lines.iter().find(|l| l.label.contains(label_part)).unwrap_or_else(|| panic!("no line with {label_part}"))
}

const CSV: &str = "Relevé de compte courant\r\n\
Compte n° 10071 63000 00001003834 89 - CLERMONT AUVERGNE INP\r\n\
Période du 01/09/2025 au 31/10/2025;;;;;\r\n\
Solde au 01/09/2025;;;;;125 000,00\r\n\
Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
08/09/2025;08/09/2025;;618,00;VIR SEPA RECU /DE DURAND LEA /MOTIF DURAND+ISIMA+F.I;\r\n\
08/09/2025;08/09/2025;;206,00;VIR SEPA RECU /DE PAUL DURAND /MOTIF INSCRIPTION POLYTECH;\r\n\
09/09/2025;09/09/2025;;618,00;VIR SEPA RECU /DE MARTIN PIERRE /MOTIF SCOLARITE;\r\n\
10/09/2025;10/09/2025;12,00;;FRAIS TENUE DE COMPTE;\r\n\
12/09/2025;12/09/2025;;100,00;VIR SEPA RECU /DE DURAND;\r\n\
12/09/2025;12/09/2025;;50,00;VIR SEPA RECU /DE INCONNU X;\r\n\
12/09/2025;12/09/2025;;50,00;VIR SEPA RECU /DE INCONNU X;\r\n\
13/10/2025;13/10/2025;;1 615,50;VIR SEPA RECU /DE LEA DURAN /MOTIF LEA DURAN ISIMA F.I FRAIS DEDUIT;\r\n\
;;;;Solde au 31/10/2025;128 000,00\r\n";

#[tokio::test]
async fn a_french_csv_statement_imports_matches_and_reimports_as_a_no_op() {
    let (store, dir) = school_year("bank-csv").await;
    let file = dir.join("releve septembre.csv");
    write_1252(&file, CSV);
    let s = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.rows, s.new, s.already_known), (8, 8, 0));
    assert_eq!(s.auto_matched + s.to_review + s.unmatched, 7, "every credit line is classified: {s:?}");

    let lines = bank::lines(&store, None).await.unwrap();
    let lea = line(&lines, "DURAND+ISIMA");
    assert_eq!((lea.status.code(), lea.student_number.as_deref()), ("matched", Some("25000001")));
    assert_eq!(lea.student_name.as_deref(), Some("Durand Léa"), "the line names its student");
    assert!(
        lea.reasons.contains(&"nom 2/2".to_string()) && lea.reasons.contains(&"ISIMA".to_string()),
        "{:?}",
        lea.reasons
    );
    assert!(lea.reasons.iter().any(|r| r == "montant = 1re échéance"), "{:?}", lea.reasons);
    let paul = line(&lines, "PAUL DURAND");
    assert_eq!(paul.student_number.as_deref(), Some("25000002"), "reversed names");
    assert!(paul.reasons.iter().any(|r| r == "montant = 1re échéance"), "{:?}", paul.reasons);
    // Accents dropped, name cut by the bank, 15 EUR of fees deducted: matched, the 15 EUR stays owed.
    let short = line(&lines, "LEA DURAN ");
    assert_eq!(
        (short.status.code(), short.student_number.as_deref()),
        ("matched", Some("25000001")),
        "{:?}",
        short.reasons
    );
    assert!(short.reasons.iter().any(|r| r.contains("15,00 €")), "{:?}", short.reasons);
    let pos = regie::ledger::account_position(&store, "25000001").await.unwrap();
    assert_eq!(pos.schedule[1].left_to_pay, m(1500), "the shortfall is never written off");
    assert_eq!(bank::rules(&store).await.unwrap().fee_tolerance, m(3000), "30 EUR by default");
    // Two students named DURAND and nothing else to tell them apart: never guessed.
    let tie = lines.iter().find(|l| l.label == "VIR SEPA RECU /DE DURAND").unwrap();
    assert_eq!(tie.status.code(), "to_review", "{tie:?}");
    assert_eq!(tie.suggestions.len(), 2);
    assert_eq!(tie.suggestions[0].score, tie.suggestions[1].score);
    // Confirming it to Paul learns nothing: the payer is his own surname.
    let c = bank::confirm(&store, tie.id, "25000002", None, "claire").await.unwrap();
    assert_eq!((c.status.code(), c.alias_learned), ("matched", None));
    // Two identical lines of one day stay two lines.
    assert_eq!(lines.iter().filter(|l| l.label.contains("INCONNU X")).count(), 2);
    assert_eq!(line(&lines, "FRAIS TENUE").status.code(), "debit");

    // The same file again: nothing new, nothing paid twice.
    let again = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known, again.auto_matched), (0, 8, 0));
    assert_eq!(regie::ledger::account_position(&store, "25000001").await.unwrap().payments.len(), 2);
}

#[tokio::test]
async fn confirming_a_parents_transfer_learns_the_payer_and_undo_reverses_it() {
    let (store, dir) = school_year("bank-alias").await;
    let file = dir.join("releve.csv");
    write_1252(&file, CSV);
    bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let lines = bank::lines(&store, None).await.unwrap();
    let parent = line(&lines, "MARTIN PIERRE");
    assert_ne!(parent.status.code(), "matched", "a stranger's name alone is not matched");

    let c = bank::confirm(&store, parent.id, "25000003", None, "claire").await.unwrap();
    assert_eq!((c.status.code(), c.alias_learned.as_deref()), ("matched", Some("MARTIN PIERRE")));
    let pos = regie::ledger::account_position(&store, "25000003").await.unwrap();
    assert_eq!(pos.payments[0].amount, m(61800));
    assert_eq!(pos.schedule[0].left_to_pay, Money::ZERO);

    // The next statement: the same parent, the second transfer, matched through the alias.
    let next = dir.join("releve octobre.ods");
    write_ods(
        &next,
        &[
            vec!["Relevé d'opérations", "", ""],
            vec!["Date", "Libellé", "Montant"],
            vec!["@2025-10-11", "VIR SEPA RECU /DE MARTIN PIERRE /MOTIF 2EME VERSEMENT", "=1630.5"],
        ],
    );
    let s = bank::import_file(&store, &next, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.auto_matched, 1, "{s:?}");
    let lines = bank::lines(&store, Some("matched")).await.unwrap();
    let second = line(&lines, "2EME VERSEMENT");
    assert_eq!(second.student_number.as_deref(), Some("25000003"));
    assert!(second.reasons.iter().any(|r| r == "payeur connu : MARTIN PIERRE"), "{:?}", second.reasons);

    // Undo: an audited reversal; the installment is owed again and the line goes back to review.
    assert!(bank::undo(&store, second.id, " ", d(2025, 10, 20), "claire").await.is_err(), "a reason is required");
    assert_eq!(bank::undo(&store, second.id, "mauvais étudiant", d(2025, 10, 20), "claire").await.unwrap(), 1);
    let pos = regie::ledger::account_position(&store, "25000003").await.unwrap();
    // A match undone never was this account's: neither the payment nor its reversal is listed,
    // and nothing shows as unpaid ("Impayé" is for payments that came back).
    assert_eq!(pos.payments.len(), 1, "{:?}", pos.payments);
    assert!(pos.payments.iter().all(|p| p.unpaid.is_zero()));
    assert_eq!(pos.totals.payments_amount, pos.summary.credit - pos.totals.credit_notes);
    assert_eq!(pos.schedule[1].left_to_pay, m(163050));
    let line_now = bank::lines(&store, Some("to_review")).await.unwrap();
    assert!(line_now.iter().any(|l| l.id == second.id && l.unassigned == m(163050)));
    let mut c = store.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, Some("statement_line")).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "bank.undo" && e.reason.as_deref() == Some("mauvais étudiant") && e.actor == "claire")
    );
    assert!(log.iter().any(|e| e.action == "bank.confirm"));
}

#[tokio::test]
async fn one_transfer_for_two_installments_and_a_split_between_students() {
    let (store, dir) = school_year("bank-xlsx").await;
    // Chloé's first installment paid; then one transfer for her 2nd and 3rd (2 x 652.20).
    let file = dir.join("export banque.xlsx");
    {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        ws.write_string(0, 0, "CLERMONT AUVERGNE INP - Compte 00010038348").unwrap();
        ws.write_string(2, 0, "Date opération").unwrap();
        ws.write_string(2, 1, "Libellé").unwrap();
        ws.write_string(2, 2, "Débit").unwrap();
        ws.write_string(2, 3, "Crédit").unwrap();
        let rows: [(u16, u8, &str, f64); 3] = [
            (2025, 9, "VIR SEPA RECU /DE MOREAU CHLOE /MOTIF POLYTECH", 618.0),
            (2025, 10, "VIR SEPA RECU /DE CHLOE MOREAU /MOTIF ECHEANCES 2 ET 3", 1304.4),
            (2025, 10, "VIR SEPA RECU /DE FAMILLE DURAND /MOTIF LEA ET PAUL", 1236.0),
        ];
        for (i, (y, mo, label, amount)) in rows.iter().enumerate() {
            let r = i as u32 + 3;
            ws.write_datetime_with_format(r, 0, ExcelDateTime::from_ymd(*y, *mo, 10).unwrap(), &date).unwrap();
            ws.write_string(r, 1, *label).unwrap();
            ws.write_number(r, 3, *amount).unwrap();
        }
        wb.save(&file).unwrap();
    }
    let s = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.rows, 3);
    let lines = bank::lines(&store, None).await.unwrap();
    let two = line(&lines, "ECHEANCES 2 ET 3");
    assert_eq!(two.student_number.as_deref(), Some("25000004"), "{:?} {:?}", two.status, two.suggestions);
    assert!(two.reasons.iter().any(|r| r == "montant = échéances 2 à 3"), "{:?}", two.reasons);
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    let left: Vec<String> = pos.schedule.iter().map(|l| l.left_to_pay.to_string()).collect();
    assert_eq!(left, ["0.00", "0.00", "0.00", "652.20", "652.20", "652.20"]);

    // One line for two students: split by hand.
    let family = line(&lines, "FAMILLE DURAND");
    assert_ne!(family.status.code(), "matched");
    let first = bank::confirm(&store, family.id, "25000001", Some(m(61800)), "claire").await.unwrap();
    assert_eq!(first.alias_learned.as_deref(), Some("DURAND FAMILLE"), "a family account is a payer worth remembering");
    assert_eq!((first.status.code(), first.unassigned), ("to_review", m(61800)));
    assert!(
        bank::confirm(&store, family.id, "25000002", Some(m(70000)), "claire").await.is_err(),
        "more than what is left"
    );
    let second = bank::confirm(&store, family.id, "25000002", None, "claire").await.unwrap();
    assert_eq!((second.status.code(), second.unassigned), ("matched", Money::ZERO));
    let paul = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(paul.payments[0].amount, m(61800));
    assert_eq!(paul.summary.balance, Money::ZERO);
}

#[tokio::test]
async fn the_fee_tolerance_is_a_setting() {
    let (store, dir) = school_year("bank-tolerance").await;
    regie::users::set_role(&store, "claire", regie::users::Role::FinanceManager, "admin").await.unwrap();
    bank::set_fee_tolerance(&store, m(1000), Some("frais SEPA relevés"), "claire").await.unwrap();
    assert!(bank::set_fee_tolerance(&store, m(-1), Some("essai"), "claire").await.is_err());
    assert!(bank::set_fee_tolerance(&store, m(500), None, "claire").await.is_err(), "a reason is required");
    let file = dir.join("releve.csv");
    write_1252(&file, CSV);
    bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let lines = bank::lines(&store, None).await.unwrap();
    // 15 EUR short is now beyond the 10 EUR tolerance: no longer read as the installment.
    let short = line(&lines, "LEA DURAN ");
    assert!(
        !short
            .reasons
            .iter()
            .chain(short.suggestions.iter().flat_map(|s| s.reasons.iter()))
            .any(|r| r.contains("frais")),
        "{short:?}"
    );
}

#[tokio::test]
async fn an_overlapping_statement_adds_only_its_new_lines() {
    let (store, dir) = school_year("bank-overlap").await;
    let first = dir.join("a.csv");
    write_1252(&first, CSV);
    bank::import_file(&store, &first, Columns::Detect, "claire").await.unwrap();
    // The next export repeats the last days (including both identical lines) and adds one.
    let overlap = "Date;Libellé;Montant\n12/09/2025;VIR SEPA RECU /DE INCONNU X;50,00\n12/09/2025;VIR SEPA RECU /DE INCONNU X;50,00\n\
                   13/10/2025;VIR SEPA RECU /DE LEA DURAN /MOTIF LEA DURAN ISIMA F.I FRAIS DEDUIT;1615,50\n\
                   14/10/2025;VIR SEPA RECU /DE INCONNU X;50,00\n";
    let second = dir.join("b.csv");
    std::fs::write(&second, overlap).unwrap();
    let s = bank::import_file(&store, &second, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.rows, s.new, s.already_known), (4, 1, 3));
}

#[tokio::test]
async fn a_bad_cell_refuses_the_whole_statement_and_unknown_columns_take_a_saved_mapping() {
    let (store, dir) = school_year("bank-bad").await;
    let bad = dir.join("bad.csv");
    write_1252(&bad, &CSV.replace("13/10/2025;13/10/2025;;1 615,50", "13/10/2025;13/10/2025;;1 6x5,50"));
    let e = bank::import_file(&store, &bad, Columns::Detect, "claire").await.unwrap_err();
    assert_eq!(e.code(), "bad_file");
    assert!(e.to_string().starts_with("bad.csv, ligne 13, colonne « Crédit »"), "{e}");
    assert!(bank::lines(&store, None).await.unwrap().is_empty(), "nothing of the good lines was kept");

    let odd = dir.join("odd.csv");
    std::fs::write(&odd, "Jour;Texte;Valeur\n08/09/2025;VIR SEPA RECU /DE DURAND LEA ISIMA;618,00\n").unwrap();
    let e = bank::import_file(&store, &odd, Columns::Detect, "claire").await.unwrap_err();
    assert_eq!(e.code(), "mapping_needed");
    let mapping = regie::bank::table::Mapping {
        header_row: 1,
        date: 0,
        value_date: None,
        label: vec![1],
        amount: regie::bank::table::AmountColumns::Signed(2),
    };
    let s = bank::import_file(&store, &odd, Columns::Mapping { mapping, save_as: Some("banque-odd") }, "claire")
        .await
        .unwrap();
    assert_eq!((s.new, s.auto_matched), (1, 1));
    let profiles = bank::profiles(&store).await.unwrap();
    assert_eq!(profiles[0].0, "banque-odd");
    let again = bank::import_file(&store, &odd, Columns::Profile("banque-odd"), "claire").await.unwrap();
    assert_eq!(again.already_known, 1);
}
