//! Allocation: how money is spread over what a student owes (payments on the oldest installment
//! first, credit notes on their invoice's latest first) and how spare credit is put to use. Pure.

use crate::money::Money;

/// Something with an amount left to settle: an open installment, as the ledger or the bank
/// matcher holds it.
pub trait Owed {
    fn id(&self) -> i64;
    fn left(&self) -> Money;
    fn settle(&mut self, part: Money);
}

/// Spreads `amount` over `owed`, in the order given, never beyond what each still carries.
/// Returns the parts (id, amount) and what could not be placed (a credit on the account).
pub fn spread<'a, T: Owed + 'a>(
    owed: impl IntoIterator<Item = &'a mut T>,
    amount: Money,
) -> (Vec<(i64, Money)>, Money) {
    let mut left = amount;
    let mut parts = Vec::new();
    for o in owed {
        if !left.is_positive() {
            break;
        }
        let part = left.min(o.left());
        if part.is_positive() {
            o.settle(part);
            left -= part;
            parts.push((o.id(), part));
        }
    }
    (parts, left)
}

/// Where spare credit comes from: a payment not wholly allocated, or a credit note that
/// removed more than its invoice still owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Payment(i64),
    CreditNote(i64),
}

/// One part of spare credit put on an open installment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub source: Source,
    pub installment_id: i64,
    pub amount: Money,
}

/// What settling a student's account does: spare credit placed on open installments (oldest
/// first, payments before credit notes, never more than `budget`), and how much of the refunds
/// still to pay no longer has credit behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub placements: Vec<Placement>,
    /// The refunds still to pay must shrink by this much (latest first).
    pub refunds_to_cut: Money,
}

/// The credit a student has and what it is committed to.
#[derive(Debug, Clone, Default)]
pub struct Credit {
    /// Unallocated parts, in the order they are used: payments (oldest first), then credit notes.
    pub sources: Vec<(Source, Money)>,
    pub refunds_paid: Money,
    pub refunds_to_pay: Money,
}

impl Credit {
    pub fn total(&self) -> Money {
        self.sources.iter().map(|(_, m)| *m).sum()
    }

    /// What no refund claims.
    pub fn spare(&self) -> Money {
        self.total() - self.refunds_paid - self.refunds_to_pay
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("les remboursements déjà payés ({paid}) dépassent le crédit du compte ({credit})")]
pub struct Overdrawn {
    pub paid: Money,
    pub credit: Money,
}

/// Plans the settlement of one account. Refunds already paid must stay covered by credit (an
/// error otherwise: the action that removed the credit is refused). With `net_pending_refunds`
/// (a payment was reversed), refunds not yet paid give way to installments that are due again;
/// otherwise only credit that no refund claims is placed.
pub fn plan<T: Owed>(credit: &Credit, open: &mut [T], net_pending_refunds: bool) -> Result<Settlement, Overdrawn> {
    let total = credit.total();
    if total < credit.refunds_paid {
        return Err(Overdrawn { paid: credit.refunds_paid, credit: total });
    }
    let mut budget = total - credit.refunds_paid;
    if !net_pending_refunds {
        budget -= credit.refunds_to_pay.min(budget);
    }
    let mut placements = Vec::new();
    let mut placed = Money::ZERO;
    for (source, available) in &credit.sources {
        let usable = (*available).min(budget - placed);
        if !usable.is_positive() {
            break;
        }
        let (parts, _) = spread(open.iter_mut(), usable);
        for (installment_id, amount) in parts {
            placed += amount;
            placements.push(Placement { source: *source, installment_id, amount });
        }
    }
    let spare = total - placed - credit.refunds_paid;
    let refunds_to_cut = if credit.refunds_to_pay > spare { credit.refunds_to_pay - spare } else { Money::ZERO };
    Ok(Settlement { placements, refunds_to_cut })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Item(i64, Money);

    impl Owed for Item {
        fn id(&self) -> i64 {
            self.0
        }
        fn left(&self) -> Money {
            self.1
        }
        fn settle(&mut self, part: Money) {
            self.1 -= part;
        }
    }

    fn m(c: i64) -> Money {
        Money::from_cents(c)
    }

    fn six_plan() -> Vec<Item> {
        let mut v = vec![Item(1, m(60100))];
        v.extend((2..=6).map(|i| Item(i, m(63380))));
        v
    }

    #[test]
    fn a_payment_settles_the_oldest_first_and_keeps_the_rest_as_credit() {
        let mut open = six_plan();
        let (parts, rest) = spread(open.iter_mut(), m(70000));
        assert_eq!(parts, vec![(1, m(60100)), (2, m(9900))]);
        assert_eq!(rest, Money::ZERO);
        let (parts, rest) = spread(open.iter_mut(), m(400000));
        assert_eq!(parts.iter().map(|p| p.1).sum::<Money>(), m(377000 - 70000));
        assert_eq!(rest, m(400000 - 307000));
    }

    #[test]
    fn a_credit_note_removes_the_latest_installments_first() {
        // Full exemption of 3770 in six with the first paid: the five last go (3169.00).
        let mut open = six_plan();
        open.remove(0);
        let (parts, rest) = spread(open.iter_mut().rev(), m(316900));
        assert_eq!(parts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![6, 5, 4, 3, 2]);
        assert_eq!(rest, Money::ZERO);
        // A partial exemption of 1000 leaves 267.60 on the fifth.
        let mut open = six_plan();
        let (parts, _) = spread(open.iter_mut().rev(), m(100000));
        assert_eq!(parts, vec![(6, m(63380)), (5, m(36620))]);
        assert_eq!(open[4].1, m(26760));
    }

    #[test]
    fn spare_credit_pays_what_is_due_unless_a_refund_claims_it() {
        let credit = Credit {
            sources: vec![(Source::CreditNote(7), m(326100))],
            refunds_paid: Money::ZERO,
            refunds_to_pay: m(326100),
        };
        let mut open = vec![Item(2, m(163050))];
        let s = plan(&credit, &mut open.clone(), false).unwrap();
        assert!(s.placements.is_empty());
        assert_eq!(s.refunds_to_cut, Money::ZERO);
        // A payment reversed: the refund gives way to the installment due again.
        let s = plan(&credit, &mut open, true).unwrap();
        assert_eq!(
            s.placements,
            vec![Placement { source: Source::CreditNote(7), installment_id: 2, amount: m(163050) }]
        );
        assert_eq!(s.refunds_to_cut, m(163050));
    }

    #[test]
    fn paid_refunds_must_stay_covered() {
        let credit =
            Credit { sources: vec![(Source::Payment(1), m(1000))], refunds_paid: m(5000), refunds_to_pay: m(0) };
        assert_eq!(plan::<Item>(&credit, &mut [], false), Err(Overdrawn { paid: m(5000), credit: m(1000) }));
    }
}
