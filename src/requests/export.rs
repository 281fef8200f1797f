//! Letters to students: the decisions (accepted, refused, on hold) with e-mail, name, reason and
//! schedule, as CSV or XLSX for the office's mail merge.

use std::path::Path;

use serde::Serialize;

use super::RequestStatus;
use crate::store::{self, Store};
use crate::{Error, Result};

/// One letter's data.
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    pub student_number: String,
    pub email: String,
    pub last_name: String,
    pub first_name: String,
    pub school: String,
    pub session: String,
    pub plan: String,
    pub amount: String,
    pub decision: &'static str,
    pub reason: String,
    pub decided_at: String,
    /// `10/10/2025 : 206,00 € ; 10/11/2025 : 206,00 €` for an accepted plan.
    pub schedule: String,
}

const HEADERS: [&str; 12] = [
    "numero",
    "email",
    "nom",
    "prenom",
    "ecole",
    "session",
    "echeancier",
    "montant",
    "decision",
    "motif",
    "date_decision",
    "echeances",
];

pub async fn letters(store: &Store) -> Result<Vec<Letter>> {
    let mut conn = store.read().await?;
    let mut out = Vec::new();
    for r in store::requests::list(&mut conn, None).await? {
        let decision = match r.status {
            RequestStatus::Approved => "Acceptée",
            RequestStatus::Rejected => "Refusée",
            RequestStatus::Hold => "En attente",
            RequestStatus::Pending => continue,
        };
        let schedule = if r.status == RequestStatus::Approved {
            store::ledger::schedule_of_request(&mut conn, r.id)
                .await?
                .into_iter()
                .map(|(d, m)| format!("{} : {}", d.format("%d/%m/%Y"), m.to_french()))
                .collect::<Vec<_>>()
                .join(" ; ")
        } else {
            String::new()
        };
        out.push(Letter {
            student_number: r.student_number,
            email: r.email,
            last_name: r.last_name,
            first_name: r.first_name,
            school: r.new.school.to_string(),
            session: r.new.session.to_string(),
            plan: r.new.plan.to_string(),
            amount: r.new.amount.to_french(),
            decision,
            reason: r.reason.unwrap_or_default(),
            decided_at: r.decided_at.unwrap_or_default(),
            schedule,
        });
    }
    Ok(out)
}

fn cells(l: &Letter) -> [&str; 12] {
    [
        &l.student_number,
        &l.email,
        &l.last_name,
        &l.first_name,
        &l.school,
        &l.session,
        &l.plan,
        &l.amount,
        l.decision,
        &l.reason,
        &l.decided_at,
        &l.schedule,
    ]
}

/// A CSV cell a spreadsheet will not run: names and reasons come from students and users, and
/// Excel or LibreOffice take a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// as a formula (`=HYPERLINK(...)`). A leading `'` makes it text, shown as written.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_string() }
}

/// Writes the letters to `path`: `.csv` (UTF-8 with BOM, `;`, as Excel in French opens it) or `.xlsx`.
/// Returns how many letters were written.
pub async fn write(store: &Store, path: &Path) -> Result<usize> {
    let letters = letters(store).await?;
    let io = |e: std::io::Error| Error::Io { path: path.display().to_string(), source: e };
    match path.extension().map(|e| e.to_string_lossy().to_lowercase()).as_deref() {
        Some("csv") => {
            let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
            let csv_err = |e: csv::Error| Error::Invalid(format!("écriture CSV: {e}"));
            w.write_record(HEADERS).map_err(csv_err)?;
            for l in &letters {
                w.write_record(cells(l).map(inert)).map_err(csv_err)?;
            }
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend(w.into_inner().map_err(|e| Error::Invalid(format!("écriture CSV: {e}")))?);
            std::fs::write(path, bytes).map_err(io)?;
        }
        Some("xlsx") => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            let xl = |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("écriture XLSX: {e}"));
            ws.set_name("Décisions").map_err(xl)?;
            for (c, h) in HEADERS.iter().enumerate() {
                ws.write_string(0, c as u16, *h).map_err(xl)?;
            }
            for (r, l) in letters.iter().enumerate() {
                for (c, v) in cells(l).iter().enumerate() {
                    ws.write_string(r as u32 + 1, c as u16, *v).map_err(xl)?;
                }
            }
            wb.save(path).map_err(xl)?;
        }
        _ => return Err(Error::Invalid(format!("{}: extension attendue .csv ou .xlsx", path.display()))),
    }
    Ok(letters.len())
}

/// Where the desktop writes letters: `Documents/Régie` (or the home folder), a new time-stamped
/// file each time, so the webview never names a path itself.
pub fn exports_path(extension: &str) -> Result<std::path::PathBuf> {
    if extension != "csv" && extension != "xlsx" {
        return Err(Error::Invalid(format!("format d'export « {extension} » : csv ou xlsx")));
    }
    Ok(crate::exports_dir()?.join(format!("lettres-{}.{extension}", chrono::Local::now().format("%Y%m%d-%H%M%S"))))
}

#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub file: String,
    pub letters: usize,
}

/// Writes the letters into the exports folder.
pub async fn write_export(store: &Store, extension: &str) -> Result<Exported> {
    let path = exports_path(extension)?;
    let letters = write(store, &path).await?;
    Ok(Exported { file: path.display().to_string(), letters })
}

#[cfg(test)]
mod tests {
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
