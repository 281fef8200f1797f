//! The card channel on real files: the gateway's export (CSV in Windows-1252, xlsx, ods) imported
//! all-or-nothing and idempotently, each transaction tied to its installment: captured ones paid,
//! refused ones marked with the bank's reason, refunds paid, charge-backs shown as "Impayé".

mod common;

use chrono::NaiveDate;
use common::{CHLOE_MOREAU, PAUL_DURAND, approved, regie, write_1252, write_ods, write_xlsx_rows};
use regie::Money;
use regie::card::{self, Columns, Outcome};
use regie::ledger::InstallmentStatus;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn m(cents: i64) -> Money {
    Money::from_cents(cents)
}

const HEADER: &str = "Date;Heure;Numéro de transaction;Numéro d'appel;Référence commande;Montant;Devise;Type;Statut;Code réponse;Type de carte;Numéro de remise;Date de remise;E-mail";

async fn invoice_of(store: &regie::Store, student: &str) -> String {
    regie::invoices::list(store, None).await.unwrap().into_iter().find(|i| i.student_number == student).unwrap().number
}

/// Paul (618 € in three: 206 on 05/09, 10/10, 10/11) and Chloé (3 879 € in six: 618, then
/// 5 x 652,20), approved on 05/09/2025; the gateway's September-October export.
async fn setup(tag: &str) -> (regie::Store, std::path::PathBuf, String, String) {
    let (store, dir) = approved(tag, &[PAUL_DURAND, CHLOE_MOREAU]).await;
    let paul = invoice_of(&store, "25000002").await;
    let chloe = invoice_of(&store, "25000004").await;
    (store, dir, paul, chloe)
}

fn export(paul: &str, chloe: &str) -> String {
    [
        HEADER.to_string(),
        // First installments paid on the portal.
        format!("05/09/2025;14:02:11;6100001;30001;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"),
        format!("05/09/2025;15:40:02;6100002;30002;{chloe}-1;618,00;EUR;Débit;Remisé;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"),
        // The debits of the 10th: Paul's card is refused (insufficient funds), Chloé's passes.
        format!("10/10/2025;06:00:01;6100005;30005;{paul}-2;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr"),
        format!("10/10/2025;06:00:02;6100006;30006;{chloe}-2;652,20;EUR;Débit;Télécollecté;00000;VISA;81234;11/10/2025;chloe@etu.uca.fr"),
        // Someone the office does not know, and an attempt cancelled at once.
        "12/10/2025;11:11:11;6100007;30007;PORTAIL-778;150,00;EUR;Débit;Télécollecté;00000;MASTERCARD;81240;13/10/2025;inconnu@example.org".to_string(),
        format!("12/10/2025;11:20:00;6100008;30008;{paul}-2;206,00;EUR;Débit;Annulé;00000;CB;;;paul@etu.uca.fr"),
        // Paul pays the rest again on the portal; the debit of 10/11 goes through anyway, and the
        // office refunds it to his card.
        format!("15/10/2025;18:30:00;6100010;30010;{paul}-2;412,00;EUR;Débit;Télécollecté;00000;CB;81250;16/10/2025;paul@etu.uca.fr"),
        format!("10/11/2025;06:00:03;6100011;30011;{paul}-3;206,00;EUR;Débit;Télécollecté;00000;CB;81300;11/11/2025;paul@etu.uca.fr"),
        format!("12/11/2025;10:00:00;6100012;30012;{paul}-3;206,00;EUR;Remboursement;Télécollecté;00000;CB;;;paul@etu.uca.fr"),
        // Chloé's bank takes the 10/10 debit back (opposition): "Impayé"; her card has expired by
        // the debit of 10/11.
        format!("24/10/2025;08:00:00;6100009;30009;{chloe}-2;652,20;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"),
        format!("10/11/2025;06:00:04;6100013;30013;{chloe}-3;652,20;EUR;Débit;Refusé;00154;VISA;;;chloe@etu.uca.fr"),
    ]
    .join("\r\n")
        + "\r\n"
}

/// Each transaction an import writes carries its reference's number (`ref_key`, what a
/// charge-back's lookup goes by, written beside it in `card_reference_keys`), and the upgrade's SQL that numbered the transactions recorded
/// before it gives the same numbers, for an accented or emoji reference too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_numbers_references_as_an_import_does() {
    use regie_rules::card::export::reference_key;
    let (store, dir, paul, chloe) = setup("card-ref-keys").await;
    let file = dir.join("paybox.csv");
    let odd = "13/10/2025;09:00:00;6100020;30020;Commande Éloïse 🎓 n°1;10,00;EUR;Débit;Télécollecté;00000;CB;81240;13/10/2025;inconnu@example.org";
    std::fs::write(&file, export(&paul, &chloe) + odd + "\r\n").unwrap();
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    const KEYED: &str = "SELECT order_ref, ref_key FROM card_transactions ORDER BY id";
    let keyed: Vec<(String, i64)> = common::rows(&store, KEYED).await;
    assert_eq!(keyed.len(), 12);
    assert!(keyed.iter().any(|(r, _)| r == "Commande Éloïse 🎓 n°1"), "{keyed:?}");
    for (reference, key) in &keyed {
        assert_eq!(*key, reference_key(reference), "{reference}");
    }
    // The lookups read each number beside its transaction, one row each.
    let beside: Vec<(String, i64)> = common::rows(
        &store,
        "SELECT c.order_ref, r.ref_key FROM card_reference_keys r JOIN card_transactions c ON c.id = r.transaction_id ORDER BY c.id",
    )
    .await;
    assert_eq!(beside, keyed);

    common::exec(&store, "UPDATE card_transactions SET ref_key = 0").await.unwrap();
    let fill = match store.pool() {
        regie::store::Pool::Sqlite(_) => include_str!("../migrations/sqlite/0035_reference_keys_filled.sql"),
        regie::store::Pool::Postgres(_) => include_str!("../migrations/postgres/0035_reference_keys_filled.sql"),
    };
    assert_eq!(common::exec(&store, fill).await.unwrap(), 12);
    assert_eq!(common::rows::<(String, i64)>(&store, KEYED).await, keyed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_export_pays_refuses_refunds_and_charges_back_installments() {
    let (store, dir, paul, chloe) = setup("card-csv").await;
    let file = dir.join("paybox.csv");
    write_1252(&file, &export(&paul, &chloe));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.rows, s.new, s.already_known), (11, 11, 0), "{s:?}");
    assert_eq!((s.paid, s.refused, s.refunded, s.charged_back, s.cancelled, s.unknown), (5, 2, 1, 1, 1, 1), "{s:?}");

    // Importing the same export again, or an overlapping one, adds nothing.
    let again = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known), (0, 11));

    // Paul: refused on 10/10, paid again on the portal, over-paid by the debit of 10/11 and
    // refunded: settled, to the cent.
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.payments.len(), 3, "{:?}", pos.payments);
    assert!(pos.payments.iter().all(|p| p.method == regie::ledger::PaymentMethod::Card));
    assert!(pos.schedule.iter().all(|l| l.status == InstallmentStatus::Paid), "{:?}", pos.schedule);
    assert_eq!(pos.refunds.len(), 1);
    assert_eq!((pos.refunds[0].amount, pos.refunds[0].status), (m(20600), regie::ledger::RefundStatus::Paid));
    assert_eq!(pos.summary.balance, Money::ZERO);

    // Chloé: 618 paid; 652,20 debited then taken back (Impayé), due again; 10/11 refused.
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(pos.payments.len(), 2, "{:?}", pos.payments);
    assert_eq!(pos.payments[1].unpaid, m(65220), "the 10/10 debit came back: Impayé");
    assert_eq!(pos.schedule[1].left_to_pay, m(65220), "what came back is due again");
    assert_eq!(pos.schedule[2].status, InstallmentStatus::Refused);
    assert_eq!(pos.schedule[2].refusal.as_deref(), Some("carte expirée"));
    assert_eq!(pos.summary.balance, m(387900 - 61800));
    // Relances say why: the debit came back, the next one was refused.
    let due = regie::dunning::list(&store, d(2025, 11, 12)).await.unwrap();
    let why: Vec<(i64, &str)> =
        due.iter().filter(|e| e.student_number == "25000004").map(|e| (e.installment, e.reason.as_str())).collect();
    assert_eq!(why, [(2, "paiement revenu impayé"), (3, "prélèvement refusé : carte expirée")]);
    // The charge-back names the installment its debit paid (the 2nd, its reference's), not the
    // installment open when it came (the 3rd).
    let mut c = store.read().await.unwrap();
    let debit = regie::store::card::transaction(&mut c, "6100006").await.unwrap().unwrap();
    let back = regie::store::card::transaction(&mut c, "6100009").await.unwrap().unwrap();
    drop(c);
    assert_eq!((debit.invoice_number.as_deref(), debit.installment_n), (Some(chloe.as_str()), Some(2)));
    assert_eq!(
        (back.invoice_number, back.installment_n, back.outcome),
        (debit.invoice_number, Some(2), Outcome::ChargedBack)
    );
    assert!(!back.reasons.contains("échéance 3"), "{}", back.reasons);

    // The unknown one waits; the accountant ties it to Chloé: it pays her oldest open installment.
    let unknown = card::transactions(&store, Some(Outcome::Unknown), 100).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].row.number, "6100007");
    assert!(card::assign(&store, "6100007", "nobody", "claire").await.is_err());
    let assigned = card::assign(&store, "6100007", "25000004", "claire").await.unwrap();
    assert_eq!(assigned.row.outcome, Outcome::Paid);
    assert!(card::assign(&store, "6100007", "25000004", "claire").await.is_err(), "once");
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(pos.summary.balance, m(387900 - 61800 - 15000));
    assert_eq!(pos.schedule[1].left_to_pay, m(65220 - 15000));

    // Every step is audited.
    let mut c = store.read().await.unwrap();
    let log = regie::store::audit::list(&mut c, None).await.unwrap();
    for action in ["card.import", "card.assign", "payment.reverse", "refund.paid"] {
        assert!(log.iter().any(|e| e.action == action), "{action} not audited");
    }
    drop(c);
    let refused = card::transactions(&store, Some(Outcome::Refused), 10).await.unwrap();
    let words: Vec<&str> = refused.iter().filter_map(|t| t.refusal.as_deref()).collect();
    assert_eq!(words, ["carte expirée", "provision insuffisante"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_and_ods_exports_with_real_numbers_and_dates_read_the_same() {
    let (store, dir, paul, chloe) = setup("card-formats").await;
    let p1 = format!("{paul}-1");
    let c1 = format!("{chloe}-1");
    let header: Vec<&str> = HEADER.split(';').collect();
    let rows = vec![
        header.clone(),
        vec![
            "@2025-09-05",
            "~14:02:11",
            "=7100001",
            "",
            p1.as_str(),
            "=206",
            "EUR",
            "Débit",
            "Télécollecté",
            "00000",
            "CB",
            "=81200",
            "@2025-09-06",
            "paul@etu.uca.fr",
        ],
    ];
    let xlsx = dir.join("paybox.xlsx");
    write_xlsx_rows(&xlsx, &rows);
    let s = card::import_file(&store, &xlsx, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.paid), (1, 1), "{s:?}");
    let ods = dir.join("paybox.ods");
    let rows = vec![
        vec!["Transactions du 01/09/2025 au 30/09/2025"],
        header,
        vec![
            "@2025-09-05",
            "~15:40:02",
            "=7100002",
            "",
            c1.as_str(),
            "=618",
            "EUR",
            "Débit",
            "Remisé",
            "00000",
            "VISA",
            "=81200",
            "@2025-09-06",
            "chloe@etu.uca.fr",
        ],
    ];
    write_ods(&ods, &rows);
    let s = card::import_file(&store, &ods, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.paid), (1, 1), "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(pos.schedule[0].status, InstallmentStatus::Paid);
    // Real spreadsheet times read as the sheet shows them, not as the date 30/12/1899.
    let mut times: Vec<_> =
        card::transactions(&store, None, 10).await.unwrap().into_iter().map(|t| (t.row.number, t.row.time)).collect();
    times.sort();
    assert_eq!(
        times,
        [("7100001".to_string(), Some("14:02:11".to_string())), ("7100002".to_string(), Some("15:40:02".to_string()))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_names_its_cell_and_nothing_is_kept() {
    let (store, dir, paul, _) = setup("card-bad").await;
    let file = dir.join("paybox.csv");
    write_1252(
        &file,
        &format!(
            "{HEADER}\r\n05/09/2025;;8100001;;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n05/09/2025;;8100002;;{paul}-2;20x,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n"
        ),
    );
    let e = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("paybox.csv") && text.contains("ligne 3") && text.contains("Montant"), "{text}");
    assert!(card::transactions(&store, None, 10).await.unwrap().is_empty(), "all or nothing");
    assert!(regie::ledger::account_position(&store, "25000002").await.unwrap().payments.is_empty());

    // A transaction number already recorded comes back under another day: the export contradicts
    // what was imported, and its row is named; nothing of that export is kept.
    write_1252(
        &file,
        &format!("{HEADER}\r\n05/09/2025;;8100001;;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n"),
    );
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    write_1252(
        &file,
        &format!(
            "{HEADER}\r\n10/10/2025;;8100003;;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n12/10/2025;;8100001;;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n"
        ),
    );
    let e = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap_err();
    assert_eq!(e.code(), "bad_file", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("ligne 3") && text.contains("Numéro de transaction") && text.contains("05/09/2025"),
        "{text}"
    );
    assert_eq!(card::transactions(&store, None, 10).await.unwrap().len(), 1, "all or nothing");
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().payments.len(), 1);

    // The same number on the same day, said refused and for another amount: refused likewise.
    write_1252(
        &file,
        &format!(
            "{HEADER}\r\n05/09/2025;;8100004;;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n05/09/2025;;8100001;;{paul}-1;999,00;EUR;Débit;Refusé;00151;CB;;;\r\n"
        ),
    );
    let e = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("ligne 3") && text.contains("8100001") && text.contains("refusé"), "{text}");
    assert_eq!(card::transactions(&store, None, 10).await.unwrap().len(), 1, "all or nothing");
    // Said again as it was, it is only known.
    write_1252(
        &file,
        &format!("{HEADER}\r\n05/09/2025;;8100001;;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;;;\r\n"),
    );
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known), (0, 1), "{s:?}");
}

#[test]
fn another_layout_through_a_saved_mapping_from_the_cli() {
    let dir = common::temp_dir("card-map");
    let db = common::db_at(&dir, "r");
    let regs = dir.join("inscriptions.csv");
    common::write_csv_1252(&regs, &[PAUL_DURAND]);
    regie(&db, &["import-registrations", regs.to_str().unwrap(), "--json"]).json();
    let id = regie(&db, &["requests", "list", "--json"]).json()[0]["id"].to_string();
    let invoice =
        regie(&db, &["requests", "approve", &id, "--json"]).json()[0]["invoice"].as_str().unwrap().to_string();
    // A gateway version with English headers in another order.
    let file = dir.join("export.csv");
    write_1252(
        &file,
        &format!(
            "Trans. ID;Order;Amount;Status;Day\r\nT-1;{invoice};206,00;Remisé;05/09/2025\r\nT-2;{invoice};206,00;Refusé;10/10/2025\r\n"
        ),
    );
    let refused = regie(&db, &["card", "import", file.to_str().unwrap(), "--json"]);
    assert!(!refused.ok && refused.stderr.contains("--map"), "{}", refused.stderr);
    let map = "header=1,number=A,reference=B,amount=C,status=D,date=E";
    let s =
        regie(&db, &["card", "import", file.to_str().unwrap(), "--map", map, "--save-profile", "paybox-v2", "--json"])
            .json();
    assert_eq!((s["paid"].as_u64(), s["refused"].as_u64()), (Some(1), Some(1)), "{s}");
    let again = regie(&db, &["card", "import", file.to_str().unwrap(), "--profile", "paybox-v2", "--json"]).json();
    assert_eq!(again["already_known"], 2);
    let list = regie(&db, &["card", "transactions", "--status", "refused", "--json"]).json();
    assert_eq!(list[0]["number"], "T-2");
    let captured = regie(&db, &["card", "transactions", "--status", "captured", "--json"]).json();
    assert_eq!(captured[0]["number"], "T-1");
    // The bank's "IMPAYE CB" line: the accountant declares the captured one unpaid.
    let back =
        regie(&db, &["card", "chargeback", "T-1", "--reason", "IMPAYE CB 12/10", "--date", "12/10/2025", "--json"])
            .json();
    assert_eq!(back["outcome"], "charged_back");
    let student = PAUL_DURAND[0];
    let pos = regie(&db, &["account", student, "--json"]).json();
    assert_eq!(pos["payments"][0]["unpaid"], "206.00");
    assert_eq!(pos["summary"]["balance"], "618.00");
    let text = regie(&db, &["account", student]).stdout;
    assert!(text.contains("Impayé") && text.contains("206,00"), "{text}");
}

/// "REMISE CB 81234 DU 11/10/25": a remittance line is the sum of its captured transactions, net of
/// the acquirer's commission or gross with a "COMMISSION CB" line; it is tied to its remittance
/// (by number, else by date and amount), never to a student, and never pays anyone twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remittance_lines_confirm_the_gateway_s_transactions_and_pay_no_student() {
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-remittances").await;
    let file = dir.join("paybox.csv");
    write_1252(&file, &export(&paul, &chloe));
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let before = regie::ledger::account_position(&store, "25000002").await.unwrap().summary.balance;
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
         08/09/2025;08/09/2025;;819,88;REMISE CB 81200 DU 06/09/25;\r\n\
         13/10/2025;13/10/2025;;652,20;REMISE CB 81234 DU 11/10/25;\r\n\
         13/10/2025;13/10/2025;3,26;;COMMISSION CB 81234;\r\n\
         14/10/2025;14/10/2025;;140,00;REMISE CB 81240 DU 13/10/25;\r\n\
         17/10/2025;17/10/2025;;410,00;REMISE CARTE DU 16/10/25;\r\n\
         20/10/2025;20/10/2025;;99,00;REMISE CB 99999 DU 19/10/25;\r\n",
    );
    let s = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.remittances, s.auto_matched, s.to_review), (6, 5, 0, 0), "{s:?}");
    let lines = bank::lines(&store, None).await.unwrap();
    let of = |label: &str| lines.iter().find(|l| l.label.starts_with(label)).unwrap();
    assert_eq!(of("REMISE CB 81200").remittance.as_deref(), Some("81200"));
    assert_eq!(of("REMISE CB 81200").status, regie::bank::matching::LineStatus::Matched);
    assert!(of("REMISE CB 81200").student_number.is_none(), "a remittance pays no student");
    assert_eq!(of("REMISE CARTE").remittance.as_deref(), Some("81250"), "found by date and amount");
    assert_eq!(of("REMISE CB 99999").status, regie::bank::matching::LineStatus::Unmatched);
    // Nothing of a remittance, known or not, nor of a debit, is left to turn into payments.
    for label in ["REMISE CB 81200", "REMISE CB 99999", "COMMISSION CB"] {
        assert_eq!(of(label).unassigned, Money::ZERO, "{label}");
    }
    // The accountant cannot turn a remittance into a student's payment.
    let refused = bank::confirm(&store, of("REMISE CB 81200").id, "25000002", None, "claire").await;
    assert!(refused.unwrap_err().to_string().contains("remise carte"));
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().summary.balance, before);

    let r = card::remittances(&store).await.unwrap();
    let of = |n: &str| r.iter().find(|x| x.number == n).unwrap().clone();
    // 206 + 618 gross, credited net of 4,12 (0,5 %).
    assert_eq!((of("81200").gross, of("81200").count), (m(82400), 2));
    assert_eq!((of("81200").difference, of("81200").flagged), (Some(m(412)), false));
    // Credited gross; the commission is its own debit line.
    assert_eq!((of("81234").difference, of("81234").commission_line), (Some(Money::ZERO), Some(m(326))));
    // 150 captured, 140 credited: beyond 1 %, flagged.
    assert_eq!((of("81240").difference, of("81240").flagged), (Some(m(1000)), true));
    assert_eq!(of("81300").bank_line_id, None, "not on a statement yet");
    // The same statement again changes nothing.
    let again = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known), (0, 6));
}

/// A remittance nets the refunds the gateway sent back to cards with it: the bank credits its
/// debits less them (less the commission), and the line is not flagged. An office whose
/// remittances were summed before refunds counted has them summed again on upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remittance_nets_the_refunds_sent_with_it() {
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-remittance-refund").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:02:11;9300001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "05/09/2025;15:40:02;9300002;2;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"
        ),
        format!(
            "05/09/2025;16:00:00;9300003;3;{paul}-1;206,00;EUR;Remboursement;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.refunded), (2, 1), "{s:?}");
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n08/09/2025;08/09/2025;;614,91;REMISE CB 81200 DU 06/09/25;\r\n",
    );
    let b = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((b.remittances, b.auto_matched, b.to_review), (1, 0, 0), "{b:?}");
    let r = card::remittances(&store).await.unwrap();
    let [r] = r.as_slice() else { panic!("{r:?}") };
    assert_eq!((r.number.as_str(), r.gross, r.count), ("81200", m(61800), 3));
    assert_eq!((r.difference, r.flagged), (Some(m(309)), false), "{r:?}");
    let before = format!("{r:?}");

    // As an office upgraded before refunds counted left it: the debits alone.
    common::exec(&store, "UPDATE card_remittances SET gross_cents = 82400, count = 2").await.unwrap();
    common::exec(&store, "DELETE FROM _sqlx_migrations WHERE version = 32").await.unwrap();
    let db = common::db_of(&store);
    store.close().await;
    let store = regie::Store::open(&db).await.unwrap();
    assert_eq!(format!("{:?}", card::remittances(&store).await.unwrap()), format!("[{before}]"));
}

/// A remittance of refunds only (a day without debits): the bank debits it, "REMISE CB 81260"
/// on the debit side. Its line waits for the export, which ties it as it ties a credit; a
/// statement after the export ties it at once; the commission's and a fee's debit lines, which
/// name a remittance, are none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remittance_of_refunds_only_is_tied_to_its_debit_line() {
    use regie::bank::matching::LineStatus;
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-remittance-refunds-only").await;
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
         08/09/2025;08/09/2025;;819,06;REMISE CB 81200 DU 06/09/25;\r\n\
         22/09/2025;22/09/2025;206,00;;REMISE CB 81260 DU 20/09/25;\r\n\
         22/09/2025;22/09/2025;1,50;;FRAIS REMISE CB 81260;\r\n\
         30/09/2025;30/09/2025;4,94;;COMMISSION CB REMISE CB 81200;\r\n",
    );
    let s = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.remittances, s.auto_matched), (4, 2, 0), "{s:?}");
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:02:11;9400001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "05/09/2025;15:40:02;9400002;2;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"
        ),
        format!(
            "19/09/2025;10:00:00;9400003;3;{paul}-1;206,00;EUR;Remboursement;Télécollecté;00000;CB;81260;20/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "24/09/2025;10:00:00;9400004;4;{chloe}-1;618,00;EUR;Remboursement;Télécollecté;00000;VISA;81270;25/09/2025;chloe@etu.uca.fr"
        ),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let imported = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((imported.paid, imported.refunded, imported.remittance_lines), (2, 2, 2), "{imported:?}");

    let later = dir.join("releve-octobre.csv");
    write_1252(
        &later,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n26/09/2025;26/09/2025;618,00;;REMISE CB 81270 DU 25/09/25;\r\n",
    );
    let b = bank::import_file(&store, &later, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((b.new, b.remittances), (1, 1), "{b:?}");

    let lines = bank::lines(&store, None).await.unwrap();
    let of = |label: &str| lines.iter().find(|l| l.label.starts_with(label)).unwrap().clone();
    for (label, number) in [("REMISE CB 81200", "81200"), ("REMISE CB 81260", "81260"), ("REMISE CB 81270", "81270")] {
        assert_eq!((of(label).status, of(label).remittance.as_deref()), (LineStatus::Matched, Some(number)), "{label}");
        assert!(of(label).student_number.is_none(), "a remittance pays no student");
    }
    assert_eq!(of("COMMISSION CB").remittance, None, "the commission is no remittance");
    assert_eq!(of("FRAIS REMISE").remittance, None, "a fee naming a remittance is none");
    assert!(
        of("REMISE CB 81260").reasons.iter().any(|r| r.contains("remboursements seuls, débitée")),
        "{:?}",
        of("REMISE CB 81260").reasons
    );
    let r = card::remittances(&store).await.unwrap();
    let of_r = |n: &str| r.iter().find(|x| x.number == n).unwrap().clone();
    assert_eq!((of_r("81200").bank_line_id, of_r("81200").flagged), (Some(of("REMISE CB 81200").id), false));
    for (n, label, gross) in [("81260", "REMISE CB 81260", -20600), ("81270", "REMISE CB 81270", -61800)] {
        let x = of_r(n);
        assert_eq!((x.gross, x.count, x.bank_line_id), (m(gross), 1, Some(of(label).id)), "{x:?}");
        assert_eq!((x.difference, x.flagged), (Some(m(0)), false), "{x:?}");
    }
}

/// The statement often comes before the gateway's export: its remittance lines wait unmatched,
/// then the export's import ties them (by number, or by date and amount), moves them out of
/// Banque's unmatched count, says so, and audits it; a line of a remittance still unknown waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remittance_lines_imported_before_the_gateway_s_export_are_tied_by_it() {
    use regie::bank::matching::LineStatus;
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-remittances-later").await;
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
         08/09/2025;08/09/2025;;819,88;REMISE CB 81200 DU 06/09/25;\r\n\
         17/10/2025;17/10/2025;;410,00;REMISE CARTE DU 16/10/25;\r\n\
         20/10/2025;20/10/2025;;99,00;REMISE CB 99999 DU 19/10/25;\r\n",
    );
    let s = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.remittances), (3, 3), "{s:?}");
    let q =
        bank::LineQuery { status: None, line: None, page: regie::page::PageQuery { limit: 10, ..Default::default() } };
    let before = bank::line_page(&store, &q).await.unwrap();
    assert_eq!((before.matched, before.unmatched), (0, 3));

    let file = dir.join("paybox.csv");
    write_1252(&file, &export(&paul, &chloe));
    let imported = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(imported.remittance_lines, 2, "{imported:?}");
    let lines = bank::lines(&store, None).await.unwrap();
    let of = |label: &str| lines.iter().find(|l| l.label.starts_with(label)).unwrap().clone();
    assert_eq!(
        (of("REMISE CB 81200").status, of("REMISE CB 81200").remittance.as_deref()),
        (LineStatus::Matched, Some("81200"))
    );
    assert!(
        of("REMISE CB 81200").reasons.iter().any(|r| r.contains("commission 4,12")),
        "{:?}",
        of("REMISE CB 81200").reasons
    );
    assert_eq!(
        (of("REMISE CARTE").status, of("REMISE CARTE").remittance.as_deref()),
        (LineStatus::Matched, Some("81250"))
    );
    assert_eq!(of("REMISE CB 99999").status, LineStatus::Unmatched);
    assert!(of("REMISE CB 81200").student_number.is_none(), "a remittance pays no student");
    let after = bank::line_page(&store, &q).await.unwrap();
    assert_eq!((after.matched, after.unmatched, after.page.total), (2, 1, Some(3)));
    let r = card::remittances(&store).await.unwrap();
    assert_eq!(r.iter().find(|x| x.number == "81200").unwrap().bank_line_id, Some(of("REMISE CB 81200").id));
    let audited: Vec<(String,)> =
        common::rows(&store, "SELECT details FROM audit_log WHERE action = 'card.import' ORDER BY id").await;
    assert!(audited[0].0.contains("\"remittance_lines\":[{\"line\":"), "{}", audited[0].0);
    // The same export again ties nothing more.
    let again = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.remittance_lines), (0, 0));
}

/// The bank's CAMT.054 notification of a card remittance details the card payments in it: the
/// remittance is still one line, tied to its remittance as the statement's would be, and the
/// statement of the same days, imported after it, adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camt_054_card_remittance_is_its_remittance_s_one_line() {
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-camt054").await;
    let file = dir.join("paybox.csv");
    write_1252(&file, &export(&paul, &chloe));
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let tx = |amount: &str, number: &str| {
        format!(
            "<TxDtls><Refs><EndToEndId>{number}</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"EUR\">{amount}</Amt></TxAmt></AmtDtls></TxDtls>"
        )
    };
    let notification = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">\
         <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N1</MsgId></GrpHdr><Ntfctn><Id>N1</Id>\
         <Ntry><Amt Ccy=\"EUR\">819.88</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>2025-09-08</Dt></BookgDt><AddtlNtryInf>REMISE CB 81200 DU 06/09/25</AddtlNtryInf>\
         <NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>{}{}</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>",
        tx("206.00", "6100001"),
        tx("618.00", "6100002")
    );
    let avis = dir.join("avis-remise.txt");
    std::fs::write(&avis, notification).unwrap();
    let s = bank::import_file(&store, &avis, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.remittances, s.auto_matched), (1, 1, 0), "{s:?}");
    let lines = bank::lines(&store, None).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].remittance.as_deref(), lines[0].amount), (Some("81200"), m(81988)));
    assert!(lines[0].student_number.is_none(), "a remittance pays no student");
    let r = card::remittances(&store).await.unwrap();
    let tied = r.iter().find(|x| x.number == "81200").unwrap();
    assert_eq!((tied.bank_line_id, tied.difference, tied.flagged), (Some(lines[0].id), Some(m(412)), false));

    // The spreadsheet statement of the same day: the movement is known by its day and amount.
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n08/09/2025;08/09/2025;;819,88;REMISE CB 81200 DU 06/09/25;\r\n",
    );
    let again = bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known), (0, 1), "{again:?}");
}

/// A card refund larger than the account's credit gives back the card payment it refunds: that
/// payment settles nothing any more and its installment is due again, and the position lists the
/// payment and its refund, paid. One the gateway could not tie to anyone waits, and the
/// accountant places it on a student's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_beyond_the_credit_undoes_the_card_payment_it_gives_back() {
    let (store, dir, paul, chloe) = setup("card-refund").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!("05/09/2025;14:02:11;7100001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"),
        format!("05/09/2025;15:40:02;7100002;2;{chloe}-1;618,00;EUR;Débit;Remisé;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"),
        // Paul's first installment is refunded in full (nothing on his account to cover it).
        format!("08/09/2025;09:00:00;7100003;3;{paul}-1;206,00;EUR;Remboursement;Télécollecté;00000;CB;;;paul@etu.uca.fr"),
        // A refund of 618 that names nobody Régie knows.
        "09/09/2025;09:00:00;7100004;4;PORTAIL-99;618,00;EUR;Remboursement;Télécollecté;00000;VISA;;;famille@example.org"
            .to_string(),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.refunded, s.unknown), (2, 1, 1), "{s:?}");

    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[0].left_to_pay, m(20600), "the refunded installment is due again");
    assert_eq!(pos.summary.balance, m(61800));
    // The payment was received and given back: both are on the account, as on the card's.
    let paid: Vec<_> = pos.payments.iter().map(|p| (p.reference.as_str(), p.amount, p.allocated, p.unpaid)).collect();
    assert_eq!(paid, [(format!("{paul}-1").as_str(), m(20600), m(0), m(0))], "{paid:?}");
    let refunds: Vec<_> = pos.refunds.iter().map(|r| (r.date, r.amount, r.status)).collect();
    assert_eq!(refunds, [(d(2025, 9, 8), m(20600), regie::ledger::RefundStatus::Paid)]);
    assert_eq!((pos.totals.payments_amount, pos.totals.refunds), (m(20600), m(20600)));
    let refunded = card::transactions(&store, Some(Outcome::Refunded), 10).await.unwrap();
    let numbers: Vec<&str> = refunded.iter().map(|t| t.row.number.as_str()).collect();
    assert_eq!(numbers, ["7100003", "7100001"], "the refund and the debit it gave back");

    // Paul paid nothing else by card: 618 cannot be his. It is Chloé's first installment.
    let err = card::assign(&store, "7100004", "25000002", "claire").await.unwrap_err();
    assert!(err.to_string().contains("ni crédit ni paiement carte"), "{err}");
    let done = card::assign(&store, "7100004", "25000004", "claire").await.unwrap();
    assert_eq!(done.row.outcome, Outcome::Refunded);
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(pos.schedule[0].left_to_pay, m(61800));
    assert_eq!(pos.summary.balance, m(387900));
    assert!(card::transactions(&store, Some(Outcome::Unknown), 10).await.unwrap().is_empty());
}

/// A payment given back by a card refund stays out of the account's credit: a newer payment,
/// spare when the refund came, settles the installment due again, and is undone later without
/// the payment given back taking its place; nor can that payment be given back twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_given_back_never_settles_anything_again() {
    let (store, dir, paul, _) = setup("card-given-back").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:02:11;9500001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/10/2025;06:00:01;9500002;2;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;81300;11/10/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/11/2025;06:00:01;9500003;3;{paul}-3;206,00;EUR;Débit;Télécollecté;00000;CB;81400;11/11/2025;paul@etu.uca.fr"
        ),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    // A stray 100 € on an account already settled: spare credit, newer than the debits.
    let stray =
        common::pay(&store, "25000002", d(2025, 11, 15), m(10000), regie::ledger::PaymentMethod::Transfer).await;
    // The October debit refunded to the card: 100 € of credit cannot cover it, it is given back.
    let refund = dir.join("paybox-refund.csv");
    let row = format!(
        "20/11/2025;10:00:00;9500004;4;{paul}-2;206,00;EUR;Remboursement;Télécollecté;00000;CB;;;paul@etu.uca.fr"
    );
    write_1252(&refund, &format!("{HEADER}\r\n{row}\r\n"));
    let s = card::import_file(&store, &refund, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.refunded, 1, "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    let allocated: Vec<_> = pos.payments.iter().map(|p| (p.amount, p.allocated)).collect();
    assert_eq!(allocated, [(m(20600), m(20600)), (m(20600), m(0)), (m(20600), m(20600)), (m(10000), m(10000))]);
    assert_eq!((pos.schedule[1].left_to_pay, pos.summary.balance), (m(10600), m(10600)));
    // The stray payment undone: the installment is due in full again, and the payment given back
    // still settles nothing.
    let mut tx = store.begin().await.unwrap();
    regie::ledger::reverse_payment(
        &mut tx,
        stray,
        regie::ledger::PaymentReversal::Correction,
        d(2025, 11, 25),
        "erreur",
        "claire",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.payments[1].allocated, m(0));
    assert_eq!((pos.schedule[1].left_to_pay, pos.summary.balance), (m(20600), m(20600)));
    // Given back once: a charge-back of it, or a second refund, has nothing to undo.
    let mut tx = store.begin().await.unwrap();
    let given = pos_payment_id(&mut tx, "9500002").await;
    let again = regie::ledger::give_back_payment(&mut tx, given, m(20600), d(2025, 11, 26), "encore", "claire").await;
    assert!(again.unwrap_err().to_string().contains("rien à rembourser"));
    let back = regie::ledger::reverse_payment(
        &mut tx,
        given,
        regie::ledger::PaymentReversal::Unpaid,
        d(2025, 11, 26),
        "impayé",
        "claire",
    )
    .await;
    assert!(back.is_err());
    drop(tx);
    // The installment paid by a transfer of 1 November: the invoice is settled on the day its
    // last installment was (10 November), not on a day a payment since undone or given back was
    // put on one and taken off again (the stray of 15 November, reversed on the 25th).
    common::pay(&store, "25000002", d(2025, 11, 1), m(20600), regie::ledger::PaymentMethod::Transfer).await;
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!((pos.schedule[1].left_to_pay, pos.summary.balance), (m(0), m(0)));
    assert_eq!(pos.invoices[0].settled_on, Some(d(2025, 11, 10)));
}

async fn pos_payment_id(c: &mut regie::store::Conn, number: &str) -> i64 {
    regie::store::card::transaction(c, number).await.unwrap().unwrap().payment_id.unwrap()
}

/// A debit refused, then paid on a later try, then refunded to the card (Paul) or charged back
/// (Chloé): the installment is due again because its payment came back, and the old refusal no
/// longer says why, in the position or in Relances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_paid_since_no_longer_says_why_an_installment_is_due() {
    let (store, dir, paul, chloe) = setup("card-cured").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:02:11;9200001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "05/09/2025;15:40:02;9200002;2;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"
        ),
        format!("10/10/2025;06:00:01;9200003;3;{paul}-2;206,00;EUR;Débit;Refusé;00154;CB;;;paul@etu.uca.fr"),
        format!("10/10/2025;06:00:02;9200004;4;{chloe}-2;652,20;EUR;Débit;Refusé;00151;VISA;;;chloe@etu.uca.fr"),
        format!(
            "17/10/2025;10:00:00;9200005;5;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;81300;18/10/2025;paul@etu.uca.fr"
        ),
        format!(
            "17/10/2025;10:00:01;9200006;6;{chloe}-2;652,20;EUR;Débit;Télécollecté;00000;VISA;81300;18/10/2025;chloe@etu.uca.fr"
        ),
        format!(
            "24/10/2025;10:00:00;9200007;7;{paul}-2;206,00;EUR;Remboursement;Télécollecté;00000;CB;;;paul@etu.uca.fr"
        ),
        format!("24/10/2025;10:00:01;9200008;8;{chloe}-2;652,20;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.refused, s.refunded, s.charged_back), (4, 2, 1, 1), "{s:?}");
    for (student, amount) in [("25000002", m(20600)), ("25000004", m(65220))] {
        let pos = regie::ledger::account_position(&store, student).await.unwrap();
        let line = &pos.schedule[1];
        assert_eq!(line.left_to_pay, amount, "{student}: due again");
        assert_eq!(line.refusal, None, "{student}: {line:?}");
        assert_ne!(line.status, InstallmentStatus::Refused, "{student}: {line:?}");
    }
    let due = regie::dunning::list(&store, d(2025, 11, 1)).await.unwrap();
    let reasons: Vec<_> = due.iter().map(|e| (e.student_number.as_str(), e.installment, e.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [("25000002", 2, "échéance impayée"), ("25000004", 2, "paiement revenu impayé")],
        "{reasons:?}"
    );
    // A refusal after the payment that came back is the reason again.
    let later = dir.join("paybox-later.csv");
    let row = format!("10/11/2025;06:00:01;9200009;9;{paul}-2;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr");
    write_1252(&later, &format!("{HEADER}\r\n{row}\r\n"));
    card::import_file(&store, &later, Columns::Detect, "claire").await.unwrap();
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].refusal.as_deref(), Some("provision insuffisante"));
}

/// The same charge-back told twice (the back office's new row for a debit already back): nothing
/// more comes back, and the row does not wait to be attributed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_back_told_twice_undoes_nothing_twice() {
    let (store, dir, paul, chloe) = setup("card-back-twice").await;
    let file = dir.join("paybox.csv");
    write_1252(&file, &export(&paul, &chloe));
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let before = regie::ledger::account_position(&store, "25000004").await.unwrap();
    let again = dir.join("paybox-again.csv");
    let row = format!(
        "27/10/2025;09:00:00;6100099;30099;{chloe}-2;652,20;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"
    );
    write_1252(&again, &format!("{HEADER}\r\n{row}\r\n"));
    let s = card::import_file(&store, &again, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.charged_back, s.unknown), (1, 1, 0), "{s:?}");
    let after = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(format!("{:?}", after.summary), format!("{:?}", before.summary));
    assert_eq!(after.payments.len(), before.payments.len());
    let mut c = store.read().await.unwrap();
    let twice = regie::store::card::transaction(&mut c, "6100099").await.unwrap().unwrap();
    assert!(twice.reasons.contains("déjà enregistré (transaction 6100009)"), "{}", twice.reasons);
    assert_eq!(twice.outcome, Outcome::ChargedBack);
}

/// The schedule says what the gateway will still debit by itself: the installments to come of a
/// 3- or 6-installment plan, not the first (paid on the portal), nor one past its day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_says_what_the_gateway_will_still_debit() {
    let (store, dir, paul, _) = setup("card-debited").await;
    let file = dir.join("paybox.csv");
    let row = format!(
        "05/09/2025;14:02:11;9400001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
    );
    write_1252(&file, &format!("{HEADER}\r\n{row}\r\n"));
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    let on = |student: &'static str, day: NaiveDate| {
        let store = store.clone();
        async move { regie::ledger::account_position_on(&store, student, day).await.unwrap() }
    };
    let paul = on("25000002", d(2025, 10, 1)).await;
    let automatic: Vec<bool> = paul.schedule.iter().map(|l| l.automatic).collect();
    assert_eq!(automatic, [false, true, true]);
    assert_eq!((paul.debited_total, paul.schedule_left_total), (m(41200), m(41200)));
    // Chloé's first installment, to pay on the portal, is not; her five others are.
    let chloe = on("25000004", d(2025, 10, 1)).await;
    assert_eq!((chloe.debited_total, chloe.schedule_left_total), (m(326100), m(387900)));
    // Past the 10th, the debit of October is overdue: the gateway will not take it by itself.
    let paul = on("25000002", d(2025, 10, 15)).await;
    assert_eq!((paul.debited_total, paul.schedule_left_total), (m(20600), m(41200)));
}

/// A debit refused, retried by the gateway and refused again in the same export: the installment
/// is refused once, with the latest answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debit_refused_twice_in_one_export_keeps_the_latest_reason() {
    let (store, dir, paul, _) = setup("card-twice").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER.to_string(),
        format!("10/10/2025;06:00:01;9100001;1;{paul}-2;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr"),
        format!("13/10/2025;06:00:01;9100002;2;{paul}-2;206,00;EUR;Débit;Refusé;00154;CB;;;paul@etu.uca.fr"),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.refused, 2, "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].status, InstallmentStatus::Refused);
    assert_eq!(pos.schedule[1].refusal.as_deref(), Some("carte expirée"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_many_statements_worth_of_rows_is_stored_whole_and_settles_to_the_cent() {
    // 17,000 captured debits of 0.15 € on Chloé's invoice: matched in three chunks while the
    // earlier ones are written, each in several multi-row statements, and what they settle added
    // once at the end. Each chunk's payments go to what the previous ones left open.
    let (store, dir, _, chloe) = setup("card-chunks").await;
    let mut rows = vec![HEADER.to_string()];
    for i in 0..17_000 {
        rows.push(format!(
            "{:02}/10/2025;08:{:02}:{:02};{};{};{chloe};0,15;EUR;Débit;Télécollecté;00000;CB;8{:03};20/10/2025;chloe@etu.uca.fr",
            1 + i % 28,
            i / 60 % 60,
            i % 60,
            7_000_000 + i,
            40_000 + i,
            i % 28
        ));
    }
    let file = dir.join("paybox-long.csv");
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.paid, s.unknown), (17_000, 17_000, 0), "{s:?}");
    let again = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known), (0, 17_000));

    // 2,550 € on the oldest installments: the first (618 €) and the next two (652.20 €) paid,
    // 627.60 € of the fourth.
    let pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(pos.payments.len(), 17_000);
    assert_eq!(pos.summary.balance, m(387900 - 255000));
    let statuses: Vec<_> = pos.schedule.iter().map(|i| i.status).collect();
    assert_eq!(statuses[..3], [InstallmentStatus::Paid; 3]);
    assert_ne!(statuses[3], InstallmentStatus::Paid);
    assert_eq!(pos.schedule[3].left_to_pay, m(65220 - 62760));
    let settled: Vec<(i64,)> =
        common::rows(&store, "SELECT settled_cents FROM installments WHERE settled_cents > 0 ORDER BY due_date, id")
            .await;
    assert_eq!(settled, [(61800,), (65220,), (65220,), (62760,)], "raised by exactly what was allocated");
    let (open,): (i64,) = common::one(&store, "SELECT open_installments FROM students WHERE number = '25000004'").await;
    assert_eq!(open, 3, "three of Chloé's six installments still open");
    let (count, distinct, payments): (i64, i64, i64) = common::one(
        &store,
        "SELECT COUNT(*), COUNT(DISTINCT number), COUNT(DISTINCT payment_id) FROM card_transactions",
    )
    .await;
    assert_eq!((count, distinct, payments), (17_000, 17_000, 17_000));
    let (details,): (String,) =
        common::one(&store, "SELECT details FROM audit_log WHERE action = 'card.import' ORDER BY id LIMIT 1").await;
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["paid"].as_array().map(Vec::len), Some(17_000), "every payment in the audit record");
}

/// An office's database from before each remittance's totals were kept: the upgrade adds up the
/// captured debits already imported, and Cartes shows the same remittances as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remittances_imported_before_their_totals_were_kept_are_added_up_on_upgrade() {
    let dir = common::temp_dir("card-remittances-upgrade");
    let db = common::db_at(&dir, "office");
    assert!(regie(&db, &["demo", "--students", "120", "--today", "23/11/2026", "--json"]).ok);
    let store = regie::Store::open(&db).await.unwrap();
    let before = format!("{:?}", card::remittances(&store).await.unwrap());
    let summed: Vec<(String, i64, i64)> = common::rows(
        &store,
        "SELECT remittance, CAST(SUM(amount_cents) AS BIGINT), COUNT(*) FROM card_transactions
         WHERE remittance IS NOT NULL AND kind = 'debit' AND status = 'captured' GROUP BY remittance ORDER BY remittance",
    )
    .await;
    assert!(summed.len() > 3, "the demo's remittances: {summed:?}");
    common::exec(&store, "DROP TABLE card_remittances").await.unwrap();
    common::exec(&store, "DELETE FROM _sqlx_migrations WHERE version = 21").await.unwrap();
    store.close().await;

    let store = regie::Store::open(&db).await.unwrap();
    let kept: Vec<(String, i64, i64)> =
        common::rows(&store, "SELECT number, gross_cents, count FROM card_remittances ORDER BY number").await;
    assert_eq!(kept, summed);
    assert_eq!(format!("{:?}", card::remittances(&store).await.unwrap()), before);
    store.close().await;
}

/// Charge-backs recorded before they named the installment their debit paid (they named the one
/// open when they came) are given it on upgrade; refunds out of the credit name none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charge_backs_recorded_with_the_next_installment_are_given_their_debit_s_on_upgrade() {
    let dir = common::temp_dir("card-undone-upgrade");
    let db = common::db_at(&dir, "office");
    assert!(regie(&db, &["demo", "--students", "200", "--today", "05/12/2026", "--json"]).ok);
    let store = regie::Store::open(&db).await.unwrap();
    const PAIRS: &str = "SELECT c.number, c.installment_id, d.installment_id FROM card_transactions c
         JOIN card_transactions d ON d.payment_id = c.payment_id AND d.kind = 'debit'
         WHERE c.kind = 'chargeback' ORDER BY c.number";
    let right: Vec<(String, Option<i64>, Option<i64>)> = common::rows(&store, PAIRS).await;
    assert!(!right.is_empty() && right.iter().all(|(_, back, debit)| back == debit && back.is_some()), "{right:?}");
    // As an older release recorded them: the next installment of the same invoice.
    common::exec(
        &store,
        "UPDATE card_transactions SET installment_id = (SELECT n.id FROM installments t JOIN installments n
             ON n.invoice_id = t.invoice_id AND n.n = t.n + 1 WHERE t.id = card_transactions.installment_id)
         WHERE kind = 'chargeback'",
    )
    .await
    .unwrap();
    let wrong: Vec<(String, Option<i64>, Option<i64>)> = common::rows(&store, PAIRS).await;
    assert!(wrong.iter().all(|(_, back, debit)| back != debit), "{wrong:?}");
    common::exec(&store, "DELETE FROM _sqlx_migrations WHERE version = 24").await.unwrap();
    store.close().await;

    let store = regie::Store::open(&db).await.unwrap();
    assert_eq!(common::rows::<(String, Option<i64>, Option<i64>)>(&store, PAIRS).await, right);
    store.close().await;
}

/// The office declares a charge-back from the bank's "IMPAYE CB" line before the gateway's export
/// brings its own "Impayé" row: that row confirms it, moves no money a second time, and does not
/// wait to be attributed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_back_declared_from_the_bank_is_confirmed_by_the_gateway_s_row() {
    let (store, dir, paul, chloe) = setup("card-declared-charge-back").await;
    let first = dir.join("paybox-1.csv");
    write_1252(
        &first,
        &[
            HEADER.to_string(),
            format!("05/09/2025;15:40:02;6200001;30001;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"),
            format!("05/09/2025;14:02:11;6200002;30002;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"),
            String::new(),
        ]
        .join("\r\n"),
    );
    card::import_file(&store, &first, Columns::Detect, "claire").await.unwrap();
    card::charge_back(&store, "6200001", d(2025, 9, 20), "IMPAYE CB du relevé du 20/09", "claire").await.unwrap();
    let declared = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(declared.payments[0].unpaid, m(61800));

    let later = dir.join("paybox-2.csv");
    write_1252(
        &later,
        &[
            HEADER.to_string(),
            format!("22/09/2025;08:00:00;6200009;30009;{chloe}-1;618,00;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"),
            String::new(),
        ]
        .join("\r\n"),
    );
    let s = card::import_file(&store, &later, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.charged_back, s.unknown), (1, 0), "{s:?}");
    let mut c = store.read().await.unwrap();
    let row = regie::store::card::transaction(&mut c, "6200009").await.unwrap().unwrap();
    drop(c);
    assert_eq!((row.outcome, row.installment_n), (Outcome::ChargedBack, Some(1)));
    assert!(row.reasons.contains("déjà déclaré"), "{}", row.reasons);
    let after = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(format!("{:?}", after.payments), format!("{:?}", declared.payments), "nothing undone twice");
    assert_eq!(after.summary.balance, declared.summary.balance);
    // A second "Impayé" row for the same debit has nothing left to confirm or undo, and does not
    // wait to be attributed (it could not be: a charge-back is no one's to assign).
    let again = dir.join("paybox-3.csv");
    write_1252(
        &again,
        &[
            HEADER.to_string(),
            format!("23/09/2025;08:00:00;6200010;30010;{chloe}-1;618,00;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"),
            String::new(),
        ]
        .join("\r\n"),
    );
    let s = card::import_file(&store, &again, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.charged_back, s.unknown), (1, 0), "{s:?}");
    let mut c = store.read().await.unwrap();
    let row = regie::store::card::transaction(&mut c, "6200010").await.unwrap().unwrap();
    drop(c);
    assert!(row.reasons.contains("déjà enregistré (transaction 6200009)"), "{}", row.reasons);
    let after = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(after.summary.balance, declared.summary.balance);
}

/// An export taken during the day gives the morning's debits before the gateway sends them to
/// the bank, without their remittance; the next day's export names it. The remittance then counts
/// them, and its bank line, imported in between, is tied; another remittance for them is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remittance_named_by_a_later_export_counts_what_an_earlier_one_recorded() {
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, paul, chloe) = setup("card-remitted-later").await;
    let paul_row = |remittance: &str| {
        format!(
            "10/10/2025;06:00:01;9600001;1;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;{remittance};paul@etu.uca.fr"
        )
    };
    let noon = dir.join("paybox-midi.csv");
    write_1252(&noon, &format!("{HEADER}\r\n{}\r\n", paul_row(";")));
    let s = card::import_file(&store, &noon, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.paid), (1, 1), "{s:?}");
    let statement = dir.join("releve.csv");
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n13/10/2025;13/10/2025;;856,20;REMISE CB 81300 DU 11/10/25;\r\n",
    );
    bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    let next_day = dir.join("paybox-lendemain.csv");
    let chloe_row = format!(
        "10/10/2025;06:00:02;9600002;2;{chloe}-2;652,20;EUR;Débit;Télécollecté;00000;VISA;81300;11/10/2025;chloe@etu.uca.fr"
    );
    write_1252(&next_day, &format!("{HEADER}\r\n{}\r\n{chloe_row}\r\n", paul_row("81300;11/10/2025")));
    let s = card::import_file(&store, &next_day, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known, s.paid, s.remittance_lines, s.remitted), (1, 1, 1, 1, 1), "{s:?}");
    let r = card::remittances(&store).await.unwrap();
    let it = r.iter().find(|x| x.number == "81300").unwrap();
    // Credited net of 2 € of commission.
    assert_eq!((it.gross, it.count, it.difference, it.flagged), (m(85820), 2, Some(m(200)), false));
    assert!(it.bank_line_id.is_some());
    let mut c = store.read().await.unwrap();
    let t = regie::store::card::transaction(&mut c, "9600001").await.unwrap().unwrap();
    assert_eq!(t.remittance.as_deref(), Some("81300"));
    drop(c);
    // Paid once, whatever the exports say again.
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    let paid: Vec<_> = pos.payments.iter().map(|p| (p.amount, p.allocated)).collect();
    assert_eq!(paid, [(m(20600), m(20600))]);
    // The same export again adds nothing; one naming another remittance is refused, row named.
    let again = card::import_file(&store, &next_day, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.already_known, again.remittance_lines), (0, 2, 0));
    assert_eq!(card::remittances(&store).await.unwrap().iter().find(|x| x.number == "81300").unwrap().count, 2);
    let other = dir.join("paybox-autre.csv");
    write_1252(&other, &format!("{HEADER}\r\n{}\r\n", paul_row("81999;11/10/2025")));
    let e = card::import_file(&store, &other, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("ligne 2") && e.contains("remise 81300") && e.contains("remise 81999"), "{e}");

    // November: Chloé's debit comes with its remittance, and the bank line is tied to it while
    // Paul's is still without; once his is added, the line says why against the whole remittance.
    let row = |number: &str, invoice: &str, amount: &str, remittance: &str| {
        format!(
            "10/11/2025;06:00:01;{number};3;{invoice}-3;{amount};EUR;Débit;Télécollecté;00000;CB;{remittance};x@etu.uca.fr"
        )
    };
    let file = dir.join("paybox-novembre.csv");
    write_1252(
        &file,
        &format!(
            "{HEADER}\r\n{}\r\n{}\r\n",
            row("9600003", &paul, "206,00", ";"),
            row("9600004", &chloe, "652,20", "81400;12/11/2025")
        ),
    );
    card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    write_1252(
        &statement,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n14/11/2025;14/11/2025;;856,20;REMISE CB 81400 DU 12/11/25;\r\n",
    );
    bank::import_file(&store, &statement, BankColumns::Detect, "claire").await.unwrap();
    let reasons = || async {
        let lines = bank::lines(&store, None).await.unwrap();
        lines.into_iter().find(|l| l.label.starts_with("REMISE CB 81400")).unwrap().reasons.join(" ; ")
    };
    assert!(reasons().await.contains("652,20"), "{}", reasons().await);
    write_1252(&file, &format!("{HEADER}\r\n{}\r\n", row("9600003", &paul, "206,00", "81400;12/11/2025")));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.remitted, s.remittance_lines), (1, 0), "{s:?}");
    assert!(reasons().await.contains("858,20"), "{}", reasons().await);
}

/// The gateway retries the 2nd installment's debit after Paul paid it by transfer: refused, it
/// marks no other installment refused (the 3rd, of the same amount, is not due yet) and reminds
/// no one.
#[tokio::test]
async fn a_refused_retry_of_an_installment_paid_since_marks_no_other() {
    let (store, dir, paul, _) = setup("card-refused-paid").await;
    let pay = |day: u32, month: u32, method| {
        common::pay(&store, "25000002", chrono::NaiveDate::from_ymd_opt(2025, month, day).unwrap(), m(20600), method)
    };
    pay(5, 9, regie::ledger::PaymentMethod::Card).await;
    pay(20, 10, regie::ledger::PaymentMethod::Transfer).await;
    let file = dir.join("paybox-retry.csv");
    let row = format!("25/10/2025;06:00:00;9700001;1;{paul}-2;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr");
    write_1252(&file, &([HEADER.to_string(), row].join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.refused, 1, "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[2].refusal, None, "{:?}", pos.schedule[2]);
    assert_eq!(pos.schedule[2].left_to_pay, m(20600));
    let day = chrono::NaiveDate::from_ymd_opt(2025, 10, 25).unwrap();
    let list = regie::dunning::list(&store, day).await.unwrap();
    assert!(list.iter().all(|e| e.student_number != "25000002"), "Paul owes nothing yet on 25/10: {list:?}");
    let mut c = store.read().await.unwrap();
    let t = regie::store::card::transaction(&mut c, "9700001").await.unwrap().unwrap();
    assert_eq!(t.installment_n, None);
    assert!(t.reasons.contains("l'échéance 2 n'est plus ouverte"), "{}", t.reasons);
}

/// One month's export: the 2nd installment's debit passes, comes back ("Impayé"), and the
/// gateway's retry is refused. The retry was matched before the charge-back made the installment
/// due again; it still marks the 2nd installment refused, not the 3rd. An attempt refused before
/// the charge-back (while the installment was paid) marks nothing.
#[tokio::test]
async fn a_refused_retry_after_a_charge_back_of_the_same_export_marks_its_installment() {
    let (store, dir, paul, chloe) = setup("card-back-retry").await;
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:00:00;9960001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/10/2025;06:00:00;9960002;2;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;81234;11/10/2025;paul@etu.uca.fr"
        ),
        format!("14/10/2025;08:00:00;9960003;3;{paul}-2;206,00;EUR;Impayé;Télécollecté;00141;CB;;;paul@etu.uca.fr"),
        format!("20/10/2025;06:00:00;9960004;4;{paul}-2;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr"),
        // Chloé's: an attempt refused on 12/10, after her payment of 10/10 and before it came
        // back on 14/10, is no reason why the installment is due now.
        format!(
            "05/09/2025;15:00:00;9960005;5;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81200;06/09/2025;chloe@etu.uca.fr"
        ),
        format!(
            "10/10/2025;06:00:01;9960006;6;{chloe}-2;652,20;EUR;Débit;Télécollecté;00000;VISA;81234;11/10/2025;chloe@etu.uca.fr"
        ),
        format!("12/10/2025;06:00:00;9960007;7;{chloe}-2;652,20;EUR;Débit;Refusé;00154;VISA;;;chloe@etu.uca.fr"),
        format!("14/10/2025;08:00:01;9960008;8;{chloe}-2;652,20;EUR;Impayé;Télécollecté;00141;VISA;;;chloe@etu.uca.fr"),
    ];
    let file = dir.join("paybox.csv");
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.charged_back, s.refused), (4, 2, 2), "{s:?}");
    let chloe_pos = regie::ledger::account_position(&store, "25000004").await.unwrap();
    assert_eq!(chloe_pos.schedule[1].refusal, None, "{:?}", chloe_pos.schedule[1]);
    assert_eq!(chloe_pos.schedule[1].left_to_pay, m(65220));
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].refusal.as_deref(), Some("provision insuffisante"), "{:?}", pos.schedule[1]);
    assert_eq!(pos.schedule[1].left_to_pay, m(20600));
    assert_eq!(pos.schedule[2].refusal, None, "{:?}", pos.schedule[2]);
    let mut c = store.read().await.unwrap();
    let t = regie::store::card::transaction(&mut c, "9960004").await.unwrap().unwrap();
    assert_eq!(t.installment_n, Some(2), "{}", t.reasons);
}

/// A debit of 412,00 paid the 2nd and 3rd installments; it comes back in the same export, and the
/// gateway's retry of the 3rd is refused after that: the 3rd is marked refused too.
#[tokio::test]
async fn a_refused_retry_of_any_installment_a_charge_back_reopened_is_marked() {
    let (store, dir, paul, _) = setup("card-back-two").await;
    let rows = [
        HEADER.to_string(),
        format!(
            "05/09/2025;14:00:00;9970001;1;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/10/2025;06:00:00;9970002;2;{paul}-2;412,00;EUR;Débit;Télécollecté;00000;CB;81234;11/10/2025;paul@etu.uca.fr"
        ),
        format!("14/10/2025;08:00:00;9970003;3;{paul}-2;412,00;EUR;Impayé;Télécollecté;00141;CB;;;paul@etu.uca.fr"),
        format!("10/11/2025;06:00:00;9970004;4;{paul}-3;206,00;EUR;Débit;Refusé;00151;CB;;;paul@etu.uca.fr"),
    ];
    let file = dir.join("paybox.csv");
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.charged_back, s.refused), (2, 1, 1), "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[2].refusal.as_deref(), Some("provision insuffisante"), "{:?}", pos.schedule[2]);
    assert_eq!((pos.schedule[1].left_to_pay, pos.schedule[2].left_to_pay), (m(20600), m(20600)));
}

/// A refused debit nobody could be found for, attributed by the accountant: its installment is
/// refused as the import would have marked it, in the position and in the reminders.
#[tokio::test]
async fn a_refused_debit_attributed_by_hand_marks_its_installment() {
    let (store, dir, _, _) = setup("card-assign-refused").await;
    common::pay(&store, "25000002", d(2025, 9, 5), m(20600), regie::ledger::PaymentMethod::Card).await;
    let file = dir.join("paybox.csv");
    let row = "10/10/2025;06:00:00;9800001;1;PORTAIL-77;206,00;EUR;Débit;Refusé;00151;CB;;;parent@example.org";
    write_1252(&file, &([HEADER, row].join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.unknown, 1, "{s:?}");
    let done = card::assign(&store, "9800001", "25000002", "claire").await.unwrap();
    assert_eq!((done.row.outcome, done.row.installment_n), (Outcome::Refused, Some(2)));
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].refusal.as_deref(), Some("provision insuffisante"), "{:?}", pos.schedule[1]);
    let list = regie::dunning::list(&store, d(2025, 10, 10)).await.unwrap();
    let paul: Vec<_> = list.iter().filter(|e| e.student_number == "25000002").collect();
    assert_eq!(paul.len(), 1, "{list:?}");
    assert_eq!((paul[0].installment, paul[0].reason.as_str()), (2, "prélèvement refusé : provision insuffisante"));

    // Paid by transfer; another refused attempt of that amount on 25/10, attributed to Paul too:
    // no open installment of it is due yet (the 3rd is due on 10/11), so none is marked.
    common::pay(&store, "25000002", d(2025, 10, 20), m(20600), regie::ledger::PaymentMethod::Transfer).await;
    let again = dir.join("paybox-2.csv");
    let row = "25/10/2025;06:00:00;9800002;2;PORTAIL-78;206,00;EUR;Débit;Refusé;00151;CB;;;parent@example.org";
    write_1252(&again, &([HEADER, row].join("\r\n") + "\r\n"));
    card::import_file(&store, &again, Columns::Detect, "claire").await.unwrap();
    let done = card::assign(&store, "9800002", "25000002", "claire").await.unwrap();
    assert_eq!((done.row.outcome, done.row.installment_n), (Outcome::Refused, None));
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[2].refusal, None, "{:?}", pos.schedule[2]);
}

/// A debit recorded from a same-day export made a credit that a card refund then paid out; the
/// gateway cancels the debit: its payment cannot be reversed (the refund paid counts on it), and
/// the export is refused with its row named, nothing of it taken.
#[tokio::test]
async fn a_cancelled_debit_whose_credit_was_refunded_is_refused_by_its_row() {
    let (store, dir, paul, _) = setup("card-cancelled-refunded").await;
    let rows = [
        format!(
            "05/09/2025;14:02:11;9600000;0;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/10/2025;06:00:01;9600001;1;{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;81234;11/10/2025;paul@etu.uca.fr"
        ),
        format!(
            "10/11/2025;06:00:02;9600002;2;{paul}-3;206,00;EUR;Débit;Télécollecté;00000;CB;81300;11/11/2025;paul@etu.uca.fr"
        ),
        // Paid twice on the portal the same morning: a credit, refunded to his card at once.
        format!("12/11/2025;09:00:00;9600003;3;{paul}-3;206,00;EUR;Débit;Télécollecté;00000;CB;;;paul@etu.uca.fr"),
        format!(
            "12/11/2025;10:00:00;9600004;4;{paul}-3;206,00;EUR;Remboursement;Télécollecté;00000;CB;;;paul@etu.uca.fr"
        ),
    ];
    let morning = dir.join("paybox-matin.csv");
    write_1252(
        &morning,
        &([HEADER.to_string()].iter().chain(&rows).cloned().collect::<Vec<_>>().join("\r\n") + "\r\n"),
    );
    let s = card::import_file(&store, &morning, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.paid, s.refunded), (4, 1), "{s:?}");
    let before = regie::ledger::account_position(&store, "25000002").await.unwrap().summary;
    assert_eq!(before.balance, m(0), "{before:?}");

    let mut evening = rows.to_vec();
    evening[3] = evening[3].replace("Télécollecté", "Annulé");
    let file = dir.join("paybox-soir.csv");
    write_1252(
        &file,
        &([HEADER.to_string()].iter().chain(&evening).cloned().collect::<Vec<_>>().join("\r\n") + "\r\n"),
    );
    let e = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("paybox-soir.csv") && e.contains("ligne 5") && e.contains("9600003"), "{e}");
    assert!(e.contains("remboursement déjà payé"), "{e}");
    let after = regie::ledger::account_position(&store, "25000002").await.unwrap().summary;
    assert_eq!(after.balance, before.balance);
    let (imports,): (i64,) = common::rows(&store, "SELECT count(*) FROM card_imports").await[0];
    assert_eq!(imports, 1, "nothing of the refused export is kept");
}

/// Remittance lines without a number ("REMISE CARTES"), two days running, each within the
/// commission's tolerance of both days' remittances: each is tied to a remittance of its own, not
/// both to the nearer one; waiting in Banque before the export, and imported after it, where a
/// line that names the nearer remittance, further down the statement, keeps it.
#[tokio::test]
async fn remittance_lines_without_a_number_take_a_remittance_each() {
    use regie::bank::{self, Columns as BankColumns};
    let (store, dir, _, _) = setup("card-remittance-numberless").await;
    let statement = |name: &str, days: [&str; 2]| {
        let path = dir.join(name);
        write_1252(
            &path,
            &format!(
                "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
                 {0};{0};;819,06;REMISE CARTES;\r\n{1};{1};;821,04;REMISE CARTES;\r\n",
                days[0], days[1]
            ),
        );
        path
    };
    let before = statement("releve-1.csv", ["13/10/2025", "14/10/2025"]);
    assert_eq!(bank::import_file(&store, &before, BankColumns::Detect, "claire").await.unwrap().remittances, 2);
    let file = dir.join("paybox.csv");
    let row = |day: u32, n: u32, amount: &str, remittance: u32| {
        format!(
            "{day}/10/2025;09:00:00;99500{n:02};{n};PORTAIL-{n};{amount};EUR;Débit;Télécollecté;00000;CB;{remittance};{}/10/2025;x{n}@example.org",
            day + 1
        )
    };
    let rows = [
        HEADER.to_string(),
        row(10, 1, "824,00", 81234),
        row(11, 2, "826,00", 81240),
        row(20, 3, "824,00", 81300),
        row(21, 4, "826,00", 81310),
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.remittance_lines, 2, "{s:?}");
    // After it: a line without a number, nearer 81300, then the line that names 81300.
    let after = dir.join("releve-2.csv");
    write_1252(
        &after,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n\
         23/10/2025;23/10/2025;;821,04;REMISE CARTES;\r\n\
         24/10/2025;24/10/2025;;819,06;REMISE CB 81300 DU 22/10/25;\r\n",
    );
    assert_eq!(bank::import_file(&store, &after, BankColumns::Detect, "claire").await.unwrap().remittances, 2);
    let lines = bank::lines(&store, None).await.unwrap();
    let tied: Vec<(NaiveDate, Option<&str>)> = {
        let mut t: Vec<_> = lines.iter().map(|l| (l.date, l.remittance.as_deref())).collect();
        t.sort();
        t
    };
    assert_eq!(
        tied,
        [
            (d(2025, 10, 13), Some("81234")),
            (d(2025, 10, 14), Some("81240")),
            (d(2025, 10, 23), Some("81310")),
            (d(2025, 10, 24), Some("81300"))
        ]
    );
    let r = card::remittances(&store).await.unwrap();
    assert!(r.iter().all(|x| x.bank_line_id.is_some() && !x.flagged), "{r:?}");
}

/// A debit nobody could be found for, and its charge-back in the same export: both wait. The
/// accountant attributes the debit (a payment), then the charge-back: that payment is unpaid,
/// what it paid due again, as the import would have done had it known the student.
#[tokio::test]
async fn a_charge_back_waiting_for_its_debit_is_attributed_by_hand() {
    let (store, dir, _, _) = setup("card-assign-back").await;
    let file = dir.join("paybox.csv");
    let rows = [
        HEADER,
        "05/09/2025;14:00:00;9910001;1;PORTAIL-55;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;parent@example.org",
        "20/09/2025;08:00:00;9910002;2;PORTAIL-55;206,00;EUR;Impayé;Télécollecté;00141;CB;;;parent@example.org",
    ];
    write_1252(&file, &(rows.join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.unknown, s.charged_back), (2, 0), "{s:?}");
    let e = card::assign(&store, "9910002", "25000002", "claire").await.unwrap_err().to_string();
    assert!(e.contains("aucun paiement carte de la référence PORTAIL-55"), "{e}");
    card::assign(&store, "9910001", "25000002", "claire").await.unwrap();
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().schedule[0].left_to_pay, m(0));
    let back = card::assign(&store, "9910002", "25000002", "claire").await.unwrap();
    assert_eq!((back.row.outcome, back.row.student_number.as_deref()), (Outcome::ChargedBack, Some("25000002")));
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[0].left_to_pay, m(20600), "what the debit paid is due again: {:?}", pos.schedule[0]);
    assert_eq!(pos.summary.balance, m(61800));
    let unpaid: Vec<Money> = pos.payments.iter().map(|p| p.unpaid).collect();
    assert_eq!(unpaid, [m(20600)], "{:?}", pos.payments);
    let debit = card::transactions(&store, Some(Outcome::ChargedBack), 10).await.unwrap();
    let numbers: Vec<&str> = debit.iter().map(|t| t.row.number.as_str()).collect();
    assert_eq!(numbers, ["9910002", "9910001"]);
    assert!(card::assign(&store, "9910002", "25000002", "claire").await.is_err(), "once");
    // Another generic reference: its charge-back comes first and waits; then its debit, which is
    // Chloé's, and the office declares it charged back from the bank's line. Attributed to Paul,
    // the charge-back confirms nothing of Chloé's; attributed to her, it confirms hers.
    let import = |name: &str, row: &str| {
        let path = dir.join(name);
        write_1252(&path, &([HEADER, row].join("\r\n") + "\r\n"));
        path
    };
    let back = import(
        "paybox-2.csv",
        "21/09/2025;08:00:00;9910003;3;PORTAIL-66;206,00;EUR;Impayé;Télécollecté;00141;CB;;;autre@example.org",
    );
    assert_eq!(card::import_file(&store, &back, Columns::Detect, "claire").await.unwrap().unknown, 1);
    let debit = import(
        "paybox-3.csv",
        "05/09/2025;15:00:00;9910004;4;PORTAIL-66;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;autre@example.org",
    );
    card::import_file(&store, &debit, Columns::Detect, "claire").await.unwrap();
    card::assign(&store, "9910004", "25000004", "claire").await.unwrap();
    card::charge_back(&store, "9910004", d(2025, 9, 22), "opposition (relevé)", "claire").await.unwrap();
    let e = card::assign(&store, "9910003", "25000002", "claire").await.unwrap_err().to_string();
    assert!(e.contains("sur le compte de 25000002"), "{e}");
    let done = card::assign(&store, "9910003", "25000004", "claire").await.unwrap();
    assert_eq!(done.row.outcome, Outcome::ChargedBack);
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().summary.balance, m(61800));
}

/// The evening's export, which says a debit was cancelled before its remittance, is imported
/// before the morning's, which still says it captured: the morning's is older, not contradicting.
/// Its row is known, the debit stays cancelled, nothing is paid; the rest of it is imported.
#[tokio::test]
async fn an_export_older_than_a_cancellation_imported_after_it_is_taken() {
    let (store, dir, paul, chloe) = setup("card-cancelled-older").await;
    let debit = |status: &str| {
        format!("10/10/2025;06:00:01;9900001;1;{paul}-2;206,00;EUR;Débit;{status};00000;CB;;;paul@etu.uca.fr")
    };
    let evening = dir.join("paybox-soir.csv");
    write_1252(&evening, &([HEADER.to_string(), debit("Annulé")].join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &evening, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.cancelled), (1, 1), "{s:?}");
    let chloe_row =
        format!("10/10/2025;06:00:02;9900002;2;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;;;chloe@etu.uca.fr");
    let morning = dir.join("paybox-matin.csv");
    write_1252(&morning, &([HEADER.to_string(), debit("Télécollecté"), chloe_row].join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &morning, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known, s.paid, s.cancelled_since), (1, 1, 1, 0), "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.summary.balance, m(61800), "the cancelled debit paid nothing: {:?}", pos.summary);
    let mut c = store.read().await.unwrap();
    let t = regie::store::card::transaction(&mut c, "9900001").await.unwrap().unwrap();
    assert_eq!((t.status, t.outcome), (regie::card::export::Status::Cancelled, Outcome::Cancelled));
    // A captured debit of another amount under that number still contradicts it.
    drop(c);
    let other = dir.join("paybox-autre.csv");
    write_1252(
        &other,
        &([HEADER.to_string(), debit("Télécollecté").replace("206,00", "207,00")].join("\r\n") + "\r\n"),
    );
    let e = card::import_file(&store, &other, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("9900001") && e.contains("ligne 2"), "{e}");
}

/// An export taken during the day records the morning's debits before the gateway sends them to
/// the bank. One the gateway cancels before that (a payment made twice, say) is "Annulé" in the
/// next export: its payment is reversed, what it paid is due again, and the import says so; a
/// retry of that debit in the same export pays that installment, not the next one; the same
/// export again changes nothing. A debit already in a remittance cannot be cancelled: the
/// export that says so is refused, its row named, and nothing of it is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debit_cancelled_before_its_remittance_reverses_its_payment() {
    let (store, dir, paul, chloe) = setup("card-cancelled-since").await;
    let morning = dir.join("paybox-matin.csv");
    let debit = |status: &str, remittance: &str, date: &str| {
        format!(
            "10/10/2025;06:00:01;9500001;1;{paul}-2;206,00;EUR;Débit;{status};00000;CB;{remittance};{date};paul@etu.uca.fr"
        )
    };
    let first = format!(
        "05/09/2025;14:02:11;9500000;0;{paul}-1;206,00;EUR;Débit;Télécollecté;00000;CB;81200;06/09/2025;paul@etu.uca.fr"
    );
    write_1252(&morning, &([HEADER.to_string(), first.clone(), debit("Télécollecté", "", "")].join("\r\n") + "\r\n"));
    let s = card::import_file(&store, &morning, Columns::Detect, "claire").await.unwrap();
    assert_eq!(s.paid, 2, "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].left_to_pay, m(0));

    let next = dir.join("paybox-soir.csv");
    let chloe_row = format!(
        "10/10/2025;06:00:02;9500002;2;{chloe}-1;618,00;EUR;Débit;Télécollecté;00000;VISA;81234;11/10/2025;chloe@etu.uca.fr"
    );
    let text = [HEADER.to_string(), first.clone(), debit("Annulé", "", ""), chloe_row].join("\r\n") + "\r\n";
    write_1252(&next, &text);
    let s = card::import_file(&store, &next, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known, s.paid, s.cancelled_since), (1, 2, 1, 1), "{s:?}");
    let pos = regie::ledger::account_position(&store, "25000002").await.unwrap();
    assert_eq!(pos.schedule[1].left_to_pay, m(20600), "what the cancelled debit paid is due again");
    assert_eq!(pos.summary.balance, m(61800 - 20600));
    // The same in one export with the afternoon's retry, for another student's copy of it: the
    // retry pays the 2nd installment again, the 3rd stays due.
    let (other, other_dir) = common::approved("card-cancelled-retry", &[PAUL_DURAND]).await;
    let other_paul = invoice_of(&other, "25000002").await;
    let other_first = first.replace(&paul, &other_paul);
    let other_debit = debit("Télécollecté", "", "").replace(&paul, &other_paul);
    let morning = other_dir.join("paybox-matin.csv");
    write_1252(&morning, &([HEADER.to_string(), other_first.clone(), other_debit.clone()].join("\r\n") + "\r\n"));
    card::import_file(&other, &morning, Columns::Detect, "claire").await.unwrap();
    let retry = other_debit
        .replace("06:00:01;9500001;1;", "15:00:00;9500004;4;")
        .replace("Télécollecté;00000;CB;;", "Télécollecté;00000;CB;81234;11/10/2025");
    let evening = other_dir.join("paybox-soir.csv");
    let text =
        [HEADER.to_string(), other_first, other_debit.replace("Télécollecté", "Annulé"), retry].join("\r\n") + "\r\n";
    write_1252(&evening, &text);
    let s = card::import_file(&other, &evening, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.paid, s.cancelled_since), (1, 1, 1), "{s:?}");
    let pos = regie::ledger::account_position(&other, "25000002").await.unwrap();
    let left: Vec<Money> = pos.schedule.iter().map(|l| l.left_to_pay).collect();
    assert_eq!(left, [m(0), m(0), m(20600)], "{:?}", pos.schedule);
    let mut c = store.read().await.unwrap();
    let t = regie::store::card::transaction(&mut c, "9500001").await.unwrap().unwrap();
    drop(c);
    assert_eq!((t.status, t.outcome), (regie::card::export::Status::Cancelled, Outcome::Cancelled));
    assert!(t.reasons.contains("annulée par la passerelle avant sa remise"), "{}", t.reasons);
    let audited: Vec<(String,)> =
        common::rows(&store, "SELECT details FROM audit_log WHERE action = 'card.import' ORDER BY id").await;
    assert!(audited[1].0.contains("\"cancelled_since\":[{\"transaction\":\"9500001\""), "{}", audited[1].0);
    let again = card::import_file(&store, &next, Columns::Detect, "claire").await.unwrap();
    assert_eq!((again.new, again.cancelled_since), (0, 0), "{again:?}");
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().summary.balance, m(61800 - 20600));

    // Paid again on the portal, sent to the bank that night: no export may cancel it now.
    let remitted = dir.join("paybox-remis.csv");
    let again_paid = "11/10/2025;09:00:00;9500003;3;".to_string()
        + &format!("{paul}-2;206,00;EUR;Débit;Télécollecté;00000;CB;81240;12/10/2025;paul@etu.uca.fr");
    write_1252(&remitted, &([HEADER.to_string(), again_paid.clone()].join("\r\n") + "\r\n"));
    card::import_file(&store, &remitted, Columns::Detect, "claire").await.unwrap();
    let cancelled = again_paid.replace("Télécollecté", "Annulé").replace(";81240;12/10/2025;", ";;;");
    let refused = dir.join("paybox-refuse.csv");
    write_1252(&refused, &([HEADER.to_string(), cancelled].join("\r\n") + "\r\n"));
    let e = card::import_file(&store, &refused, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("paybox-refuse.csv") && e.contains("ligne 2") && e.contains("9500003"), "{e}");
    assert_eq!(regie::ledger::account_position(&store, "25000002").await.unwrap().summary.balance, m(61800 - 41200));
}
