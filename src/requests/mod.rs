//! Requests: the payment-plan requests students make on the portal, the queue the accountants
//! decide, and the registration import that fills it (`import`).

pub mod export;
pub mod import;
pub mod review;

pub use regie_rules::requests::*;

use chrono::NaiveDate;
use serde::Serialize;

use crate::fees::Situation;
use crate::fees::grid::FeeGrid;
use crate::page::{Page, PageQuery, given};
use crate::settings::SchoolSettings;
use crate::store::{self, Store};
use crate::{Error, Result};

pub async fn list(store: &Store, status: Option<RequestStatus>) -> Result<Vec<RequestView>> {
    let mut conn = store.read().await?;
    let grid = store::settings::fee_grid(&mut conn).await?;
    let settings = store::settings::school_settings(&mut conn).await?;
    let requests = store::requests::list(&mut conn, status).await?;
    requests.into_iter().map(|r| with_findings(r, &grid, &settings)).collect()
}

/// The request as the list shows it. Every check runs whatever the price: a request priced 0
/// (02, 07) is exactly the one whose declaration must be right.
fn with_findings(r: Request, grid: &FeeGrid, settings: &[SchoolSettings]) -> Result<RequestView> {
    let s = settings
        .iter()
        .find(|s| s.school == r.new.school)
        .ok_or_else(|| Error::Invalid(format!("aucun paramètre pour l'école {} (Paramètres)", r.new.school)))?;
    let findings = findings_of(&r, grid, s);
    Ok(view_of(r, findings))
}

/// What Demandes asks for: a window of the requests with a status, school, plan, situation and
/// finding (each: all when none), whose student's number or name holds `search`, sorted by
/// `sort` (`requested_on` by default). As typed: the core checks it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RequestQuery {
    pub status: Option<String>,
    pub school: Option<String>,
    pub plan: Option<String>,
    pub situation: Option<String>,
    pub finding: Option<String>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// One window of the requests, the count of all the filter keeps, and the filters' choices.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct RequestPage {
    #[serde(flatten)]
    pub page: Page<RequestView>,
    pub situations: Vec<&'static str>,
    pub finding_codes: Vec<&'static str>,
}

/// A window of the requests the query keeps. The database filters, searches, sorts, counts and
/// cuts the window; the findings are rules, computed for the window's requests only. Filtered by
/// a finding, the database reads the codes kept beside each request, brought up to date first
/// (`index_findings`).
pub async fn page(store: &Store, q: &RequestQuery) -> Result<RequestPage> {
    let window = q.page.window()?;
    let search = q.page.search();
    let filter = store::requests::RequestFilter {
        status: given(&q.status).map(|v| v.parse()).transpose()?,
        school: given(&q.school).map(|v| v.parse()).transpose()?,
        plan: given(&q.plan).map(|v| v.parse()).transpose()?,
        situation: given(&q.situation).map(|v| v.parse()).transpose()?,
        search: search.as_ref(),
        finding: None,
    };
    let finding = given(&q.finding)
        .map(|code| {
            FINDING_CODES
                .iter()
                .copied()
                .find(|c| *c == code)
                .ok_or_else(|| Error::Invalid(format!("constat inconnu « {code} » ({})", FINDING_CODES.join(", "))))
        })
        .transpose()?;
    let sort: RequestSort = q.page.sort()?;
    if finding.is_some() {
        index_findings(store).await?;
    }
    let filter = store::requests::RequestFilter { finding, ..filter };
    let mut conn = store.read().await?;
    let grid = store::settings::fee_grid(&mut conn).await?;
    let settings = store::settings::school_settings(&mut conn).await?;
    let total = match q.page.counted() {
        true => Some(store::requests::count_matching(&mut conn, &filter).await?),
        false => None,
    };
    let rows =
        store::requests::window(&mut conn, &filter, sort, q.page.descending, window.offset(), window.limit()).await?;
    let rows = rows.into_iter().map(|r| with_findings(r, &grid, &settings)).collect::<Result<Vec<_>>>()?;
    let page = Page { total, offset: window.offset(), rows };
    Ok(RequestPage {
        page,
        situations: Situation::ALL.iter().map(|s| s.code()).collect(),
        finding_codes: FINDING_CODES.to_vec(),
    })
}

/// Brings the finding codes kept beside the requests up to date: those of new or re-planned
/// requests, or all of them when the fee grid, the settings or the rules have changed since they
/// were computed (the stamp says). Nothing is written when they are. Not an action on money: no
/// audit, and the rules stay the truth of what a request shows.
pub async fn index_findings(store: &Store) -> Result<usize> {
    {
        let mut conn = store.read().await?;
        let grid = store::settings::fee_grid(&mut conn).await?;
        let settings = store::settings::school_settings(&mut conn).await?;
        let fresh = store::requests::finding_index_stamp(&mut conn).await?.as_deref()
            == Some(findings_stamp(&grid, &settings).as_str());
        if fresh && !store::requests::any_unindexed(&mut conn).await? {
            return Ok(0);
        }
    }
    // Computed with the grid and settings of the transaction that writes them.
    let mut tx = store.begin().await?;
    let grid = store::settings::fee_grid(&mut tx).await?;
    let settings = store::settings::school_settings(&mut tx).await?;
    let stamp = findings_stamp(&grid, &settings);
    let every = store::requests::finding_index_stamp(&mut tx).await?.as_deref() != Some(stamp.as_str());
    let requests = store::requests::to_index(&mut tx, every).await?;
    let mut codes = Vec::with_capacity(requests.len());
    for r in requests {
        let id = r.id;
        codes.push((id, finding_key(&with_findings(r, &grid, &settings)?.findings)));
    }
    store::requests::set_finding_codes(&mut tx, &codes).await?;
    store::requests::set_finding_index_stamp(&mut tx, &stamp).await?;
    tx.commit().await?;
    Ok(codes.len())
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
