//! Settings: the schools' settings, the sessions' labels and the fee grid's amounts, kept in the
//! database and edited in Paramètres by a finance manager, each change audited with its reason.

pub use regie_rules::settings::*;

use crate::fees::grid::{FeeEntry, FeeRow};

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
    s.check()?;
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
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
    let saved = SessionLabel::parse(session, label)?;
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::SchoolSettings).await?;
    let old = crate::store::settings::session_label(&mut tx, &saved.session).await?;
    crate::store::settings::set_session_label(&mut tx, &saved).await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        "settings.session_label",
        "session",
        saved.session.as_str(),
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
    crate::session::office_only(&mut tx).await?;
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
