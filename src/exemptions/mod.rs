//! Exemptions: the September commission's outcomes, recorded by finance managers and applied in
//! one step (installments cancelled, credit note, refund), reversible, and reported by school.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

pub use regie_rules::exemptions::*;

use crate::fees::{AcademicYear, School};
use crate::ledger;
use crate::money::Money;
use crate::page::{Page, PageQuery};
use crate::plans::PlanKind;
use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

/// A student the commission may decide on, with what was invoiced, paid and still scheduled.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: String,
    pub programme: String,
    pub plan: PlanKind,
    /// The plan as the office says it ("3 fois", "Virements").
    pub plan_label: &'static str,
    pub situation: String,
    /// The academic year of the request billed (`2026-27`).
    pub academic_year: String,
    /// The finance manager who added the student by hand; `None` for differentiated fees (05).
    pub added_by: Option<String>,
    pub invoice_number: String,
    pub invoiced: Money,
    pub paid: Money,
    pub scheduled: Money,
    pub outcome: Option<OutcomeKind>,
    pub exempted: Option<Money>,
    pub session: Option<String>,
}

/// Every candidate (of a commission session's outcomes, of an academic year, when given), by
/// student.
pub async fn list(store: &Store, session: Option<&str>, year: Option<&str>) -> Result<Vec<Candidate>> {
    let year = year_of(&year.map(str::to_string))?;
    let filter = store::exemptions::CandidateFilter { year: year.as_deref(), ..Default::default() };
    let mut conn = store.read().await?;
    let rows = store::exemptions::candidates(&mut conn, &filter).await?;
    let outcomes = store::exemptions::active_outcomes(&mut conn).await?;
    rows.into_iter()
        .map(|r| candidate(r, &outcomes))
        .filter(|c: &Result<Candidate>| {
            session.is_none() || c.as_ref().map_or(true, |c| c.session.as_deref() == session)
        })
        .collect()
}

/// A candidate with its active outcome, if any.
fn candidate(r: store::exemptions::CandidateRow, outcomes: &[store::exemptions::OutcomeRow]) -> Result<Candidate> {
    let o = outcomes.iter().find(|o| o.invoice_id == r.invoice_id);
    let plan: PlanKind = r.plan.parse()?;
    Ok(Candidate {
        student_number: r.student_number,
        last_name: r.last_name,
        first_name: r.first_name,
        school: r.school,
        programme: r.programme,
        plan,
        plan_label: plan.label(),
        situation: r.situation,
        academic_year: r.academic_year,
        added_by: r.added_by,
        invoice_number: r.invoice_number,
        invoiced: Money::from_cents(r.total_cents),
        paid: Money::from_cents(r.paid_cents),
        scheduled: Money::from_cents(r.scheduled_left_cents),
        outcome: o.map(|o| o.outcome),
        exempted: o.map(|o| Money::from_cents(o.exempted_cents)),
        session: o.map(|o| o.session.clone()),
    })
}

/// What Exonérations asks for: a window of the candidates of an academic year (`2026-27`), of a
/// commission session's outcomes, whose number or name holds the search (each all when none), in
/// the list's order. As typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CandidateQuery {
    pub session: Option<String>,
    pub year: Option<String>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// A window of the candidates, and the academic years there are candidates of.
#[derive(Debug, Clone, Serialize)]
pub struct CandidatePage {
    #[serde(flatten)]
    pub page: Page<Candidate>,
    /// Latest first.
    pub years: Vec<String>,
}

/// An academic year as typed (`2026-27`, `2026-2027`, `2026`), as the requests hold it.
fn year_of(typed: &Option<String>) -> Result<Option<String>> {
    Ok(crate::page::given(typed).map(str::parse::<AcademicYear>).transpose()?.map(|y| y.to_string()))
}

/// A window of the candidates: found, counted and cut by the database, only the window's totals
/// computed; of a session's outcomes (rare: the outcomes are the core's to match), over all the
/// other filters keep.
pub async fn page(store: &Store, q: &CandidateQuery) -> Result<CandidatePage> {
    let window = q.page.window()?;
    q.page.unsorted("par étudiant")?;
    let year = year_of(&q.year)?;
    let search = q.page.search();
    let filter = store::exemptions::CandidateFilter { search: search.as_ref(), year: year.as_deref(), student: None };
    let mut conn = store.read().await?;
    let years = store::exemptions::candidate_years(&mut conn).await?;
    let page = match crate::page::given(&q.session) {
        None => {
            let page = store::exemptions::candidate_page(&mut conn, &filter, window, q.page.counted()).await?;
            // The outcomes of the page's invoices only: every year's would grow with the history.
            let invoices: Vec<i64> = page.rows.iter().map(|r| r.invoice_id).collect();
            let outcomes = store::exemptions::active_outcomes_of(&mut conn, &invoices).await?;
            let rows = page.rows.into_iter().map(|r| candidate(r, &outcomes)).collect::<Result<_>>()?;
            Page { total: page.total, offset: page.offset, rows }
        }
        Some(session) => {
            let outcomes = store::exemptions::active_outcomes(&mut conn).await?;
            let all = store::exemptions::candidates(&mut conn, &filter).await?;
            let kept: Vec<Candidate> = all
                .into_iter()
                .map(|r| candidate(r, &outcomes))
                .filter(|c| c.as_ref().map_or(true, |c| c.session.as_deref() == Some(session)))
                .collect::<Result<_>>()?;
            window.cut(kept)
        }
    };
    Ok(CandidatePage { page, years })
}

/// The academic years that have candidates, latest first: what the screen offers before it
/// asks for one year's page (without counting every year's candidates to learn them).
pub async fn years(store: &Store) -> Result<Vec<String>> {
    store::exemptions::candidate_years(&mut *store.read().await?).await
}

/// Puts a student before the commission by hand (finance managers): the candidates are those
/// paying differentiated fees (05); a student priced per contract (20, 25, 42, 43) or any other
/// is listed only this way. The reason is required. Audited; adding twice changes nothing.
pub async fn add_candidate(store: &Store, student_number: &str, reason: &str, actor: &str) -> Result<bool> {
    let reason = crate::users::reason_required(Some(reason))?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::ExemptionOutcome).await?;
    let (invoice_id, invoice_number, situation) = store::exemptions::latest_request_invoice(&mut tx, student_number)
        .await?
        .ok_or_else(|| Error::Invalid(format!("{student_number} n'a pas de demande acceptée ni de facture")))?;
    if situation == crate::fees::Situation::ExtraEu.code() {
        return Err(Error::Invalid(format!(
            "{student_number} paie des droits différenciés (05) : déjà candidat à la commission"
        )));
    }
    let added = store::exemptions::insert_addition(&mut tx, invoice_id, actor, reason).await?;
    if added {
        audit::record(
            &mut tx,
            actor,
            "exemption.add_candidate",
            "invoice",
            &invoice_number,
            Some(reason),
            json!({"student": student_number, "situation": situation}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

#[derive(Debug, Clone, Serialize)]
pub struct CreditNoteRef {
    pub number: String,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundRef {
    pub amount: Money,
}

/// What applying an outcome did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub cancelled_installments: Vec<i64>,
    pub credit_note: Option<CreditNoteRef>,
    pub refund: Option<RefundRef>,
    /// False when the same outcome was already applied: nothing changed.
    pub changed: bool,
    /// The re-billing invoice that undid a previous outcome's credit note, when the outcome changed.
    pub reversed: Option<String>,
}

/// Records and applies the commission's outcome for a student, in one transaction, audited:
/// the unpaid installments beyond what is still due are cancelled, a credit note covers what was
/// invoiced and is no longer due, a refund (to pay) what was paid beyond it. The same outcome
/// twice changes nothing; another outcome first reverses the active one.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    store: &Store,
    session: &str,
    student_number: &str,
    outcome: Outcome,
    reference: &str,
    iban: Option<&str>,
    date: NaiveDate,
    actor: &str,
) -> Result<Applied> {
    let iban = iban.map(parse_iban).transpose()?;
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(Error::Invalid("la référence de la décision est obligatoire".into()));
    }
    let session = session.trim();
    if session.is_empty() {
        return Err(Error::Invalid("la session de commission est obligatoire".into()));
    }
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::ExemptionOutcome).await?;
    let only = store::exemptions::CandidateFilter { student: Some(student_number), ..Default::default() };
    let candidate = store::exemptions::candidates(&mut tx, &only)
        .await?
        .into_iter()
        // A student billed differentiated fees in several years is before the latest year's
        // commission; within a year, the first invoice (a re-billing comes after it): `max_by`
        // keeps the last of equals, hence `rev`.
        .filter(|c| c.student_number == student_number)
        .rev()
        .max_by(|a, b| a.academic_year.cmp(&b.academic_year))
        .ok_or_else(|| Error::Invalid(format!("{student_number} n'a pas de droits différenciés facturés")))?;
    let year: AcademicYear = candidate.academic_year.parse()?;
    let school: School = candidate.school.parse()?;
    let grid = store::settings::fee_grid(&mut tx).await?;
    let standard = grid.standard_fee(year, school, &candidate.programme).ok_or_else(|| Error::NoFee {
        what: format!("droits de scolarité {year} {school} {}", candidate.programme),
    })?;
    let total = Money::from_cents(candidate.total_cents);
    let exempted = outcome.exempted(total, standard)?;
    let active = store::exemptions::active_outcome(&mut tx, candidate.invoice_id).await?;
    if let Some(a) = active.as_ref().filter(|a| a.outcome == outcome.kind() && a.exempted_cents == exempted.cents()) {
        let applied = describe(&mut tx, a).await?;
        return Ok(Applied { changed: false, ..applied });
    }
    let mut reversed = None;
    if let Some(a) = &active {
        reversed = reverse(&mut tx, a, &candidate, date, reference, actor).await?;
    }
    let session_id = store::exemptions::session_id(&mut tx, session, date).await?;
    let mut credit_note = None;
    let mut credit_id = None;
    let mut cancelled = Vec::new();
    let mut spare = Money::ZERO;
    if exempted.is_positive() {
        let reason = format!("Exonération {session} ({reference})");
        let invoices = credit_targets(&mut tx, candidate.invoice_id, &candidate.invoice_number).await?;
        let mut left = exempted;
        let mut numbers = Vec::new();
        for inv in invoices {
            let part = left.min(inv.total - inv.credited);
            if part.is_positive() {
                let issued = ledger::issue_credit_note(&mut tx, &inv, part, date, &reason, actor).await?;
                credit_id.get_or_insert(issued.id);
                cancelled.extend(issued.cancelled);
                spare += issued.spare;
                numbers.push(issued.number);
                left -= part;
            }
        }
        if left.is_positive() {
            return Err(Error::Invalid(format!("plus rien à créditer sur la facture {}", candidate.invoice_number)));
        }
        credit_note = Some(CreditNoteRef { number: numbers.join(", "), amount: exempted });
    }
    // What the credit removed beyond what was still owed was paid already: refund it, as far
    // as the account's credit is not claimed by another refund.
    let refund_amount = spare.min(ledger::spare_credit(&mut tx, candidate.student_id).await?);
    let mut refund_id = None;
    let refund = if refund_amount.is_positive() {
        refund_id = Some(
            ledger::issue_refund(&mut tx, candidate.student_id, credit_id, date, refund_amount, iban.as_deref(), actor)
                .await?,
        );
        Some(RefundRef { amount: refund_amount })
    } else {
        None
    };
    let id = store::exemptions::insert_outcome(
        &mut tx,
        session_id,
        candidate.student_id,
        candidate.invoice_id,
        outcome.kind(),
        exempted,
        reference,
        actor,
        credit_id,
        refund_id,
        &cancelled,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "exemption.apply",
        "exemption_outcome",
        id,
        Some(reference),
        json!({"student": student_number, "session": session, "outcome": outcome.kind(), "exempted": exempted,
               "cancelled_installments": cancelled, "credit_note": credit_note, "refund": refund, "reversed": reversed}),
    )
    .await?;
    tx.commit().await?;
    Ok(Applied { cancelled_installments: cancelled, credit_note, refund, changed: true, reversed })
}

/// The invoices a new credit may go on: re-billing invoices of earlier reversals first (they
/// carry what was credited before), then the original invoice.
async fn credit_targets(conn: &mut Conn, invoice_id: i64, number: &str) -> Result<Vec<store::ledger::RequestInvoice>> {
    let rebills = store::exemptions::rebill_numbers(conn, invoice_id).await?;
    let mut out = Vec::new();
    for n in rebills.iter().map(String::as_str).chain(std::iter::once(number)) {
        if let Some(inv) = store::invoices::invoice_totals(conn, n).await? {
            out.push(inv);
        }
    }
    Ok(out)
}

/// The refunds an outcome made: the one it recorded, and those drawn on its credit note since
/// (a refund that shrank was replaced by a smaller one).
async fn refunds_of(
    conn: &mut Conn,
    outcome: &store::exemptions::OutcomeRow,
) -> Result<Vec<store::ledger::RefundRecord>> {
    let mut out = match outcome.credit_note_id {
        Some(note) => store::ledger::refunds_of_credit_note(conn, note).await?,
        None => Vec::new(),
    };
    if let Some(id) = outcome.refund_id.filter(|id| !out.iter().any(|r| r.id == *id)) {
        out.extend(store::ledger::refund(conn, id).await?);
    }
    Ok(out)
}

/// Undoes an active outcome: its installments restored, the one it added cancelled, its refund
/// cancelled (refused once paid), its credit note offset by a re-billing invoice.
async fn reverse(
    conn: &mut Conn,
    active: &store::exemptions::OutcomeRow,
    candidate: &store::exemptions::CandidateRow,
    date: NaiveDate,
    reference: &str,
    actor: &str,
) -> Result<Option<String>> {
    let reason =
        format!("Annulation de la décision {} ({}) remplacée par {reference}", active.reference, active.session);
    for refund in refunds_of(conn, active).await? {
        let amount = Money::from_cents(refund.amount_cents);
        match refund.status {
            ledger::RefundStatus::Paid => {
                return Err(Error::Invalid(format!(
                    "le remboursement de {} de la décision précédente est déjà payé : la décision ne peut plus changer ici",
                    amount.to_french()
                )));
            }
            ledger::RefundStatus::ToPay => ledger::cancel_refund(conn, refund.id, date, &reason, actor).await?,
            ledger::RefundStatus::Cancelled => {}
        }
    }
    let mut rebill = None;
    if active.exempted_cents > 0 {
        let (order_id, session) = store::exemptions::order_of_invoice(conn, candidate.invoice_id).await?;
        let amount = Money::from_cents(active.exempted_cents);
        let (id, number) = ledger::issue_rebill(
            conn,
            candidate.student_id,
            order_id,
            candidate.invoice_id,
            &session,
            amount,
            date,
            &reason,
            actor,
        )
        .await?;
        store::exemptions::mark_reversed(conn, active.id, Some(id)).await?;
        rebill = Some(number);
    } else {
        store::exemptions::mark_reversed(conn, active.id, None).await?;
    }
    audit::record(
        conn,
        actor,
        "exemption.reverse",
        "exemption_outcome",
        active.id,
        Some(reference),
        json!({"rebill": rebill}),
    )
    .await?;
    Ok(rebill)
}

async fn describe(conn: &mut Conn, a: &store::exemptions::OutcomeRow) -> Result<Applied> {
    let credit_note = match a.credit_note_id {
        Some(id) => {
            let (number, _) = store::exemptions::credit_note(conn, id).await?;
            Some(CreditNoteRef { number, amount: Money::from_cents(a.exempted_cents) })
        }
        None => None,
    };
    let refund = match a.refund_id {
        Some(id) => Some(RefundRef { amount: store::exemptions::refund_status(conn, id).await?.1 }),
        None => None,
    };
    let cancelled_installments = serde_json::from_str(&a.cancelled).map_err(|e| {
        Error::Invalid(format!("décision {} : liste des échéances annulées illisible dans la base ({e})", a.id))
    })?;
    Ok(Applied { cancelled_installments, credit_note, refund, changed: true, reversed: None })
}

/// Outcomes of one school and programme.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupTotals {
    pub school: String,
    pub programme: String,
    pub students: usize,
    pub exempted: Money,
    pub credit_notes: Money,
    pub refunds_to_pay: Money,
    pub refunds_paid: Money,
}

/// What was expected (installments due that month) and collected (payments received).
#[derive(Debug, Clone, Serialize)]
pub struct Month {
    pub month: String,
    pub expected: Money,
    pub collected: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The academic year reported on; all when `None`.
    pub year: Option<String>,
    pub groups: Vec<GroupTotals>,
    pub totals: GroupTotals,
    pub months: Vec<Month>,
}

/// The outcomes of an academic year's commission (`2026-27`; every year when `None`) by school
/// and programme, and that year's months: installments due against payments received.
pub async fn report(store: &Store, year: Option<&str>) -> Result<Report> {
    let year = year_of(&year.map(str::to_string))?;
    let mut conn = store.read().await?;
    let billed: std::collections::HashMap<i64, (String, String)> =
        store::exemptions::outcome_groups(&mut conn, year.as_deref())
            .await?
            .into_iter()
            .map(|(invoice, school, programme)| (invoice, (school, programme)))
            .collect();
    let outcomes = store::exemptions::active_outcomes(&mut conn).await?;
    let mut groups: Vec<GroupTotals> = Vec::new();
    let mut totals = GroupTotals { school: "Total".into(), ..GroupTotals::default() };
    for o in outcomes.iter().filter(|o| o.outcome != OutcomeKind::Refused) {
        let Some((school, programme)) = billed.get(&o.invoice_id) else { continue };
        let exempted = Money::from_cents(o.exempted_cents);
        let (mut to_pay, mut paid) = (Money::ZERO, Money::ZERO);
        for r in refunds_of(&mut conn, o).await? {
            match r.status {
                ledger::RefundStatus::ToPay => to_pay += Money::from_cents(r.amount_cents),
                ledger::RefundStatus::Paid => paid += Money::from_cents(r.amount_cents),
                ledger::RefundStatus::Cancelled => {}
            }
        }
        let idx = match groups.iter().position(|g| &g.school == school && &g.programme == programme) {
            Some(i) => i,
            None => {
                groups.push(GroupTotals {
                    school: school.clone(),
                    programme: programme.clone(),
                    ..GroupTotals::default()
                });
                groups.len() - 1
            }
        };
        for g in [&mut groups[idx], &mut totals] {
            g.students += 1;
            g.exempted += exempted;
            g.credit_notes += exempted;
            g.refunds_to_pay += to_pay;
            g.refunds_paid += paid;
        }
    }
    let span = match &year {
        Some(y) => {
            let y: AcademicYear = y.parse()?;
            let start = i32::from(y.start_year());
            // A year turns on 1 June (`AcademicYear::containing`).
            (NaiveDate::from_ymd_opt(start, 6, 1), NaiveDate::from_ymd_opt(start + 1, 5, 31))
        }
        None => (NaiveDate::from_ymd_opt(1, 1, 1), NaiveDate::from_ymd_opt(9999, 12, 31)),
    };
    let (Some(from), Some(to)) = span else { return Err(Error::Invalid(format!("année {year:?} hors calendrier"))) };
    let (expected, collected) = store::exemptions::monthly(&mut conn, from, to).await?;
    let mut months: Vec<String> = expected.iter().chain(collected.iter()).map(|(m, _)| m.clone()).collect();
    months.sort();
    months.dedup();
    let get =
        |v: &[(String, i64)], m: &str| Money::from_cents(v.iter().find(|(k, _)| k == m).map(|(_, c)| *c).unwrap_or(0));
    let months = months
        .into_iter()
        .map(|m| Month { expected: get(&expected, &m), collected: get(&collected, &m), month: m })
        .collect();
    Ok(Report { year, groups, totals, months })
}

/// An amount as a numeric cell without a float on our side: the workbook computes `cents/100`.
fn cents_formula(m: Money) -> rust_xlsxwriter::Formula {
    rust_xlsxwriter::Formula::new(format!("={}/100", m.cents())).set_result(m.to_string())
}

/// The report as a workbook: outcomes by school and programme, and the months.
pub async fn report_xlsx(store: &Store, year: Option<&str>, path: &std::path::Path) -> Result<()> {
    let r = report(store, year).await?;
    let xl = |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("écriture XLSX: {e}"));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let money = rust_xlsxwriter::Format::new().set_num_format("# ##0.00 €");
    let ws = wb.add_worksheet();
    ws.set_name("Exonérations").map_err(xl)?;
    for (c, h) in
        ["École", "Formation", "Étudiants", "Exonéré", "Avoirs", "Remboursements à payer", "Remboursements payés"]
            .iter()
            .enumerate()
    {
        ws.write_string(0, c as u16, *h).map_err(xl)?;
    }
    for (i, g) in r.groups.iter().chain(std::iter::once(&r.totals)).enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &g.school).map_err(xl)?;
        ws.write_string(row, 1, &g.programme).map_err(xl)?;
        ws.write_number(row, 2, g.students as f64).map_err(xl)?;
        for (c, m) in [g.exempted, g.credit_notes, g.refunds_to_pay, g.refunds_paid].iter().enumerate() {
            ws.write_formula_with_format(row, c as u16 + 3, cents_formula(*m), &money).map_err(xl)?;
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name("Encaissements").map_err(xl)?;
    for (c, h) in ["Mois", "Attendu", "Encaissé"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(xl)?;
    }
    for (i, m) in r.months.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &m.month).map_err(xl)?;
        ws.write_formula_with_format(row, 1, cents_formula(m.expected), &money).map_err(xl)?;
        ws.write_formula_with_format(row, 2, cents_formula(m.collected), &money).map_err(xl)?;
    }
    wb.save(path).map_err(xl)
}

/// Writes the report workbook into the exports folder.
pub async fn export_report(store: &Store, year: Option<&str>) -> Result<crate::invoices::Written> {
    let path =
        crate::exports_dir()?.join(format!("exonerations-{}.xlsx", chrono::Local::now().format("%Y%m%d-%H%M%S")));
    report_xlsx(store, year, &path).await?;
    let bytes = std::fs::metadata(&path).map(|m| m.len() as usize).unwrap_or(0);
    Ok(crate::invoices::Written { file: path.display().to_string(), bytes })
}

/// `decide` with the outcome as the window sends it, the session defaulting to this September's.
#[allow(clippy::too_many_arguments)]
pub async fn decide_from(
    store: &Store,
    session: Option<&str>,
    student_number: &str,
    outcome: &str,
    amount: Option<Money>,
    reference: &str,
    iban: Option<&str>,
    actor: &str,
) -> Result<Applied> {
    let today = chrono::Local::now().date_naive();
    let default = format!("Commission {}-09", AcademicYear::containing(today).start_year());
    let session = session.filter(|s| !s.trim().is_empty()).unwrap_or(&default);
    decide(
        store,
        session,
        student_number,
        Outcome::parse(outcome, amount)?,
        reference,
        iban.filter(|i| !i.trim().is_empty()),
        today,
        actor,
    )
    .await
}

/// A refund as the list of refunds shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: i64,
    pub student_number: String,
    pub name: String,
    pub date: NaiveDate,
    pub amount: Money,
    pub status: ledger::RefundStatus,
    pub iban: Option<String>,
}

pub async fn refunds(store: &Store) -> Result<Vec<Refund>> {
    let rows = store::exemptions::refunds(&mut *store.read().await?).await?;
    Ok(rows
        .into_iter()
        .map(|r| Refund {
            id: r.id,
            student_number: r.student_number,
            name: format!("{} {}", r.last_name, r.first_name),
            date: r.date,
            amount: Money::from_cents(r.amount_cents),
            status: r.status,
            iban: r.iban,
        })
        .collect())
}

/// Records that a refund was paid (to `iban`, if given now). Finance managers only; audited.
pub async fn pay_refund(store: &Store, id: i64, iban: Option<&str>, actor: &str) -> Result<()> {
    let iban = iban.filter(|i| !i.trim().is_empty()).map(parse_iban).transpose()?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::RefundPaid).await?;
    ledger::pay_refund(&mut tx, id, iban.as_deref(), chrono::Local::now().date_naive(), actor).await?;
    tx.commit().await?;
    Ok(())
}
