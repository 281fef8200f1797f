//! Settings: what differs between the schools (6-installment threshold, rounding, debit day,
//! deadline, bank details) and the fee grid's amounts, kept in the database and edited in Paramètres.

use serde::{Deserialize, Serialize};

use crate::fees::School;
use crate::fees::grid::{FeeEntry, FeeRow};
use crate::money::Money;
use crate::plans::{PlanRules, Rounding};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolSettings {
    pub school: School,
    pub name: String,
    /// 6-installment requests at or below this are rejected. Both documents say 1000 EUR, but
    /// ISIMA's warning also says 5000 EUR: it is a setting so the office can follow either.
    pub six_threshold: Money,
    pub rounding: Rounding,
    pub debit_day: u32,
    pub deadline_month: u32,
    pub deadline_day: u32,
    pub work_study_year: u8,
    /// Differentiated fees (05) are paid by transfer only, the transfer plan being theirs alone
    /// (ISIMA: "au-delà des plafonds des cartes"); elsewhere 05 is paid by card like any fee.
    pub differentiated_by_transfer: bool,
    pub address: String,
    pub iban: String,
    pub bic: String,
    /// The bank's domiciliation printed on transfer letters beside the IBAN ("TPCLERMONT F").
    pub domiciliation: String,
    /// Days after an installment's due date: first reminder, second reminder, the order blocked.
    pub dunning_first_days: u32,
    pub dunning_second_days: u32,
    pub dunning_block_days: u32,
}

impl SchoolSettings {
    /// The settings a new database starts with (from the schools' procedure documents).
    pub fn default_for(school: School, name: &str, work_study_year: u8) -> SchoolSettings {
        SchoolSettings {
            school,
            name: name.to_string(),
            six_threshold: Money::from_cents(100_000),
            rounding: Rounding::Exact,
            debit_day: 10,
            deadline_month: 12,
            deadline_day: 15,
            work_study_year,
            differentiated_by_transfer: school == School::Isima,
            address: "Clermont Auvergne INP, Clermont-Ferrand".to_string(),
            iban: "FR76 1007 1630 0000 0010 0383 489".to_string(),
            bic: "TRPUFRP1".to_string(),
            domiciliation: "TPCLERMONT F".to_string(),
            dunning_first_days: 7,
            dunning_second_days: 21,
            dunning_block_days: 45,
        }
    }

    pub fn plan_rules(&self) -> PlanRules {
        PlanRules {
            rounding: self.rounding,
            debit_day: self.debit_day,
            deadline_month: self.deadline_month,
            deadline_day: self.deadline_day,
            six_threshold: self.six_threshold,
        }
    }
}

pub async fn list(store: &crate::store::Store) -> crate::Result<Vec<SchoolSettings>> {
    crate::store::settings::school_settings(&mut *store.read().await?).await
}

/// Changes a school's settings, validated, in one audited transaction with the old values.
pub async fn update(
    store: &crate::store::Store,
    s: &SchoolSettings,
    actor: &str,
    reason: Option<&str>,
) -> crate::Result<()> {
    use crate::Error;
    if !(1..=28).contains(&s.debit_day) {
        return Err(Error::Invalid(format!("jour de prélèvement {} invalide (1 à 28)", s.debit_day)));
    }
    if chrono::NaiveDate::from_ymd_opt(2025, s.deadline_month, s.deadline_day).is_none() {
        return Err(Error::Invalid(format!("date limite {:02}/{:02} invalide", s.deadline_day, s.deadline_month)));
    }
    if s.six_threshold.is_negative() {
        return Err(Error::Invalid("seuil négatif".into()));
    }
    if !(s.dunning_first_days < s.dunning_second_days && s.dunning_second_days < s.dunning_block_days)
        || s.dunning_block_days > 365
    {
        return Err(Error::Invalid(format!(
            "délais de relance {}, {}, {} jours : croissants, au plus 365",
            s.dunning_first_days, s.dunning_second_days, s.dunning_block_days
        )));
    }
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::SchoolSettings).await?;
    let old = crate::store::settings::settings_for(&mut tx, s.school).await?;
    crate::store::settings::save_school_settings(&mut tx, s).await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        "settings.update",
        "school_settings",
        s.school,
        Some(reason),
        serde_json::json!({"old": old, "new": s}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A session's full label, as the portal prints it on invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLabel {
    pub session: String,
    pub label: String,
}

pub async fn session_labels(store: &crate::store::Store) -> crate::Result<Vec<SessionLabel>> {
    crate::store::settings::session_labels(&mut *store.read().await?).await
}

/// Sets (or replaces) a session's full label; an empty label is refused. Audited with the old one.
pub async fn set_session_label(
    store: &crate::store::Store,
    session: &str,
    label: &str,
    reason: Option<&str>,
    actor: &str,
) -> crate::Result<SessionLabel> {
    let session = crate::fees::Session::parse(session)?;
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(crate::Error::Invalid(format!(
            "libellé de la session {session} vide, trop long ou illisible (200 caractères au plus)"
        )));
    }
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::SchoolSettings).await?;
    let old = crate::store::settings::session_label(&mut tx, session.as_str()).await?;
    let saved = SessionLabel { session: session.to_string(), label: label.to_string() };
    crate::store::settings::set_session_label(&mut tx, &saved).await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        "settings.session_label",
        "session",
        session.as_str(),
        Some(reason),
        serde_json::json!({"old": old, "new": saved.label}),
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// The fee grid as Paramètres shows it, one line per amount.
pub async fn fee_rows(store: &crate::store::Store) -> crate::Result<Vec<FeeRow>> {
    let grid = crate::store::settings::fee_grid(&mut *store.read().await?).await?;
    Ok(grid
        .fees
        .into_iter()
        .map(|f| FeeRow {
            academic_year: f.academic_year,
            school: f.school,
            situation_label: f.situation.label(),
            programme: f.programme,
            situation: f.situation,
            amount: f.amount,
        })
        .collect())
}

/// Changes one amount of the grid (Settings). Audited with the old and new amounts; pending
/// requests priced from the grid keep the amount they were priced at.
pub async fn set_fee_amount(
    store: &crate::store::Store,
    entry: &FeeEntry,
    actor: &str,
    reason: Option<&str>,
) -> crate::Result<()> {
    if entry.amount.is_negative() {
        return Err(crate::Error::Invalid(format!("montant négatif {}", entry.amount)));
    }
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::FeeGrid).await?;
    let grid = crate::store::settings::fee_grid(&mut tx).await?;
    if grid.school(entry.school).is_none_or(|s| !s.programmes.iter().any(|p| p.code == entry.programme)) {
        return Err(crate::Error::Invalid(format!("formation inconnue {} {}", entry.school, entry.programme)));
    }
    let old = grid.amount(entry.academic_year, entry.school, &entry.programme, entry.situation);
    crate::store::settings::set_fee(&mut tx, entry).await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        "fee_grid.set",
        "fee_grid",
        format!("{} {} {} {}", entry.academic_year, entry.school, entry.programme, entry.situation),
        Some(reason),
        serde_json::json!({"old": old, "new": entry.amount}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
