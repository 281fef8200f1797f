//! Requests: the payment-plan requests students make on the portal, the queue the accountants
//! decide, and the registration import that fills it (`import`).

pub mod export;
pub mod import;
pub mod review;

pub use regie_rules::requests::*;

use chrono::NaiveDate;

use crate::store::{self, Store};
use crate::{Error, Result};

pub async fn list(store: &Store, status: Option<RequestStatus>) -> Result<Vec<RequestView>> {
    let mut conn = store.read().await?;
    let grid = store::settings::fee_grid(&mut conn).await?;
    let settings = store::settings::school_settings(&mut conn).await?;
    let requests = store::requests::list(&mut conn, status).await?;
    Ok(requests
        .into_iter()
        .map(|r| {
            let s = settings.iter().find(|s| s.school == r.new.school).expect("every school has settings");
            // Every check runs whatever the price: a request priced 0 (02, 07) is exactly the
            // one whose declaration must be right.
            let findings = findings_of(&r, &grid, s);
            view_of(r, findings)
        })
        .collect())
}

pub async fn detail(store: &Store, id: i64, start: NaiveDate) -> Result<RequestDetail> {
    let mut conn = store.read().await?;
    let r = store::requests::by_id(&mut conn, id).await?.ok_or(Error::RequestNotFound(id))?;
    let grid = store::settings::fee_grid(&mut conn).await?;
    let settings = store::settings::settings_for(&mut conn, r.new.school).await?;
    let (schedule, schedule_error) = if r.new.amount.is_zero() {
        (None, Some("Rien à payer : aucun échéancier.".to_string()))
    } else {
        match schedule_for(&r, &grid, &settings, start) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    // Every check runs whatever the price (a request priced 0 is the one to get right).
    let findings = findings_of(&r, &grid, &settings);
    Ok(RequestDetail {
        email: r.email.clone(),
        situation_label: r.new.situation.label(),
        rounding: settings.rounding,
        six_threshold: settings.six_threshold,
        schedule,
        schedule_error,
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.clone(),
        declared: declared_of(&r.new),
        request: view_of(r, findings),
    })
}
