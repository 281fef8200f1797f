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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
