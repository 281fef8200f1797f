//! The card channel's rules: what Régie makes of a gateway transaction, which student and
//! installment it is for, and which remittance a bank line credits.

pub mod export;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use self::export::CardRow;
use crate::bank::matching::Payee;
use crate::money::Money;
use crate::{Error, Result};

/// What Régie made of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export, rename = "CardOutcome")]
pub enum Outcome {
    /// A captured debit, recorded as a card payment on its installment.
    Paid,
    /// A debit the cardholder's bank refused: the installment stays due, marked refused.
    Refused,
    /// Money sent back to the card: a refund, paid.
    Refunded,
    /// A captured payment that came back: the payment is unpaid ("Impayé").
    ChargedBack,
    Cancelled,
    /// Not tied to a student yet: waits for the accountant (`card assign`).
    Unknown,
}

crate::coded!(Outcome: Paid, Refused, Refunded, ChargedBack, Cancelled, Unknown);

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Refused => "refused",
            Outcome::Refunded => "refunded",
            Outcome::ChargedBack => "charged_back",
            Outcome::Cancelled => "cancelled",
            Outcome::Unknown => "unknown",
        }
    }

    /// Reads the CLI's `--status`: an outcome, or `captured` for the paid ones.
    pub fn parse(text: &str) -> Result<Outcome> {
        match text.trim().to_lowercase().as_str() {
            "paid" | "captured" => Ok(Outcome::Paid),
            "refused" => Ok(Outcome::Refused),
            "refunded" => Ok(Outcome::Refunded),
            "charged_back" | "chargeback" => Ok(Outcome::ChargedBack),
            "cancelled" => Ok(Outcome::Cancelled),
            "unknown" => Ok(Outcome::Unknown),
            other => Err(Error::Invalid(format!(
                "statut « {other} » inconnu (captured, refused, refunded, charged_back, cancelled, unknown)"
            ))),
        }
    }
}

/// Who a transaction is for, and which installment, with the reasons.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub student_id: Option<i64>,
    pub installment_id: Option<i64>,
    pub reasons: Vec<String>,
}

/// What an import looks its transactions up in, built once per import.
pub struct CardIndex {
    payees: Vec<Payee>,
    payee_of: HashMap<i64, usize>,
    invoice_student: HashMap<String, i64>,
    by_email: HashMap<String, Vec<i64>>,
    by_number: HashMap<String, i64>,
}

impl CardIndex {
    pub fn empty() -> CardIndex {
        CardIndex {
            payees: Vec::new(),
            payee_of: HashMap::new(),
            invoice_student: HashMap::new(),
            by_email: HashMap::new(),
            by_number: HashMap::new(),
        }
    }

    /// The index of an import: the students with open installments (`payees`), the invoice
    /// numbers with their student, and every student's (id, number, e-mail).
    pub fn new(
        payees: Vec<Payee>,
        invoice_student: HashMap<String, i64>,
        students: Vec<(i64, String, String)>,
    ) -> CardIndex {
        let payee_of = payees.iter().enumerate().map(|(i, p)| (p.student_id, i)).collect();
        let mut by_email: HashMap<String, Vec<i64>> = HashMap::new();
        let mut by_number = HashMap::new();
        for (id, number, email) in students {
            by_email.entry(email).or_default().push(id);
            by_number.insert(number, id);
        }
        CardIndex { payees, payee_of, invoice_student, by_email, by_number }
    }

    /// Spreads a captured `amount` over the student's open installments, the one the
    /// transaction is for first, then the oldest; what it settles leaves the index, so the next
    /// row of the same import sees what is still open. Returns the (installment id, amount)
    /// parts, and how many of those installments they settle whole (the student's open ones
    /// fewer by as many).
    pub fn allocate(&mut self, student: i64, installment: Option<i64>, amount: Money) -> (Vec<(i64, Money)>, i64) {
        let Some(i) = self.payee_of.get(&student) else { return (Vec::new(), 0) };
        let payee = &mut self.payees[*i];
        let first = payee.open.iter().position(|o| Some(o.installment_id) == installment);
        if let Some(k) = first {
            payee.open[..=k].rotate_right(1);
        }
        let (parts, _) = crate::ledger::allocation::spread(payee.open.iter_mut(), amount);
        let open = payee.open.len();
        payee.open.retain(|o| o.left.is_positive());
        let settled = (open - payee.open.len()) as i64;
        payee.open.sort_by_key(|o| (o.due_date, o.n));
        (parts, settled)
    }

    /// The student and installment a row is for: the order reference when it names one of our
    /// invoices (and the installment's rank), else the payer's e-mail, else a student number in
    /// the reference; then, for a debit, the open installment of that amount, else the oldest
    /// open one. A refused debit marks only the open installment its reference ranks, or, with no
    /// rank, one of its amount already due on its date: a retry of an installment paid since (by
    /// transfer, say) marks no other one refused, nor has it reminded before its date. A refund or a charge-back gets its
    /// student only: the installment it concerns is the one the payment it undoes paid, found
    /// when that payment is (the rank in its reference names an installment already paid, and the
    /// open ones are others).
    pub fn target(&self, row: &CardRow) -> Target {
        let mut t = Target::default();
        let mut rank = None;
        let mut invoice = None;
        if let Some((number, n)) = export::invoice_in_reference(&row.reference)
            && let Some(student) = self.invoice_student.get(&number)
        {
            t.student_id = Some(*student);
            t.reasons.push(format!("référence {}", row.reference));
            invoice = Some(number);
            rank = n;
        }
        if t.student_id.is_none()
            && let Some(ids) = row.email.as_ref().and_then(|e| self.by_email.get(e))
        {
            if let [one] = ids.as_slice() {
                t.student_id = Some(*one);
                t.reasons.push(format!("e-mail {}", row.email.as_deref().unwrap_or_default()));
            } else {
                t.reasons.push(format!("e-mail partagé par {} étudiants", ids.len()));
            }
        }
        if t.student_id.is_none() {
            let number = row
                .reference
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() >= 6 && self.by_number.contains_key(*w));
            if let Some(n) = number {
                t.student_id = self.by_number.get(n).copied();
                t.reasons.push(format!("n° étudiant {n} dans la référence"));
            }
        }
        let Some(student) = t.student_id else {
            if t.reasons.is_empty() {
                t.reasons.push(format!("référence « {} » et e-mail inconnus", row.reference));
            }
            return t;
        };
        if row.kind != export::Kind::Debit {
            return t;
        }
        let Some(payee) = self.payee_of.get(&student).map(|i| &self.payees[*i]) else {
            t.reasons.push("aucune échéance ouverte".into());
            return t;
        };
        let on_invoice = |o: &&crate::bank::matching::OpenItem| invoice.as_ref().is_none_or(|n| &o.invoice_number == n);
        let ranked = payee.open.iter().filter(on_invoice).find(|o| rank.is_some_and(|n| o.n == n));
        let pick = if row.status == export::Status::Refused {
            match rank {
                Some(_) => ranked,
                None => {
                    let due = |o: &&crate::bank::matching::OpenItem| o.left == row.amount && o.due_date <= row.date;
                    payee.open.iter().filter(on_invoice).find(due).or_else(|| payee.open.iter().find(due))
                }
            }
        } else {
            ranked
                .or_else(|| payee.open.iter().filter(on_invoice).find(|o| o.left == row.amount))
                .or_else(|| payee.open.iter().find(|o| o.left == row.amount))
                .or_else(|| payee.open.iter().find(on_invoice))
                .or_else(|| payee.open.first())
        };
        if pick.is_none() && row.status == export::Status::Refused {
            t.reasons.push(match rank {
                Some(n) => format!("l'échéance {n} n'est plus ouverte : le refus ne marque aucune autre échéance"),
                None => "aucune échéance ouverte de ce montant échue à cette date : le refus ne marque aucune échéance"
                    .into(),
            });
        }
        if let Some(o) = pick {
            t.installment_id = Some(o.installment_id);
            t.reasons.push(format!("échéance {} du {} ({})", o.n, o.due_date.format("%d/%m/%Y"), o.invoice_number));
        }
        t
    }
}

/// The remittance a bank line's label announces: `Some(number)` for "REMISE CB 81234 DU 11/10/25",
/// `Some(None)` for a card remittance without its number, `None` for any other line.
pub fn remittance_in_label(label: &str) -> Option<Option<String>> {
    remittance_in_canonical(&crate::bank::table::canonical_label(label))
}

/// How a bank labels a card remittance.
const REMITTANCE_WORDS: [&str; 4] = ["REMISE CB", "REM CB", "REMISE CARTE", "REMISE CARTES"];

/// `remittance_in_label`, given the label's `canonical_label`.
pub fn remittance_in_canonical(upper: &str) -> Option<Option<String>> {
    let at = REMITTANCE_WORDS.iter().find_map(|k| upper.find(k).map(|i| i + k.len()))?;
    let number: String = upper[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    Some((!number.is_empty()).then_some(number))
}

/// `remittance_in_canonical` for a line of `amount`: a credit anywhere in its label; a debit (a
/// remittance of refunds only) when its label opens with it, "REMISE CB 81260 DU 20/09/25", and
/// says nothing of a fee, a commission, a charge-back or a cancellation, which may name a
/// remittance too.
pub fn remittance_of_line(upper: &str, amount: Money) -> Option<Option<String>> {
    let refunds_only = || {
        REMITTANCE_WORDS.iter().any(|k| upper.starts_with(k))
            && !["COMMISSION", "COM ", "FRAIS", "IMPAYE", "ANNUL", "REJET"].iter().any(|w| upper.contains(w))
    };
    (amount.is_positive() || (amount.is_negative() && refunds_only())).then(|| remittance_in_canonical(upper)).flatten()
}

/// The acquirer's commission is within the tolerance: |difference| <= |gross| x bp / 10 000, in
/// cents without rounding. A remittance of refunds only is below zero: the bank debits it.
pub fn within(gross: Money, difference: Money, bp: i64) -> bool {
    difference.cents().abs() * 10_000 <= gross.cents().abs() * bp
}

/// What the bank import makes of a remittance line: the remittance it credits (by its number,
/// else by date and amount within the commission tolerance) and the reasons.
pub struct RemittanceMatch {
    pub number: Option<String>,
    pub known: bool,
    pub reasons: Vec<String>,
}

/// Ties a statement's remittance line to its remittance. `known` are the remittances recorded
/// from the gateway: (number, date, gross). A remittance of refunds only is a debit line, tied
/// only to a remittance below zero; a credit, only to one above. A line without a number never
/// takes a remittance in `credited` (one a line ties already): two such lines of neighbouring
/// days find a remittance each, not both the nearer one.
pub fn match_remittance(
    label_number: Option<String>,
    date: NaiveDate,
    amount: Money,
    known: &[(String, NaiveDate, Money)],
    credited: &std::collections::HashSet<String>,
    bp: i64,
) -> RemittanceMatch {
    let explain = |number: &str, gross: Money| {
        let d = gross - amount;
        let mut r = vec![format!("remise CB {number} : {} brut", gross.to_french())];
        if gross.is_negative() {
            r.push(if d.is_zero() {
                "remboursements seuls, débitée".into()
            } else {
                format!("remboursements seuls, débitée avec un écart de {}", d.to_french())
            });
        } else if d.is_zero() {
            r.push("créditée brute (commission à part)".into());
        } else if within(gross, d, bp) {
            r.push(format!("créditée nette, commission {}", d.to_french()));
        } else {
            r.push(format!("écart de {} au-delà de la tolérance", d.to_french()));
        }
        r
    };
    let same_way = |gross: Money| gross.is_negative() == amount.is_negative();
    if let Some(n) = label_number {
        return match known.iter().find(|(k, _, _)| *k == n) {
            Some((_, _, gross)) if same_way(*gross) => {
                RemittanceMatch { reasons: explain(&n, *gross), number: Some(n), known: true }
            }
            Some((_, _, gross)) => RemittanceMatch {
                reasons: vec![format!(
                    "remise CB {n} : {} brut, la ligne {} {}",
                    gross.to_french(),
                    if amount.is_negative() { "débite" } else { "crédite" },
                    amount.abs().to_french()
                )],
                number: Some(n),
                known: false,
            },
            None => RemittanceMatch {
                reasons: vec![format!("remise CB {n} absente des exports de la passerelle importés")],
                number: Some(n),
                known: false,
            },
        };
    }
    let candidates = known.iter().filter(|(n, d, gross)| {
        !credited.contains(n)
            && (*d..=*d + chrono::Days::new(5)).contains(&date)
            && same_way(*gross)
            && within(*gross, *gross - amount, bp)
            && (gross.is_negative() || *gross >= amount)
    });
    match candidates.min_by_key(|(_, _, gross)| (*gross - amount).cents().abs()) {
        Some((n, _, gross)) => {
            let mut reasons = explain(n, *gross);
            reasons.insert(0, "retrouvée par sa date et son montant".into());
            RemittanceMatch { number: Some(n.clone()), known: true, reasons }
        }
        None => RemittanceMatch {
            number: None,
            known: false,
            reasons: vec!["remise CB sans numéro : aucune remise de la passerelle à cette date et ce montant".into()],
        },
    }
}

/// How the card transactions list may be sorted (the codes are the list's column keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionSort {
    /// By date and time (the gateway's), then as imported.
    #[default]
    Date,
    Number,
    Amount,
}

impl TransactionSort {
    pub fn code(self) -> &'static str {
        match self {
            TransactionSort::Date => "date",
            TransactionSort::Number => "number",
            TransactionSort::Amount => "amount",
        }
    }
}

crate::coded!(TransactionSort: Date, Number, Amount);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 10, day).unwrap()
    }

    fn m(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    /// A student owing 100,00 on the 5th and 50,00 on the 10th: a debit of 120,00 settles the
    /// first whole and 20,00 of the second; one of 30,00 the second; one more has nothing to
    /// settle. What is settled whole is counted (the student's open installments fewer by it).
    #[test]
    fn an_allocation_counts_the_installments_it_settles_whole() {
        let item = |id: i64, n: i64, day: u32, cents: i64| crate::bank::matching::OpenItem {
            installment_id: id,
            n,
            due_date: d(day),
            left: m(cents),
            invoice_number: "F2025-00001".into(),
        };
        let payee = Payee {
            student_id: 7,
            number: "25000007".into(),
            last_name: "Martin".into(),
            first_name: "Léa".into(),
            school: crate::fees::School::Isima,
            open: vec![item(1, 1, 5, 10000), item(2, 2, 10, 5000)],
            aliases: Vec::new(),
        };
        let mut index = CardIndex::new(vec![payee], HashMap::new(), Vec::new());
        assert_eq!(index.allocate(7, None, m(12000)), (vec![(1, m(10000)), (2, m(2000))], 1));
        assert_eq!(index.allocate(7, Some(2), m(3000)), (vec![(2, m(3000))], 1));
        assert_eq!(index.allocate(7, None, m(1000)), (Vec::new(), 0));
        assert_eq!(index.allocate(8, None, m(1000)), (Vec::new(), 0), "nobody owing");
    }

    /// A day's debits (824,00 gross) and a remittance of one refund (206,00 sent back to a card):
    /// the bank credits the first net of its commission and debits the second.
    fn known() -> Vec<(String, NaiveDate, Money)> {
        vec![("81234".into(), d(11), m(82400)), ("81260".into(), d(20), m(-20600))]
    }

    #[test]
    fn a_remittance_of_refunds_only_is_its_debit_line() {
        let by_number = match_remittance(Some("81260".into()), d(21), m(-20600), &known(), &HashSet::new(), 100);
        assert_eq!((by_number.known, by_number.number.as_deref()), (true, Some("81260")), "{:?}", by_number.reasons);
        let by_amount = match_remittance(None, d(21), m(-20600), &known(), &HashSet::new(), 100);
        assert_eq!((by_amount.known, by_amount.number.as_deref()), (true, Some("81260")), "{:?}", by_amount.reasons);
        assert!(within(m(-20600), m(-150), 100) && !within(m(-20600), m(-300), 100));
    }

    /// By number: a debit naming a remittance the bank credits, and a credit naming one it debits.
    /// (By date and amount the tolerance, under 100 %, already keeps the other way out.)
    #[test]
    fn a_line_the_other_way_is_not_its_remittance_s() {
        let debit = match_remittance(Some("81234".into()), d(12), m(-81906), &known(), &HashSet::new(), 100);
        assert_eq!((debit.known, debit.number.as_deref()), (false, Some("81234")));
        assert!(debit.reasons[0].contains("la ligne débite 819,06"), "{:?}", debit.reasons);
        let credit = match_remittance(Some("81260".into()), d(21), m(20600), &known(), &HashSet::new(), 100);
        assert!(!credit.known, "{:?}", credit.reasons);
        assert!(credit.reasons[0].contains("la ligne crédite 206,00"), "{:?}", credit.reasons);
    }

    /// Two remittances of refunds only within the tolerance of one debit line: the nearer one,
    /// whichever side of the line it falls.
    #[test]
    fn the_nearest_remittance_of_refunds_only_is_taken() {
        let known = vec![("81270".into(), d(20), m(-20600)), ("81271".into(), d(20), m(-20490))];
        let found = match_remittance(None, d(21), m(-20500), &known, &HashSet::new(), 100);
        assert_eq!(found.number.as_deref(), Some("81271"), "{:?}", found.reasons);
        assert!(found.reasons.iter().any(|r| r.contains("débitée avec un écart de 0,10")), "{:?}", found.reasons);
    }

    /// Two days' remittances (824,00 and 826,00 gross) and two bank lines without a number, net of
    /// their commission, each within the tolerance of both: the first line takes the nearer
    /// remittance; the second, which would be nearer it too, takes the other one.
    #[test]
    fn a_line_without_a_number_takes_no_remittance_already_credited() {
        let known = vec![("81234".into(), d(11), m(82400)), ("81240".into(), d(12), m(82600))];
        let first = match_remittance(None, d(13), m(81906), &known, &HashSet::new(), 100);
        assert_eq!(first.number.as_deref(), Some("81234"), "{:?}", first.reasons);
        let alone = match_remittance(None, d(14), m(82104), &known, &HashSet::new(), 100);
        assert_eq!(alone.number.as_deref(), Some("81234"), "the nearer, were it free: {:?}", alone.reasons);
        let credited = HashSet::from(["81234".to_string()]);
        let second = match_remittance(None, d(14), m(82104), &known, &credited, 100);
        assert_eq!(second.number.as_deref(), Some("81240"), "{:?}", second.reasons);
        let by_number = match_remittance(Some("81234".into()), d(14), m(81906), &known, &credited, 100);
        assert!(by_number.known, "a line naming it is still tied: {:?}", by_number.reasons);
    }
}
