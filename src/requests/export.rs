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

/// Writes the letters to `path`: `.csv` (UTF-8 with BOM, `;`, as Excel in French opens it) or `.xlsx`.
/// Returns how many letters were written.
pub async fn write(store: &Store, path: &Path) -> Result<usize> {
    let letters = letters(store).await?;
    let rows: Vec<Vec<String>> = letters.iter().map(|l| cells(l).map(str::to_string).to_vec()).collect();
    crate::sheets::write_table(path, "Décisions", &HEADERS, &rows)?;
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
