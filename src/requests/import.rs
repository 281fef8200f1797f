//! Registration import: the portal's CSV/XLSX export of registrations and plan requests, read
//! all-or-nothing (a bad cell names file, row and column) and idempotent (re-importing adds nothing).

use std::path::Path;

use serde::Serialize;
use serde_json::json;

pub use regie_rules::requests::registrations::*;

use crate::ledger::NewStudent;
use crate::requests::NewRequest;
use crate::sheets;
use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export, rename = "RegistrationsSummary")]
pub struct ImportSummary {
    pub rows: usize,
    pub students_created: usize,
    pub requests_created: usize,
    /// Rows whose request was already known: re-importing a file changes nothing.
    pub unchanged: usize,
    /// Header cells Régie does not know, as written: their columns were not read.
    pub ignored_columns: Vec<String>,
}

/// Stores registrations in one transaction: students created when new, requests added when not
/// already known. Returns what changed.
pub async fn store_all(conn: &mut Conn, regs: &[Registration]) -> Result<ImportSummary> {
    let mut summary = ImportSummary { rows: regs.len(), ..ImportSummary::default() };
    // Students are found, or created once (a student may ask twice in one file: the first row
    // names them), then every request goes in: a few statements for the whole file.
    let numbers: Vec<&str> = regs.iter().map(|r| r.student.number.as_str()).collect();
    let mut ids = store::students::ids_of(conn, &numbers).await?;
    let mut seen = std::collections::HashSet::new();
    let new: Vec<&NewStudent> = regs
        .iter()
        .map(|r| &r.student)
        .filter(|s| !ids.contains_key(s.number.as_str()) && seen.insert(s.number.as_str()))
        .collect();
    summary.students_created = new.len();
    ids.extend(store::students::insert_many(conn, &new).await?);
    let requests: Vec<(&NewRequest, i64)> = regs
        .iter()
        .map(|r| {
            let id = ids.get(r.student.number.as_str()).copied();
            id.map(|id| (&r.request, id)).ok_or_else(|| Error::StudentNotFound(r.student.number.as_str().to_string()))
        })
        .collect::<Result<_>>()?;
    summary.requests_created = store::requests::insert_many_if_new(conn, &requests).await?;
    summary.unchanged = regs.len() - summary.requests_created;
    Ok(summary)
}

/// One valid row of a registration file, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export, rename = "RegistrationRow")]
pub struct RowView {
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: crate::fees::School,
    pub session: String,
    pub year_of_study: u8,
    pub situation: crate::fees::Situation,
    pub plan: crate::plans::PlanKind,
    pub amount: crate::money::Money,
    pub requested_on: chrono::NaiveDate,
}

/// A bad row of the file: where (row as the spreadsheet numbers it, column as its header writes
/// it) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export, rename = "RegistrationError")]
pub struct RowError {
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

/// What importing a registration file would do, before anything is written: its first rows, every
/// bad row (the import refuses the file while there is one), and what the valid rows would create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export, rename = "RegistrationsPreview")]
pub struct Preview {
    pub file: String,
    /// Rows read, valid or not.
    pub rows: usize,
    pub sample: Vec<RowView>,
    pub errors: Vec<RowError>,
    /// More rows are bad than listed: reading stopped at `MAX_ROW_ERRORS`.
    pub more_errors: bool,
    /// What the valid rows would create (`rows` counts the valid ones only).
    pub would: ImportSummary,
}

/// The rows a preview shows.
const SAMPLE_ROWS: usize = 50;

/// What importing the file at `path` would do. The valid rows are stored then rolled back in one
/// transaction, so the counts are those the import will give, namesakes and repeats included.
pub async fn preview_file(store: &Store, path: &Path) -> Result<Preview> {
    let sheet = sheets::read(path)?;
    let grid = store::settings::fee_grid(&mut *store.read().await?).await?;
    let (regs, errors) = parse_rows(&sheet, &grid, MAX_ROW_ERRORS)?;
    let more_errors = errors.len() >= MAX_ROW_ERRORS;
    let mut tx = store.begin().await?;
    let mut would = store_all(&mut tx, &regs).await?;
    tx.rollback().await?;
    would.ignored_columns = unknown_headers(&sheet);
    let sample = regs
        .iter()
        .take(SAMPLE_ROWS)
        .map(|r| RowView {
            student_number: r.student.number.as_str().to_string(),
            last_name: r.student.last_name.clone(),
            first_name: r.student.first_name.clone(),
            school: r.student.school,
            session: r.request.session.as_str().to_string(),
            year_of_study: r.request.year_of_study,
            situation: r.request.situation,
            plan: r.request.plan,
            amount: r.request.amount,
            requested_on: r.request.requested_on,
        })
        .collect();
    Ok(Preview {
        file: sheet.file.clone(),
        rows: regs.len() + errors.len(),
        sample,
        errors: errors.into_iter().map(|e| RowError { row: e.row, column: e.column, message: e.message }).collect(),
        more_errors,
        would,
    })
}

/// `preview_file` on a file the window sent (kept for the import that follows).
pub async fn preview_uploaded(store: &Store, uploads: &crate::uploads::Uploads, token: u64) -> Result<Preview> {
    preview_file(store, &uploads.path(token)?).await
}

/// `import_file` on a file the window sent (removed once imported; kept while refused, to be
/// tried again).
pub async fn import_uploaded(
    store: &Store,
    uploads: &crate::uploads::Uploads,
    token: u64,
    actor: &str,
) -> Result<ImportSummary> {
    uploads.used(token, |path| async move { import_file(store, &path, actor).await }).await
}

/// Imports a registration file: all rows or none.
pub async fn import_file(store: &Store, path: &Path, actor: &str) -> Result<ImportSummary> {
    let sheet = sheets::read(path)?;
    let grid = store::settings::fee_grid(&mut *store.read().await?).await?;
    let regs = parse(&sheet, &grid)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let mut summary = store_all(&mut tx, &regs).await?;
    summary.ignored_columns = unknown_headers(&sheet);
    if summary.requests_created > 0 || summary.students_created > 0 {
        audit::record(&mut tx, actor, "registrations.import", "file", &sheet.file, None, json!(summary)).await?;
    }
    tx.commit().await?;
    Ok(summary)
}
