//! Reads a bank statement's table out of a sheet: finds the header under the bank's title rows,
//! recognises French bank headers in both layouts, and reads each line, naming any bad cell.

use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::Error;
use crate::money::Money;
use crate::sheet::{Cell, Sheet, SheetError, normalize_header};

/// Where the columns are. Column indexes are 0-based; `header_row` is the sheet's row number
/// (1-based) of the header, the lines start right below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub header_row: usize,
    pub date: usize,
    pub value_date: Option<usize>,
    /// Label columns, joined with a space (Libellé, then Détail or Référence).
    pub label: Vec<usize>,
    pub amount: AmountColumns,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountColumns {
    /// One signed column (Montant).
    Signed(usize),
    /// Separate Débit and Crédit columns; a debit counts negative whatever its sign.
    DebitCredit { debit: usize, credit: usize },
}

/// One line as the statement gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// The sheet's row number (1-based) of the line's first row.
    pub row: usize,
    pub date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub label: String,
    pub amount: Money,
}

/// A column mapping as a person gives it, in the spreadsheet's own numbering: the header's row
/// from 1, columns as letters (`A`, `AB`) or numbers from 1. The CLI's `--map` text and the
/// import wizard's fields both come here, so both follow one convention and one validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingSpec {
    pub header: String,
    pub date: String,
    #[serde(default)]
    pub value_date: Option<String>,
    /// One column, or several joined by `+` (`E+F`).
    pub label: String,
    /// One signed column, or else `debit` and `credit`.
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub debit: Option<String>,
    #[serde(default)]
    pub credit: Option<String>,
}

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("correspondance des colonnes: {message}"))
}

impl MappingSpec {
    /// Reads `header=4,date=A,label=E+F,debit=C,credit=D` (the CLI's `--map`).
    pub fn parse(text: &str) -> Result<MappingSpec, Error> {
        let mut spec = MappingSpec::default();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| invalid(format!("« {} » n'est pas clé=valeur", part.trim())))?;
            let value = value.trim().to_string();
            let slot = match key.trim() {
                "header" => &mut spec.header,
                "date" => &mut spec.date,
                "label" => &mut spec.label,
                "value_date" => spec.value_date.insert(String::new()),
                "amount" => spec.amount.insert(String::new()),
                "debit" => spec.debit.insert(String::new()),
                "credit" => spec.credit.insert(String::new()),
                other => {
                    return Err(invalid(format!(
                        "clé inconnue « {other} » (header, date, value_date, label, amount, debit, credit)"
                    )));
                }
            };
            *slot = value;
        }
        Ok(spec)
    }

    /// The mapping, every field checked: a header row from 1, readable columns, a label, either
    /// one amount column or both debit and credit, and no column used for two things.
    pub fn resolve(&self) -> Result<Mapping, Error> {
        let header = self.header.trim();
        if header.is_empty() {
            return Err(invalid("ligne d'en-tête manquante (header=N, à partir de 1)"));
        }
        let header_row = header
            .parse::<usize>()
            .ok()
            .filter(|r| *r >= 1)
            .ok_or_else(|| invalid(format!("ligne d'en-tête « {header} »: un numéro de ligne à partir de 1")))?;
        let required = |what: &str, v: &str| {
            if v.trim().is_empty() { Err(invalid(format!("colonne {what} manquante"))) } else { column_index(v) }
        };
        let optional = |v: &Option<String>| v.as_deref().filter(|v| !v.trim().is_empty()).map(column_index).transpose();
        let date = required("date", &self.date)?;
        let value_date = optional(&self.value_date)?;
        if self.label.trim().is_empty() {
            return Err(invalid("colonne libellé manquante"));
        }
        let label = self.label.split('+').map(column_index).collect::<Result<Vec<_>, _>>()?;
        let amount = match (optional(&self.amount)?, optional(&self.debit)?, optional(&self.credit)?) {
            (Some(a), None, None) => AmountColumns::Signed(a),
            (None, Some(debit), Some(credit)) => AmountColumns::DebitCredit { debit, credit },
            _ => return Err(invalid("une colonne montant, ou bien une colonne débit et une colonne crédit")),
        };
        let mapping = Mapping { header_row, date, value_date, label, amount };
        let mut used = std::collections::HashSet::new();
        for c in mapping.columns() {
            if !used.insert(c) {
                return Err(invalid(format!("la colonne {} sert deux fois", column_letter(c))));
            }
        }
        Ok(mapping)
    }
}

/// `A` -> 0, `AB` -> 27, `3` -> 2: letters as the spreadsheet shows them, or numbers from 1.
pub fn column_index(text: &str) -> Result<usize, Error> {
    let t = text.trim();
    let bad = || invalid(format!("colonne « {t} »: une lettre (A, B, …) ou un numéro à partir de 1"));
    if let Ok(n) = t.parse::<usize>() {
        return n.checked_sub(1).filter(|i| *i < MAX_COLUMNS).ok_or_else(bad);
    }
    if t.is_empty() || t.len() > 3 || !t.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let n = t.to_ascii_uppercase().bytes().fold(0usize, |acc, b| acc * 26 + usize::from(b - b'A' + 1));
    n.checked_sub(1).filter(|i| *i < MAX_COLUMNS).ok_or_else(bad)
}

/// The widest sheet any spreadsheet program writes (XFD).
const MAX_COLUMNS: usize = 16_384;

impl Mapping {
    /// Every column the mapping reads.
    fn columns(&self) -> Vec<usize> {
        let mut cols = vec![self.date];
        cols.extend(self.value_date);
        cols.extend(&self.label);
        match self.amount {
            AmountColumns::Signed(a) => cols.push(a),
            AmountColumns::DebitCredit { debit, credit } => cols.extend([debit, credit]),
        }
        cols
    }

    /// The mapping fits this sheet: its header is one of the sheet's rows and its columns are
    /// within the widest row. Checked before reading, whatever the mapping came from (a saved
    /// profile may predate the sheet, a deserialized one may hold anything).
    pub fn check(&self, sheet: &Sheet) -> Result<(), SheetError> {
        let place = |row: Option<usize>, message: String| SheetError {
            file: sheet.file.clone(),
            sheet: sheet.sheet.clone(),
            row,
            column: None,
            message: format!("correspondance des colonnes: {message}"),
        };
        if self.header_row == 0 || self.header_row > sheet.rows.len() {
            return Err(place(
                None,
                format!("ligne d'en-tête {} hors du relevé (lignes 1 à {})", self.header_row, sheet.rows.len()),
            ));
        }
        let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
        if let Some(c) = self.columns().into_iter().find(|c| *c >= width) {
            let last = width.checked_sub(1).map(column_letter).unwrap_or_else(|| "aucune".into());
            return Err(place(
                Some(self.header_row),
                format!("colonne {} au-delà de la dernière colonne du relevé ({last})", column_letter(c)),
            ));
        }
        Ok(())
    }
}

const DATE: &[&str] = &[
    "date",
    "date_operation",
    "date_d_operation",
    "date_de_l_operation",
    "date_comptable",
    "date_de_comptabilisation",
    "date_ope",
];
const VALUE_DATE: &[&str] = &["date_valeur", "date_de_valeur", "valeur"];
const LABEL: &[&str] = &[
    "libelle",
    "libelle_operation",
    "libelle_de_l_operation",
    "intitule",
    "description",
    "libelle_simplifie",
    "operation",
    "nature_de_l_operation",
];
const DETAIL: &[&str] = &[
    "detail",
    "details",
    "reference",
    "ref",
    "motif",
    "libelle_complementaire",
    "informations_complementaires",
    "commentaire",
];
const DEBIT: &[&str] = &["debit", "debits", "montant_debit", "debit_eur", "debit_euros", "sortie"];
const CREDIT: &[&str] = &["credit", "credits", "montant_credit", "credit_eur", "credit_euros", "entree"];
const AMOUNT: &[&str] = &["montant", "montant_eur", "montant_euros", "amount", "somme", "montant_de_l_operation"];

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.as_str()))
}

/// Recognises the header row and its columns; when it cannot, says which columns are missing and
/// returns the first rows for a mapping step.
pub fn detect(sheet: &Sheet) -> Result<Mapping, Error> {
    let mut best: Option<(usize, usize, Vec<String>)> = None;
    for (i, row) in sheet.rows.iter().enumerate().take(40) {
        let header: Vec<String> = row.iter().map(|c| normalize_header(&c.text())).collect();
        let known = header
            .iter()
            .filter(|h| {
                [DATE, VALUE_DATE, LABEL, DETAIL, DEBIT, CREDIT, AMOUNT].iter().any(|set| set.contains(&h.as_str()))
            })
            .count();
        if known >= 2 && best.as_ref().is_none_or(|b| known > b.1) {
            best = Some((i, known, header));
        }
    }
    let mut missing = Vec::new();
    if let Some((i, _, header)) = &best {
        let date = find(header, DATE);
        let label = find(header, LABEL).or_else(|| find(header, DETAIL));
        let amount = match (find(header, DEBIT), find(header, CREDIT), find(header, AMOUNT)) {
            (Some(debit), Some(credit), _) => Some(AmountColumns::DebitCredit { debit, credit }),
            (_, _, Some(a)) => Some(AmountColumns::Signed(a)),
            _ => None,
        };
        if date.is_none() {
            missing.push("date");
        }
        if label.is_none() {
            missing.push("libellé");
        }
        if amount.is_none() {
            missing.push("montant ou débit/crédit");
        }
        if let (Some(date), Some(label), Some(amount)) = (date, label, amount) {
            let mut labels = vec![label];
            labels.extend(find(header, DETAIL).filter(|d| *d != label));
            return Ok(Mapping {
                header_row: i + 1,
                date,
                value_date: find(header, VALUE_DATE),
                label: labels,
                amount,
            });
        }
    } else {
        missing.push("en-tête");
    }
    Err(Error::MappingNeeded { file: sheet.file.clone(), missing: missing.join(", "), preview: preview(sheet, 12) })
}

/// The first rows of the sheet as text, for the mapping step.
pub fn preview(sheet: &Sheet, rows: usize) -> Vec<Vec<String>> {
    sheet.rows.iter().take(rows).map(|r| r.iter().map(Cell::text).collect()).collect()
}

fn closing_row(label: &str) -> bool {
    let l = normalize_header(label);
    l.starts_with("solde") || l.starts_with("total") || l.starts_with("nouveau_solde") || l.starts_with("ancien_solde")
}

/// Reads every line below the header. A row without a date or amount continues the previous
/// line's label (banks split long labels over rows); balance and total rows are skipped.
pub fn read_lines(sheet: &Sheet, m: &Mapping) -> Result<Vec<ParsedLine>, SheetError> {
    static EMPTY: Cell = Cell::Empty;
    m.check(sheet)?;
    let header: Vec<String> =
        sheet.rows.get(m.header_row - 1).map(|r| r.iter().map(Cell::text).collect()).unwrap_or_default();
    let col_name =
        |i: usize| header.get(i).filter(|h| !h.is_empty()).cloned().unwrap_or_else(|| column_letter(i).to_string());
    let mut out: Vec<ParsedLine> = Vec::new();
    for (ri, row) in sheet.rows.iter().enumerate().skip(m.header_row) {
        let cell = |i: usize| row.get(i).unwrap_or(&EMPTY);
        let label = label_of(m.label.iter().map(|&i| cell(i)));
        let too_long = |label: &str| {
            let n = label.chars().count();
            (n > MAX_LABEL).then(|| {
                let column = m.label.first().map(|&i| col_name(i));
                sheet.error_at(ri, column.as_deref(), format!("libellé démesuré ({n} caractères, {MAX_LABEL} au plus)"))
            })
        };
        if let Some(e) = too_long(&label) {
            return Err(e);
        }
        let money = |i: usize| cell(i).money().map_err(|msg| sheet.error_at(ri, Some(&col_name(i)), msg));
        let amount = match m.amount {
            AmountColumns::Signed(a) => money(a)?,
            AmountColumns::DebitCredit { debit, credit } => match (money(debit)?, money(credit)?) {
                (Some(d), None) => Some(-d.abs()),
                (None, Some(c)) => Some(c),
                (None, None) => None,
                (Some(d), Some(c)) if d.is_zero() => Some(c),
                (Some(d), Some(c)) if c.is_zero() => Some(-d.abs()),
                (Some(_), Some(_)) => {
                    return Err(sheet.error_at(
                        ri,
                        Some(&col_name(credit)),
                        "débit et crédit remplis sur la même ligne",
                    ));
                }
            },
        };
        let date_cell = cell(m.date);
        if date_cell.is_empty() {
            match (amount, out.last_mut()) {
                (None, Some(prev)) if !label.is_empty() && !closing_row(&label) => {
                    prev.label.push(' ');
                    prev.label.push_str(&label);
                    if let Some(e) = too_long(&prev.label) {
                        return Err(e);
                    }
                }
                (None, _) => {}
                (Some(_), _) if closing_row(&label) || label.is_empty() => {}
                (Some(_), _) => return Err(sheet.error_at(ri, Some(&col_name(m.date)), "date manquante")),
            }
            continue;
        }
        let date = match date_cell.date() {
            Ok(d) => d,
            Err(_) if closing_row(&date_cell.text()) || closing_row(&label) => continue,
            Err(msg) => return Err(sheet.error_at(ri, Some(&col_name(m.date)), msg)),
        };
        let Some(amount) = amount else {
            return Err(sheet.error_at(ri, Some(&col_name(amount_column(m))), "montant manquant"));
        };
        let value_date = match m.value_date.map(cell).filter(|c| !c.is_empty()) {
            Some(c) => Some(c.date().map_err(|msg| sheet.error_at(ri, m.value_date.map(col_name).as_deref(), msg))?),
            None => None,
        };
        if label.is_empty() {
            return Err(sheet.error_at(ri, Some(&col_name(m.label[0])), "libellé vide"));
        }
        out.push(ParsedLine { row: ri + 1, date, value_date, label, amount });
    }
    Ok(out)
}

/// A line's label from its label cells: their words, in order, one space apart (line breaks and
/// runs of spaces included). Built once, without a copy at each step: a statement has 50,000.
/// The longest label kept: a SEPA transfer's remittance information is 140 characters, and a
/// bank's label with its continuation lines a few hundred; more is a stray cell or a crafted file.
pub const MAX_LABEL: usize = 2_000;

/// `lines`, unless one's label is longer than `MAX_LABEL`: what a CAMT or CFONB file's texts built
/// is bounded as a sheet's label is.
pub fn bounded_labels(file: &str, lines: Vec<ParsedLine>) -> Result<Vec<ParsedLine>, SheetError> {
    for line in &lines {
        let n = line.label.chars().count();
        if n > MAX_LABEL {
            return Err(SheetError {
                file: file.to_string(),
                sheet: None,
                row: Some(line.row),
                column: None,
                message: format!("libellé démesuré ({n} caractères, {MAX_LABEL} au plus)"),
            });
        }
    }
    Ok(lines)
}

/// The label cells' words joined by single spaces; control characters count as spaces.
fn label_of<'c>(cells: impl Iterator<Item = &'c Cell>) -> String {
    let mut label = String::new();
    for cell in cells {
        for word in cell.str().split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()) {
            if !label.is_empty() {
                label.push(' ');
            }
            label.push_str(word);
        }
    }
    label
}

fn amount_column(m: &Mapping) -> usize {
    match m.amount {
        AmountColumns::Signed(a) => a,
        AmountColumns::DebitCredit { credit, .. } => credit,
    }
}

/// `0` -> `A`, `27` -> `AB`: a column as the spreadsheet names it.
pub fn column_letter(i: usize) -> String {
    let mut n = i + 1;
    let mut s = String::new();
    while n > 0 {
        let r = (n - 1) % 26;
        s.insert(0, (b'A' + r as u8) as char);
        n = (n - 1) / 26;
    }
    s
}

/// The label as it identifies a line: upper-case, accents dropped, spaces folded.
pub fn canonical_label(label: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // Most bank labels are ASCII already: nothing to decompose (reading a 50,000-line statement,
    // its labels and fingerprints took 320–410 ms with every label decomposed, 250–260 without).
    let ascii;
    let label = if label.is_ascii() {
        label
    } else {
        ascii = label.nfd().filter(|c| c.is_ascii()).collect::<String>();
        &ascii
    };
    let mut out = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.bytes().map(|b| char::from(b.to_ascii_uppercase())));
    }
    out
}

/// The fingerprints of a file's lines: a hash of date, amount, label, and the line's rank among
/// the identical lines of this file. A re-import or an overlapping statement gives the same
/// fingerprints; two identical lines of one day get ranks 1 and 2 and both stay.
pub fn fingerprints(lines: &[ParsedLine]) -> Vec<String> {
    let canonical: Vec<String> = lines.iter().map(|l| canonical_label(&l.label)).collect();
    fingerprints_of(lines, &canonical)
}

/// `fingerprints`, given each line's `canonical_label` (computed once for other uses too).
pub fn fingerprints_of(lines: &[ParsedLine], canonical: &[String]) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    lines
        .iter()
        .zip(canonical)
        .map(|(l, canonical)| {
            let key = format!("{}|{}|{}", l.date, l.amount.cents(), canonical);
            let rank = seen.entry(key.clone()).or_insert(0);
            *rank += 1;
            format!("{:016x}", fnv1a64(format!("{key}#{rank}").as_bytes()))
        })
        .collect()
}

/// FNV-1a, 64 bits: stable across versions and machines (unlike std's hasher), and with about
/// 1e-10 odds of a collision among a hundred thousand lines.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &[&[&str]]) -> Sheet {
        Sheet {
            file: "releve.csv".into(),
            sheet: None,
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| if c.is_empty() { Cell::Empty } else { Cell::Text(c.to_string()) }).collect())
                .collect(),
        }
    }

    #[test]
    fn finds_the_table_under_title_rows_with_debit_and_credit() {
        let s = sheet(&[
            &["Relevé de compte", "", ""],
            &["Compte n° 00010038348", "", ""],
            &["Du 01/09/2025 au 30/09/2025", "", ""],
            &["Date", "Date de valeur", "Débit", "Crédit", "Libellé", "Solde"],
            &["05/09/2025", "05/09/2025", "", "1 630,50", "VIR SEPA RECU /DE DURAND LEA", "10 000,00"],
            &["", "", "", "", "/MOTIF DURAND+ISIMA+F.I", ""],
            &["06/09/2025", "06/09/2025", "12,00", "", "FRAIS TENUE DE COMPTE", ""],
            &["", "", "", "", "Solde au 30/09/2025", "9 988,00"],
        ]);
        let m = detect(&s).unwrap();
        assert_eq!(m.header_row, 4);
        assert_eq!(m.amount, AmountColumns::DebitCredit { debit: 2, credit: 3 });
        let lines = read_lines(&s, &m).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].label, "VIR SEPA RECU /DE DURAND LEA /MOTIF DURAND+ISIMA+F.I");
        assert_eq!(lines[0].amount, Money::from_cents(163050));
        assert_eq!(lines[1].amount, Money::from_cents(-1200));
        assert_eq!(lines[0].row, 5);
    }

    /// Control characters read as spaces; a label beyond `MAX_LABEL`, on one row or grown by its
    /// continuation rows, is refused at the row that makes it too long.
    #[test]
    fn labels_are_cleaned_and_bounded() {
        let header: &[&str] = &["Date", "Libellé", "Montant"];
        let s = sheet(&[header, &["05/09/2025", "VIR\u{1}DURAND\u{0}LEA\u{7f}", "10,00"]]);
        assert_eq!(read_lines(&s, &detect(&s).unwrap()).unwrap()[0].label, "VIR DURAND LEA");
        let long = "A".repeat(MAX_LABEL + 1);
        let s = sheet(&[header, &["05/09/2025", "VIR X", "10,00"], &["06/09/2025", &long, "10,00"]]);
        let e = read_lines(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(3), Some("Libellé")));
        assert!(e.message.contains("libellé démesuré (2001 caractères, 2000 au plus)"), "{}", e.message);
        let part = "B".repeat(MAX_LABEL / 2);
        let s = sheet(&[header, &["05/09/2025", "VIR X", "10,00"], &["", &part, ""], &["", &part, ""]]);
        let e = read_lines(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(4), Some("Libellé")));
        let s = sheet(&[header, &["05/09/2025", &part, "10,00"], &["", &part[1..], ""]]);
        assert_eq!(read_lines(&s, &detect(&s).unwrap()).unwrap()[0].label.len(), MAX_LABEL);
    }

    #[test]
    fn signed_amount_layout_and_bad_cells_are_located() {
        let s = sheet(&[
            &["Date opération", "Libellé", "Montant"],
            &["2025-09-05", "VIR X", "-1.630,50"],
            &["32/09/2025", "VIR Y", "10,00"],
        ]);
        let m = detect(&s).unwrap();
        assert_eq!(m.amount, AmountColumns::Signed(2));
        let e = read_lines(&s, &m).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(3), Some("Date opération")));
        let s = sheet(&[&["Date", "Libellé", "Montant"], &["05/09/2025", "VIR X", "abc"]]);
        let e = read_lines(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Montant")));
    }

    #[test]
    fn unknown_headers_ask_for_a_mapping() {
        let s = sheet(&[&["Jour", "Texte", "Valeur"], &["05/09/2025", "VIR", "10,00"]]);
        match detect(&s) {
            Err(Error::MappingNeeded { missing, preview, .. }) => {
                assert!(missing.contains("en-tête"), "{missing}");
                assert_eq!(preview[1][2], "10,00");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mappings_are_given_in_the_spreadsheet_s_numbering_and_validated() {
        let m = MappingSpec::parse("header=5,date=A,label=E+F,debit=C,credit=D").unwrap().resolve().unwrap();
        assert_eq!(m.header_row, 5);
        assert_eq!((m.date, m.label.clone()), (0, vec![4, 5]));
        assert_eq!(m.amount, AmountColumns::DebitCredit { debit: 2, credit: 3 });
        let numbers = MappingSpec::parse("header=1,date=1,label=2,amount=3").unwrap().resolve().unwrap();
        assert_eq!((numbers.date, numbers.label.clone(), numbers.amount), (0, vec![1], AmountColumns::Signed(2)));
        assert_eq!(column_index("ab").unwrap(), 27);
        assert_eq!(column_letter(27), "AB");

        let refused = |text: &str| match MappingSpec::parse(text).and_then(|s| s.resolve()) {
            Err(Error::Invalid(msg)) => msg,
            other => panic!("{text}: {other:?}"),
        };
        assert!(refused("header=0,date=A,label=B,amount=C").contains("à partir de 1"));
        assert!(refused("header=-1,date=A,label=B,amount=C").contains("ligne d'en-tête"));
        assert!(refused("date=A,label=B,amount=C").contains("en-tête manquante"));
        assert!(refused("header=1,date=0,label=B,amount=C").contains("colonne « 0 »"));
        assert!(refused("header=1,date=A1,label=B,amount=C").contains("colonne « A1 »"));
        assert!(refused("header=1,date=ZZZZ,label=B,amount=C").contains("colonne « ZZZZ »"));
        assert!(refused("header=1,date=A,label=A,amount=C").contains("sert deux fois"));
        assert!(refused("header=1,date=A,label=B,debit=C").contains("débit"));
        assert!(refused("header=1,date=A,label=B,amount=C,debit=D,credit=E").contains("débit"));
        assert!(refused("header=1,date=A,amount=C").contains("libellé"));
        assert!(refused("header=1,date=A,label=B,amount=C,colonne=D").contains("clé inconnue"));

        let s = sheet(&[&["Jour", "Texte", "Valeur"], &["05/09/2025", "VIR X", "10,00"]]);
        let spec = |t: &str| MappingSpec::parse(t).unwrap().resolve().unwrap();
        assert_eq!(read_lines(&s, &spec("header=1,date=A,label=B,amount=C")).unwrap().len(), 1);
        let e = read_lines(&s, &spec("header=3,date=A,label=B,amount=C")).unwrap_err();
        assert!(e.message.contains("hors du relevé"), "{e}");
        let e = read_lines(&s, &spec("header=1,date=A,label=B,amount=D")).unwrap_err();
        assert!(e.message.contains("colonne D au-delà"), "{e}");
        // A mapping built or deserialized elsewhere (an old profile) is checked too: no underflow.
        let zero = Mapping { header_row: 0, ..spec("header=1,date=A,label=B,amount=C") };
        assert!(read_lines(&s, &zero).is_err());
    }

    #[test]
    fn identical_lines_get_ranks() {
        let d = NaiveDate::from_ymd_opt(2025, 9, 5).unwrap();
        let l = ParsedLine {
            row: 1,
            date: d,
            value_date: None,
            label: "VIR Élodie".into(),
            amount: Money::from_cents(1000),
        };
        let f = fingerprints(&[l.clone(), l.clone()]);
        assert_ne!(f[0], f[1], "two identical lines of one day stay two lines");
        let same = ParsedLine { label: "vir  elodie".into(), ..l.clone() };
        assert_eq!(fingerprints(&[same])[0], f[0], "case, accents and spaces do not make a line new");
        assert_eq!(f[0], format!("{:016x}", fnv1a64(b"2025-09-05|1000|VIR ELODIE#1")));
    }

    /// The canonical label as first written (every label decomposed): the fingerprints of lines
    /// imported then must not change.
    fn canonical_as_first_written(label: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        label
            .nfd()
            .filter(|c| c.is_ascii())
            .collect::<String>()
            .to_uppercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn an_ascii_label_is_canonical_as_before_without_being_decomposed() {
        for label in [
            "vir  élodie",
            " VIR\tSEPA\x0bRECU \r\n",
            "",
            "   ",
            "F.I/DE DUPONT/MOTIF",
            "ÆØ Å ß ﬁ",
            "a\u{a0}b\u{2003}c",
        ] {
            assert_eq!(canonical_label(label), canonical_as_first_written(label), "{label:?}");
        }
    }

    proptest::proptest! {
        /// The label read from one to three cells is the one the importer first read: each cell's
        /// text with its line breaks as spaces, the non-empty ones joined by a space, then every
        /// run of white space made one.
        #[test]
        fn a_label_over_cells_is_read_as_before(texts in proptest::collection::vec("[ -~\t\x0b\r\néÀ\u{a0}\u{2003}]{0,20}", 1..4)) {
            let cells: Vec<Cell> = texts.iter().map(|t| Cell::Text(t.clone())).collect();
            let before = cells
                .iter()
                .map(|c| c.text().replace(['\r', '\n'], " "))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let before = before.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(label_of(cells.iter()), before);
        }

        #[test]
        fn any_label_is_canonical_as_before(label in "[ -~\t\x0b\x0c\r\néèÀçÿ\u{a0}\u{2003}\u{301}ß]{0,40}") {
            proptest::prop_assert_eq!(canonical_label(&label), canonical_as_first_written(&label));
        }
    }
}
