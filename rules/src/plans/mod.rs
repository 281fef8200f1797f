//! Payment plans: one-off, 3 installments, 6 installments and ISIMA's transfer plan, as dated schedules.
//! Every schedule sums to the amount to the cent; rounding and thresholds are settings, not constants.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::fees::checks::Finding;
use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum PlanKind {
    One,
    Three,
    Six,
    Transfer,
}

impl PlanKind {
    pub fn code(self) -> &'static str {
        match self {
            PlanKind::One => "one",
            PlanKind::Three => "three",
            PlanKind::Six => "six",
            PlanKind::Transfer => "transfer",
        }
    }

    pub fn installments(self) -> usize {
        match self {
            PlanKind::One => 1,
            PlanKind::Three | PlanKind::Transfer => 3,
            PlanKind::Six => 6,
        }
    }
}

impl PlanKind {
    /// The plan as the office and the students name it.
    pub fn label(self) -> &'static str {
        match self {
            PlanKind::One => "1 fois",
            PlanKind::Three => "3 fois",
            PlanKind::Six => "6 fois",
            PlanKind::Transfer => "Virements",
        }
    }

    /// The label an invoice of this plan carries, as the portal records it: card plans are paid
    /// online (the first installment on the portal, the others debited from the same card).
    pub fn invoice_label(self) -> &'static str {
        match self {
            PlanKind::One => "Paiement en ligne par carte",
            PlanKind::Three => "Paiement en ligne par carte en 3 fois",
            PlanKind::Six => "Paiement en ligne par carte en 6 fois",
            PlanKind::Transfer => "Paiement par virement",
        }
    }
}

impl fmt::Display for PlanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for PlanKind {
    type Err = PlanError;
    /// The portal's export says `1`, `3`, `6` or `virement`; Régie's own files say the names.
    fn from_str(s: &str) -> Result<PlanKind, PlanError> {
        match s.trim().to_lowercase().as_str() {
            "one" | "1" | "une" | "comptant" | "1 fois" => Ok(PlanKind::One),
            "three" | "3" | "trois" | "3 fois" => Ok(PlanKind::Three),
            "six" | "6" | "6 fois" => Ok(PlanKind::Six),
            "transfer" | "virement" | "virements" => Ok(PlanKind::Transfer),
            _ => Err(PlanError::UnknownPlan(s.trim().to_string())),
        }
    }
}

/// How thirds are rounded. `Exact` rounds to the cent and puts the remainder on the last;
/// `Portal` reproduces the portal's screen (amount x 0.3333, remainder on the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum Rounding {
    #[default]
    Exact,
    Portal,
}

impl FromStr for Rounding {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Rounding, PlanError> {
        match s.trim().to_lowercase().as_str() {
            "exact" => Ok(Rounding::Exact),
            "portal" | "portail" => Ok(Rounding::Portal),
            _ => Err(PlanError::UnknownRounding(s.trim().to_string())),
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rounding::Exact => "exact",
            Rounding::Portal => "portal",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("échéancier inconnu « {0} » : attendu 1, 3, 6 ou virement (one, three, six, transfer)")]
    UnknownPlan(String),
    #[error("arrondi inconnu « {0} » (exact, portal)")]
    UnknownRounding(String),
    #[error("le montant d'un échéancier doit être positif ({0})")]
    NotPositive(Money),
    #[error("l'échéancier {0} a besoin du premier versement fixe (droits de scolarité)")]
    FirstMissing(PlanKind),
    #[error("premier versement {first} incompatible avec le montant {amount}: il doit être positif et inférieur")]
    FirstTooLarge { first: Money, amount: Money },
    #[error("montant {amount} trop petit pour {n} échéances non nulles")]
    TooSmall { amount: Money, n: usize },
    #[error("jour de prélèvement {0} invalide (1 à 28)")]
    BadDebitDay(u32),
}

/// The dates and rules a schedule is computed with (per-school settings).
#[derive(Debug, Clone, Copy)]
pub struct PlanRules {
    pub rounding: Rounding,
    /// Day of the month of automatic debits (10).
    pub debit_day: u32,
    /// Every installment must fall on or before this day and month of the academic year (15 December).
    pub deadline_month: u32,
    pub deadline_day: u32,
    /// 6-installment plans are only for amounts strictly above this.
    pub six_threshold: Money,
}

impl Default for PlanRules {
    fn default() -> Self {
        PlanRules {
            rounding: Rounding::Exact,
            debit_day: 10,
            deadline_month: 12,
            deadline_day: 15,
            six_threshold: Money::from_cents(100_000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installment {
    pub n: u32,
    pub due_date: NaiveDate,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub installments: Vec<Installment>,
    pub total: Money,
    pub findings: Vec<Finding>,
}

/// Is a 6-installment plan allowed for this amount? Strictly above the threshold.
pub fn six_allowed(amount: Money, threshold: Money) -> bool {
    amount > threshold
}

/// The finding of a 6-installment request at or below the threshold, if it is one. Separate
/// from `schedule` because such a request may not even split (618 in six after a 618 first).
pub fn threshold_finding(amount: Money, kind: PlanKind, rules: &PlanRules) -> Option<Finding> {
    (kind == PlanKind::Six && !six_allowed(amount, rules.six_threshold)).then(|| {
        Finding::blocking(
            "six_at_or_below_threshold",
            format!(
                "Paiement en 6 fois réservé aux montants supérieurs à {} ; {} ne l'est pas.",
                rules.six_threshold.to_french(),
                amount.to_french()
            ),
        )
    })
}

/// Computes the schedule of `amount` under `kind`, the first installment due on `start` and the
/// others on the debit day of the following months.
///
/// `first` is the fixed first installment of a 6-plan or transfer plan (the standard fee).
/// Errors when the amount cannot be split into positive installments.
pub fn schedule(
    amount: Money,
    kind: PlanKind,
    first: Option<Money>,
    start: NaiveDate,
    rules: &PlanRules,
) -> Result<Schedule, PlanError> {
    if !amount.is_positive() {
        return Err(PlanError::NotPositive(amount));
    }
    if !(1..=28).contains(&rules.debit_day) {
        return Err(PlanError::BadDebitDay(rules.debit_day));
    }
    let amounts = split(amount, kind, first, rules.rounding)?;
    let mut out = dated(amounts, kind, start, rules);
    debug_assert_eq!(out.total, amount);
    out.findings.extend(threshold_finding(amount, kind, rules));
    Ok(out)
}

/// The schedule of what is left on an invoice when the student moves to `kind` after `settled`
/// was paid or credited: the first installment due on `start`, the others on the debit day of
/// the following months. The fixed first part of a 6-plan or transfer plan (the standard fee)
/// is reduced by what was settled; once it is covered, only the plan's equal parts remain
/// (5 x 20 %, 2 x 50 %). What is left below that first part is due at once.
pub fn rest_schedule(
    left: Money,
    kind: PlanKind,
    standard_fee: Option<Money>,
    settled: Money,
    start: NaiveDate,
    rules: &PlanRules,
) -> Result<Schedule, PlanError> {
    if !left.is_positive() {
        return Err(PlanError::NotPositive(left));
    }
    if !(1..=28).contains(&rules.debit_day) {
        return Err(PlanError::BadDebitDay(rules.debit_day));
    }
    let amounts = match kind {
        PlanKind::One | PlanKind::Three => split(left, kind, None, rules.rounding)?,
        PlanKind::Six | PlanKind::Transfer => {
            let first = standard_fee.ok_or(PlanError::FirstMissing(kind))? - settled;
            if first >= left {
                vec![left]
            } else if first.is_positive() {
                split(left, kind, Some(first), rules.rounding)?
            } else {
                let n = kind.installments() - 1;
                let each = Money::rounded(left.decimal() / Decimal::from(n as i64));
                let mut parts = vec![each; n - 1];
                parts.push(left - each * (n as i64 - 1));
                if parts.iter().any(|p| !p.is_positive()) {
                    return Err(PlanError::TooSmall { amount: left, n });
                }
                parts
            }
        }
    };
    let out = dated(amounts, kind, start, rules);
    debug_assert_eq!(out.total, left);
    Ok(out)
}

/// Dates the parts of a schedule and notes a transfer plan ending after its deadline.
fn dated(amounts: Vec<Money>, kind: PlanKind, start: NaiveDate, rules: &PlanRules) -> Schedule {
    let installments: Vec<Installment> = amounts
        .into_iter()
        .enumerate()
        .map(|(i, amount)| Installment {
            n: i as u32 + 1,
            due_date: if i == 0 { start } else { debit_date(start, i as u32, rules.debit_day) },
            amount,
        })
        .collect();
    let total: Money = installments.iter().map(|i| i.amount).sum();
    let mut findings = Vec::new();
    // The deadline is the transfer plan's rule (ISIMA: "avant le 15 décembre"); card plans run
    // past it by design (Polytech's 3770 in six ends in February).
    let deadline = deadline_for(start, rules);
    if let Some(last) = installments.last().filter(|l| kind == PlanKind::Transfer && l.due_date > deadline) {
        findings.push(Finding::new(
            "ends_after_deadline",
            format!(
                "La dernière échéance ({}) tombe après la date limite du {}.",
                last.due_date.format("%d/%m/%Y"),
                deadline.format("%d/%m/%Y")
            ),
        ));
    }
    Schedule { installments, total, findings }
}

fn split(amount: Money, kind: PlanKind, first: Option<Money>, rounding: Rounding) -> Result<Vec<Money>, PlanError> {
    let equal_with_remainder = |total: Money, n: usize, share: Decimal| -> Result<Vec<Money>, PlanError> {
        let each = Money::rounded(total.decimal() * share);
        let mut parts = vec![each; n - 1];
        let last = total - each * (n as i64 - 1);
        parts.push(last);
        if parts.iter().any(|p| !p.is_positive()) {
            return Err(PlanError::TooSmall { amount: total, n });
        }
        Ok(parts)
    };
    let fixed_then = |n: usize, share: Decimal| -> Result<Vec<Money>, PlanError> {
        let first = first.ok_or(PlanError::FirstMissing(kind))?;
        if !first.is_positive() || first >= amount {
            return Err(PlanError::FirstTooLarge { first, amount });
        }
        let mut parts = vec![first];
        parts.extend(equal_with_remainder(amount - first, n, share)?);
        Ok(parts)
    };
    match kind {
        PlanKind::One => Ok(vec![amount]),
        PlanKind::Three => {
            let share = match rounding {
                Rounding::Exact => Decimal::ONE / Decimal::from(3),
                Rounding::Portal => Decimal::new(3333, 4),
            };
            equal_with_remainder(amount, 3, share)
        }
        PlanKind::Six => fixed_then(5, Decimal::new(2, 1)),
        PlanKind::Transfer => fixed_then(2, Decimal::new(5, 1)),
    }
}

/// The `debit_day` of the `k`-th month after `start`'s month.
fn debit_date(start: NaiveDate, k: u32, debit_day: u32) -> NaiveDate {
    let months = start.month0() + k;
    let year = start.year() + (months / 12) as i32;
    NaiveDate::from_ymd_opt(year, months % 12 + 1, debit_day).expect("debit day 1..=28 exists in every month")
}

/// The deadline of the academic year `start` falls in.
/// The deadline of the academic year that holds `start` (ISIMA's transfers: 15 December).
pub fn deadline_for(start: NaiveDate, rules: &PlanRules) -> NaiveDate {
    let year = crate::fees::AcademicYear::containing(start).start_year() as i32;
    NaiveDate::from_ymd_opt(year, rules.deadline_month, rules.deadline_day)
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 12, 15).expect("valid date"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn amounts(s: &Schedule) -> Vec<String> {
        s.installments.iter().map(|i| i.amount.to_string()).collect()
    }

    fn cents(c: i64) -> Money {
        Money::from_cents(c)
    }

    #[test]
    fn six_installments_of_3770() {
        let s =
            schedule(cents(377000), PlanKind::Six, Some(cents(60100)), d(2022, 9, 1), &PlanRules::default()).unwrap();
        assert_eq!(amounts(&s), ["601.00", "633.80", "633.80", "633.80", "633.80", "633.80"]);
        assert_eq!(s.total, cents(377000));
        let dates: Vec<_> = s.installments.iter().map(|i| i.due_date).collect();
        assert_eq!(
            dates,
            [d(2022, 9, 1), d(2022, 10, 10), d(2022, 11, 10), d(2022, 12, 10), d(2023, 1, 10), d(2023, 2, 10)]
        );
        // Polytech's own worked example raises nothing: the 15 December deadline is ISIMA's rule
        // for its transfers ("effectuer les virements ... avant le 15 décembre").
        assert!(s.findings.is_empty(), "{:?}", s.findings);
    }

    #[test]
    fn the_deadline_is_the_transfer_plan_s() {
        // Transfers that start in November end in January, after the 15 December deadline.
        let late =
            schedule(cents(387900), PlanKind::Transfer, Some(cents(61800)), d(2025, 11, 20), &PlanRules::default())
                .unwrap();
        assert_eq!(late.findings.iter().map(|f| f.code).collect::<Vec<_>>(), ["ends_after_deadline"]);
    }

    #[test]
    fn changing_plan_after_a_payment_replans_only_the_rest() {
        let rules = PlanRules { six_threshold: cents(100_000), ..PlanRules::default() };
        // 3770 in one, nothing paid, moved to six on 20/10: the standard fee first, then 5 x 20 %.
        let s = rest_schedule(cents(377000), PlanKind::Six, Some(cents(60100)), Money::ZERO, d(2022, 10, 20), &rules)
            .unwrap();
        assert_eq!(amounts(&s), ["601.00", "633.80", "633.80", "633.80", "633.80", "633.80"]);
        assert_eq!(s.installments[1].due_date, d(2022, 11, 10));
        // 1256.67 paid of 3770 in three: the standard fee is covered, five equal parts remain.
        let s = rest_schedule(cents(251333), PlanKind::Six, Some(cents(60100)), cents(125667), d(2022, 10, 20), &rules)
            .unwrap();
        assert_eq!(s.installments.len(), 5);
        assert_eq!(s.total, cents(251333));
        // 200 paid of a 618 first part: 418 first, then the transfers' halves.
        let s =
            rest_schedule(cents(367900), PlanKind::Transfer, Some(cents(61800)), cents(20000), d(2025, 9, 20), &rules)
                .unwrap();
        assert_eq!(amounts(&s), ["418.00", "1630.50", "1630.50"]);
        // What is left below the fixed first part is due at once.
        let s = rest_schedule(cents(30000), PlanKind::Six, Some(cents(60100)), Money::ZERO, d(2022, 10, 20), &rules)
            .unwrap();
        assert_eq!(amounts(&s), ["300.00"]);
        // Thirds of the rest.
        let s = rest_schedule(cents(40067), PlanKind::Three, None, cents(20033), d(2022, 10, 20), &rules).unwrap();
        assert_eq!(s.total, cents(40067));
        assert_eq!(s.installments.len(), 3);
    }

    #[test]
    fn isima_transfer_plan_of_3879() {
        let s = schedule(cents(387900), PlanKind::Transfer, Some(cents(61800)), d(2025, 9, 5), &PlanRules::default())
            .unwrap();
        assert_eq!(amounts(&s), ["618.00", "1630.50", "1630.50"]);
        assert!(s.findings.is_empty(), "ends 10/11, before 15/12");
    }

    #[test]
    fn thirds_of_601_exact_and_portal() {
        let exact = schedule(cents(60100), PlanKind::Three, None, d(2022, 6, 24), &PlanRules::default()).unwrap();
        assert_eq!(amounts(&exact), ["200.33", "200.33", "200.34"]);
        let rules = PlanRules { rounding: Rounding::Portal, ..PlanRules::default() };
        let portal = schedule(cents(60100), PlanKind::Three, None, d(2022, 6, 24), &rules).unwrap();
        assert_eq!(amounts(&portal), ["200.31", "200.31", "200.38"]);
        // The portal's screen: 10/07/2022 and 10/08/2022 after a first payment on 24/06/2022,
        // well before the deadline of 15/12/2022 of the year it pays for.
        assert_eq!(portal.installments[1].due_date, d(2022, 7, 10));
        assert_eq!(portal.installments[2].due_date, d(2022, 8, 10));
        assert!(portal.findings.is_empty(), "{:?}", portal.findings);
    }

    #[test]
    fn six_threshold_is_strict() {
        let rules = PlanRules::default();
        let at = schedule(cents(100_000), PlanKind::Six, Some(cents(60100)), d(2025, 9, 1), &rules).unwrap();
        assert!(at.findings.iter().any(|f| f.code == "six_at_or_below_threshold"));
        let above = schedule(cents(100_001), PlanKind::Six, Some(cents(60100)), d(2025, 9, 1), &rules).unwrap();
        assert!(!above.findings.iter().any(|f| f.code == "six_at_or_below_threshold"));
        assert!(!six_allowed(cents(100_000), cents(100_000)));
        assert!(six_allowed(cents(100_001), cents(100_000)));
    }

    #[test]
    fn refuses_impossible_plans() {
        let r = PlanRules::default();
        assert_eq!(
            schedule(Money::ZERO, PlanKind::One, None, d(2025, 9, 1), &r).unwrap_err(),
            PlanError::NotPositive(Money::ZERO)
        );
        assert_eq!(
            schedule(cents(100), PlanKind::Six, None, d(2025, 9, 1), &r).unwrap_err(),
            PlanError::FirstMissing(PlanKind::Six)
        );
        assert!(matches!(
            schedule(cents(500), PlanKind::Six, Some(cents(500)), d(2025, 9, 1), &r),
            Err(PlanError::FirstTooLarge { .. })
        ));
        assert!(matches!(
            schedule(cents(2), PlanKind::Three, None, d(2025, 9, 1), &r),
            Err(PlanError::TooSmall { .. })
        ));
        assert_eq!("virement".parse::<PlanKind>().unwrap(), PlanKind::Transfer);
        assert_eq!("6".parse::<PlanKind>().unwrap(), PlanKind::Six);
    }

    proptest! {
        #[test]
        fn every_schedule_sums_to_the_cent_with_positive_increasing_installments(
            amount_cents in 3i64..10_000_000,
            first_pct in 1i64..99,
            kind in prop_oneof![Just(PlanKind::One), Just(PlanKind::Three), Just(PlanKind::Six), Just(PlanKind::Transfer)],
            portal in any::<bool>(),
            month in 1u32..=12,
            day in 1u32..=28,
        ) {
            let amount = Money::from_cents(amount_cents);
            let first = Money::from_cents((amount_cents * first_pct / 100).max(1));
            let rules = PlanRules { rounding: if portal { Rounding::Portal } else { Rounding::Exact }, ..PlanRules::default() };
            match schedule(amount, kind, Some(first), d(2025, month, day), &rules) {
                Ok(s) => {
                    prop_assert_eq!(s.installments.len(), kind.installments());
                    prop_assert_eq!(s.installments.iter().map(|i| i.amount).sum::<Money>(), amount);
                    prop_assert_eq!(s.total, amount);
                    prop_assert!(s.installments.iter().all(|i| i.amount.is_positive()));
                    prop_assert!(s.installments.windows(2).all(|w| w[0].due_date < w[1].due_date));
                }
                // Only tiny remainders may be refused, never a normal amount.
                Err(PlanError::TooSmall { amount: rest, .. }) => prop_assert!(rest.cents() < 500),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}
