//! Registrations: the rows of the portal's export of registrations and plan requests, read
//! all-or-nothing (a bad cell names file, row and column) into students and priced requests.

use std::collections::HashMap;

use super::NewRequest;
use crate::fees::grid::{DEFAULT_PROGRAMME, FeeGrid};
use crate::fees::{AcademicYear, School, Session, Situation};
use crate::ledger::{NewStudent, StudentField};
use crate::plans::PlanKind;
use crate::sheet::{Cell, Sheet, SheetError, normalize_header};

/// The columns, each with the header names accepted for it (normalized: lower-case, no accents).
const COLUMNS: &[(Col, &[&str])] = &[
    (Col::Number, &["student_number", "numero", "numero_etudiant", "n_etudiant", "no_etudiant", "num_etudiant"]),
    (Col::LastName, &["last_name", "nom", "nom_de_famille"]),
    (Col::FirstName, &["first_name", "prenom"]),
    (Col::Email, &["email", "e_mail", "mail", "courriel"]),
    (Col::School, &["school", "ecole", "etablissement"]),
    (Col::Session, &["session", "formation", "nom_de_la_session", "promo"]),
    (Col::Year, &["year", "annee", "annee_d_etudes", "niveau"]),
    (Col::Situation, &["situation", "code_situation", "type_apprenant"]),
    (Col::Plan, &["plan", "echeancier", "paiement"]),
    (Col::RequestedOn, &["requested_on", "date_demande", "date_de_demande", "date"]),
    (Col::Amount, &["amount", "montant"]),
    (Col::ExtraEu, &["extra_eu", "extra_ue", "extra_communautaire", "hors_ue"]),
    (Col::Certificate, &["certificate", "attestation_de_bourse", "attestation"]),
    (Col::FirstYearHere, &["first_year_here", "premiere_annee_ici", "1re_annee_ici"]),
    (Col::ContractSigned, &["contract_signed", "contrat_signe"]),
    (Col::ExchangeAgreement, &["exchange_agreement", "accord_echange", "convention", "accord_d_echange"]),
    (Col::Apprentice, &["apprentice", "apprenti", "apprentissage"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Number,
    LastName,
    FirstName,
    Email,
    School,
    Session,
    Year,
    Situation,
    Plan,
    RequestedOn,
    Amount,
    ExtraEu,
    Certificate,
    FirstYearHere,
    ContractSigned,
    ExchangeAgreement,
    Apprentice,
}

impl Col {
    fn name(self) -> &'static str {
        COLUMNS.iter().find(|(c, _)| *c == self).map(|(_, names)| names[0]).expect("every column is listed")
    }

    fn required(self) -> bool {
        !matches!(
            self,
            Col::Amount
                | Col::ExtraEu
                | Col::Certificate
                | Col::FirstYearHere
                | Col::ContractSigned
                | Col::ExchangeAgreement
                | Col::Apprentice
        )
    }
}

/// One valid row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub student: NewStudent,
    pub request: NewRequest,
}

/// The header cells of the file that name no column Régie reads.
pub fn unknown_headers(sheet: &Sheet) -> Vec<String> {
    let Some(header) = sheet.rows.iter().find(|r| r.iter().any(|c| !c.is_empty())) else { return Vec::new() };
    header
        .iter()
        .map(Cell::text)
        .filter(|w| !w.trim().is_empty())
        .filter(|w| {
            let norm = normalize_header(w);
            !COLUMNS.iter().any(|(_, names)| names.contains(&norm.as_str()))
        })
        .collect()
}

/// Reads and validates the whole file against the fee grid, without touching the database: the
/// first bad cell refuses the file.
pub fn parse(sheet: &Sheet, grid: &FeeGrid) -> std::result::Result<Vec<Registration>, SheetError> {
    let (regs, errors) = parse_rows(sheet, grid, 1)?;
    match errors.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(regs),
    }
}

/// The most bad rows a preview lists: enough to fix a file in one go, bounded for a file that is
/// wrong everywhere (the wrong export, a shifted column).
pub const MAX_ROW_ERRORS: usize = 200;

/// Reads every row: the valid ones, and each bad row's first bad cell (up to `max_errors`, after
/// which reading stops), so that a preview shows everything to fix at once. A header without a
/// required column is the file's error, not a row's.
pub fn parse_rows(
    sheet: &Sheet,
    grid: &FeeGrid,
    max_errors: usize,
) -> std::result::Result<(Vec<Registration>, Vec<SheetError>), SheetError> {
    let header_index = sheet.rows.iter().position(|r| r.iter().any(|c| !c.is_empty())).ok_or_else(|| SheetError {
        file: sheet.file.clone(),
        sheet: sheet.sheet.clone(),
        row: None,
        column: None,
        message: "fichier vide".into(),
    })?;
    let header = &sheet.rows[header_index];
    let mut at: HashMap<Col, (usize, String)> = HashMap::new();
    for (i, cell) in header.iter().enumerate() {
        let written = cell.text();
        let norm = normalize_header(&written);
        if let Some((col, _)) = COLUMNS.iter().find(|(_, names)| names.contains(&norm.as_str())) {
            at.entry(*col).or_insert((i, written));
        }
    }
    for (col, _) in COLUMNS {
        if col.required() && !at.contains_key(col) {
            return Err(sheet.error_at(header_index, Some(col.name()), "colonne obligatoire absente de l'en-tête"));
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (ri, row) in sheet.rows.iter().enumerate().skip(header_index + 1) {
        if row.iter().all(Cell::is_empty) {
            continue;
        }
        match parse_row(sheet, grid, ri, row, &at) {
            Ok(reg) => out.push(reg),
            Err(e) => {
                errors.push(e);
                if errors.len() >= max_errors {
                    break;
                }
            }
        }
    }
    Ok((out, errors))
}

fn parse_row(
    sheet: &Sheet,
    grid: &FeeGrid,
    ri: usize,
    row: &[Cell],
    at: &HashMap<Col, (usize, String)>,
) -> std::result::Result<Registration, SheetError> {
    static EMPTY: Cell = Cell::Empty;
    let cell = |c: Col| -> &Cell { at.get(&c).and_then(|(i, _)| row.get(*i)).unwrap_or(&EMPTY) };
    let err =
        |c: Col, msg: String| sheet.error_at(ri, Some(at.get(&c).map(|(_, w)| w.as_str()).unwrap_or(c.name())), msg);
    let required = |c: Col| -> std::result::Result<String, SheetError> {
        let t = cell(c).text();
        if t.is_empty() { Err(err(c, "valeur obligatoire manquante".into())) } else { Ok(t) }
    };
    let flag = |c: Col| -> std::result::Result<Option<bool>, SheetError> {
        match cell(c) {
            Cell::Bool(b) => Ok(Some(*b)),
            other => parse_flag(&other.text()).map_err(|m| err(c, m)),
        }
    };

    let school: School = required(Col::School)?.parse().map_err(|e: crate::Error| err(Col::School, e.to_string()))?;
    let student = NewStudent::parse(
        &required(Col::Number)?,
        &required(Col::LastName)?,
        &required(Col::FirstName)?,
        &required(Col::Email)?,
        school,
    )
    .map_err(|e| {
        let col = match e.field {
            StudentField::Email => Col::Email,
            StudentField::Number => Col::Number,
            StudentField::FirstName => Col::FirstName,
            StudentField::LastName => Col::LastName,
        };
        err(col, e.message)
    })?;
    let session = Session::parse(&required(Col::Session)?).map_err(|e| err(Col::Session, e.to_string()))?;
    let year_text = required(Col::Year)?;
    let year_of_study: u8 = year_text
        .trim_end_matches(|c: char| c.is_alphabetic())
        .parse()
        .ok()
        .filter(|y| (1..=5).contains(y))
        .ok_or_else(|| err(Col::Year, format!("année d'études « {year_text} » hors de 1 à 5")))?;
    let situation: Situation =
        required(Col::Situation)?.parse().map_err(|e: crate::Error| err(Col::Situation, e.to_string()))?;
    let plan: PlanKind =
        required(Col::Plan)?.parse().map_err(|e: crate::plans::PlanError| err(Col::Plan, e.to_string()))?;
    required(Col::RequestedOn)?;
    let requested_on = cell(Col::RequestedOn).date().map_err(|m| err(Col::RequestedOn, m))?;
    let academic_year = match AcademicYear::from_session(session.as_str()) {
        Some(year) => year,
        None => AcademicYear::checked_containing(requested_on).map_err(|e| err(Col::RequestedOn, e.to_string()))?,
    };
    let programme = DEFAULT_PROGRAMME.to_string();
    let (amount, amount_from_file) = match cell(Col::Amount).money().map_err(|e| err(Col::Amount, e))? {
        None => {
            let price = grid
                .price(academic_year, school, &programme, situation)
                .map_err(|e| err(Col::Situation, format!("{e}: indiquez le montant dans la colonne « montant »")))?;
            (price, false)
        }
        Some(m) => {
            if m.is_negative() {
                return Err(err(Col::Amount, format!("montant négatif {m}")));
            }
            (m, true)
        }
    };
    let request = NewRequest {
        academic_year,
        school,
        programme,
        session,
        year_of_study,
        situation,
        plan,
        amount,
        amount_from_file,
        requested_on,
        extra_eu: flag(Col::ExtraEu)?,
        certificate: flag(Col::Certificate)?,
        first_year_here: flag(Col::FirstYearHere)?,
        contract_signed: flag(Col::ContractSigned)?,
        exchange_agreement: match cell(Col::ExchangeAgreement) {
            Cell::Bool(b) => Some(if *b { super::Agreement::Under(None) } else { super::Agreement::None }),
            other => super::Agreement::parse(&other.text()).map_err(|m| err(Col::ExchangeAgreement, m))?,
        },
        apprentice: flag(Col::Apprentice)?,
    };
    Ok(Registration { student, request })
}

fn parse_flag(text: &str) -> std::result::Result<Option<bool>, String> {
    match text.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "oui" | "o" | "yes" | "y" | "true" | "vrai" | "1" | "x" => Ok(Some(true)),
        "non" | "n" | "no" | "false" | "faux" | "0" => Ok(Some(false)),
        other => Err(format!("valeur « {other} » : attendu oui ou non")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    fn sheet(rows: &[&[&str]]) -> Sheet {
        Sheet {
            file: "inscriptions.csv".into(),
            sheet: None,
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| if c.is_empty() { Cell::Empty } else { Cell::Text(c.to_string()) }).collect())
                .collect(),
        }
    }

    const HEADER: &[&str] = &[
        "Numéro",
        "Nom",
        "Prénom",
        "Email",
        "Ecole",
        "Formation",
        "Année",
        "Situation",
        "Echéancier",
        "Date demande",
        "Montant",
    ];

    #[test]
    fn french_headers_in_any_order_and_grid_pricing() {
        let s = sheet(&[
            HEADER,
            &["22001", "Durand", "Éloïse", "e@uca.fr", "ISIMA", "P2526_Y1_1A", "1", "05", "virement", "05/09/2025", ""],
        ]);
        let regs = parse(&s, &FeeGrid::shipped()).unwrap();
        assert_eq!(regs[0].request.amount, Money::from_cents(387900));
        assert_eq!(regs[0].request.plan, PlanKind::Transfer);
        assert_eq!(regs[0].request.academic_year.to_string(), "2025-26");
        assert!(!regs[0].request.amount_from_file);
    }

    #[test]
    fn a_bad_cell_names_row_and_column() {
        let s = sheet(&[
            HEADER,
            &["22001", "Durand", "Léa", "e@uca.fr", "ISIMA", "P2526_Y1_1A", "1", "01", "3", "05/09/2025", ""],
            &["22002", "Martin", "Paul", "p@uca.fr", "ISIMA", "P2526_Y1_1A", "1", "01", "3", "05/09/2025", "12,3,4"],
        ]);
        let e = parse(&s, &FeeGrid::shipped()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(3), Some("Montant")));
        assert!(e.to_string().starts_with("inscriptions.csv, ligne 3, colonne « Montant »"), "{e}");
    }

    #[test]
    fn every_bad_row_is_listed_for_a_preview_and_the_first_refuses_the_file() {
        let good = ["22001", "Durand", "Léa", "e@uca.fr", "ISIMA", "P2526_Y1_1A", "1", "01", "3", "05/09/2025", ""];
        let mut no_mail = good;
        no_mail[3] = "";
        let mut bad_plan = good;
        bad_plan[8] = "12";
        let s = sheet(&[HEADER, &good, &no_mail, &good, &bad_plan]);
        let (regs, errors) = parse_rows(&s, &FeeGrid::shipped(), MAX_ROW_ERRORS).unwrap();
        assert_eq!(regs.len(), 2);
        let at: Vec<_> = errors.iter().map(|e| (e.row, e.column.as_deref())).collect();
        assert_eq!(at, [(Some(3), Some("Email")), (Some(5), Some("Echéancier"))]);
        assert_eq!(parse(&s, &FeeGrid::shipped()).unwrap_err(), errors[0]);
        let (_, capped) = parse_rows(&s, &FeeGrid::shipped(), 1).unwrap();
        assert_eq!(capped.len(), 1);
    }

    #[test]
    fn a_date_beyond_the_app_s_years_is_refused_at_its_cell() {
        let s = sheet(&[
            HEADER,
            &["22001", "Durand", "Léa", "e@uca.fr", "ISIMA", "ISIMA_1A", "1", "01", "3", "05/09/2205", ""],
        ]);
        let e = parse(&s, &FeeGrid::shipped()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Date demande")), "{e}");
        let s = sheet(&[
            HEADER,
            &["22001", "Durand", "Léa", "e@uca.fr", "ISIMA", "ISIMA_1A", "1", "01", "3", "05/01/2000", ""],
        ]);
        let e = parse(&s, &FeeGrid::shipped()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (Some(2), Some("Date demande")), "{e}");
        assert!(e.message.contains("hors limites"), "{e}");
    }

    #[test]
    fn missing_column_is_named() {
        let s = sheet(&[&["numero", "nom"], &["1", "x"]]);
        let e = parse(&s, &FeeGrid::shipped()).unwrap_err();
        assert_eq!(e.row, Some(1));
        assert_eq!(e.column.as_deref(), Some("first_name"));
    }

    #[test]
    fn situation_without_a_grid_price_needs_an_amount() {
        let s = sheet(&[
            HEADER,
            &["22001", "Durand", "Léa", "e@uca.fr", "ISIMA", "P2526_Y5", "5", "20", "one", "2025-09-05", ""],
        ]);
        let e = parse(&s, &FeeGrid::shipped()).unwrap_err();
        assert_eq!(e.column.as_deref(), Some("Situation"));
    }
}
