//! The banks' own statement formats on real files: CAMT.053 (001.02 and 001.08) and CFONB 120
//! (with and without line breaks, with complement records), found from their content whatever
//! the file's name, matched like spreadsheet lines, and known again when the same movements come
//! in another format.

mod common;

use common::{LEA_DURAND, PAUL_DURAND, write_1252};
use regie::bank::{self, Columns, StatementFormat};

/// A CAMT.053 statement in version `v` (2 or 8): Léa Durand's 618 € transfer, Paul Durand's
/// 206 € and an EDF direct debit, in October 2025.
fn camt(v: u8) -> String {
    let party = |name: &str| {
        if v >= 8 {
            format!("<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>")
        } else {
            format!("<Dbtr><Nm>{name}</Nm></Dbtr>")
        }
    };
    let sts = if v >= 8 { "<Sts><Cd>BOOK</Cd></Sts>" } else { "<Sts>BOOK</Sts>" };
    let entry = |amount: &str, ind: &str, day: &str, info: &str, tx: String| {
        format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{sts}<BookgDt><Dt>{day}</Dt></BookgDt>\
             <ValDt><Dt>{day}</Dt></ValDt><AddtlNtryInf>{info}</AddtlNtryInf>{tx}</Ntry>\n"
        )
    };
    let tx = |name: &str, reason: &str| {
        format!(
            "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties>{}</RltdPties>\
             <RmtInf><Ustrd>{reason}</Ustrd></RmtInf></TxDtls></NtryDtls>",
            party(name)
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v:02}\">\
         <BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2025-10-31T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id>\
         <Acct><Id><IBAN>FR7630004000031234567890143</IBAN></Id></Acct>\n{}{}{}</Stmt></BkToCstmrStmt></Document>\n",
        entry("618.00", "CRDT", "2025-10-06", "VIR SEPA RECU", tx("DURAND LEA", "DURAND ISIMA F.I")),
        entry("206.00", "CRDT", "2025-10-07", "VIR SEPA RECU", tx("PAUL DURAND", "INSCRIPTION POLYTECH")),
        entry("54.10", "DBIT", "2025-10-08", "PRLV SEPA EDF", String::new()),
    )
}

/// Bank 30004, branch 00123, euros with 2 decimals, account 00012345678: positions 3 to 32 of
/// every record.
const ACCOUNT: &str = "30004    00123EUR2 00012345678";

/// The same movements as `camt`, as a CFONB 120 file: each transfer's payer and reason in "05"
/// complement records, the amounts signed by their last character.
fn cfonb(separator: &str) -> String {
    let balance = |code: &str, date: &str, amount: &str| format!("{code}{ACCOUNT}  {date}{:50}{amount}{:16}", "", "");
    let movement = |date: &str, label: &str, amount: &str| {
        format!("04{ACCOUNT}  {date}  {date}{label:<31}{:11}{amount}{:16}", "", "")
    };
    let complement = |date: &str, kind: &str, text: &str| format!("05{ACCOUNT}  {date}     {kind}{text:<70}  ");
    let records = [
        balance("01", "300925", "0000012800000{"),
        movement("061025", "VIR SEPA RECU", "0000000006180{"),
        complement("061025", "NPY", "DURAND LEA"),
        complement("061025", "LIB", "DURAND ISIMA F.I"),
        movement("071025", "VIR SEPA RECU", "0000000002060{"),
        complement("071025", "NPY", "PAUL DURAND"),
        complement("071025", "LIB", "INSCRIPTION POLYTECH"),
        movement("081025", "PRLV SEPA EDF", "0000000000541}"),
        balance("07", "311025", "0000012856390{"),
    ];
    assert!(records.iter().all(|r| r.len() == 120), "{records:#?}");
    records.join(separator) + separator
}

/// The same movements again, as the bank's spreadsheet export.
const CSV: &str = "Date;Libellé;Débit;Crédit\r\n06/10/2025;VIR SEPA RECU /DE DURAND LEA DURAND ISIMA F.I;;618,00\r\n\
                   07/10/2025;VIR SEPA RECU /DE PAUL DURAND INSCRIPTION POLYTECH;;206,00\r\n\
                   08/10/2025;PRLV SEPA EDF;54,10;\r\n";

async fn students(tag: &str) -> (regie::Store, std::path::PathBuf) {
    common::approved(tag, &[LEA_DURAND, PAUL_DURAND]).await
}

#[tokio::test]
async fn camt_053_in_both_versions_imports_matches_and_reimports_as_a_no_op() {
    for v in [2u8, 8] {
        let (store, dir) = students(&format!("camt{v}")).await;
        // Named .csv on purpose: the content tells the format, not the name.
        let file = dir.join(if v == 2 { "releve.xml" } else { "releve-octobre.csv" });
        std::fs::write(&file, camt(v)).unwrap();
        let preview = bank::preview_file(&file).unwrap();
        assert_eq!(
            (preview.format, preview.lines, preview.first_error.as_deref()),
            (Some(StatementFormat::Camt053), 3, None)
        );
        let s = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
        assert_eq!(
            (s.format, s.rows, s.new, s.auto_matched),
            (StatementFormat::Camt053, 3, 3, 2),
            "version {v}: {s:?}"
        );
        let lines = bank::lines(&store, None).await.unwrap();
        let lea = lines.iter().find(|l| l.label.contains("DURAND LEA")).unwrap();
        assert_eq!(lea.label, "VIR SEPA RECU /DE DURAND LEA /MOTIF DURAND ISIMA F.I");
        assert_eq!((lea.student_number.as_deref(), lea.amount.cents()), (Some("25000001"), 61800));
        assert!(lines.iter().any(|l| l.amount.cents() == -5410 && l.label == "PRLV SEPA EDF"));
        let again = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
        assert_eq!((again.new, again.already_known), (0, 3));
    }
}

#[tokio::test]
async fn cfonb_120_with_or_without_line_breaks_reads_its_complements() {
    for (k, sep) in ["", "\r\n", "\n"].into_iter().enumerate() {
        let (store, dir) = students(&format!("cfonb{k}")).await;
        let file = dir.join("releve.txt");
        // Latin-1 as banks write it.
        let text = cfonb(sep);
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        std::fs::write(&file, bytes).unwrap();
        let s = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
        assert_eq!((s.format, s.new, s.auto_matched), (StatementFormat::Cfonb120, 3, 2), "{sep:?}: {s:?}");
        let lines = bank::lines(&store, None).await.unwrap();
        let paul = lines.iter().find(|l| l.label.contains("PAUL")).unwrap();
        assert_eq!(paul.label, "VIR SEPA RECU /DE PAUL DURAND /MOTIF INSCRIPTION POLYTECH");
        assert_eq!(paul.student_number.as_deref(), Some("25000002"));
        let again = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap();
        assert_eq!((again.new, again.already_known), (0, 3));
    }
}

#[tokio::test]
async fn the_same_movements_in_another_format_are_known() {
    let (store, dir) = students("cross-format").await;
    let csv = dir.join("releve.csv");
    write_1252(&csv, CSV);
    let first = bank::import_file(&store, &csv, Columns::Detect, "claire").await.unwrap();
    assert_eq!((first.format, first.new, first.auto_matched), (StatementFormat::Sheet, 3, 2));
    let xml = dir.join("releve.xml");
    std::fs::write(&xml, camt(8)).unwrap();
    let s = bank::import_file(&store, &xml, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known), (0, 3), "{s:?}");
    let txt = dir.join("releve.cfonb");
    std::fs::write(&txt, cfonb("\n")).unwrap();
    let s = bank::import_file(&store, &txt, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known), (0, 3), "{s:?}");
    assert_eq!(bank::lines(&store, None).await.unwrap().len(), 3);
    // A movement the spreadsheet did not have (a second 206 € that day) is new.
    let more = camt(8).replace(
        "</Stmt>",
        "<Ntry><Amt Ccy=\"EUR\">206.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>2025-10-07</Dt></BookgDt><AddtlNtryInf>VIR SEPA RECU /DE INCONNU</AddtlNtryInf></Ntry></Stmt>",
    );
    std::fs::write(&xml, more).unwrap();
    let s = bank::import_file(&store, &xml, Columns::Detect, "claire").await.unwrap();
    assert_eq!((s.new, s.already_known), (1, 3), "{s:?}");
}

#[tokio::test]
async fn a_broken_bank_file_names_the_record_and_the_field_and_imports_nothing() {
    let (store, dir) = students("formats-bad").await;
    let file = dir.join("releve.txt");
    let text = cfonb("\n").replace("0000000002060{", "00000000020O0{");
    std::fs::write(&file, text).unwrap();
    let e = bank::import_file(&store, &file, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("releve.txt") && e.contains("ligne 5") && e.contains("montant (91-104)"), "{e}");
    let xml = dir.join("releve.xml");
    std::fs::write(&xml, camt(2).replace("2025-10-07", "2025-13-07")).unwrap();
    let e = bank::import_file(&store, &xml, Columns::Detect, "claire").await.unwrap_err().to_string();
    assert!(e.contains("releve.xml") && e.contains("ligne 2") && e.contains("BookgDt"), "{e}");
    let preview = bank::preview_file(&xml).unwrap();
    assert!(preview.first_error.is_some_and(|e| e.contains("BookgDt")));
    assert!(bank::lines(&store, None).await.unwrap().is_empty(), "nothing imported");
}
