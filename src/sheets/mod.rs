//! Sheets: reads CSV (UTF-8 or Windows-1252; `;`, `,` or tab) and xlsx/xls/ods (calamine) into rows
//! of cells, and names the file, sheet, row and column of any cell that cannot be used.

use std::fmt;
use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};
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
    /// dd-mm-yyyy, dd.mm.yyyy or ISO yyyy-mm-dd.
    pub fn date(&self) -> Result<NaiveDate, String> {
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
    /// An amount: a spreadsheet number (rounded to the cent it was typed with) or French text.
    pub fn money(&self) -> Result<Option<crate::money::Money>, String> {
        match self {
            c if c.is_empty() => Ok(None),
            Cell::Number(n) => crate::money::Money::parse(&format!("{n:.2}")).map(Some).map_err(|e| e.to_string()),
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

fn file_error(path: &Path, message: impl Into<String>) -> SheetError {
    SheetError { file: display_name(path), sheet: None, row: None, column: None, message: message.into() }
}

fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Reads the first sheet of a spreadsheet, or a CSV file, chosen by the file's extension.
pub fn read(path: &Path) -> Result<Sheet, SheetError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" | "tsv" => read_csv(path),
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => read_workbook(path),
        _ => Err(file_error(path, format!("format non reconnu « .{ext} » (csv, xlsx, xls, ods)"))),
    }
}

fn read_workbook(path: &Path) -> Result<Sheet, SheetError> {
    let mut wb = open_workbook_auto(path).map_err(|e| file_error(path, format!("classeur illisible: {e}")))?;
    let name = wb.sheet_names().first().cloned().ok_or_else(|| file_error(path, "le classeur n'a aucune feuille"))?;
    let range =
        wb.worksheet_range(&name).map_err(|e| file_error(path, format!("feuille « {name} » illisible: {e}")))?;
    // calamine's range starts at the first used cell; pad so that row numbers match the sheet's.
    let (first_row, first_col) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
    let mut rows = vec![Vec::new(); first_row];
    for r in range.rows() {
        let mut cells = vec![Cell::Empty; first_col];
        cells.extend(r.iter().map(cell_of));
        rows.push(cells);
    }
    Ok(Sheet { file: display_name(path), sheet: Some(name), rows })
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => dt.as_datetime().map(|d| Cell::Date(d.date())).unwrap_or(Cell::Number(dt.as_f64())),
        Data::DateTimeIso(s) => parse_date(s).map(Cell::Date).unwrap_or_else(|_| Cell::Text(s.clone())),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// Decodes CSV bytes: UTF-8 (with or without BOM) when valid, else Windows-1252, the encoding
/// French banks and Excel use by default.
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// The delimiter that splits the first lines most consistently into more than one field.
fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(20).collect();
    let mut best = (b';', 0usize);
    for d in [b';', b'\t', b','] {
        let counts: Vec<usize> = lines.iter().map(|l| l.bytes().filter(|b| *b == d).count()).collect();
        let max = counts.iter().copied().max().unwrap_or(0);
        // Lines holding the widest row's count: the table, not the title lines above it.
        let consistent = counts.iter().filter(|c| **c == max && max > 0).count();
        let score = consistent * max;
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

fn read_csv(path: &Path) -> Result<Sheet, SheetError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, format!("lecture impossible: {e}")))?;
    let text = decode_text(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(&text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| SheetError {
            file: display_name(path),
            sheet: None,
            row: Some(e.position().map(|p| p.line() as usize).unwrap_or(i + 1)),
            column: None,
            message: format!("CSV illisible: {e}"),
        })?;
        rows.push(
            record.iter().map(|f| if f.trim().is_empty() { Cell::Empty } else { Cell::Text(f.to_string()) }).collect(),
        );
    }
    Ok(Sheet { file: display_name(path), sheet: None, rows })
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
    }

    #[test]
    fn windows_1252_and_bom() {
        assert_eq!(decode_text(b"Pr\xe9nom;Nom"), "Prénom;Nom");
        assert_eq!(decode_text("\u{feff}Prénom".as_bytes()), "Prénom");
    }

    #[test]
    fn delimiter_ignores_title_lines() {
        assert_eq!(sniff_delimiter("Relevé, compte 123\nDate;Libellé;Montant\n01/09/2025;VIR, SEPA;10,00\n"), b';');
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
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
