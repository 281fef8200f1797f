//! A table as read from a file: its cells, where each one is, and the error that names the file,
//! the row and the column of a cell that cannot be used. Reading the files is the core's job.

use std::fmt;

use chrono::NaiveDate;

/// One cell as the file holds it. Numbers stay raw here; callers parse them into exact types.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text. Whole numbers print without a decimal part (student numbers in xlsx
    /// are numbers), others with the shortest exact decimal form.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => format!("{n}"),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Bool(b) => if *b { "oui" } else { "non" }.to_string(),
        }
    }

    /// A date: a real spreadsheet date, an Excel serial number, or text as dd/mm/yyyy, dd/mm/yy,
    /// dd-mm-yyyy, dd.mm.yyyy or ISO yyyy-mm-dd; in the years 2000 to 2100, since a statement or
    /// a registration dated elsewhere is a typo that would otherwise be stored.
    pub fn date(&self) -> Result<NaiveDate, String> {
        use chrono::Datelike;
        let date = self.any_date()?;
        if !(2000..=2100).contains(&date.year()) {
            return Err(format!("date « {} » hors des années 2000 à 2100", date.format("%d/%m/%Y")));
        }
        Ok(date)
    }

    fn any_date(&self) -> Result<NaiveDate, String> {
        match self {
            Cell::Date(d) => Ok(*d),
            Cell::Number(n) if *n > 59.0 && *n < 200_000.0 && n.fract() == 0.0 => {
                // Excel's serial day 1 is 1900-01-01 and it counts a 29 February 1900 that never was.
                let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid");
                Ok(base + chrono::Days::new(*n as u64))
            }
            other => parse_date(&other.text()),
        }
    }
}

impl Cell {
    /// An amount: a spreadsheet number as the spreadsheet shows it, or French text; fractions of
    /// a cent are refused in both, never rounded.
    pub fn money(&self) -> Result<Option<crate::money::Money>, String> {
        match self {
            c if c.is_empty() => Ok(None),
            Cell::Number(n) => crate::money::Money::from_f64(*n).map(Some).map_err(|e| e.to_string()),
            other => crate::money::Money::parse(&other.text()).map(Some).map_err(|e| e.to_string()),
        }
    }
}

pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let t = t.split_whitespace().next().unwrap_or(""); // drop a time part
    // chrono's %Y takes "25" as the year 25: the length tells four-digit years from two-digit ones.
    let formats: &[&str] = match t.len() {
        10 => &["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d"],
        8 => &["%d/%m/%y", "%d-%m-%y", "%d.%m.%y"],
        _ => &[],
    };
    for fmt in formats {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return Ok(d);
        }
    }
    Err(format!("date illisible « {} » (attendu jj/mm/aaaa ou aaaa-mm-jj)", text.trim()))
}

/// A table read from a file: `rows[0]` is the file's row 1.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub file: String,
    pub sheet: Option<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// An error located at a cell: `row_index` is 0-based into `rows`.
    pub fn error_at(&self, row_index: usize, column: Option<&str>, message: impl Into<String>) -> SheetError {
        SheetError {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: Some(row_index + 1),
            column: column.map(str::to_string),
            message: message.into(),
        }
    }
}

/// What is wrong, and exactly where: file, sheet, row (1-based, as the spreadsheet shows it), column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SheetError {
    pub file: String,
    pub sheet: Option<String>,
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for SheetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(s) = &self.sheet {
            write!(f, ", feuille « {s} »")?;
        }
        if let Some(r) = self.row {
            write!(f, ", ligne {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", colonne « {c} »")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Lower-case, accents dropped, runs of non-alphanumerics as one `_`: `Date demande` -> `date_demande`.
pub fn normalize_header(h: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in h.trim().nfd().filter(|c| c.is_ascii()).flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form() {
        let d = NaiveDate::from_ymd_opt(2025, 9, 10).unwrap();
        assert_eq!(parse_date("10/09/2025"), Ok(d));
        assert_eq!(parse_date("2025-09-10"), Ok(d));
        assert_eq!(parse_date("10/09/25"), Ok(d));
        assert_eq!(parse_date("10.09.2025"), Ok(d));
        assert_eq!(Cell::Number(45910.0).date(), Ok(d));
        assert!(parse_date("31/02/2025").is_err());
        assert!(parse_date("demain").is_err());
        assert!(Cell::Text("05/09/2205".into()).date().unwrap_err().contains("2000 à 2100"));
        assert!(Cell::Text("05/09/1999".into()).date().is_err());
        assert!(Cell::Date(NaiveDate::from_ymd_opt(2101, 1, 1).unwrap()).date().is_err());
        assert!(Cell::Text("31/12/2100".into()).date().is_ok());
    }

    #[test]
    fn headers_normalize() {
        assert_eq!(normalize_header(" Date demande "), "date_demande");
        assert_eq!(normalize_header("Prénom"), "prenom");
        assert_eq!(normalize_header("Attestation de bourse"), "attestation_de_bourse");
        assert_eq!(normalize_header("École"), "ecole");
    }

    #[test]
    fn whole_numbers_print_as_integers() {
        assert_eq!(Cell::Number(22001234.0).text(), "22001234");
        assert_eq!(Cell::Number(1630.5).text(), "1630.5");
    }
}
