//! Sheets: reads CSV (UTF-8 or Windows-1252; `;`, `,` or tab) and xlsx/xls/ods (calamine) into rows
//! of cells, and names the file, sheet, row and column of any cell that cannot be used.

use std::fmt;
use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};
pub use regie_rules::sheet::{Cell, Sheet, SheetError, normalize_header, parse_date};

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

/// The widest sheet we read: a bank statement or a registrations export has a few dozen columns;
/// a cell beyond column ALL is a stray or a crafted file.
const MAX_COLUMNS: usize = 1_000;
/// The longest sheet any spreadsheet program writes.
const MAX_ROWS: usize = 1_048_576;
/// The most cells a sheet may hold once laid out in rows (each row as wide as its last used
/// cell): ten 100,000-line statements of ten columns, a few hundred megabytes at most.
const MAX_CELLS: usize = 10_000_000;
/// The largest CSV file read, and the largest file the window may send: a year of statements or
/// gateway exports is a few tens of megabytes; more is a mistake or a crafted file.
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

fn sheet_error(path: &Path, sheet: &str, message: impl Into<String>) -> SheetError {
    SheetError {
        file: display_name(path),
        sheet: Some(sheet.to_string()),
        row: None,
        column: None,
        message: message.into(),
    }
}

/// A sheet's rows built from its used cells as they are read, each row only as wide as its last
/// used cell: a crafted file that declares or uses a far corner (XFD1048576) costs nothing, and
/// one that would need more than `MAX_CELLS` is refused before it is allocated.
struct Rows<'p> {
    path: &'p Path,
    sheet: String,
    rows: Vec<Vec<Cell>>,
    cells: usize,
}

impl<'p> Rows<'p> {
    fn new(path: &'p Path, sheet: &str) -> Self {
        Rows { path, sheet: sheet.to_string(), rows: Vec::new(), cells: 0 }
    }

    fn too_big(&self, message: String) -> SheetError {
        sheet_error(
            self.path,
            &self.sheet,
            format!("feuille démesurée: {message} ; seules les données du tableau sont attendues"),
        )
    }

    fn put(&mut self, row: usize, col: usize, cell: Cell) -> Result<(), SheetError> {
        if cell.is_empty() {
            return Ok(());
        }
        let name = || format!("{}{}", column_name(col), row + 1);
        if col >= MAX_COLUMNS {
            return Err(self.too_big(format!(
                "cellule {} au-delà de la colonne {}",
                name(),
                column_name(MAX_COLUMNS - 1)
            )));
        }
        if row >= MAX_ROWS {
            return Err(self.too_big(format!("cellule {} au-delà de la ligne {MAX_ROWS}", name())));
        }
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.rows[row];
        if cells.len() <= col {
            self.cells += col + 1 - cells.len();
            if self.cells > MAX_CELLS {
                return Err(self.too_big(format!("plus de {MAX_CELLS} cellules (jusqu'à {})", name())));
            }
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = cell;
        Ok(())
    }

    fn finish(self) -> Sheet {
        Sheet { file: display_name(self.path), sheet: Some(self.sheet), rows: self.rows }
    }
}

/// `0` -> `A`, `27` -> `AB`.
fn column_name(i: usize) -> String {
    let mut n = i + 1;
    let mut s = String::new();
    while n > 0 {
        s.insert(0, char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    s
}

fn read_workbook(path: &Path) -> Result<Sheet, SheetError> {
    let unreadable = |e: &dyn fmt::Display| file_error(path, format!("classeur illisible: {e}"));
    let first =
        |names: Vec<String>| names.into_iter().next().ok_or_else(|| file_error(path, "le classeur n'a aucune feuille"));
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if ext != "xls" {
        check_zip_parts(path)?;
    }
    match ext.as_str() {
        // xlsx and xlsb are read cell by cell, never as calamine's dense range (rows × columns of
        // the used area, 550 GB for a file holding A1 and XFD1048576).
        "xlsx" | "xlsm" => {
            let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| unreadable(&e))?;
            let name = first(wb.sheet_names())?;
            let bad = |e: &dyn fmt::Display| sheet_error(path, &name, format!("feuille illisible: {e}"));
            let mut rows = Rows::new(path, &name);
            let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| bad(&e))?;
            let declared = reader.dimensions();
            if declared.end.1 as usize >= MAX_COLUMNS {
                return Err(rows.too_big(format!(
                    "dimensions déclarées jusqu'à {}{}",
                    column_name(declared.end.1 as usize),
                    u64::from(declared.end.0) + 1
                )));
            }
            while let Some(c) = reader.next_cell().map_err(|e| bad(&e))? {
                let (r, col) = c.get_position();
                rows.put(r as usize, col as usize, cell_of(&Data::from(c.get_value().clone())))?;
            }
            Ok(rows.finish())
        }
        "xlsb" => {
            let mut wb: calamine::Xlsb<_> = calamine::open_workbook(path).map_err(|e| unreadable(&e))?;
            let name = first(wb.sheet_names())?;
            let bad = |e: &dyn fmt::Display| sheet_error(path, &name, format!("feuille illisible: {e}"));
            let mut rows = Rows::new(path, &name);
            let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| bad(&e))?;
            while let Some(c) = reader.next_cell().map_err(|e| bad(&e))? {
                let (r, col) = c.get_position();
                rows.put(r as usize, col as usize, cell_of(&Data::from(c.get_value().clone())))?;
            }
            Ok(rows.finish())
        }
        // calamine reads xls and ods whole when it opens them. An xls sheet is bounded by its format
        // (65,536 rows × 256 columns); an ods file's repeated rows and cells are counted first.
        _ => {
            if ext == "ods" {
                check_ods(path)?;
            }
            if ext == "xls" {
                check_xls(path)?;
            }
            let mut wb = open_workbook_auto(path).map_err(|e| unreadable(&e))?;
            let name = first(wb.sheet_names())?;
            let range =
                wb.worksheet_range(&name).map_err(|e| sheet_error(path, &name, format!("feuille illisible: {e}")))?;
            let (first_row, first_col) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
            let mut rows = Rows::new(path, &name);
            for (r, c, d) in range.used_cells() {
                rows.put(first_row + r, first_col + c, cell_of(d))?;
            }
            Ok(rows.finish())
        }
    }
}

/// The largest xls workbook stream we scan (an xls file is at most a few tens of megabytes).
const MAX_XLS_STREAM: u64 = 256 * 1024 * 1024;

/// Scans an xls file's records before calamine opens it. calamine parses every sheet when it
/// opens the file, reserves room for each sheet's declared dimensions (a 32-bit row count: a
/// few bytes can ask for terabytes) and lays each sheet out from its first to its last cell.
/// Refuses a file whose sheets declare or use more than `MAX_CELLS` cells in all.
fn check_xls(path: &Path) -> Result<(), SheetError> {
    use std::io::Read;
    let bad = |m: String| file_error(path, m);
    let mut file = cfb::open(path).map_err(|e| bad(format!("fichier xls illisible: {e}")))?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| file.is_stream(n))
        .ok_or_else(|| bad("fichier xls sans classeur".into()))?;
    let mut data = Vec::new();
    file.open_stream(name)
        .map_err(|e| bad(format!("fichier xls illisible: {e}")))?
        .take(MAX_XLS_STREAM)
        .read_to_end(&mut data)
        .map_err(|e| bad(format!("fichier xls illisible: {e}")))?;
    let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]) as usize);
    let u32_at = |b: &[u8], i: usize| b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize);
    let too_big =
        |what: String| bad(format!("classeur démesuré: {what} ; seules les données du tableau sont attendues"));
    // (last row, last column) used by the current sheet, and the cells of the sheets done.
    let mut corner: Option<(usize, usize)> = None;
    let mut total = 0usize;
    let close = |corner: &mut Option<(usize, usize)>, total: &mut usize| -> Result<(), SheetError> {
        if let Some((r, c)) = corner.take() {
            *total = total.saturating_add((r + 1).saturating_mul(c + 1));
            if *total > MAX_CELLS {
                return Err(too_big(format!("plus de {MAX_CELLS} cellules")));
            }
        }
        Ok(())
    };
    let mut pos = 0;
    while let (Some(typ), Some(len)) = (u16_at(&data, pos), u16_at(&data, pos + 2)) {
        let body = data.get(pos + 4..pos + 4 + len).unwrap_or(&[]);
        pos += 4 + len;
        let mut used = |row: Option<usize>, col: Option<usize>| {
            if let (Some(r), Some(c)) = (row, col) {
                let (r0, c0) = corner.unwrap_or((0, 0));
                corner = Some((r0.max(r), c0.max(c)));
            }
        };
        match typ {
            // BOF and EOF bound a sheet's records.
            0x0809 | 0x000A => close(&mut corner, &mut total)?,
            // Dimensions: BIFF8 rows as u32, BIFF5 as u16.
            0x0200 => {
                let (rows, cols) = if len >= 14 {
                    (u32_at(body, 4).zip(u32_at(body, 0)), u16_at(body, 10).zip(u16_at(body, 8)))
                } else {
                    (u16_at(body, 2).zip(u16_at(body, 0)), u16_at(body, 6).zip(u16_at(body, 4)))
                };
                let span = |p: Option<(usize, usize)>| p.map(|(last, first)| last.saturating_sub(first)).unwrap_or(0);
                if span(rows).saturating_mul(span(cols)) > MAX_CELLS {
                    return Err(too_big(format!(
                        "une feuille déclare {} lignes × {} colonnes",
                        span(rows),
                        span(cols)
                    )));
                }
            }
            // Cells: row and column first.
            0x0201 | 0x0203 | 0x0204 | 0x0205 | 0x0006 | 0x00D6 | 0x00FD | 0x027E => {
                used(u16_at(body, 0), u16_at(body, 2))
            }
            // A row of numbers: its last column closes the record.
            0x00BD => used(u16_at(body, 0), len.checked_sub(2).and_then(|i| u16_at(body, i))),
            _ => {}
        }
    }
    close(&mut corner, &mut total)
}

/// The most a sheet's part of a workbook (`xl/worksheets/…`, ods's `content.xml`) may unfold to:
/// a 100,000-line statement is some 60 MB of XML.
const MAX_SHEET_PART: u64 = 1 << 30;
/// The most any other part may unfold to. calamine reads the shared strings, styles and workbook
/// parts whole when it opens the file: 2.4 MB of xlsx whose shared strings unfolded to 1 GB took
/// 3.3 GB of memory and four minutes before this check.
const MAX_OTHER_PART: u64 = 128 << 20;

/// Refuses a zipped workbook (xlsx, xlsm, xlsb, ods) whose parts unfold beyond their limits, from
/// the sizes its directory declares, before calamine reads any: the zip reader stops at the
/// declared size, so a part that lies about it fails there instead of growing.
fn check_zip_parts(path: &Path) -> Result<(), SheetError> {
    let unreadable = |e: &dyn fmt::Display| file_error(path, format!("classeur illisible: {e}"));
    let file = std::fs::File::open(path).map_err(|e| file_error(path, format!("lecture impossible: {e}")))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| unreadable(&e))?;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        let name = part.name().map_err(|e| unreadable(&e))?;
        let limit =
            if name.starts_with("xl/worksheets/") || name == "content.xml" { MAX_SHEET_PART } else { MAX_OTHER_PART };
        if part.size() > limit {
            return Err(file_error(
                path,
                format!(
                    "classeur démesuré: sa partie « {name} » se déplie en {} Mo, au-delà des {} Mo acceptés",
                    part.size() >> 20,
                    limit >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Counts, from an ods file's content.xml, the cells calamine would lay out when it opens the file
/// (it expands `number-rows-repeated` and `number-columns-repeated` up to 100 million cells: a
/// one-kilobyte file can ask for gigabytes) and refuses the file beyond `MAX_CELLS`.
fn check_ods(path: &Path) -> Result<(), SheetError> {
    use quick_xml::events::Event;
    let unreadable = |e: &dyn fmt::Display| file_error(path, format!("classeur illisible: {e}"));
    let file = std::fs::File::open(path).map_err(|e| file_error(path, format!("lecture impossible: {e}")))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| unreadable(&e))?;
    let content = zip.by_name("content.xml").map_err(|e| unreadable(&e))?;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    fn repeats(e: &quick_xml::events::BytesStart<'_>, attr: &str) -> usize {
        e.try_get_attribute(attr).ok().flatten().and_then(|a| a.value.trim().parse::<usize>().ok()).unwrap_or(1)
    }
    let (mut buf, mut skip) = (Vec::new(), Vec::new());
    // Per table: rows so far (expanded, as calamine caps them), the row being read (repeats,
    // cells so far, cells up to the last used one), the widest row, the rows up to the last used.
    let (mut table_rows, mut row_repeats, mut row_cells, mut row_width) = (0usize, 0usize, 0usize, 0usize);
    let (mut widest, mut used_rows) = (0usize, 0usize);
    // calamine keeps each row element up to its last used cell, then lays every table out as its
    // area from the first to the last used row, as wide as the widest: both count.
    let (mut kept, mut areas_before) = (0usize, 0usize);
    let mut in_row = false;
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| unreadable(&e))?;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "table:table" => {
                areas_before = areas_before.saturating_add(used_rows.saturating_mul(widest));
                table_rows = 0;
                widest = 0;
                used_rows = 0;
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                in_row = true;
                row_repeats = repeats(&e, "table:number-rows-repeated").min(MAX_ROWS.saturating_sub(table_rows));
                (row_cells, row_width) = (0, 0);
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if in_row && matches!(e.name().as_ref(), "table:table-cell" | "table:covered-table-cell") =>
            {
                let n = repeats(e, "table:number-columns-repeated");
                let used = matches!(event, Event::Start(_))
                    || e.try_get_attribute("office:value-type").ok().flatten().is_some()
                    || e.try_get_attribute("table:formula").ok().flatten().is_some();
                row_cells = row_cells.saturating_add(n).min(16_384);
                if used {
                    row_width = row_cells;
                }
                if let Event::Start(e) = &event {
                    let name = e.name().as_ref().to_string();
                    xml.read_to_end_into(quick_xml::name::QName(&name), &mut skip).map_err(|e| unreadable(&e))?;
                    skip.clear();
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                in_row = false;
                table_rows = table_rows.saturating_add(row_repeats);
                kept = kept.saturating_add(row_width);
                if row_width > 0 {
                    used_rows = table_rows;
                    widest = widest.max(row_width);
                }
                let total = kept.saturating_add(areas_before).saturating_add(used_rows.saturating_mul(widest));
                if total > MAX_CELLS {
                    return Err(file_error(
                        path,
                        format!("feuille démesurée: plus de {MAX_CELLS} cellules une fois les répétitions dépliées"),
                    ));
                }
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => match time_of_day(dt.as_f64()) {
            Some(time) => Cell::Text(time),
            None => dt.as_datetime().map(|d| Cell::Date(d.date())).unwrap_or(Cell::Number(dt.as_f64())),
        },
        Data::DateTimeIso(s) => parse_date(s).map(Cell::Date).unwrap_or_else(|_| Cell::Text(s.clone())),
        Data::DurationIso(s) => Cell::Text(iso_time_of_day(s).unwrap_or_else(|| s.clone())),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// A time alone (a fraction of a day: a gateway export's "Heure") as the spreadsheet shows it,
/// `14:02:11`, rather than the date it would make (30/12/1899).
fn time_of_day(fraction: f64) -> Option<String> {
    (0.0..1.0).contains(&fraction).then(|| {
        let seconds = ((fraction * 86_400.0).round() as u32).min(86_399);
        format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
    })
}

/// An ods time (`PT14H02M11S`, seconds perhaps with a fraction) under a day, as `time_of_day`.
fn iso_time_of_day(text: &str) -> Option<String> {
    let rest = text.strip_prefix("PT")?;
    let (h, rest) = rest.split_once('H')?;
    let (m, rest) = rest.split_once('M')?;
    let s = rest.strip_suffix('S')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let s: f64 = s.parse().ok().filter(|s: &f64| (0.0..60.0).contains(s))?;
    (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}:{:02}", s as u32))
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
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| file_error(path, format!("lecture impossible: {e}"));
    let too_big = |size: String| {
        file_error(path, format!("fichier de {size} Mo, au-delà des {} Mo acceptés", MAX_FILE_BYTES >> 20))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // The size announced first, then what is read: a pipe or a device announces none.
    let announced = file.metadata().map_err(unreadable)?.len();
    if announced > MAX_FILE_BYTES as u64 {
        return Err(too_big((announced >> 20).to_string()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big(format!("plus de {}", MAX_FILE_BYTES >> 20)));
    }
    let text = decode_text(&bytes);
    drop(bytes);
    let rows = records(path, &text, sniff_delimiter(&text))?;
    Ok(Sheet { file: display_name(path), sheet: None, rows })
}

/// The line of the file a record starts on. Not the reader's own count: after a CRLF it has not
/// yet read the LF when the next record starts, and names the line before.
fn line_at(text: &str, at: &csv::Position) -> usize {
    let bytes = text.as_bytes();
    let start = (at.byte() as usize).min(bytes.len());
    let start = start + bytes[start..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    1 + line_breaks(&bytes[..start])
}

/// The line breaks an editor sees: LF, CRLF, or a CR alone (an old Mac's).
fn line_breaks(bytes: &[u8]) -> usize {
    let lf = bytes.iter().filter(|b| **b == b'\n').count();
    let cr_alone = bytes.windows(2).filter(|w| w[0] == b'\r' && w[1] != b'\n').count();
    lf + cr_alone + usize::from(bytes.last() == Some(&b'\r'))
}

/// The records of a CSV text as rows of cells.
fn records(path: &Path, text: &str, delimiter: u8) -> Result<Vec<Vec<Cell>>, SheetError> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut cells = 0usize;
    // One record read into again and again: a statement's 100,000 rows are not 100,000 buffers.
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| SheetError {
            file: display_name(path),
            sheet: None,
            row: Some(e.position().map_or(rows.len() + 1, |p| line_at(text, p))),
            column: None,
            message: format!("CSV illisible: {e}"),
        })?;
        if !more {
            break;
        }
        let refused = |message: String| SheetError {
            file: display_name(path),
            sheet: None,
            row: Some(record.position().map_or(rows.len() + 1, |p| line_at(text, p))),
            column: None,
            message: format!("fichier démesuré: {message} ; seules les données du tableau sont attendues"),
        };
        if rows.len() >= MAX_ROWS {
            return Err(refused(format!("plus de {MAX_ROWS} lignes")));
        }
        if record.len() > MAX_COLUMNS {
            return Err(refused(format!(
                "{} champs, au-delà de la colonne {}",
                record.len(),
                column_name(MAX_COLUMNS - 1)
            )));
        }
        cells += record.len();
        if cells > MAX_CELLS {
            return Err(refused(format!("plus de {MAX_CELLS} cellules")));
        }
        rows.push(
            record.iter().map(|f| if f.trim().is_empty() { Cell::Empty } else { Cell::Text(f.to_string()) }).collect(),
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_alone_read_as_the_spreadsheet_shows_them() {
        assert_eq!(time_of_day(0.0).as_deref(), Some("00:00:00"));
        assert_eq!(time_of_day((14.0 * 3600.0 + 2.0 * 60.0 + 11.0) / 86_400.0).as_deref(), Some("14:02:11"));
        assert_eq!(time_of_day(0.999_999_9).as_deref(), Some("23:59:59"));
        assert_eq!(time_of_day(45_900.25), None);
        assert_eq!(iso_time_of_day("PT14H02M11S").as_deref(), Some("14:02:11"));
        assert_eq!(iso_time_of_day("PT06H10M31.000S").as_deref(), Some("06:10:31"));
        for other in ["PT25H00M00S", "PT1H60M0S", "P1DT2H", "14:02", "PT-1H00M00S"] {
            assert_eq!(iso_time_of_day(other), None, "{other}");
        }
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

    /// A CSV file's line too wide is named as an editor numbers it, whatever ends the lines
    /// before it (the reader's own count lagged one line behind after each CRLF).
    #[test]
    fn a_csv_line_is_named_as_an_editor_numbers_it() {
        let path = std::env::temp_dir().join(format!("regie-lines-{}.csv", std::process::id()));
        let wide = ";".repeat(MAX_COLUMNS);
        for (before, line) in [
            ("a;b\r\nc\r\n", 3),
            ("a;b\nc\n", 3),
            ("a;b\r\n\r\nc\r\n", 4),
            ("", 1),
            ("a\r", 2),
            ("a\r\n".repeat(9_999).as_str(), 10_000),
        ] {
            std::fs::write(&path, before.to_string() + &wide + "\r\nd;e\r\n").unwrap();
            let e = read(&path).unwrap_err();
            assert_eq!(e.row, Some(line), "{before:?}: {e}");
            assert!(e.message.contains("1001 champs"), "{e}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// An xls file (a compound file holding a `Workbook` stream) made of BIFF records.
    fn xls(name: &str, records: &[(u16, Vec<u8>)]) -> std::path::PathBuf {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("regie-xls-{}-{name}.xls", std::process::id()));
        let mut file = cfb::create(&path).unwrap();
        let mut stream = file.create_stream("/Workbook").unwrap();
        for (typ, body) in records {
            stream.write_all(&typ.to_le_bytes()).unwrap();
            stream.write_all(&(body.len() as u16).to_le_bytes()).unwrap();
            stream.write_all(body).unwrap();
        }
        drop(stream);
        file.flush().unwrap();
        path
    }

    fn dimensions(last_row: u32, last_col: u16) -> (u16, Vec<u8>) {
        let mut b = Vec::new();
        b.extend(0u32.to_le_bytes());
        b.extend(last_row.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(last_col.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        (0x0200, b)
    }

    fn number(row: u16, col: u16) -> (u16, Vec<u8>) {
        let mut b = Vec::new();
        b.extend(row.to_le_bytes());
        b.extend(col.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend(1630.5f64.to_le_bytes());
        (0x0203, b)
    }

    #[test]
    fn xls_sheets_of_absurd_size_are_refused_before_calamine_reads_them() {
        let bof = (0x0809u16, vec![0u8; 16]);
        let eof = (0x000Au16, Vec::new());
        // A sheet that declares four billion rows: calamine would reserve them when opening.
        let declared =
            xls("declared", &[bof.clone(), eof.clone(), bof.clone(), dimensions(u32::MAX - 1, 255), eof.clone()]);
        let e = check_xls(&declared).unwrap_err().to_string();
        assert!(e.contains("démesuré") && e.contains("regie-xls"), "{e}");
        assert!(read(&declared).is_err());
        // Two cells at opposite corners: calamine would lay out 65,536 x 256 cells.
        let corners = xls("corners", &[bof.clone(), number(0, 0), number(65_535, 255), eof.clone()]);
        assert!(check_xls(&corners).unwrap_err().to_string().contains("cellules"));
        // Many sheets add up.
        let mut many = Vec::new();
        for _ in 0..12 {
            many.extend([bof.clone(), number(0, 0), number(9_999, 99), eof.clone()]);
        }
        assert!(check_xls(&xls("many", &many)).is_err(), "12 x 1,000,000 cells");
        // A statement-sized sheet passes the scan.
        assert!(check_xls(&xls("small", &[bof.clone(), dimensions(500, 6), number(499, 5), eof.clone()])).is_ok());
        // Junk named .xls is refused cleanly.
        let junk = std::env::temp_dir().join(format!("regie-xls-{}-junk.xls", std::process::id()));
        std::fs::write(&junk, b"\x00\x01 not a compound file").unwrap();
        assert!(read(&junk).is_err());
        for p in [declared, corners, junk] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A CSV cell a spreadsheet will not run: names and reasons come from students and users, and
/// Excel or LibreOffice take a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// as a formula (`=HYPERLINK(...)`). A leading `'` makes it text, shown as written.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_string() }
}

/// Writes a table for the office's mail merge: `.csv` (UTF-8 with BOM, `;`, as Excel in French
/// opens it, formula-like cells made text) or `.xlsx` (every cell a string).
pub fn write_table(path: &Path, sheet: &str, headers: &[&str], rows: &[Vec<String>]) -> crate::Result<()> {
    use crate::Error;
    let io = |e: std::io::Error| Error::Io { path: path.display().to_string(), source: e };
    match path.extension().map(|e| e.to_string_lossy().to_lowercase()).as_deref() {
        Some("csv") => {
            let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
            let csv_err = |e: csv::Error| Error::Invalid(format!("écriture CSV: {e}"));
            w.write_record(headers).map_err(csv_err)?;
            for r in rows {
                w.write_record(r.iter().map(|c| inert(c))).map_err(csv_err)?;
            }
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend(w.into_inner().map_err(|e| Error::Invalid(format!("écriture CSV: {e}")))?);
            std::fs::write(path, bytes).map_err(io)?;
        }
        Some("xlsx") => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            let xl = |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("écriture XLSX: {e}"));
            ws.set_name(sheet).map_err(xl)?;
            for (c, h) in headers.iter().enumerate() {
                ws.write_string(0, c as u16, *h).map_err(xl)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    ws.write_string(r as u32 + 1, c as u16, v).map_err(xl)?;
                }
            }
            wb.save(path).map_err(xl)?;
        }
        _ => return Err(Error::Invalid(format!("{}: extension attendue .csv ou .xlsx", path.display()))),
    }
    Ok(())
}

#[cfg(test)]
mod write_tests {
    use super::inert;

    #[test]
    fn formula_cells_are_made_text() {
        for cell in ["=HYPERLINK(\"http://x\",\"y\")", "+33 6", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(inert(cell), format!("'{cell}"));
        }
        for cell in ["Durand", "O'Brien", "", "1 630,50 €", "a=b"] {
            assert_eq!(inert(cell), cell);
        }
    }
}
