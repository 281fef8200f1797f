//! Registration import: the portal's CSV/XLSX export of registrations and plan requests, read
//! all-or-nothing (a bad cell names file, row and column) and idempotent (re-importing adds nothing).

use std::path::Path;

use serde::Serialize;
use serde_json::json;

pub use regie_rules::requests::registrations::*;

use crate::Result;
use crate::sheets;
use crate::store::{self, Conn, Store, audit};

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
    for reg in regs {
        let student_id = match store::students::by_number(conn, &reg.student.number).await? {
            Some(s) => s.id,
            None => {
                summary.students_created += 1;
                store::students::insert(conn, &reg.student).await?
            }
        };
        match store::requests::insert_if_new(conn, &reg.request, student_id).await? {
            Some(_) => summary.requests_created += 1,
            None => summary.unchanged += 1,
        }
    }
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
