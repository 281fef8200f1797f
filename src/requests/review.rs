//! Review: the accountants' decisions on requests (approve, reject, hold, reopen, change plan)
//! and the automatic review. Each decision is one transaction, audited, and taken once.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::{Request, RequestStatus, findings_of, schedule_for};
use crate::fees::checks::Finding;
use crate::ledger::{self, IssuedInvoice};
use crate::plans::{self, PlanKind};
use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

/// The outcome of one decision on one request.
#[derive(Debug, Clone, Serialize)]
pub struct Decided {
    pub id: i64,
    pub status: RequestStatus,
    pub invoice: Option<String>,
}

/// One request of a batch: decided now, or found already decided (by another desktop, or
/// earlier): a conflict, nothing changed for it; the others of the batch are still decided.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InBatch {
    Decided(Decided),
    Conflict { id: i64, message: String },
}

/// The decision no longer applies: the request is no longer in a state it applies to, because
/// someone decided first. The request was read inside the writers' transaction, so what it says
/// of who decided is current.
fn conflict(r: &Request) -> Error {
    let by = match (&r.decided_by, &r.decided_at) {
        (Some(who), Some(at)) => {
            let day = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&chrono::Local).format(" le %d/%m/%Y à %H:%M").to_string())
                .unwrap_or_default();
            format!(" par {who}{day}")
        }
        _ => String::new(),
    };
    Error::Conflict(format!("demande {} déjà {}{by} : rien n'a été changé", r.id, r.status.label()))
}

fn reason_required(reason: &str) -> Result<&str> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(Error::Invalid("un motif est obligatoire pour cette décision".into()));
    }
    Ok(r)
}

async fn load(conn: &mut Conn, id: i64) -> Result<Request> {
    store::requests::by_id(conn, id).await?.ok_or(Error::RequestNotFound(id))
}

/// Approves a pending (or held) request: in one transaction, marks it approved and issues the
/// order, the invoice and the installments of its schedule, starting on `date`. Audited.
pub async fn approve(store: &Store, id: i64, date: NaiveDate, actor: &str) -> Result<Decided> {
    approve_overriding(store, id, date, None, actor).await
}

/// `approve`, with the reason the accountant gives for approving despite blocking findings
/// (recorded in the audit log with them). Without one, a blocking finding refuses the approval.
pub async fn approve_overriding(
    store: &Store,
    id: i64,
    date: NaiveDate,
    override_reason: Option<&str>,
    actor: &str,
) -> Result<Decided> {
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let decided = approve_in(&mut tx, id, date, override_reason, actor).await?;
    tx.commit().await?;
    Ok(decided)
}

pub(crate) async fn approve_in(
    conn: &mut Conn,
    id: i64,
    date: NaiveDate,
    override_reason: Option<&str>,
    actor: &str,
) -> Result<Decided> {
    let basis = Basis::read(conn).await?;
    approve_with(conn, &basis, id, date, override_reason, actor).await
}

/// What a decision is taken against: the fee grid and each school's settings, read once for the
/// requests a transaction decides (nobody else writes meanwhile: the transaction holds the
/// writers' lock).
struct Basis {
    grid: crate::fees::grid::FeeGrid,
    settings: Vec<crate::settings::SchoolSettings>,
}

impl Basis {
    async fn read(conn: &mut Conn) -> Result<Basis> {
        Ok(Basis {
            grid: store::settings::fee_grid(conn).await?,
            settings: store::settings::school_settings(conn).await?,
        })
    }

    fn settings(&self, school: crate::fees::School) -> Result<&crate::settings::SchoolSettings> {
        self.settings
            .iter()
            .find(|s| s.school == school)
            .ok_or_else(|| Error::Invalid(format!("aucun paramètre pour l'école {school}")))
    }
}

async fn approve_with(
    conn: &mut Conn,
    basis: &Basis,
    id: i64,
    date: NaiveDate,
    override_reason: Option<&str>,
    actor: &str,
) -> Result<Decided> {
    let override_reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
    let r = load(conn, id).await?;
    let from = [RequestStatus::Pending, RequestStatus::Hold];
    if !store::requests::set_status(conn, id, &from, RequestStatus::Approved, None, actor).await? {
        return Err(conflict(&r));
    }
    let approval = Approval::of(&r, basis, date, override_reason)?;
    audit::record(conn, actor, "request.approve", "request", id, override_reason, approval.details(&r)).await?;
    let invoice = match &approval.schedule {
        None => None,
        Some(schedule) => Some(ledger::issue_invoice(conn, &approval.draft(&r, schedule, date), actor).await?),
    };
    Ok(Decided { id, status: RequestStatus::Approved, invoice: invoice.map(|i: IssuedInvoice| i.invoice_number) })
}

/// What approving a request gives, once its conditions are checked: the blocking findings the
/// accountant overrode, and the schedule of its invoice (none for a request of nothing).
struct Approval {
    overridden: Vec<&'static str>,
    schedule: Option<crate::plans::Schedule>,
}

impl Approval {
    /// The request's own conditions against the fee grid and its school's settings: the
    /// threshold is never overridden (the office rejects such a request); another blocking
    /// finding is, with a reason only.
    fn of(r: &Request, basis: &Basis, date: NaiveDate, override_reason: Option<&str>) -> Result<Approval> {
        let (grid, settings) = (&basis.grid, basis.settings(r.new.school)?);
        let id = r.id;
        if r.new.plan == PlanKind::Six && !plans::six_allowed(r.new.amount, settings.six_threshold) {
            return Err(Error::Invalid(format!(
                "demande {id}: paiement en 6 fois refusé pour {} (seuil {} {})",
                r.new.amount.to_french(),
                r.new.school,
                settings.six_threshold.to_french()
            )));
        }
        let blocking: Vec<Finding> = findings_of(r, grid, settings).into_iter().filter(Finding::blocks).collect();
        if !blocking.is_empty() && override_reason.is_none() {
            return Err(Error::Invalid(format!(
                "demande {id} non validable : {} Pour l'accepter quand même, donnez le motif de la dérogation (--override MOTIF).",
                blocking.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" ")
            )));
        }
        let schedule = if r.new.amount.is_zero() { None } else { Some(schedule_for(r, grid, settings, date)?) };
        Ok(Approval { overridden: blocking.iter().map(|f| f.code).collect(), schedule })
    }

    /// What the audit log keeps of the decision.
    fn details(&self, r: &Request) -> serde_json::Value {
        json!({"student": r.student_number, "plan": r.new.plan, "amount": r.new.amount, "overridden": self.overridden})
    }

    fn draft<'a>(
        &self,
        r: &'a Request,
        schedule: &'a crate::plans::Schedule,
        date: NaiveDate,
    ) -> ledger::InvoiceDraft<'a> {
        ledger::InvoiceDraft {
            student_id: r.student_id,
            student_number: &r.student_number,
            request_id: Some(r.id),
            year: r.new.academic_year,
            session: r.new.session.as_str(),
            date,
            schedule,
            label: r.new.plan.invoice_label(),
        }
    }
}

/// Rejects a pending or held request; the reason is required and goes to the student's letter.
pub async fn reject(store: &Store, id: i64, reason: &str, actor: &str) -> Result<Decided> {
    let reason = reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let decided = reject_in(&mut tx, id, reason, actor).await?;
    tx.commit().await?;
    Ok(decided)
}

pub(crate) async fn reject_in(conn: &mut Conn, id: i64, reason: &str, actor: &str) -> Result<Decided> {
    let r = load(conn, id).await?;
    let from = [RequestStatus::Pending, RequestStatus::Hold];
    if !store::requests::set_status(conn, id, &from, RequestStatus::Rejected, Some(reason), actor).await? {
        return Err(conflict(&r));
    }
    audit::record(
        conn,
        actor,
        "request.reject",
        "request",
        id,
        Some(reason),
        json!({"student": r.student_number, "plan": r.new.plan, "amount": r.new.amount}),
    )
    .await?;
    Ok(Decided { id, status: RequestStatus::Rejected, invoice: None })
}

/// Puts a pending request on hold (situation uncertain, e.g. work-study contract not signed).
pub async fn hold(store: &Store, id: i64, reason: &str, actor: &str) -> Result<Decided> {
    let reason = reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let r = load(&mut tx, id).await?;
    if !store::requests::set_status(&mut tx, id, &[RequestStatus::Pending], RequestStatus::Hold, Some(reason), actor)
        .await?
    {
        return Err(conflict(&r));
    }
    audit::record(&mut tx, actor, "request.hold", "request", id, Some(reason), json!({"student": r.student_number}))
        .await?;
    tx.commit().await?;
    Ok(Decided { id, status: RequestStatus::Hold, invoice: None })
}

/// Puts a decided request back in the queue, with a reason. Reopening an approved request
/// cancels its invoice by a credit note and its installments; it is refused once anything was
/// paid on them (the payment must be dealt with first).
pub async fn reopen(store: &Store, id: i64, reason: &str, date: NaiveDate, actor: &str) -> Result<Decided> {
    let reason = reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let r = load(&mut tx, id).await?;
    let mut credit_note = None;
    let invoice =
        if r.status == RequestStatus::Approved { store::ledger::invoice_of_request(&mut tx, id).await? } else { None };
    if let Some(inv) = invoice {
        if inv.settled.is_positive() {
            return Err(Error::Invalid(format!(
                "demande {id}: la facture {} a déjà reçu {} de règlements ; réouverture impossible",
                inv.number,
                inv.settled.to_french()
            )));
        }
        let open = inv.total - inv.credited;
        if open.is_positive() {
            credit_note = Some(ledger::issue_credit_note(&mut tx, &inv, open, date, reason, actor).await?.number);
        }
        store::ledger::detach_order_from_request(&mut tx, id).await?;
    }
    let from = [RequestStatus::Approved, RequestStatus::Rejected, RequestStatus::Hold];
    if !store::requests::set_status(&mut tx, id, &from, RequestStatus::Pending, Some(reason), actor).await? {
        return Err(conflict(&r));
    }
    audit::record(
        &mut tx,
        actor,
        "request.reopen",
        "request",
        id,
        Some(reason),
        json!({"from": r.status, "credit_note": credit_note}),
    )
    .await?;
    tx.commit().await?;
    Ok(Decided { id, status: RequestStatus::Pending, invoice: None })
}

/// The student chose another plan. Before approval (typically after a rejection) the request
/// returns to the queue with the new plan. After approval, what was paid stays and the rest of
/// the invoice is re-planned under the new plan from `date` (same invoice, new schedule): the
/// plan's own rules still hold (threshold, transfer plan for differentiated fees only), and a
/// reason is required. Audited.
pub async fn change_plan(
    store: &Store,
    id: i64,
    plan: PlanKind,
    date: NaiveDate,
    reason: Option<&str>,
    actor: &str,
) -> Result<Decided> {
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let r = load(&mut tx, id).await?;
    if r.new.plan == plan {
        return Err(Error::Conflict(format!("demande {id} déjà en « {} » : rien n'a été changé", plan.label())));
    }
    let mut invoice = None;
    if r.status == RequestStatus::Approved {
        let reason = crate::users::reason_required(reason)?;
        invoice = Some(replan_in(&mut tx, &r, plan, date, reason, actor).await?);
    }
    if !store::requests::set_plan(&mut tx, id, plan, r.status == RequestStatus::Approved).await? {
        return Err(Error::Invalid(format!(
            "l'étudiant a déjà une demande « {} » pour cette session et cette date",
            plan.label()
        )));
    }
    audit::record(
        &mut tx,
        actor,
        "request.change_plan",
        "request",
        id,
        reason.map(str::trim).filter(|r| !r.is_empty()),
        json!({"from": r.new.plan, "to": plan, "previous_status": r.status, "invoice": invoice}),
    )
    .await?;
    tx.commit().await?;
    let status = if r.status == RequestStatus::Approved { RequestStatus::Approved } else { RequestStatus::Pending };
    Ok(Decided { id, status, invoice })
}

/// Re-plans an approved request's invoice under `plan` from `date`; returns the invoice number.
async fn replan_in(
    conn: &mut Conn,
    r: &Request,
    plan: PlanKind,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<String> {
    let grid = store::settings::fee_grid(conn).await?;
    let settings = store::settings::settings_for(conn, r.new.school).await?;
    let moved = Request { new: super::NewRequest { plan, ..r.new.clone() }, ..r.clone() };
    let refused: Vec<Finding> = findings_of(&moved, &grid, &settings)
        .into_iter()
        .filter(|f| {
            f.blocks()
                && matches!(
                    f.code,
                    "differentiated_fees_by_transfer" | "transfer_plan_not_allowed" | "six_at_or_below_threshold"
                )
        })
        .collect();
    if let Some(f) = refused.first() {
        return Err(Error::Invalid(format!("demande {} : changement d'échéancier refusé. {}", r.id, f.message)));
    }
    let inv = store::ledger::invoice_of_request(conn, r.id)
        .await?
        .ok_or_else(|| Error::Invalid(format!("demande {} acceptée sans facture : rien à réorganiser", r.id)))?;
    let left: crate::money::Money =
        store::ledger::open_installments_of_invoice(conn, inv.id).await?.iter().map(|o| o.left_to_pay).sum();
    if !left.is_positive() {
        return Err(Error::Invalid(format!("facture {} déjà soldée : rien à réorganiser", inv.number)));
    }
    let standard = grid.standard_fee(r.new.academic_year, r.new.school, &r.new.programme);
    let rest = plans::rest_schedule(left, plan, standard, inv.total - left, date, &settings.plan_rules())?;
    ledger::replan(conn, &inv, &rest, reason, actor).await?;
    Ok(inv.number)
}

/// One finding the automatic review leaves to the accountant.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    pub id: i64,
    pub finding: Finding,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoReview {
    pub dry_run: bool,
    /// Pending 6-installment requests at or below their school's threshold, rejected.
    pub rejected: Vec<i64>,
    /// The other findings of pending requests, flagged, not decided.
    pub flagged: Vec<Flag>,
}

/// Rejects every pending 6-installment request whose amount is not above its school's
/// threshold, with a standard reason naming it, and flags the other findings. One transaction;
/// with `dry_run` it is rolled back and only says what it would do.
pub async fn auto_review(store: &Store, dry_run: bool, actor: &str) -> Result<AutoReview> {
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let grid = store::settings::fee_grid(&mut tx).await?;
    let settings = store::settings::school_settings(&mut tx).await?;
    let pending = store::requests::list(&mut tx, Some(RequestStatus::Pending)).await?;
    let mut out = AutoReview { dry_run, rejected: Vec::new(), flagged: Vec::new() };
    for r in &pending {
        let s = settings.iter().find(|s| s.school == r.new.school).expect("every school has settings");
        if r.new.plan == PlanKind::Six && !plans::six_allowed(r.new.amount, s.six_threshold) {
            // A student whose differentiated fees are paid by transfer is told so, not sent to
            // card plans that cannot carry the amount.
            let instead = if r.new.situation == crate::fees::Situation::ExtraEu && s.differentiated_by_transfer {
                "Les droits différenciés se règlent par virement (618 € puis deux virements), avant le 15 décembre."
            } else {
                "Choisissez un paiement en 1 ou 3 fois."
            };
            let reason = format!(
                "Paiement en 6 fois réservé aux montants supérieurs à {} ({}) ; montant dû {}. {instead}",
                s.six_threshold.to_french(),
                s.name,
                r.new.amount.to_french()
            );
            if !dry_run {
                reject_in(&mut tx, r.id, &reason, actor).await?;
            }
            out.rejected.push(r.id);
        } else {
            out.flagged.extend(findings_of(r, &grid, s).into_iter().map(|finding| Flag { id: r.id, finding }));
        }
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        audit::record(
            &mut tx,
            actor,
            "requests.auto_review",
            "requests",
            "auto",
            None,
            json!({"rejected": out.rejected.len(), "flagged": out.flagged.len()}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(out)
}

/// Approves each request in turn, each decided on its own conditions, `APPROVALS_PER_TRANSACTION`
/// to a transaction. A request already decided is a conflict for it alone; any other failure
/// stops the batch, names the request, and leaves the ones before it decided.
pub async fn approve_many(
    store: &Store,
    ids: &[i64],
    date: NaiveDate,
    override_reason: Option<&str>,
    actor: &str,
) -> Result<Vec<InBatch>> {
    let override_reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(APPROVALS_PER_TRANSACTION) {
        let (decided, failure) = approve_together(store, chunk, date, override_reason, actor).await?;
        out.extend(decided);
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(out)
}

/// Approvals sharing a transaction: each request's conditions are checked in memory, then the
/// decisions, invoices and audit records of all of them are written in bulk.
const APPROVALS_PER_TRANSACTION: usize = 2000;

/// Approves `ids` in one transaction: each request is checked in order, as `approve_with` does;
/// the ones before the first that fails are decided and committed, and that failure returned.
async fn approve_together(
    store: &Store,
    ids: &[i64],
    date: NaiveDate,
    override_reason: Option<&str>,
    actor: &str,
) -> Result<(Vec<InBatch>, Option<Error>)> {
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let basis = Basis::read(&mut tx).await?;
    let found: std::collections::HashMap<i64, Request> =
        store::requests::by_ids(&mut tx, ids).await?.into_iter().map(|r| (r.id, r)).collect();
    let open = [RequestStatus::Pending, RequestStatus::Hold];
    let mut failure = None;
    // (rank in `out`, request, its approval) of those to decide.
    let mut accepted = Vec::new();
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(r) = found.get(&id) else {
            failure = Some(Error::RequestNotFound(id));
            break;
        };
        if !open.contains(&r.status) {
            out.push(in_batch(id, Err(conflict(r)))?);
            continue;
        }
        // Named twice: decided the first time, as one by one would have.
        if accepted.iter().any(|(_, a, _): &(usize, &Request, Approval)| a.id == id) {
            let message = format!("demande {id} déjà acceptée dans ce lot : rien n'a été changé");
            out.push(InBatch::Conflict { id, message });
            continue;
        }
        match Approval::of(r, &basis, date, override_reason) {
            Ok(approval) => {
                accepted.push((out.len(), r, approval));
                out.push(InBatch::Decided(Decided { id, status: RequestStatus::Approved, invoice: None }));
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let chosen: Vec<i64> = accepted.iter().map(|(_, r, _)| r.id).collect();
    // Read inside the writers' transaction: every one of them is still open.
    let changed = store::requests::set_status_many(&mut tx, &chosen, &open, RequestStatus::Approved, actor).await?;
    if changed.len() != chosen.len() {
        return Err(Error::Conflict(
            "des demandes ont été décidées pendant la validation : rien n'a été changé, rechargez la liste".into(),
        ));
    }
    let records: Vec<_> = accepted.iter().map(|(_, r, a)| (r.id.to_string(), override_reason, a.details(r))).collect();
    audit::record_many(&mut tx, actor, "request.approve", "request", &records).await?;
    let invoiced: Vec<_> = accepted.iter().filter_map(|(k, r, a)| a.schedule.as_ref().map(|s| (*k, r, a, s))).collect();
    let drafts: Vec<_> = invoiced.iter().map(|(_, r, a, s)| a.draft(r, s, date)).collect();
    let issued = ledger::issue_invoices(&mut tx, &drafts, actor).await?;
    for ((k, ..), invoice) in invoiced.iter().zip(issued) {
        if let InBatch::Decided(d) = &mut out[*k] {
            d.invoice = Some(invoice.invoice_number);
        }
    }
    tx.commit().await?;
    Ok((out, failure))
}

/// Rejects each request with the same reason; conflicts as in `approve_many`.
pub async fn reject_many(store: &Store, ids: &[i64], reason: &str, actor: &str) -> Result<Vec<InBatch>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.push(in_batch(id, reject(store, id, reason, actor).await)?);
    }
    Ok(out)
}

fn in_batch(id: i64, decided: Result<Decided>) -> Result<InBatch> {
    match decided {
        Ok(d) => Ok(InBatch::Decided(d)),
        Err(Error::Conflict(message)) => Ok(InBatch::Conflict { id, message }),
        Err(other) => Err(other),
    }
}
