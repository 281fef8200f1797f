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
        self.str().into_owned()
    }

    /// `text`, borrowed from the cell when it holds text: a file's 100,000 rows read without
    /// copying each cell first.
    pub fn str(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(t) => Cow::Borrowed(t.trim()),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Cow::Owned(format!("{}", *n as i64)),
            Cell::Number(n) => Cow::Owned(format!("{n}")),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::Bool(b) => Cow::Borrowed(if *b { "oui" } else { "non" }),
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
            other => parse_date(&other.str()),
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
            other => crate::money::Money::parse(&other.str()).map(Some).map_err(|e| e.to_string()),
        }
    }
}

pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let t = t.split_whitespace().next().unwrap_or(""); // drop a time part
    if let Some(d) = plain_date(t) {
        return Ok(d);
    }
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

/// The common forms read by hand (dd/mm/yyyy with `/`, `-` or `.`; yyyy-mm-dd, yyyy/mm/dd),
/// as chrono's formats would read them: a statement's or an export's 100,000 dates, each
/// otherwise parsed against the format strings in turn. `None` leaves the text to those.
fn plain_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = match (b[2], b[5], b[4], b[7]) {
        (s, t, _, _) if s == t && matches!(s, b'/' | b'-' | b'.') => (num(6..10)?, num(3..5)?, num(0..2)?),
        (_, _, s, t) if s == t && matches!(s, b'-' | b'/') => (num(0..4)?, num(5..7)?, num(8..10)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// A date as the database writes it (`yyyy-mm-dd`), read by hand: an import reads every open
/// installment's due date (60,000 at office scale) before it matches anything.
pub fn iso_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    plain_date(t)
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
        let message = message.into();
        SheetError {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: Some(row_index + 1),
            // A header or a value a crafted file made a million characters long is cut here.
            column: column.map(|c| cut(c, 40)),
            message: cut(&message, 300),
        }
    }
}

/// A value quoted in a message, cut after 40 characters: a crafted cell of a million characters
/// does not make a message of a million.
pub fn clipped(value: &str) -> String {
    cut(value, 40)
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
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
    fn a_crafted_value_makes_no_giant_message() {
        let sheet = Sheet { file: "f.csv".into(), sheet: None, rows: Vec::new() };
        let value = "é".repeat(100_000);
        let e = sheet.error_at(0, Some(&value), format!("session illisible « {value} »"));
        assert_eq!(e.column, Some(format!("{}…", "é".repeat(40))));
        assert_eq!(e.message.chars().count(), 301);
        assert!(e.message.starts_with("session illisible « éé") && e.message.ends_with("é…"));
        assert_eq!(clipped("court"), "court");
        assert_eq!(
            sheet.error_at(1, Some("Montant"), "montant nul").to_string(),
            "f.csv, ligne 2, colonne « Montant »: montant nul"
        );
    }

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

    /// The dates read by hand are those chrono's formats read, and only those: every day of
    /// two years in each form, and texts of that length that are no date or another one.
    #[test]
    fn dates_read_by_hand_as_chrono_reads_them() {
        use chrono::Datelike;
        let chrono_only = |t: &str| {
            ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        };
        let mut texts = vec![];
        let mut d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        while d.year() < 2026 {
            for f in ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y.%m.%d", "%d/%m-%Y"] {
                texts.push(d.format(f).to_string());
            }
            d = d.succ_opt().unwrap();
        }
        for t in [
            "00/09/2025",
            "31/04/2025",
            "29/02/2025",
            "29/02/2024",
            "10/13/2025",
            "2025-00-10",
            "2025-02-30",
            "1a/09/2025",
            "10/09/20x5",
            "+1/09/2025",
            "10/09/+202",
            "10 09 2025",
            "2025-9-010",
            "99/99/9999",
        ] {
            texts.push(t.into());
        }
        for t in &texts {
            assert_eq!(plain_date(t).or_else(|| chrono_only(t)), chrono_only(t), "{t}");
            assert_eq!(iso_date(t), NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().filter(|_| t.len() == 10), "{t}");
            assert_eq!(parse_date(t).ok(), chrono_only(t), "{t}");
        }
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
