//! Requests: the payment-plan requests students make on the portal, the queue the accountants
//! decide, and the registration import that fills it (`import`).

pub mod registrations;

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use crate::fees::checks::{self, Declaration, Finding};
use crate::fees::grid::FeeGrid;
use crate::fees::{AcademicYear, School, Session, Situation};
use crate::money::Money;
use crate::plans::{self, PlanKind, Schedule};
use crate::settings::SchoolSettings;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum RequestStatus {
    Pending,
    Hold,
    Approved,
    Rejected,
}

impl RequestStatus {
    pub fn code(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Hold => "hold",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        }
    }

    /// The status in the accountants' words, as a past participle ("demande 12 déjà acceptée").
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "en attente",
            RequestStatus::Hold => "mise en suspens",
            RequestStatus::Approved => "acceptée",
            RequestStatus::Rejected => "refusée",
        }
    }
}

crate::coded!(RequestStatus: Pending, Hold, Approved, Rejected);

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for RequestStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<RequestStatus> {
        match s.trim().to_lowercase().as_str() {
            "pending" => Ok(RequestStatus::Pending),
            "hold" | "on_hold" => Ok(RequestStatus::Hold),
            "approved" => Ok(RequestStatus::Approved),
            "rejected" => Ok(RequestStatus::Rejected),
            other => Err(Error::Invalid(format!("statut inconnu « {other} » (pending, hold, approved, rejected)"))),
        }
    }
}

/// A request as read from a registration file, validated and priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub academic_year: AcademicYear,
    pub school: School,
    pub programme: String,
    pub session: Session,
    pub year_of_study: u8,
    pub situation: Situation,
    pub plan: PlanKind,
    pub amount: Money,
    /// The file gave the amount (overriding the grid).
    pub amount_from_file: bool,
    pub requested_on: NaiveDate,
    pub extra_eu: Option<bool>,
    pub certificate: Option<bool>,
    pub first_year_here: Option<bool>,
    pub contract_signed: Option<bool>,
    /// The exchange agreement the file names ("Brafitec"), `oui`, or `non`; `None`: not said.
    pub exchange_agreement: Option<Agreement>,
    pub apprentice: Option<bool>,
}

/// What a registration file says of an exchange agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    None,
    /// Under one; named when the portal names it (Brafitec, Ensam, Ensias).
    Under(Option<String>),
}

impl Agreement {
    /// Reads a cell: a yes/no flag or the agreement's name (a short line of text).
    pub fn parse(text: &str) -> std::result::Result<Option<Agreement>, String> {
        let t = text.trim();
        match t.to_lowercase().as_str() {
            "" => Ok(None),
            "oui" | "o" | "yes" | "y" | "true" | "vrai" | "1" | "x" => Ok(Some(Agreement::Under(None))),
            "non" | "n" | "no" | "false" | "faux" | "0" | "aucun" | "aucune" => Ok(Some(Agreement::None)),
            _ if t.chars().count() > 60 || t.chars().any(char::is_control) => Err(format!(
                "convention « {} » illisible : oui, non ou le nom de l'accord",
                t.chars().take(60).collect::<String>()
            )),
            _ => Ok(Some(Agreement::Under(Some(t.to_string())))),
        }
    }

    /// As stored: `non`, `oui` or the name.
    pub fn stored(&self) -> &str {
        match self {
            Agreement::None => "non",
            Agreement::Under(None) => "oui",
            Agreement::Under(Some(name)) => name,
        }
    }

    pub fn under(&self) -> bool {
        matches!(self, Agreement::Under(_))
    }
}

impl NewRequest {
    pub fn declaration(&self) -> Declaration<'_> {
        Declaration {
            school: self.school,
            programme: &self.programme,
            year_of_study: self.year_of_study,
            situation: self.situation,
            extra_eu: self.extra_eu,
            certificate: self.certificate,
            first_year_here: self.first_year_here,
            contract_signed: self.contract_signed,
            exchange_agreement: self.exchange_agreement.as_ref().map(Agreement::under),
            apprentice: self.apprentice,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub student_id: i64,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub new: NewRequest,
    pub status: RequestStatus,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// A request with the findings of the checks, as the queue shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export, rename = "Request")]
pub struct RequestView {
    pub id: i64,
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: School,
    pub session: String,
    pub year: u8,
    pub situation: Situation,
    pub plan: PlanKind,
    pub amount: Money,
    pub requested_on: NaiveDate,
    pub status: RequestStatus,
    pub findings: Vec<Finding>,
    pub reason: Option<String>,
}

/// The findings of a request: the declaration checks, plus the plan's own (threshold, deadline).
pub fn findings_of(r: &Request, grid: &FeeGrid, settings: &SchoolSettings) -> Vec<Finding> {
    let mut out = checks::check(grid, &r.new.declaration());
    let differentiated = r.new.situation == Situation::ExtraEu && settings.differentiated_by_transfer;
    if differentiated && r.new.plan != PlanKind::Transfer {
        out.push(Finding::blocking(
            "differentiated_fees_by_transfer",
            format!(
                "Droits différenciés (05) de {} : paiement par virement uniquement (au-delà des plafonds des cartes bancaires), pas en {}.",
                r.new.school,
                r.new.plan.label()
            ),
        ));
    }
    if r.new.plan == PlanKind::Transfer && !differentiated {
        out.push(Finding::blocking(
            "transfer_plan_not_allowed",
            "L'échéancier par virements est réservé aux droits différenciés (05) payés par virement : choisir 1, 3 ou 6 fois.",
        ));
    }
    // A plan the first two findings already refuse is not also explained as impossible, and
    // nothing to pay (07, 02) needs no schedule.
    if out.iter().any(|f| f.code == "transfer_plan_not_allowed") || r.new.amount.is_zero() {
        return out;
    }
    match proposed_schedule(r, grid, settings) {
        Ok(s) => out.extend(s.findings),
        Err(e) => {
            out.extend(plans::threshold_finding(r.new.amount, r.new.plan, &settings.plan_rules()));
            out.push(Finding::blocking("plan_impossible", e.to_string()));
        }
    }
    out
}

/// The schedule an approval would create today (first installment on `start`).
pub fn schedule_for(r: &Request, grid: &FeeGrid, settings: &SchoolSettings, start: NaiveDate) -> Result<Schedule> {
    let n = &r.new;
    let first = match n.plan {
        PlanKind::Six | PlanKind::Transfer => {
            Some(grid.standard_fee(n.academic_year, n.school, &n.programme).ok_or_else(|| Error::NoFee {
                what: format!("droits de scolarité {} {} {}", n.academic_year, n.school, n.programme),
            })?)
        }
        _ => None,
    };
    Ok(plans::schedule(n.amount, n.plan, first, start, &settings.plan_rules())?)
}

fn proposed_schedule(r: &Request, grid: &FeeGrid, settings: &SchoolSettings) -> Result<Schedule> {
    schedule_for(r, grid, settings, r.new.requested_on)
}

/// A request as the detail panel shows it: the queue's line, the student's e-mail and the
/// schedule that approving it on `start` would create (or why there is none).
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    pub request: RequestView,
    pub email: String,
    pub situation_label: &'static str,
    pub rounding: crate::plans::Rounding,
    pub six_threshold: Money,
    pub schedule: Option<Schedule>,
    pub schedule_error: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// What the portal's file declared beyond the situation, as the checks read it.
    pub declared: Vec<Declared>,
}

/// One declared fact of a request: "Extra-communautaire : oui".
#[derive(Debug, Clone, Serialize)]
pub struct Declared {
    pub label: &'static str,
    pub value: String,
}

pub fn declared_of(n: &NewRequest) -> Vec<Declared> {
    let yes_no = |b: bool| if b { "oui" } else { "non" }.to_string();
    let flags = [
        ("Extra-communautaire", n.extra_eu),
        ("Attestation de bourse", n.certificate),
        ("1re année faite à l'école", n.first_year_here),
        ("Contrat signé", n.contract_signed),
        ("Apprenti", n.apprentice),
    ];
    let mut out: Vec<Declared> =
        flags.into_iter().filter_map(|(label, v)| v.map(|b| Declared { label, value: yes_no(b) })).collect();
    if let Some(a) = &n.exchange_agreement {
        out.push(Declared { label: "Convention d'échange", value: a.stored().to_string() });
    }
    out
}

pub fn view_of(r: Request, findings: Vec<Finding>) -> RequestView {
    RequestView {
        id: r.id,
        student_number: r.student_number,
        last_name: r.last_name,
        first_name: r.first_name,
        school: r.new.school,
        session: r.new.session.to_string(),
        year: r.new.year_of_study,
        situation: r.new.situation,
        plan: r.new.plan,
        amount: r.new.amount,
        requested_on: r.new.requested_on,
        status: r.status,
        findings,
        reason: r.reason,
    }
}

/// Every finding code a request can carry: the choices of the list's finding filter.
pub const FINDING_CODES: [&str; 14] = [
    "apprentice_not_01",
    "differentiated_fees_by_transfer",
    "ends_after_deadline",
    "exchange_agreement_not_07",
    "exemption_07_without_agreement",
    "extra_eu_continuing_pays_as_french",
    "extra_eu_first_year_not_05",
    "plan_impossible",
    "scholarship_certificate_missing",
    "situation_not_allowed",
    "six_at_or_below_threshold",
    "transfer_plan_not_allowed",
    "work_study_contract_unsigned",
    "work_study_wrong_year",
];

/// A request's finding codes as the database keeps them for the list's filter:
/// ",six_at_or_below_threshold,ends_after_deadline," (",," for none), so that a code is found by
/// `LIKE '%,code,%'` and no code is found inside another.
pub fn finding_key(findings: &[Finding]) -> String {
    let mut key = String::from(",");
    for f in findings {
        key.push_str(f.code);
        key.push(',');
    }
    if findings.is_empty() {
        key.push(',');
    }
    key
}

/// The `LIKE` pattern of a finding code in `finding_key`s.
pub fn finding_pattern(code: &str) -> String {
    format!("%,{code},%")
}

/// What the findings of every request were computed with: the fee grid, the schools' settings
/// and this version of the rules (to raise when a rule changes). Kept beside the codes: another
/// stamp means they are all computed again. A 64-bit FNV-1a of their description: stable across
/// builds, unlike the standard library's hasher.
pub fn findings_stamp(grid: &FeeGrid, settings: &[SchoolSettings]) -> String {
    const RULES_VERSION: u32 = 1;
    let described = format!("{grid:?}{settings:?}");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in described.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("v{RULES_VERSION}-{hash:016x}")
}

/// How the requests list may be sorted (the codes are the list's column keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSort {
    #[default]
    RequestedOn,
    Number,
    Name,
    School,
    Situation,
    Plan,
    Amount,
    Status,
}

impl RequestSort {
    pub fn code(self) -> &'static str {
        match self {
            RequestSort::RequestedOn => "requested_on",
            RequestSort::Number => "student_number",
            RequestSort::Name => "last_name",
            RequestSort::School => "school",
            RequestSort::Situation => "situation",
            RequestSort::Plan => "plan",
            RequestSort::Amount => "amount",
            RequestSort::Status => "status",
        }
    }
}

crate::coded!(RequestSort: RequestedOn, Number, Name, School, Situation, Plan, Amount, Status);

#[cfg(test)]
mod finding_codes {
    use super::*;
    use crate::fees::School;

    #[test]
    fn a_key_finds_its_codes_and_no_code_inside_another() {
        let f = |code| Finding::new(code, "");
        let key = finding_key(&[f("plan_impossible"), f("ends_after_deadline")]);
        assert_eq!(key, ",plan_impossible,ends_after_deadline,");
        assert!(key.contains(&finding_pattern("ends_after_deadline").replace('%', "")));
        assert!(!key.contains(&finding_pattern("plan").replace('%', "")));
        assert_eq!(finding_key(&[]), ",,");
    }

    #[test]
    fn the_stamp_changes_with_the_settings_and_grid_only() {
        let grid = FeeGrid::shipped();
        let settings = vec![SchoolSettings::default_for(School::Isima, "ISIMA", 3)];
        let stamp = findings_stamp(&grid, &settings);
        assert_eq!(stamp, findings_stamp(&grid.clone(), &settings.clone()));
        let mut changed = settings.clone();
        changed[0].dunning_first_days += 1;
        assert_ne!(stamp, findings_stamp(&grid, &changed));
        let mut fewer = grid.clone();
        fewer.fees.pop();
        assert_ne!(stamp, findings_stamp(&fewer, &settings));
    }

    /// The filter offers every code the rules can give: each `Finding::new`/`blocking` of the
    /// rules' sources names one of them.
    #[test]
    fn the_filter_knows_every_finding_the_rules_give() {
        let sources = [include_str!("mod.rs"), include_str!("../fees/checks.rs"), include_str!("../plans/mod.rs")];
        let mut seen = 0;
        for source in sources {
            for call in ["Finding::new(", "Finding::blocking("] {
                for part in source.split(call).skip(1) {
                    let code = part.trim_start().trim_start_matches('"').split('"').next().unwrap_or_default();
                    if code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                        && !code.is_empty()
                    {
                        assert!(super::FINDING_CODES.contains(&code), "{code} is missing from FINDING_CODES");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen >= super::FINDING_CODES.len(), "the rules give {seen} findings");
    }
}
