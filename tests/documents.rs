//! Documents rendered by Typst for real and read back: invoices and credit notes print their
//! figures in French, hostile names print as written, re-rendering gives the same bytes, and
//! numbers stay gapless under concurrency and rollbacks.

mod common;

use chrono::NaiveDate;
use common::{AMINE_BENALI, PAUL_DURAND, temp_dir, write_csv_1252};
use regie::Store;
use regie::invoices::{self, Typesetter};
use regie::money::Money;
use regie::requests::RequestStatus;

fn text_of(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf).expect("the PDF reads back");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn one_invoice(tag: &str, last: &'static str, first: &'static str) -> (Store, String) {
    #[rustfmt::skip]
    let row = ["22001003", last, first, "e@etu.uca.fr", "POLYTECH", "P2223_Y3_3A", "3", "05", "6", "01/09/2022", "3 770,00", "oui", "", "non"];
    let (store, _) = common::approved(tag, &[row]).await;
    // Credit notes are a finance manager's.
    regie::users::set_role(&store, "claire", regie::users::Role::FinanceManager, "admin").await.unwrap();
    let number = invoices::list(&store, None).await.unwrap().remove(0).number;
    (store, number)
}

#[tokio::test]
async fn an_invoice_prints_its_figures_in_french_and_renders_identically_twice() {
    let (store, number) = one_invoice("doc-invoice", "Arnould", "Vincent").await;
    // The session's full label is data the office keeps: "P2223_Y3_3A - Ingénieur Polytech -
    // spécialité Génie Civil 3ème année" (DOMAIN.md, "Documents").
    let label = "P2223_Y3_3A - Ingénieur Polytech - spécialité Génie Civil 3ème année";
    assert!(regie::settings::set_session_label(&store, "P2223_Y3_3A", label, None, "claire").await.is_err());
    regie::settings::set_session_label(&store, "P2223_Y3_3A", label, Some("libellés du portail"), "claire")
        .await
        .unwrap();
    let ts = Typesetter::new();
    let pdf = invoices::render_invoice(&store, &ts, &number).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = text_of(&pdf);
    for expected in [
        "CLERMONT AUVERGNE INP",
        "Polytech",
        "Facture n° F2022-00001",
        "05/09/2022",
        // The label as recorded: a 6-installment card plan, not always "Paiement en ligne".
        "Paiement en ligne par carte en 6 fois",
        label,
        "Client : Arnould Vincent",
        "Inscrits",
        "ARNOULD Vincent",
        "Droits de scolarité",
        "Non soumis à la TVA selon l'art. 261-4-4 du C.G.I.",
        "Total TTC",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    let flat = text.replace(['\u{202f}', '\u{a0}'], " ");
    assert!(flat.contains("3 770,00"), "{flat}");
    let again = invoices::render_invoice(&store, &ts, &number).await.unwrap();
    assert_eq!(pdf, again, "a second render is byte-identical");
    assert_eq!(
        pdf,
        invoices::render_invoice(&store, &Typesetter::new(), &number).await.unwrap(),
        "and so is one from a new world"
    );
}

#[tokio::test]
async fn hostile_names_and_reasons_print_literally() {
    let (store, number) = one_invoice("doc-hostile", "#exit()", "*Éloïse* [O'Brien]").await;
    let ts = Typesetter::new();
    let text = text_of(&invoices::render_invoice(&store, &ts, &number).await.unwrap());
    assert!(text.contains("#EXIT() *Éloïse* [O'Brien]") || text.contains("#exit() *Éloïse* [O'Brien]"), "{text}");
    let note = invoices::issue_credit_note(
        &store,
        &number,
        Money::from_cents(316_900),
        r#"$x$ \ "quoted" @ref <label>"#,
        "claire",
    )
    .await
    .unwrap();
    // A credit note takes the series of its own date (today), not its 2022-23 invoice's.
    let today = chrono::Local::now().date_naive();
    let series = format!("A{}-00001", regie::fees::AcademicYear::containing(today).start_year());
    assert_eq!(note.number, series);
    let text = text_of(&invoices::render_credit_note(&store, &ts, &note.number).await.unwrap());
    assert!(text.contains(r#"$x$ \ "quoted" @ref <label>"#), "{text}");
    assert!(
        text.contains(&format!("Avoir n° {series}")) && text.contains("3 169,00".replace(' ', "\u{202f}").as_str())
            || text.replace('\u{202f}', " ").contains("3 169,00"),
        "{text}"
    );
}

#[tokio::test]
async fn credit_notes_never_exceed_the_invoice_and_need_a_reason() {
    let (store, number) = one_invoice("doc-credit", "Martin", "Léa").await;
    assert!(invoices::issue_credit_note(&store, &number, Money::from_cents(100), " ", "claire").await.is_err());
    assert!(invoices::issue_credit_note(&store, &number, Money::from_cents(377_001), "trop", "claire").await.is_err());
    invoices::issue_credit_note(&store, &number, Money::from_cents(377_000), "annulation", "claire").await.unwrap();
    assert!(
        invoices::issue_credit_note(&store, &number, Money::from_cents(1), "encore", "claire").await.is_err(),
        "nothing left to credit"
    );
    let list = invoices::list(&store, None).await.unwrap();
    assert_eq!((list[0].total, list[0].credited), (Money::from_cents(377_000), Money::from_cents(377_000)));
}

#[tokio::test]
async fn eight_tasks_issuing_500_invoices_leave_no_gap() {
    let dir = temp_dir("doc-gapless");
    let store = Store::open(&common::db_at(&dir, "r")).await.unwrap();
    let rows: Vec<[String; 14]> = (0..500)
        .map(|i| {
            [
                format!("G{i:05}"),
                "Nom".into(),
                "Prénom".into(),
                format!("g{i}@etu.uca.fr"),
                "ISIMA".into(),
                "P2526_ISI_1A".into(),
                "1".into(),
                "01".into(),
                "one".into(),
                "01/09/2025".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    let refs: Vec<[&str; 14]> = rows.iter().map(|r| std::array::from_fn(|k| r[k].as_str())).collect();
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, &refs);
    regie::requests::import::import_file(&store, &file, "test").await.unwrap();
    let ids: Vec<i64> =
        regie::requests::list(&store, Some(RequestStatus::Pending)).await.unwrap().iter().map(|r| r.id).collect();
    let date = NaiveDate::from_ymd_opt(2025, 9, 5).unwrap();
    let tasks: Vec<_> = ids
        .chunks(ids.len().div_ceil(8))
        .map(|chunk| {
            let (s, chunk) = (store.clone(), chunk.to_vec());
            tokio::spawn(async move {
                regie::requests::review::approve_many(&s, &chunk, date, None, "claire").await.unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // A transaction rolled back in the middle of an issue returns its number.
    let mut tx = store.begin().await.unwrap();
    let taken = regie::store::ledger::next_number(&mut tx, "F2025").await.unwrap();
    assert_eq!(taken, "F2025-00501");
    tx.rollback().await.unwrap();
    let mut numbers: Vec<String> = invoices::list(&store, None).await.unwrap().into_iter().map(|i| i.number).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=500).map(|n| format!("F2025-{n:05}")).collect();
    assert_eq!(numbers, expected);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(regie::store::ledger::next_number(&mut tx, "F2025").await.unwrap(), "F2025-00501");
}

#[tokio::test]
async fn the_account_statement_prints_the_five_tables_and_the_summary() {
    let (store, number) = one_invoice("doc-account", "Benali", "Amine").await;
    invoices::issue_credit_note(&store, &number, Money::from_cents(100_000), "geste commercial", "claire")
        .await
        .unwrap();
    // The first installment paid by card on 05/09, the second debited on 10/10 and charged back
    // on 20/10: the payment "came back", the position shows it as unpaid ("Impayé").
    let card = regie::ledger::PaymentMethod::Card;
    common::pay(&store, "22001003", NaiveDate::from_ymd_opt(2022, 9, 5).unwrap(), Money::from_cents(60100), card).await;
    let debit =
        common::pay(&store, "22001003", NaiveDate::from_ymd_opt(2022, 10, 10).unwrap(), Money::from_cents(42380), card)
            .await;
    let mut tx = store.begin().await.unwrap();
    let back = NaiveDate::from_ymd_opt(2022, 10, 20).unwrap();
    let unpaid = regie::ledger::PaymentReversal::Unpaid;
    regie::ledger::reverse_payment(&mut tx, debit, unpaid, back, "opposition (00141)", "paul").await.unwrap();
    tx.commit().await.unwrap();
    let date = NaiveDate::from_ymd_opt(2022, 10, 21).unwrap();
    let pdf = invoices::render_account(&store, &Typesetter::new(), "22001003", date).await.unwrap();
    let text = text_of(&pdf).replace('\u{202f}', " ");
    let pos = regie::ledger::account_position(&store, "22001003").await.unwrap();
    assert_eq!(pos.payments.len(), 2, "the charge-back is shown on its payment, not as a line");
    assert_eq!(pos.payments[1].unpaid, Money::from_cents(42380));
    assert_eq!(pos.totals.payments_unpaid, Money::from_cents(42380));
    // 3 770 invoiced - 1 000 credited - 601 paid (the 423,80 came back) = 2 169,00 owed.
    assert_eq!(pos.summary.balance, Money::from_cents(216_900));
    for expected in [
        "CLERMONT AUVERGNE INP",
        "Position de compte",
        "Benali Amine",
        "Commandes",
        "Factures",
        "Règlements",
        "Impayé",
        "Avoirs",
        "Remboursements",
        "Solde",
        "Total",
        number.as_str(),
        "geste commercial",
        "3 770,00 €",
        "1 000,00 €",
        "423,80 €",
        "1 024,80 €",
        "2 169,00 €",
        "Débiteur",
        "21/10/2022",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    // The CLI's plain text is the same statement.
    let cli = invoices::account_text(&store, "22001003", date).await.unwrap().replace('\u{202f}', " ");
    for expected in ["Règlements", "Impayé", "423,80 €", "Total", "Position 2 169,00 €", "Montant HT", "Solde"] {
        assert!(cli.contains(expected), "missing {expected:?} in {cli}");
    }
}

#[tokio::test]
async fn a_transfer_schedule_letter_and_a_merged_batch() {
    let (store, _) = common::approved("doc-schedule", &[AMINE_BENALI, PAUL_DURAND]).await;
    let numbers: Vec<String> = invoices::list(&store, None).await.unwrap().into_iter().map(|i| i.number).collect();
    let ts = Typesetter::new();
    let letter = text_of(&invoices::render_schedule(&store, &ts, &numbers[0]).await.unwrap()).replace('\u{202f}', " ");
    for expected in [
        "Échéancier de paiement",
        "618,00 €",
        "1 630,50 €",
        "10/10/2025",
        "10/11/2025",
        "FR76 1007 1630 0000 0010 0383 489",
        "TRPUFRP1",
        "BENALI Amine+ISIMA+F.I",
        "Titulaire du compte",
        "Clermont Auvergne INP",
        "Domiciliation",
        "TPCLERMONT F",
        // "Tous les versements doivent être faits avant le 15 décembre de l'année."
        "avant le 15/12/2025",
    ] {
        assert!(letter.contains(expected), "missing {expected:?} in {letter}");
    }
    let three = text_of(&invoices::render_schedule(&store, &ts, &numbers[1]).await.unwrap());
    assert!(!three.contains("IBAN :"), "no bank details for a card/debit plan: {three}");
    let merged = text_of(&invoices::render_merged(&store, &ts, &numbers).await.unwrap());
    assert!(merged.contains("Facture n° F2025-00001") && merged.contains("Facture n° F2025-00002"), "{merged}");
}
