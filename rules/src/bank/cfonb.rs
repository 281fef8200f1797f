//! CFONB 120: the French banks' fixed-width statement (relevé de compte 120 caractères). Records
//! of 120 characters, with or without line breaks: 01 old balance, 04 movement, 05 its complement
//! (label, payer, end-to-end reference), 07 new balance; Latin-1; amounts signed by their last
//! character with the decimals given by the record.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::table::ParsedLine;
use crate::money::Money;
use crate::sheet::SheetError;

const RECORD: usize = 120;

/// Whether the bytes look like a CFONB 120 statement: records of 120 characters (line breaks
/// aside) opening with an old-balance record (bank code, decimals and date in their places),
/// the next one a movement, a complement or the new balance. A spreadsheet whose first cell is a
/// number is not taken for one.
pub fn looks_like(bytes: &[u8]) -> bool {
    let head: Vec<u8> = bytes.iter().copied().filter(|b| !matches!(b, b'\r' | b'\n')).take(RECORD * 2).collect();
    let digits = |from: usize, to: usize| head[from - 1..to].iter().all(u8::is_ascii_digit);
    head.len() >= RECORD + 2
        && head.starts_with(b"01")
        && digits(3, 7)
        && digits(20, 20)
        && digits(35, 40)
        && [&b"04"[..], b"05", b"07"].contains(&&head[RECORD..RECORD + 2])
}

/// Reads every movement of the file, each with its complements: the bank's label, then the
/// payer (as `/DE`), the reason and the end-to-end reference, as the matcher reads labels.
/// An error names the record (its rank from 1) and the field.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<ParsedLine>, SheetError> {
    let err = |record: usize, field: &str, message: String| SheetError {
        file: file.to_string(),
        sheet: None,
        row: Some(record),
        column: Some(field.to_string()),
        message,
    };
    if bytes.len() > super::camt::MAX_BYTES {
        let message = format!("fichier de plus de {} Mo", super::camt::MAX_BYTES >> 20);
        return Err(SheetError { file: file.to_string(), sheet: None, row: None, column: None, message });
    }
    // Latin-1: every byte is the character of the same number.
    let text: Vec<char> = bytes.iter().filter(|b| !matches!(b, b'\r' | b'\n')).map(|&b| char::from(b)).collect();
    if !text.len().is_multiple_of(RECORD) {
        return Err(err(
            text.len() / RECORD + 1,
            "enregistrement",
            format!("{} caractères : un relevé CFONB est fait d'enregistrements de 120", text.len()),
        ));
    }
    let mut out: Vec<(ParsedLine, Complements)> = Vec::new();
    for (k, record) in text.chunks(RECORD).enumerate() {
        let n = k + 1;
        let field = |from: usize, to: usize| -> String { record[from - 1..to].iter().collect() };
        match field(1, 2).as_str() {
            "01" | "07" => {}
            "04" => {
                let decimals = field(20, 20);
                let decimals = decimals
                    .parse::<u32>()
                    .ok()
                    .filter(|d| *d <= 3)
                    .ok_or_else(|| err(n, "nombre de décimales (20)", format!("« {decimals} » n'est pas 0 à 3")))?;
                let date = date(&field(35, 40)).map_err(|m| err(n, "date d'opération (35-40)", m))?;
                let value_date = date_or_blank(&field(43, 48)).map_err(|m| err(n, "date de valeur (43-48)", m))?;
                let amount = amount(&field(91, 104), decimals).map_err(|m| err(n, "montant (91-104)", m))?;
                let label = clean(&field(49, 79));
                out.push((ParsedLine { row: n, date, value_date, label, amount }, Complements::default()));
            }
            "05" => {
                let Some((_, more)) = out.last_mut() else {
                    return Err(err(
                        n,
                        "code enregistrement (1-2)",
                        "complément 05 sans opération 04 avant lui".into(),
                    ));
                };
                let info = clean(&field(49, 118));
                match field(46, 48).as_str() {
                    "NPY" | "NPO" => more.payer.push(info),
                    "RCN" | "REF" => more.reference.push(info),
                    _ => more.reason.push(info),
                }
            }
            other => {
                return Err(err(
                    n,
                    "code enregistrement (1-2)",
                    format!("« {} » : ni 01, 04, 05 ni 07", other.escape_debug()),
                ));
            }
        }
    }
    super::table::bounded_labels(file, out.into_iter().map(|(line, more)| more.into_line(line)).collect())
}

/// What the 05 records add to a movement.
#[derive(Default)]
struct Complements {
    payer: Vec<String>,
    reason: Vec<String>,
    reference: Vec<String>,
}

impl Complements {
    /// The label as a bank's spreadsheet writes it: `<label> /DE <payer> /MOTIF <reason> /REF <ref>`.
    fn into_line(self, mut line: ParsedLine) -> ParsedLine {
        for (tag, parts) in [("/DE", self.payer), ("/MOTIF", self.reason), ("/REF", self.reference)] {
            let text = parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                line.label = format!("{} {tag} {text}", line.label);
            }
        }
        line
    }
}

/// Runs of spaces as one, control characters dropped.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `JJMMAA`, this century.
fn date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let two = |k: usize| u32::from(b[k] - b'0') * 10 + u32::from(b[k + 1] - b'0');
    let d = (b.len() == 6 && b.iter().all(u8::is_ascii_digit))
        .then(|| NaiveDate::from_ymd_opt(2000 + two(4) as i32, two(2), two(0)))
        .flatten();
    d.ok_or_else(|| format!("date illisible « {s} » (attendu JJMMAA)"))
}

fn date_or_blank(s: &str) -> Result<Option<NaiveDate>, String> {
    if s.trim().is_empty() || s == "000000" { Ok(None) } else { date(s).map(Some) }
}

/// Fourteen characters, the last one carrying both the last digit and the sign: `{` `A`..`I` for
/// +0..+9, `}` `J`..`R` for -0..-9.
fn amount(s: &str, decimals: u32) -> Result<Money, String> {
    let bad = || format!("montant illisible « {s} »");
    let (digits, last) = s.split_at(s.len().saturating_sub(1));
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (digit, negative) = match last.bytes().next().ok_or_else(bad)? {
        b'{' => (0, false),
        b'}' => (0, true),
        c @ b'A'..=b'I' => (c - b'A' + 1, false),
        c @ b'J'..=b'R' => (c - b'J' + 1, true),
        _ => return Err(bad()),
    };
    let units = Decimal::from_str(&format!("{digits}{digit}")).map_err(|_| bad())?;
    let value = units / Decimal::from(10u64.pow(decimals));
    let money = Money::new(value).map_err(|e| e.to_string())?;
    Ok(if negative { -money } else { money })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record laid out field by field (1-based positions), padded to 120.
    fn record(fields: &[(usize, &str)]) -> String {
        let mut r = vec![' '; RECORD];
        for (at, text) in fields {
            for (i, c) in text.chars().enumerate() {
                r[at - 1 + i] = c;
            }
        }
        r.into_iter().collect()
    }

    fn movement(code: &str, date: &str, label: &str, amount: &str) -> String {
        record(&[
            (1, code),
            (3, "30004"),
            (12, "00123"),
            (17, "EUR"),
            (20, "2"),
            (22, "00012345678"),
            (35, date),
            (43, date),
            (49, label),
            (91, amount),
        ])
    }

    fn complement(kind: &str, info: &str) -> String {
        record(&[
            (1, "05"),
            (3, "30004"),
            (17, "EUR"),
            (20, "2"),
            (22, "00012345678"),
            (35, "081025"),
            (46, kind),
            (49, info),
        ])
    }

    fn statement(sep: &str) -> String {
        [
            record(&[(1, "01"), (3, "30004"), (20, "2"), (35, "300925"), (91, "0000012800000{")]),
            movement("04", "081025", "VIR SEPA RECU", "0000000002060{"),
            complement("NPY", "DURAND LEA"),
            complement("LIB", "DURAND+ISIMA+F.I"),
            complement("RCN", "NOTPROVIDED"),
            movement("04", "091025", "PRLV SEPA EDF", "0000000000541}"),
            movement("04", "101025", "VIR SEPA RECU /DE PAUL DURAND", "0000000001630E"),
            record(&[(1, "07"), (3, "30004"), (20, "2"), (35, "311025"), (91, "0000012800000{")]),
        ]
        .join(sep)
    }

    /// A movement whose complements make its label longer than any bank's is refused at its
    /// record, as a statement's sheet is.
    #[test]
    fn complements_beyond_a_label_s_length_are_refused() {
        let mut records = vec![
            record(&[(1, "01"), (3, "30004"), (20, "2"), (35, "300925"), (91, "0000012800000{")]),
            movement("04", "081025", "VIR SEPA RECU", "0000000002060{"),
        ];
        records.extend((0..40).map(|_| complement("LIB", &"X".repeat(60))));
        let e = parse(records.concat().as_bytes(), "releve.cfonb").unwrap_err();
        assert_eq!(e.row, Some(2));
        assert!(e.message.starts_with("libellé démesuré"), "{}", e.message);
        records.truncate(2 + 20);
        assert!(parse(records.concat().as_bytes(), "releve.cfonb").is_ok());
    }

    #[test]
    fn movements_with_their_complements_with_or_without_line_breaks() {
        for sep in ["", "\n", "\r\n"] {
            let bytes = statement(sep).into_bytes();
            assert!(looks_like(&bytes), "{sep:?}");
            let lines = parse(&bytes, "releve.cfonb").unwrap();
            let got: Vec<(usize, String, &str, i64)> =
                lines.iter().map(|l| (l.row, l.date.to_string(), l.label.as_str(), l.amount.cents())).collect();
            assert_eq!(
                got,
                [
                    (
                        2,
                        "2025-10-08".into(),
                        "VIR SEPA RECU /DE DURAND LEA /MOTIF DURAND+ISIMA+F.I /REF NOTPROVIDED",
                        20600
                    ),
                    (6, "2025-10-09".into(), "PRLV SEPA EDF", -5410),
                    (7, "2025-10-10".into(), "VIR SEPA RECU /DE PAUL DURAND", 16305),
                ]
            );
        }
    }

    /// Every day of the century as `JJMMAA` reads as chrono reads it; what is no date does not.
    #[test]
    fn dates_of_the_century() {
        use chrono::Datelike;
        let mut d = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        while d.year() < 2100 {
            assert_eq!(date(&d.format("%d%m%y").to_string()), Ok(d));
            d = d + chrono::Days::new(7);
        }
        for bad in ["310225", "290225", "000125", "051325", "05092a", "5092025", "", "+50925"] {
            assert!(date(bad).is_err(), "{bad}");
        }
        assert_eq!(date("290224"), Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()));
    }

    #[test]
    fn signed_amounts_and_decimals() {
        assert_eq!(amount("0000000002060{", 2).unwrap().cents(), 20600);
        assert_eq!(amount("0000000002060}", 2).unwrap().cents(), -20600);
        assert_eq!(amount("0000000000012R", 2).unwrap().cents(), -129);
        assert_eq!(amount("0000000000206A", 0).unwrap().cents(), 206100);
        assert_eq!(amount("0000000002061{", 3).unwrap().cents(), 2061);
        assert!(amount("00000000020600", 2).is_err(), "no sign");
        assert!(amount("000000000206XA", 2).is_err());
        assert!(amount("0000000000001A", 3).unwrap_err().contains("centime"), "a tenth of a cent");
    }

    #[test]
    fn a_broken_file_names_the_record_and_the_field() {
        let mut text = statement("\n");
        text.replace_range(121 + 34..121 + 40, "321325");
        let e = parse(text.as_bytes(), "r.txt").unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("date d'opération (35-40)")), "{e}");
        let e = parse(&statement("").as_bytes()[..500], "r.txt").unwrap_err();
        assert_eq!(e.row, Some(5), "{e}");
        let e = parse(complement("NPY", "X").as_bytes(), "r.txt").unwrap_err();
        assert!(e.message.contains("sans opération"), "{e}");
        let junk: Vec<u8> = (0..1200u32).map(|i| (i * 7 % 256) as u8).collect();
        assert!(!looks_like(&junk));
        let numbers = format!("{}\n", ["0123456789;Durand;Léa;206,00"; 10].join("\n"));
        assert!(!looks_like(numbers.as_bytes()), "a CSV whose first cell is a number");
        assert!(parse(&junk, "junk").is_err());
    }
}
