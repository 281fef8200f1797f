//! CAMT.053, the ISO 20022 bank-to-customer statement, and CAMT.054, its debit and credit
//! notification (XML), versions 001.02 to 001.08 read alike. Each booked entry becomes a line (or
//! one per transaction of a batch entry that details its amounts, except a card remittance, which
//! stays the one credit its remittance is matched by), its label built from what the entry says:
//! the bank's text, the other party, the remittance information and the end-to-end reference.

use std::str::FromStr;

use chrono::NaiveDate;
use roxmltree::{Document, Node};
use rust_decimal::Decimal;

use super::table::ParsedLine;
use crate::money::Money;
use crate::sheet::SheetError;

/// The largest statement read: a year of a busy account is a few megabytes.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Whether the bytes are a CAMT.053 document (from its namespace or root near the start).
pub fn looks_like(bytes: &[u8]) -> bool {
    head_has(bytes, &["camt.053", "BkToCstmrStmt"])
}

/// Whether the bytes are a CAMT.054 notification.
pub fn looks_like_notification(bytes: &[u8]) -> bool {
    head_has(bytes, &["camt.054", "BkToCstmrDbtCdtNtfctn"])
}

fn head_has(bytes: &[u8], marks: &[&str]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('<') && marks.iter().any(|m| t.contains(m))
}

/// Reads every booked entry. An error names the entry (its rank among the file's entries, from
/// 1) and the element.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<ParsedLine>, SheetError> {
    let err = |entry: Option<usize>, element: Option<&str>, message: String| SheetError {
        file: file.to_string(),
        sheet: None,
        row: entry,
        column: element.map(str::to_string),
        message,
    };
    if bytes.len() > MAX_BYTES {
        return Err(err(None, None, format!("fichier de {} Mo : plus de {} Mo", bytes.len() >> 20, MAX_BYTES >> 20)));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| err(None, None, format!("XML qui n'est pas en UTF-8 ({e})")))?;
    // No DTD: an entity could expand without bound.
    let doc = Document::parse(text).map_err(|e| err(None, None, format!("XML illisible : {e}")))?;
    let root = doc.root_element();
    // A statement's entries, or a notification's: the same entries under other names.
    let (statements, each) = match (child(root, "BkToCstmrStmt"), child(root, "BkToCstmrDbtCdtNtfctn")) {
        (Some(s), _) => (s, "Stmt"),
        (None, Some(n)) => (n, "Ntfctn"),
        (None, None) => {
            return Err(err(
                None,
                Some("Document"),
                "ni relevé BkToCstmrStmt ni avis BkToCstmrDbtCdtNtfctn (est-ce un CAMT.053 ou .054 ?)".into(),
            ));
        }
    };
    let mut out = Vec::new();
    let mut rank = 0;
    for stmt in children(statements, each) {
        for entry in children(stmt, "Ntry") {
            rank += 1;
            let e = |element: &str, message: String| err(Some(rank), Some(element), message);
            let status =
                child(entry, "Sts").map(|s| child(s, "Cd").unwrap_or(s)).and_then(|s| s.text()).unwrap_or("BOOK");
            if status.trim() != "BOOK" {
                continue;
            }
            let credit = match child(entry, "CdtDbtInd").and_then(|n| n.text()).map(str::trim) {
                Some("CRDT") => true,
                Some("DBIT") => false,
                other => return Err(e("CdtDbtInd", format!("« {} » : ni CRDT ni DBIT", other.unwrap_or("")))),
            };
            let date = date_of(entry, "BookgDt").map_err(|m| e("BookgDt", m))?;
            let value_date = match child(entry, "ValDt") {
                Some(_) => Some(date_of(entry, "ValDt").map_err(|m| e("ValDt", m))?),
                None => None,
            };
            let amount = amount_of(entry).map_err(|m| e("Amt", m))?;
            let bank_text = texts(entry, &["AddtlNtryInf"]);
            let details: Vec<Node> =
                children(entry, "NtryDtls").flat_map(|d| children(d, "TxDtls").collect::<Vec<_>>()).collect();
            // A batch that details each transaction's amount becomes one line per transaction; a
            // card remittance stays one line: its credit is what its remittance is matched by,
            // and its transactions are the gateway's export's.
            let remittance = crate::card::remittance_in_label(&bank_text).is_some();
            let parts: Option<Vec<Result<Money, String>>> = details.iter().map(|t| tx_amount(*t)).collect();
            if let Some(parts) = parts.filter(|p| p.len() > 1 && !remittance) {
                for (tx, part) in details.iter().zip(parts) {
                    let part = part.map_err(|m| e("TxDtls/Amt", m))?;
                    let amount = if credit { part } else { -part };
                    out.push(ParsedLine {
                        row: rank,
                        date,
                        value_date,
                        label: label(&bank_text, Some(*tx), credit),
                        amount,
                    });
                }
            } else {
                // A remittance's label is the bank's: its first card payment says nothing of the rest.
                let first = details.first().copied().filter(|_| !remittance);
                let label = label(&bank_text, first, credit);
                let label = if label.is_empty() { "(sans libellé)".to_string() } else { label };
                out.push(ParsedLine {
                    row: rank,
                    date,
                    value_date,
                    label,
                    amount: if credit { amount } else { -amount },
                });
            }
        }
    }
    super::table::bounded_labels(file, out)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    children(node, name).next()
}

/// The node at a path of element names under `node`.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&'static str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// The trimmed texts of the elements at `path` (every match of the last name).
fn texts(node: Node, path: &[&'static str]) -> String {
    let Some((last, parents)) = path.split_last() else { return String::new() };
    let Some(parent) = at(node, parents) else { return String::new() };
    children(parent, last)
        .filter_map(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `<BookgDt><Dt>2025-10-08</Dt></BookgDt>` or `<DtTm>2025-10-08T10:00:00</DtTm>`.
fn date_of(entry: Node, name: &'static str) -> Result<NaiveDate, String> {
    let node = child(entry, name).ok_or_else(|| "date manquante".to_string())?;
    let text = child(node, "Dt").or_else(|| child(node, "DtTm")).and_then(|n| n.text()).unwrap_or("").trim();
    let day = text.get(..10).unwrap_or(text);
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| format!("date illisible « {text} »"))?;
    use chrono::Datelike;
    if !(2000..=2100).contains(&date.year()) {
        return Err(format!("date « {} » hors des années 2000 à 2100", date.format("%d/%m/%Y")));
    }
    Ok(date)
}

/// An `Amt` element's value: a positive decimal in euros.
fn money(node: Node) -> Result<Money, String> {
    let text = node.text().unwrap_or("").trim();
    if let Some(ccy) = node.attribute("Ccy").filter(|c| *c != "EUR") {
        return Err(format!("montant en {ccy} : seuls les euros sont tenus"));
    }
    let value = Decimal::from_str(text).map_err(|_| format!("montant illisible « {text} »"))?;
    if value.is_sign_negative() {
        return Err(format!("montant négatif « {text} » (le sens est donné par CdtDbtInd)"));
    }
    Money::new(value).map_err(|e| e.to_string())
}

fn amount_of(entry: Node) -> Result<Money, String> {
    money(child(entry, "Amt").ok_or_else(|| "montant manquant".to_string())?)
}

/// A transaction's own amount, when the batch gives it.
fn tx_amount(tx: Node) -> Option<Result<Money, String>> {
    child(tx, "Amt").or_else(|| at(tx, &["AmtDtls", "TxAmt", "Amt"])).map(money)
}

/// The other party's name: `Dbtr/Nm` (001.02) or `Dbtr/Pty/Nm` (001.08), the creditor's for a debit.
fn party(tx: Node, credit: bool) -> String {
    let who = if credit { "Dbtr" } else { "Cdtr" };
    let name = at(tx, &["RltdPties", who, "Nm"]).or_else(|| at(tx, &["RltdPties", who, "Pty", "Nm"]));
    name.and_then(|n| n.text()).map(str::trim).unwrap_or("").to_string()
}

/// The label as a bank's spreadsheet writes it: `<bank text> /DE <payer> /MOTIF <reason> /REF <end-to-end>`.
fn label(bank_text: &str, tx: Option<Node>, credit: bool) -> String {
    let mut parts = vec![bank_text.to_string()];
    if let Some(tx) = tx {
        let reason = [
            texts(tx, &["RmtInf", "Ustrd"]),
            texts(tx, &["RmtInf", "Strd", "CdtrRefInf", "Ref"]),
            texts(tx, &["AddtlTxInf"]),
        ]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        let reference = texts(tx, &["Refs", "EndToEndId"]);
        for (tag, text) in
            [(if credit { "/DE" } else { "/A" }, party(tx, credit)), ("/MOTIF", reason), ("/REF", reference)]
        {
            if !text.is_empty() && text != "NOTPROVIDED" {
                parts.push(format!("{tag} {text}"));
            }
        }
    }
    parts.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One statement in version `v` (2 or 8): a transfer from a student, a parent's transfer with
    /// structured reference, a direct debit, a pending entry, and a batch of two transfers.
    pub(crate) fn sample(v: u8) -> String {
        let status = if v >= 8 { "<Sts><Cd>BOOK</Cd></Sts>" } else { "<Sts>BOOK</Sts>" };
        let pending = if v >= 8 { "<Sts><Cd>PDNG</Cd></Sts>" } else { "<Sts>PDNG</Sts>" };
        let dbtr = |name: &str| {
            if v >= 8 {
                format!("<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>")
            } else {
                format!("<Dbtr><Nm>{name}</Nm></Dbtr>")
            }
        };
        let entry = |amount: &str, ind: &str, sts: &str, day: &str, info: &str, details: &str| {
            format!(
                "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{sts}<BookgDt><Dt>{day}</Dt></BookgDt>\
                 <ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>R{day}</AcctSvcrRef><BkTxCd/><AddtlNtryInf>{info}</AddtlNtryInf>{details}</Ntry>"
            )
        };
        let tx = |amount: Option<&str>, e2e: &str, party: &str, reason: &str| {
            format!(
                "<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{}<RltdPties>{party}</RltdPties><RmtInf><Ustrd>{reason}</Ustrd></RmtInf></TxDtls>",
                amount
                    .map(|a| format!("<AmtDtls><TxAmt><Amt Ccy=\"EUR\">{a}</Amt></TxAmt></AmtDtls>"))
                    .unwrap_or_default()
            )
        };
        let entries = [
            entry(
                "206.00",
                "CRDT",
                status,
                "2025-10-08",
                "VIR SEPA RECU",
                &format!("<NtryDtls>{}</NtryDtls>", tx(None, "E2E-1", &dbtr("DURAND LEA"), "DURAND+ISIMA+F.I")),
            ),
            entry(
                "1630.50",
                "CRDT",
                status,
                "2025-10-09",
                "VIR SEPA RECU",
                &format!(
                    "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties>{}</RltdPties>\
                     <RmtInf><Strd><CdtrRefInf><Ref>F2025-00012</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls>",
                    dbtr("M OU MME MOREAU PIERRE")
                ),
            ),
            entry("54.10", "DBIT", status, "2025-10-09", "PRLV SEPA EDF", ""),
            entry("99.00", "CRDT", pending, "2025-10-10", "VIR EN ATTENTE", ""),
            entry(
                "412.00",
                "CRDT",
                status,
                "2025-10-10",
                "REMISE VIREMENTS",
                &format!(
                    "<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>{}{}</NtryDtls>",
                    tx(Some("206.00"), "E2E-2", &dbtr("PAUL DURAND"), "POLYTECH"),
                    tx(Some("206.00"), "E2E-3", &dbtr("AMINE BENALI"), "ISIMA")
                ),
            ),
        ];
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v:02}\">\
             <BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-10-31T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id>\
             <Acct><Id><IBAN>FR7630004000031234567890143</IBAN></Id></Acct>{}</Stmt></BkToCstmrStmt></Document>",
            entries.join("\n")
        )
    }

    #[test]
    fn both_versions_read_alike() {
        for v in [2, 8] {
            let xml = sample(v);
            assert!(looks_like(xml.as_bytes()));
            let lines = parse(xml.as_bytes(), "releve.xml").unwrap();
            let got: Vec<(usize, String, &str, i64)> =
                lines.iter().map(|l| (l.row, l.date.to_string(), l.label.as_str(), l.amount.cents())).collect();
            assert_eq!(
                got,
                [
                    (1, "2025-10-08".into(), "VIR SEPA RECU /DE DURAND LEA /MOTIF DURAND+ISIMA+F.I /REF E2E-1", 20600),
                    (2, "2025-10-09".into(), "VIR SEPA RECU /DE M OU MME MOREAU PIERRE /MOTIF F2025-00012", 163050),
                    (3, "2025-10-09".into(), "PRLV SEPA EDF", -5410),
                    (5, "2025-10-10".into(), "REMISE VIREMENTS /DE PAUL DURAND /MOTIF POLYTECH /REF E2E-2", 20600),
                    (5, "2025-10-10".into(), "REMISE VIREMENTS /DE AMINE BENALI /MOTIF ISIMA /REF E2E-3", 20600),
                ],
                "version {v}"
            );
        }
    }

    #[test]
    fn a_broken_entry_is_named_and_hostile_xml_refused() {
        let xml = sample(8).replace("<Amt Ccy=\"EUR\">54.10</Amt>", "<Amt Ccy=\"EUR\">54,10</Amt>");
        let e = parse(xml.as_bytes(), "r.xml").unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(3), Some("Amt")), "{e}");
        let xml = sample(2).replace("2025-10-09", "2925-10-09");
        assert!(parse(xml.as_bytes(), "r.xml").unwrap_err().message.contains("2000 à 2100"));
        let xml = sample(2).replace("Ccy=\"EUR\">206.00", "Ccy=\"USD\">206.00");
        assert!(parse(xml.as_bytes(), "r.xml").unwrap_err().message.contains("USD"));
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\
                    <Document><BkToCstmrStmt>&b;</BkToCstmrStmt></Document>";
        assert!(parse(bomb.as_bytes(), "bomb.xml").unwrap_err().message.contains("XML illisible"));
        assert!(parse(b"<Document/>", "x.xml").unwrap_err().message.contains("BkToCstmrStmt"));
        assert!(!looks_like_notification(sample(8).as_bytes()));
        assert!(parse(&[0xff, 0xfe, 0x00, 0x3c], "x.xml").is_err());
        assert!(!looks_like(b"Date;Libelle;Montant\n"));
    }

    /// A CAMT.054 notification (version `v`): a card remittance whose card payments are detailed,
    /// and a batch of two transfers.
    pub(crate) fn notification(v: u8) -> String {
        let status = if v >= 8 { "<Sts><Cd>BOOK</Cd></Sts>" } else { "<Sts>BOOK</Sts>" };
        let tx = |amount: &str, e2e: &str, reason: &str| {
            format!(
                "<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"EUR\">{amount}</Amt></TxAmt></AmtDtls>\
                 <RmtInf><Ustrd>{reason}</Ustrd></RmtInf></TxDtls>"
            )
        };
        let entry = |amount: &str, day: &str, info: &str, details: String| {
            format!(
                "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>{status}<BookgDt><Dt>{day}</Dt></BookgDt>\
                 <ValDt><Dt>{day}</Dt></ValDt><AddtlNtryInf>{info}</AddtlNtryInf><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>{details}</NtryDtls></Ntry>"
            )
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{v:02}\">\
             <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N1</MsgId><CreDtTm>2025-09-08T18:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id>\
             <Acct><Id><IBAN>FR7630004000031234567890143</IBAN></Id></Acct>{}{}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>",
            entry(
                "819.88",
                "2025-09-08",
                "REMISE CB 81200 DU 06/09/25",
                format!("{}{}", tx("206.00", "6100001", "CB 206,00"), tx("618.00", "6100002", "CB 618,00"))
            ),
            entry(
                "412.00",
                "2025-09-09",
                "REMISE VIREMENTS",
                format!("{}{}", tx("206.00", "E2E-2", "POLYTECH"), tx("206.00", "E2E-3", "ISIMA"))
            ),
        )
    }

    #[test]
    fn a_notification_reads_as_a_statement_and_a_card_remittance_stays_whole() {
        for v in [2, 8] {
            let xml = notification(v);
            assert!(looks_like_notification(xml.as_bytes()) && !looks_like(xml.as_bytes()));
            let lines = parse(xml.as_bytes(), "avis.xml").unwrap();
            let got: Vec<(usize, &str, i64)> =
                lines.iter().map(|l| (l.row, l.label.as_str(), l.amount.cents())).collect();
            assert_eq!(
                got,
                [
                    (1, "REMISE CB 81200 DU 06/09/25", 81988),
                    (2, "REMISE VIREMENTS /MOTIF POLYTECH /REF E2E-2", 20600),
                    (2, "REMISE VIREMENTS /MOTIF ISIMA /REF E2E-3", 20600),
                ],
                "version {v}"
            );
        }
    }
}
