//! Reads the payment gateway's transaction export (Paybox back office): finds its header, maps the
//! columns (French headers by default, a saved mapping otherwise) and reads each row, naming any bad cell.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::bank::table::column_index;
use crate::money::Money;
use crate::sheet::{Cell, Sheet, SheetError, normalize_header};

/// A column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Date,
    Time,
    Number,
    Call,
    Reference,
    Amount,
    Currency,
    Kind,
    Status,
    Response,
    CardType,
    Remittance,
    RemittanceDate,
    Email,
}

impl Field {
    const ALL: [Field; 14] = [
        Field::Date,
        Field::Time,
        Field::Number,
        Field::Call,
        Field::Reference,
        Field::Amount,
        Field::Currency,
        Field::Kind,
        Field::Status,
        Field::Response,
        Field::CardType,
        Field::Remittance,
        Field::RemittanceDate,
        Field::Email,
    ];

    /// The key of `--map` (`number=C`) and of a saved profile.
    pub fn key(self) -> &'static str {
        match self {
            Field::Date => "date",
            Field::Time => "time",
            Field::Number => "number",
            Field::Call => "call",
            Field::Reference => "reference",
            Field::Amount => "amount",
            Field::Currency => "currency",
            Field::Kind => "kind",
            Field::Status => "status",
            Field::Response => "response",
            Field::CardType => "card_type",
            Field::Remittance => "remittance",
            Field::RemittanceDate => "remittance_date",
            Field::Email => "email",
        }
    }

    /// The headers recognised for it, normalised (lower case, no accents, `_` for separators).
    fn headers(self) -> &'static [&'static str] {
        match self {
            Field::Date => &["date", "date_de_la_transaction", "date_transaction", "date_de_transaction"],
            Field::Time => &["heure", "heure_de_la_transaction", "heure_transaction"],
            Field::Number => &[
                "numero_de_transaction",
                "numero_transaction",
                "n_transaction",
                "no_transaction",
                "num_transaction",
                "transaction",
                "numtrans",
            ],
            Field::Call => &["numero_d_appel", "numero_appel", "n_appel", "no_appel", "appel", "numappel"],
            Field::Reference => &[
                "reference",
                "reference_commande",
                "reference_de_la_commande",
                "ref_commande",
                "reference_de_commande",
                "commande",
            ],
            Field::Amount => &["montant", "montant_ttc", "montant_de_la_transaction"],
            Field::Currency => &["devise", "monnaie"],
            Field::Kind => &["type", "type_de_transaction", "type_transaction", "operation"],
            Field::Status => &["statut", "etat", "statut_de_la_transaction"],
            Field::Response => &["code_reponse", "code_de_reponse", "code_retour", "reponse"],
            Field::CardType => &["type_de_carte", "type_carte", "carte", "moyen_de_paiement"],
            Field::Remittance => &["numero_de_remise", "numero_remise", "n_remise", "no_remise", "remise"],
            Field::RemittanceDate => &["date_de_remise", "date_remise"],
            Field::Email => {
                &["e_mail", "email", "mail", "e_mail_du_porteur", "email_porteur", "adresse_e_mail", "courriel"]
            }
        }
    }

    fn required(self) -> bool {
        matches!(self, Field::Date | Field::Number | Field::Reference | Field::Amount | Field::Status)
    }
}

/// Where the columns are: 0-based column per field; `header_row` is the sheet's row (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub header_row: usize,
    pub columns: BTreeMap<Field, usize>,
}

impl Mapping {
    /// Reads `header=1,date=A,number=C,reference=E,amount=F,status=I` (the CLI's `--map`): rows
    /// from 1, columns as letters or numbers from 1, as the spreadsheet shows them.
    pub fn parse(text: &str) -> Result<Mapping, Error> {
        let invalid = |m: String| Error::Invalid(format!("correspondance des colonnes: {m}"));
        let mut header_row = None;
        let mut columns = BTreeMap::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| invalid(format!("« {} » n'est pas clé=valeur", part.trim())))?;
            let (key, value) = (key.trim(), value.trim());
            if key == "header" {
                let row: usize = value
                    .parse()
                    .ok()
                    .filter(|r| (1..=1000).contains(r))
                    .ok_or_else(|| invalid(format!("ligne d'en-tête « {value} » (1 à 1000)")))?;
                header_row = Some(row);
                continue;
            }
            let field = Field::ALL
                .into_iter()
                .find(|f| f.key() == key)
                .ok_or_else(|| invalid(format!("colonne inconnue « {key} »")))?;
            columns.insert(field, column_index(value)?);
        }
        let m = Mapping { header_row: header_row.ok_or_else(|| invalid("header=N manque".into()))?, columns };
        for f in Field::ALL.into_iter().filter(|f| f.required()) {
            if !m.columns.contains_key(&f) {
                return Err(invalid(format!("{}=COLONNE manque", f.key())));
            }
        }
        Ok(m)
    }
}

/// Finds the header row (the first of the first 30 rows naming the required columns) and maps
/// the French headers the gateway's back office writes.
pub fn detect(sheet: &Sheet) -> Result<Mapping, Error> {
    for (ri, row) in sheet.rows.iter().take(30).enumerate() {
        let mut columns = BTreeMap::new();
        for (ci, cell) in row.iter().enumerate() {
            let norm = normalize_header(&cell.text());
            if let Some(f) = Field::ALL.into_iter().find(|f| f.headers().contains(&norm.as_str())) {
                columns.entry(f).or_insert(ci);
            }
        }
        if Field::ALL.into_iter().filter(|f| f.required()).all(|f| columns.contains_key(&f)) {
            return Ok(Mapping { header_row: ri + 1, columns });
        }
    }
    Err(Error::Invalid(format!(
        "{}: en-tête de l'export de la passerelle introuvable (colonnes Date, Numéro de transaction, Référence, Montant, Statut) ; indiquez les colonnes (--map) ou un profil",
        sheet.file
    )))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export, rename = "CardKind")]
pub enum Kind {
    Debit,
    /// Money sent back to the card by the office (a double payment, an exemption).
    Refund,
    /// A captured payment that came back (opposition, dispute): "Impayé".
    Chargeback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export, rename = "CardStatus")]
pub enum Status {
    /// "Télécollecté", "Remisé", "Capturé": the money moved.
    Captured,
    Refused,
    Cancelled,
}

crate::coded!(Kind: Debit, Refund, Chargeback);
crate::coded!(Status: Captured, Refused, Cancelled);

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Debit => "debit",
            Kind::Refund => "refund",
            Kind::Chargeback => "chargeback",
        }
    }

    fn parse(text: &str) -> Result<Kind, String> {
        match normalize_header(text).as_str() {
            "" | "debit" | "paiement" | "achat" | "capture" | "debit_differe" | "autorisation_capture" => {
                Ok(Kind::Debit)
            }
            "remboursement" | "credit" | "refund" | "annulation_remboursement" => Ok(Kind::Refund),
            "impaye" | "chargeback" | "rejet" | "opposition" => Ok(Kind::Chargeback),
            _ => Err(format!("type « {} » inconnu (débit, remboursement, impayé)", text.trim())),
        }
    }
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Captured => "captured",
            Status::Refused => "refused",
            Status::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Result<Status, String> {
        match normalize_header(text).as_str() {
            "telecollecte" | "remise" | "remis" | "capture" | "capturee" | "accepte" | "accepted" | "captured"
            | "ok" => Ok(Status::Captured),
            "refuse" | "refusee" | "refused" | "ko" | "echec" => Ok(Status::Refused),
            "annule" | "annulee" | "cancelled" | "canceled" => Ok(Status::Cancelled),
            _ => Err(format!("statut « {} » inconnu (télécollecté, remisé, refusé, annulé)", text.trim())),
        }
    }
}

/// The cardholder's bank's answer in words, as the office tells the student.
pub fn response_words(code: &str) -> String {
    match code.trim() {
        "00000" => "accepté".into(),
        "00105" => "refusé par la banque du porteur (ne pas honorer)".into(),
        "00151" => "provision insuffisante".into(),
        "00154" => "carte expirée".into(),
        "00141" => "carte perdue".into(),
        "00143" => "carte volée".into(),
        "00156" => "carte inconnue".into(),
        c if c.starts_with("001") => format!("refusé par la banque du porteur (code {c})"),
        "" => "refusé".into(),
        c => format!("refusé par la passerelle (code {c})"),
    }
}

/// One row of the export as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    /// The sheet's row number (1-based).
    pub row: usize,
    pub date: NaiveDate,
    pub time: Option<String>,
    pub number: String,
    pub call: Option<String>,
    pub reference: String,
    /// Always positive: the kind says which way it goes.
    pub amount: Money,
    pub currency: String,
    pub kind: Kind,
    pub status: Status,
    pub response: Option<String>,
    pub card_type: Option<String>,
    pub remittance: Option<String>,
    pub remittance_date: Option<NaiveDate>,
    pub email: Option<String>,
}

/// A transaction's time as `HH:MM:SS`, from `H:MM`, `HH:MM` or `HH:MM:SS`: one form, so that
/// rows of the same day sort by it. By hand: chrono's parser took 45 ms per 100,000 rows.
fn time_of(text: String) -> Result<String, String> {
    fn part(p: Option<&str>, widths: std::ops::RangeInclusive<usize>, below: u32) -> Option<u32> {
        let p = p?;
        let ok = widths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| p.parse().ok()).flatten().filter(|v| *v < below)
    }
    let mut parts = text.split(':');
    let (h, m) = (part(parts.next(), 1..=2, 24), part(parts.next(), 2..=2, 60));
    let s = match parts.next() {
        None => Some(0),
        seconds => part(seconds, 2..=2, 60),
    };
    match (h, m, s, parts.next()) {
        (Some(_), Some(_), Some(_), None) if text.len() == 8 => Ok(text),
        (Some(h), Some(m), Some(s), None) => Ok(format!("{h:02}:{m:02}:{s:02}")),
        _ => Err(format!("heure illisible « {} » (attendu hh:mm:ss)", crate::sheet::clipped(&text))),
    }
}

/// Reads every row below the header; a bad cell names its file, row and column. Empty rows and a
/// totals row (no transaction number, reference, call number, kind, status, code nor e-mail,
/// dated or not) are skipped; a transaction without its number is refused, since its number is
/// what records it once and only once.
pub fn read_rows(sheet: &Sheet, m: &Mapping) -> Result<Vec<CardRow>, SheetError> {
    let body = m.header_row.min(sheet.rows.len())..sheet.rows.len();
    let out = if body.len() < SPLIT_FROM {
        read_range(sheet, m, body)?
    } else {
        // Two halves side by side: the import reads the database on the other core meanwhile,
        // which is done first (100,000 rows: about 130 ms to read here, 100 ms there). A bad cell
        // of the first half is the one named, as a reading from the top would name it.
        let mid = body.start + body.len() / 2;
        let (first, second) = std::thread::scope(|s| {
            // Where the system gives no thread, the second half waits for the first.
            let second = std::thread::Builder::new().spawn_scoped(s, || read_range(sheet, m, mid..body.end));
            let first = read_range(sheet, m, body.start..mid);
            // What the second half says counts only once the first half is read.
            let second = match (second.map(|t| t.join()), first.is_ok()) {
                (_, false) => Ok(Vec::new()),
                (Ok(Ok(rows)), true) => rows,
                (Ok(Err(panic)), true) => std::panic::resume_unwind(panic),
                (Err(_), true) => read_range(sheet, m, mid..body.end),
            };
            (first, second)
        });
        let mut out = first?;
        out.extend(second?);
        out
    };
    same_number_same_transaction(sheet, &out, &column_name(sheet, m, Field::Number))?;
    Ok(out)
}

/// Below this many rows an export is read on one thread: starting another costs more than
/// it saves.
const SPLIT_FROM: usize = 20_000;

/// What the header calls a field's column, or the field's own name.
fn column_name(sheet: &Sheet, m: &Mapping, f: Field) -> String {
    let header = sheet.rows.get(m.header_row.saturating_sub(1));
    m.columns
        .get(&f)
        .and_then(|c| header.and_then(|h| h.get(*c)))
        .map(Cell::text)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| f.key().to_string())
}

/// `read_rows` over the rows `range` of the sheet (0-based indexes into its rows).
fn read_range(sheet: &Sheet, m: &Mapping, range: std::ops::Range<usize>) -> Result<Vec<CardRow>, SheetError> {
    let name = |f: Field| column_name(sheet, m, f);
    let mut out = Vec::with_capacity(range.len());
    // An export says "Débit" or "Télécollecté" on nearly every row: each text is read once.
    let (mut kinds, mut statuses) = (Vec::new(), Vec::new());
    static EMPTY: Cell = Cell::Empty;
    for (ri, row) in sheet.rows.iter().enumerate().take(range.end).skip(range.start) {
        if row.iter().all(Cell::is_empty) {
            continue;
        }
        let cell = |f: Field| -> &Cell { m.columns.get(&f).and_then(|c| row.get(*c)).unwrap_or(&EMPTY) };
        let text = |f: Field| -> Option<String> {
            let t = cell(f).str();
            let t = t.trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        let err = |f: Field, msg: String| sheet.error_at(ri, Some(&name(f)), msg);
        let Some(number) = text(Field::Number) else {
            // A totals row (a date, an amount, a currency at most) says nothing of a transaction;
            // a row that does and lacks its number is one the import would lose.
            let says = [Field::Reference, Field::Call, Field::Kind, Field::Status, Field::Response, Field::Email];
            if says.into_iter().all(|f| text(f).is_none()) {
                continue;
            }
            return Err(err(Field::Number, "numéro de transaction vide".into()));
        };
        if number.chars().count() > 40 || number.chars().any(char::is_control) {
            return Err(err(Field::Number, "numéro de transaction illisible".into()));
        }
        let date = cell(Field::Date).date().map_err(|e| err(Field::Date, e))?;
        let reference = text(Field::Reference).ok_or_else(|| err(Field::Reference, "référence vide".into()))?;
        if reference.chars().count() > 100 || reference.chars().any(char::is_control) {
            return Err(err(Field::Reference, "référence illisible".into()));
        }
        let signed = cell(Field::Amount)
            .money()
            .map_err(|e| err(Field::Amount, e))?
            .ok_or_else(|| err(Field::Amount, "montant vide".into()))?;
        let amount = signed.abs();
        if !amount.is_positive() {
            return Err(err(Field::Amount, "montant nul".into()));
        }
        // Read where it lies: nearly every row says "EUR".
        let currency = cell(Field::Currency).str();
        let currency = currency.trim();
        if !(currency.is_empty()
            || currency.eq_ignore_ascii_case("EUR")
            || matches!(currency.to_uppercase().as_str(), "EUR" | "978" | "€"))
        {
            return Err(err(Field::Currency, format!("devise « {currency} » : seuls les euros sont acceptés")));
        }
        let kind = known(&mut kinds, &cell(Field::Kind).str(), Kind::parse).map_err(|e| err(Field::Kind, e))?;
        let status =
            known(&mut statuses, &cell(Field::Status).str(), Status::parse).map_err(|e| err(Field::Status, e))?;
        // Some back offices show what goes back to the card below zero: the kind says which way
        // it goes. A debit below zero says both ways at once.
        if signed.is_negative() && kind == Kind::Debit {
            let text = cell(Field::Amount).str();
            return Err(err(Field::Amount, format!("montant négatif « {} » pour un débit", text.trim())));
        }
        let remittance_date = match cell(Field::RemittanceDate) {
            c if c.is_empty() => None,
            c => Some(c.date().map_err(|e| err(Field::RemittanceDate, e))?),
        };
        let short = |f: Field| -> Result<Option<String>, SheetError> {
            match text(f) {
                Some(t) if t.chars().count() > 254 || t.chars().any(char::is_control) => {
                    Err(err(f, "valeur illisible".into()))
                }
                other => Ok(other),
            }
        };
        out.push(CardRow {
            row: ri + 1,
            date,
            time: text(Field::Time).map(|t| time_of(t).map_err(|e| err(Field::Time, e))).transpose()?,
            number,
            call: short(Field::Call)?,
            reference,
            amount,
            currency: "EUR".into(),
            kind,
            status,
            response: short(Field::Response)?,
            card_type: short(Field::CardType)?,
            remittance: short(Field::Remittance)?,
            remittance_date,
            email: short(Field::Email)?.map(|e| e.to_lowercase()),
        });
    }
    Ok(out)
}

/// A transaction number twice in one export must be the same transaction twice (pages of a back
/// office exported into one file): what it says otherwise (another amount, status, reference,
/// day) contradicts the row before, and which one is right only the gateway knows.
fn same_number_same_transaction(sheet: &Sheet, rows: &[CardRow], column: &str) -> Result<(), SheetError> {
    let mut seen: std::collections::HashMap<&str, &CardRow> = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let Some(first) = seen.insert(&r.number, r) else { continue };
        let same = |a: &CardRow, b: &CardRow| {
            (a.date, &a.time, &a.reference, a.amount, a.kind, a.status, &a.response, &a.remittance)
                == (b.date, &b.time, &b.reference, b.amount, b.kind, b.status, &b.response, &b.remittance)
        };
        if !same(first, r) {
            return Err(sheet.error_at(
                r.row - 1,
                Some(column),
                format!("transaction {} déjà lue ligne {} avec un autre contenu", r.number, first.row),
            ));
        }
    }
    Ok(())
}

/// Puts the rows in the order they happened (date, time, then the file's order): a charge-back
/// or a refund comes after the debit it undoes. An export already in that order (the usual case)
/// is left as it is. The file's row number makes each key unique, so an unstable sort gives the
/// one order (100,000 rows: 25 ms; the stable sort before, 42).
pub fn oldest_first(rows: &mut [CardRow]) {
    fn key(r: &CardRow) -> (NaiveDate, Option<&str>, usize) {
        (r.date, r.time.as_deref(), r.row)
    }
    if !rows.is_sorted_by(|a, b| key(a) <= key(b)) {
        rows.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    }
}

/// `parse(text)`, remembered in `seen` for the next row that says the same (an export has a
/// handful of such texts; one it cannot read stops the import, so errors are not kept).
fn known<T: Copy>(seen: &mut Vec<(String, T)>, text: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, String> {
    if let Some((_, v)) = seen.iter().find(|(t, _)| t == text) {
        return Ok(*v);
    }
    let v = parse(text)?;
    if seen.len() < 32 {
        seen.push((text.to_string(), v));
    }
    Ok(v)
}

/// The number a transaction's order reference is found by (`card_transactions.ref_key`): the
/// reference's characters (Unicode code points) folded as `k = (k × 131 + c) mod (2³¹ − 1)`.
/// An index of such numbers costs SQLite about a third of one of the texts to keep as an
/// export's rows come, in no order of reference. Two references may share a number: a lookup
/// compares the reference too. The upgrade that added the column computes it in SQL, the same.
pub fn reference_key(reference: &str) -> i64 {
    const MODULUS: i64 = 2_147_483_647;
    reference.chars().fold(0, |k, c| (k * 131 + i64::from(u32::from(c))) % MODULUS)
}

/// What a reference names: one of our invoices, and the installment's rank when it says so
/// (`F2025-00098-2` is the second installment of `F2025-00098`).
pub fn invoice_in_reference(reference: &str) -> Option<(String, Option<i64>)> {
    let upper = reference.to_uppercase();
    let bytes = upper.as_bytes();
    for start in 0..bytes.len() {
        // F + 4 digits + '-' + 5 digits
        if start + 11 > bytes.len() {
            break;
        }
        // Not on a character boundary (an accented letter before it): not a reference here.
        let Some(candidate) = upper.get(start..start + 11) else { continue };
        let b = candidate.as_bytes();
        let ok = b[0] == b'F'
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b'-'
            && b[6..11].iter().all(u8::is_ascii_digit)
            && (start == 0 || !bytes[start - 1].is_ascii_alphanumeric());
        if !ok {
            continue;
        }
        let rest = &upper[start + 11..];
        let n = rest
            .strip_prefix('-')
            .map(|r| r.chars().take_while(char::is_ascii_digit).collect::<String>())
            .and_then(|d| d.parse::<i64>().ok())
            .filter(|n| (1..=12).contains(n));
        if rest.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        return Some((candidate.to_string(), n));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &[&[&str]]) -> Sheet {
        Sheet {
            file: "paybox.csv".into(),
            sheet: None,
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| if c.is_empty() { Cell::Empty } else { Cell::Text(c.to_string()) }).collect())
                .collect(),
        }
    }

    #[test]
    fn a_reference_key_folds_code_points_and_stays_below_its_modulus() {
        assert_eq!(reference_key(""), 0);
        assert_eq!(reference_key("F"), 70);
        assert_eq!(reference_key("F2"), 70 * 131 + 50);
        // Worked by hand past the modulus: the texts of the benchmark's first rows.
        assert_eq!(reference_key("F2025-07132-1"), 2_067_667_171);
        assert_eq!(reference_key("F2025-12941-1"), 1_391_133_040);
        // A code point, not a byte: é is 233, 🎓 is 127,891.
        assert_eq!(reference_key("é"), 233);
        assert_eq!(reference_key("🎓"), 127_891);
        assert_ne!(reference_key("F2025-00098-2"), reference_key("F2025-00098-3"));
        let long = "Ж🎓".repeat(10_000);
        assert!((0..2_147_483_647).contains(&reference_key(&long)));
    }

    const HEADER: &[&str] = &[
        "Date",
        "Heure",
        "Numéro de transaction",
        "Numéro d'appel",
        "Référence commande",
        "Montant",
        "Devise",
        "Type",
        "Statut",
        "Code réponse",
        "Type de carte",
        "Numéro de remise",
        "Date de remise",
        "E-mail",
    ];

    #[test]
    fn french_headers_under_a_title_are_found_and_read() {
        let s = sheet(&[
            &["Export des transactions — Clermont Auvergne INP"],
            HEADER,
            &[
                "10/10/2025",
                "06:12:40",
                "610012345",
                "301234",
                "F2025-00098-2",
                "1 293,00",
                "EUR",
                "Débit",
                "Télécollecté",
                "00000",
                "CB",
                "81234",
                "11/10/2025",
                "Lea.Durand@etu.uca.fr",
            ],
            &[
                "10/10/2025",
                "",
                "610012346",
                "",
                "F2025-00099-2",
                "633,80",
                "EUR",
                "Débit",
                "Refusé",
                "00151",
                "VISA",
                "",
                "",
                "",
            ],
        ]);
        let m = detect(&s).unwrap();
        assert_eq!(m.header_row, 2);
        let rows = read_rows(&s, &m).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].amount, Money::from_cents(129_300));
        assert_eq!((rows[0].kind, rows[0].status), (Kind::Debit, Status::Captured));
        assert_eq!(rows[0].remittance.as_deref(), Some("81234"));
        assert_eq!(rows[0].email.as_deref(), Some("lea.durand@etu.uca.fr"));
        assert_eq!(rows[1].status, Status::Refused);
        assert_eq!(response_words(rows[1].response.as_deref().unwrap()), "provision insuffisante");
    }

    #[test]
    fn times_come_in_one_form() {
        let time = |t: &str| time_of(t.to_string());
        assert_eq!(time("06:10:31").as_deref(), Ok("06:10:31"));
        assert_eq!(time("6:10:31").as_deref(), Ok("06:10:31"));
        assert_eq!(time("14:02").as_deref(), Ok("14:02:00"));
        assert_eq!(time("23:59:59").as_deref(), Ok("23:59:59"));
        for bad in [
            "99:99:99",
            "24:00:00",
            "12:60:00",
            "12:00:60",
            "6h10",
            "30/12/1899",
            "0.25",
            "1:2:3",
            "+1:00:00",
            "12:00:00:00",
            "ab:cd:ef",
        ] {
            assert!(time(bad).unwrap_err().contains("heure illisible"), "{bad}");
        }
    }

    /// A refund may come below zero (the kind gives the way), a debit may not.
    #[test]
    fn a_negative_amount_is_a_refund_s_not_a_debit_s() {
        fn row<'a>(n: &'a str, amount: &'a str, kind: &'a str) -> Vec<&'a str> {
            vec!["10/10/2025", "", n, "", "F2025-00098-2", amount, "EUR", kind, "Télécollecté", "", "", "", "", ""]
        }
        let refund = row("1", "-206,00", "Remboursement");
        let debit = row("2", "-206,00", "Débit");
        let s = sheet(&[HEADER, &refund]);
        let rows = read_rows(&s, &detect(&s).unwrap()).unwrap();
        assert_eq!((rows[0].kind, rows[0].amount), (Kind::Refund, Money::from_cents(20_600)));
        let s = sheet(&[HEADER, &refund, &debit]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err().to_string();
        assert!(e.contains("ligne 3") && e.contains("Montant") && e.contains("négatif") && e.contains("débit"), "{e}");
    }

    /// Rows in any order come out by date, time (none first) and row, as a sort of the whole
    /// rows would give; in order already, they stay as read. Kinds and statuses read once per
    /// text are read right on every row.
    #[test]
    fn rows_are_put_oldest_first() {
        let row = |date: &str, time: &str, n: usize, kind: &str, status: &str| -> Vec<String> {
            [date, time, &n.to_string(), "", "F2025-00098-2", "10,00", "EUR", kind, status, "", "", "", "", ""]
                .map(String::from)
                .to_vec()
        };
        let mut texts = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        let mut seed = 7u64;
        for n in 0..200 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let day = 1 + (seed >> 33) % 5;
            let time = ["", "06:00:00", "06:00:01", "23:59:59"][((seed >> 20) % 4) as usize];
            let (kind, status) = [("Débit", "Télécollecté"), ("Remboursement", "Remisé"), ("Impayé", "Refusé")]
                [((seed >> 40) % 3) as usize];
            texts.push(row(&format!("0{day}/10/2025"), time, n, kind, status));
        }
        let refs: Vec<Vec<&str>> = texts.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
        let refs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        let s = sheet(&refs);
        let mut rows = read_rows(&s, &detect(&s).unwrap()).unwrap();
        for r in &rows {
            let text = &texts[r.row - 1];
            assert_eq!(r.kind, Kind::parse(&text[7]).unwrap());
            assert_eq!(r.status, Status::parse(&text[8]).unwrap());
        }
        let mut whole = rows.clone();
        whole.sort_by(|a, b| (a.date, &a.time, a.row).cmp(&(b.date, &b.time, b.row)));
        assert_ne!(rows, whole, "the rows were read out of order");
        oldest_first(&mut rows);
        assert_eq!(rows, whole);
        oldest_first(&mut rows);
        assert_eq!(rows, whole);
    }

    #[test]
    fn a_transaction_without_its_number_is_refused_and_a_totals_row_skipped() {
        let paid =
            ["10/10/2025", "", "", "", "F2025-00098-2", "206,00", "EUR", "Débit", "Télécollecté", "", "", "", "", ""];
        let s = sheet(&[HEADER, &paid]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Numéro de transaction")), "{e}");
        assert!(e.to_string().contains("numéro de transaction vide"), "{e}");
        // The reference alone is enough to tell a transaction from a footnote.
        let undated = ["", "", "", "", "F2025-00098-2", "206,00", "EUR", "Débit", "Télécollecté", "", "", "", "", ""];
        let s = sheet(&[HEADER, &undated]);
        assert!(read_rows(&s, &detect(&s).unwrap()).is_err());
        // Nor is a paid debit without reference a footnote: it would be lost.
        let bare = ["10/10/2025", "", "", "", "", "206,00", "EUR", "Débit", "Télécollecté", "", "", "", "", "a@b.fr"];
        let s = sheet(&[HEADER, &bare]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Numéro de transaction")), "{e}");
        let one =
            ["10/10/2025", "", "1", "", "F2025-00098-2", "206,00", "EUR", "Débit", "Télécollecté", "", "", "", "", ""];
        let totals = ["Total", "", "", "", "", "206,00", "", "", "", "", "", "", "", ""];
        let day = ["10/10/2025", "", "", "", "", "206,00", "EUR", "", "", "", "", "", "", ""];
        let s = sheet(&[HEADER, &one, &day, &totals]);
        assert_eq!(read_rows(&s, &detect(&s).unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn one_number_twice_in_an_export_must_say_the_same() {
        let row = |amount: &'static str| {
            [
                "10/10/2025",
                "",
                "61000001",
                "",
                "F2025-00098-2",
                amount,
                "EUR",
                "Débit",
                "Télécollecté",
                "",
                "",
                "",
                "",
                "",
            ]
        };
        let (a, b) = (row("206,00"), row("206,00"));
        let s = sheet(&[HEADER, &a, &b]);
        assert_eq!(read_rows(&s, &detect(&s).unwrap()).unwrap().len(), 2, "the same transaction twice");
        let c = row("300,00");
        let s = sheet(&[HEADER, &a, &b, &c]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(4), Some("Numéro de transaction")), "{e}");
        assert!(e.to_string().contains("déjà lue ligne 3"), "{e}");
    }

    #[test]
    fn a_bad_cell_names_row_and_column() {
        let s = sheet(&[
            HEADER,
            &["10/10/2025", "", "1", "", "F2025-00098", "12,3,4", "EUR", "Débit", "Remisé", "", "", "", "", ""],
        ]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Montant")), "{e}");
        let s = sheet(&[
            HEADER,
            &["10/10/2025", "", "1", "", "F2025-00098", "12,00", "USD", "Débit", "Remisé", "", "", "", "", ""],
        ]);
        let e = read_rows(&s, &detect(&s).unwrap()).unwrap_err();
        assert_eq!(e.column.as_deref(), Some("Devise"), "{e}");
    }

    #[test]
    fn a_large_export_read_in_halves_reads_as_from_the_top() {
        let row = |i: usize, amount: &str| -> Vec<String> {
            let day = format!("{:02}/10/2025", 1 + i % 28);
            let number = format!("{}", 7_000_000 + i);
            let reference = format!("F2025-{:05}-{}", i % 9_000, 1 + i % 3);
            [&day, "06:00:00", &number, "", &reference, amount, "EUR", "Débit", "Remisé", "00000", "CB", "", "", ""]
                .iter()
                .map(|c| c.to_string())
                .collect()
        };
        let build = |rows: Vec<Vec<String>>| {
            let mut all: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
            all.extend(rows);
            let refs: Vec<Vec<&str>> = all.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
            sheet(&refs.iter().map(Vec::as_slice).collect::<Vec<_>>())
        };
        let n = SPLIT_FROM + 3_001;
        let good = build((0..n).map(|i| row(i, "206,00")).collect());
        let m = detect(&good).unwrap();
        let halves = read_rows(&good, &m).unwrap();
        assert_eq!(halves, read_range(&good, &m, 1..good.rows.len()).unwrap());
        assert_eq!(halves.len(), n);
        assert_eq!((halves[0].row, halves[n - 1].row), (2, n + 1), "the file's rows, in its order");
        // A bad cell in each half: the first is named; in the second half alone, that one.
        let (early, late) = (10, n - 10);
        let bad =
            |at: &[usize]| build((0..n).map(|i| row(i, if at.contains(&i) { "2O6,00" } else { "206,00" })).collect());
        let e = read_rows(&bad(&[early, late]), &m).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(early + 2), Some("Montant")), "{e}");
        let e = read_rows(&bad(&[late]), &m).unwrap_err();
        assert_eq!(e.row, Some(late + 2), "{e}");
        // A number twice across the halves with another content is still found.
        let mut twice: Vec<Vec<String>> = (0..n).map(|i| row(i, "206,00")).collect();
        twice[late] = row(early, "412,00");
        let e = read_rows(&build(twice), &m).unwrap_err();
        assert!(e.to_string().contains(&format!("déjà lue ligne {}", early + 2)), "{e}");
    }

    #[test]
    fn references_name_an_invoice_and_its_installment() {
        assert_eq!(invoice_in_reference("F2025-00098-2"), Some(("F2025-00098".into(), Some(2))));
        assert_eq!(invoice_in_reference("CMD F2025-00098"), Some(("F2025-00098".into(), None)));
        assert_eq!(invoice_in_reference("f2025-00098-3 portail"), Some(("F2025-00098".into(), Some(3))));
        assert_eq!(invoice_in_reference("F2025-000981"), None);
        assert_eq!(invoice_in_reference("XF2025-00098"), None);
        assert_eq!(invoice_in_reference("25000001"), None);
        assert_eq!(invoice_in_reference("échéance F2025-00098-2"), Some(("F2025-00098".into(), Some(2))));
    }

    #[test]
    fn a_mapping_names_columns_as_the_spreadsheet_does() {
        let m = Mapping::parse("header=3,date=A,number=B,reference=C,amount=D,status=E,email=G").unwrap();
        assert_eq!(m.header_row, 3);
        assert_eq!(m.columns[&Field::Email], 6);
        assert!(Mapping::parse("header=1,date=A").is_err());
        assert!(Mapping::parse("header=1,date=A,number=B,reference=C,amount=D,status=E,colour=F").is_err());
    }
}
