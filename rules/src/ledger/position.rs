//! The account position ("position de compte"): five tables and a debit/credit/balance summary,
//! computed from ledger rows each time it is shown, never stored.

use chrono::NaiveDate;
use serde::Serialize;

use super::{InstallmentState, InstallmentStatus, PaymentMethod, PaymentReversal, RefundStatus, Student};
use crate::money::Money;

// The ledger's facts as the store reads them. Amounts are cents; conversion to Money happens
// here, once.

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub blocked: bool,
    pub excl_vat_cents: i64,
    pub vat_cents: i64,
}

#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub id: i64,
    pub order_id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub session: String,
    pub excl_vat_cents: i64,
    pub vat_cents: i64,
}

#[derive(Debug, Clone)]
pub struct InstallmentRow {
    pub id: i64,
    pub invoice_id: i64,
    pub n: i64,
    pub due_date: NaiveDate,
    pub amount_cents: i64,
    pub status: InstallmentState,
    /// Net of the payments allocated to it (reversals included).
    pub allocated_cents: i64,
    /// What credit notes removed from it.
    pub credited_cents: i64,
    /// The latest date a payment or a credit note settled part of it.
    pub last_settled_on: Option<NaiveDate>,
    /// The gateway's response code of its latest refused card debit, if any.
    pub refused_code: Option<String>,
    /// Its plan debits it from the card on file on its due date: the 2nd and later installments
    /// of a 3- or 6-installment plan (the first is paid on the portal; transfers are sent).
    pub debited: bool,
}

#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub id: i64,
    pub date: NaiveDate,
    pub reference: String,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub allocated_cents: i64,
    /// The payment this row reverses, and why.
    pub reverses: Option<i64>,
    pub reversal: Option<PaymentReversal>,
}

#[derive(Debug, Clone)]
pub struct CreditNoteRow {
    pub id: i64,
    pub invoice_id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub amount_cents: i64,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub id: i64,
    pub credit_note_id: Option<i64>,
    pub date: NaiveDate,
    pub amount_cents: i64,
    pub status: RefundStatus,
}

#[derive(Debug, Clone, Default)]
pub struct LedgerRows {
    pub orders: Vec<OrderRow>,
    pub invoices: Vec<InvoiceRow>,
    pub installments: Vec<InstallmentRow>,
    pub payments: Vec<PaymentRow>,
    pub credit_notes: Vec<CreditNoteRow>,
    pub refunds: Vec<RefundRow>,
}

// What the position shows.

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct OrderLine {
    pub date: NaiveDate,
    pub number: String,
    /// The date the order was settled ("Solde"); `None` while something is due on it.
    pub settled_on: Option<NaiveDate>,
    pub blocked: bool,
    pub excl_vat: Money,
    pub vat: Money,
    pub incl_vat: Money,
    pub financed: Money,
    pub invoiced: Money,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct InvoiceLine {
    pub date: NaiveDate,
    pub number: String,
    pub session: String,
    /// The date it was settled (paid or credited in full); `None` while something is due.
    pub settled_on: Option<NaiveDate>,
    pub excl_vat: Money,
    pub vat: Money,
    pub incl_vat: Money,
    pub credit_notes: Money,
    pub settled: Money,
    pub refunded: Money,
}

/// A payment as the position lists it. One that came back (a chargeback, a rejected transfer)
/// shows what came back as "unpaid" ("Impayé"); its reversal is not a line of its own. One
/// matched to the wrong student and undone is not listed at all: it never was this account's.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct PaymentLine {
    pub date: NaiveDate,
    pub reference: String,
    pub method: PaymentMethod,
    pub amount: Money,
    pub allocated: Money,
    pub unpaid: Money,
    pub unpaid_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct CreditNoteLine {
    pub date: NaiveDate,
    pub number: String,
    pub invoice_number: String,
    pub amount: Money,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct RefundLine {
    pub date: NaiveDate,
    pub amount: Money,
    pub status: RefundStatus,
}

/// One line of the installment schedule view, as the portal shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ScheduleLine {
    pub due_date: NaiveDate,
    pub amount: Money,
    pub paid: Money,
    /// What credit notes removed from the installment (no longer due).
    pub credited: Money,
    pub left_to_pay: Money,
    pub status: InstallmentStatus,
    /// Why the card debit was refused, in words ("provision insuffisante"), while it is due.
    pub refusal: Option<String>,
    /// The gateway will debit what is left of it from the card on its due date, still to come.
    pub automatic: bool,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub invoice_amount: Money,
    pub last_name: String,
    pub first_name: String,
}

/// The totals printed under each table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Totals {
    pub orders_excl_vat: Money,
    pub orders_vat: Money,
    pub orders_incl_vat: Money,
    pub orders_financed: Money,
    pub orders_invoiced: Money,
    pub invoices_excl_vat: Money,
    pub invoices_vat: Money,
    pub invoices_incl_vat: Money,
    pub invoices_credit_notes: Money,
    pub invoices_settled: Money,
    pub invoices_refunded: Money,
    pub payments_amount: Money,
    pub payments_allocated: Money,
    pub payments_unpaid: Money,
    pub credit_notes: Money,
    /// Refunds not cancelled (to pay and paid).
    pub refunds: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum PositionKind {
    /// The student owes the school.
    Debtor,
    /// The school owes the student (over-payment, refund due).
    Creditor,
    Settled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Summary {
    pub debit: Money,
    pub credit: Money,
    pub balance: Money,
    pub position: PositionKind,
}

impl Summary {
    /// The one rule of the balance: the student is debited with invoices and with refunds paid
    /// to them, credited with payments and credit notes. A refund not yet paid (or cancelled)
    /// has moved no money: it does not count.
    pub fn from_totals(invoiced: Money, refunds: Money, payments: Money, credit_notes: Money) -> Summary {
        let debit = invoiced + refunds;
        let credit = payments + credit_notes;
        let balance = debit - credit;
        let position = if balance.is_positive() {
            PositionKind::Debtor
        } else if balance.is_negative() {
            PositionKind::Creditor
        } else {
            PositionKind::Settled
        };
        Summary { debit, credit, balance, position }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct AccountPosition {
    pub student: Student,
    pub orders: Vec<OrderLine>,
    pub invoices: Vec<InvoiceLine>,
    pub payments: Vec<PaymentLine>,
    pub credit_notes: Vec<CreditNoteLine>,
    pub refunds: Vec<RefundLine>,
    pub schedule: Vec<ScheduleLine>,
    /// What is still to collect: the unpaid part of the installments not cancelled.
    pub schedule_left_total: Money,
    /// What of it the gateway will still debit by itself (the `automatic` lines): the portal's
    /// "total des paiements qui seront réalisés automatiquement".
    pub debited_total: Money,
    pub totals: Totals,
    pub summary: Summary,
}

fn c(cents: i64) -> Money {
    Money::from_cents(cents)
}

/// The refunds that moved money: only those paid.
fn refund_paid(r: &RefundRow) -> Option<Money> {
    (r.status == RefundStatus::Paid).then(|| c(r.amount_cents))
}

pub fn compute(student: Student, rows: &LedgerRows, today: NaiveDate) -> AccountPosition {
    let settled_of = |invoice_id: i64| -> Money {
        rows.installments.iter().filter(|t| t.invoice_id == invoice_id).map(|t| c(t.allocated_cents)).sum()
    };
    let credited_of = |invoice_id: i64| -> Money {
        rows.credit_notes.iter().filter(|n| n.invoice_id == invoice_id).map(|n| c(n.amount_cents)).sum()
    };
    let refunded_of = |invoice_id: i64| -> Money {
        rows.refunds
            .iter()
            .filter(|r| {
                r.credit_note_id
                    .and_then(|cn| rows.credit_notes.iter().find(|n| n.id == cn))
                    .is_some_and(|n| n.invoice_id == invoice_id)
            })
            .filter_map(refund_paid)
            .sum()
    };
    // Settled when nothing is left on any of its installments: on the latest date a payment or
    // a credit note settled one of them (or the invoice's own date when it carried nothing).
    let settled_on = |invoice: &InvoiceRow| -> Option<NaiveDate> {
        let of = || rows.installments.iter().filter(|t| t.invoice_id == invoice.id);
        let open = of().any(|t| {
            t.status != InstallmentState::Cancelled && t.amount_cents - t.allocated_cents - t.credited_cents > 0
        });
        if open {
            return None;
        }
        Some(of().filter_map(|t| t.last_settled_on).max().unwrap_or(invoice.date))
    };
    let invoice_by_id = |id: i64| rows.invoices.iter().find(|i| i.id == id);
    let total_of = |i: &InvoiceRow| c(i.excl_vat_cents + i.vat_cents);

    let orders: Vec<OrderLine> = rows
        .orders
        .iter()
        .map(|o| {
            let of_order = || rows.invoices.iter().filter(|i| i.order_id == o.id);
            let dates: Vec<Option<NaiveDate>> = of_order().map(settled_on).collect();
            OrderLine {
                date: o.date,
                number: o.number.clone(),
                settled_on: if dates.is_empty() || dates.iter().any(Option::is_none) {
                    None
                } else {
                    dates.into_iter().flatten().max()
                },
                blocked: o.blocked,
                excl_vat: c(o.excl_vat_cents),
                vat: c(o.vat_cents),
                incl_vat: c(o.excl_vat_cents + o.vat_cents),
                financed: of_order().map(|i| settled_of(i.id)).sum(),
                invoiced: of_order().map(total_of).sum(),
            }
        })
        .collect();
    let invoices: Vec<InvoiceLine> = rows
        .invoices
        .iter()
        .map(|i| InvoiceLine {
            date: i.date,
            number: i.number.clone(),
            session: i.session.clone(),
            settled_on: settled_on(i),
            excl_vat: c(i.excl_vat_cents),
            vat: c(i.vat_cents),
            incl_vat: total_of(i),
            credit_notes: credited_of(i.id),
            settled: settled_of(i.id),
            refunded: refunded_of(i.id),
        })
        .collect();
    let reversal_of = |id: i64| rows.payments.iter().find(|r| r.reverses == Some(id));
    let payments: Vec<PaymentLine> = rows
        .payments
        .iter()
        .filter(|p| p.reverses.is_none())
        .filter(|p| !reversal_of(p.id).is_some_and(|r| r.reversal == Some(PaymentReversal::Correction)))
        .map(|p| {
            let back = reversal_of(p.id);
            PaymentLine {
                date: p.date,
                reference: p.reference.clone(),
                method: p.method,
                amount: c(p.amount_cents),
                allocated: c(p.allocated_cents),
                unpaid: back.map_or(Money::ZERO, |r| -c(r.amount_cents)),
                unpaid_on: back.map(|r| r.date),
            }
        })
        .collect();
    let credit_notes: Vec<CreditNoteLine> = rows
        .credit_notes
        .iter()
        .map(|n| CreditNoteLine {
            date: n.date,
            number: n.number.clone(),
            invoice_number: invoice_by_id(n.invoice_id).map(|i| i.number.clone()).unwrap_or_default(),
            amount: c(n.amount_cents),
            reason: n.reason.clone(),
        })
        .collect();
    let refunds: Vec<RefundLine> =
        rows.refunds.iter().map(|r| RefundLine { date: r.date, amount: c(r.amount_cents), status: r.status }).collect();
    let schedule: Vec<ScheduleLine> = rows
        .installments
        .iter()
        .filter_map(|t| {
            let inv = invoice_by_id(t.invoice_id)?;
            let status = InstallmentStatus::of(
                t.status,
                c(t.amount_cents),
                c(t.allocated_cents),
                c(t.credited_cents),
                t.due_date,
                today,
                t.refused_code.is_some(),
            );
            let left = if status == InstallmentStatus::Cancelled {
                Money::ZERO
            } else {
                c(t.amount_cents - t.allocated_cents - t.credited_cents)
            };
            Some(ScheduleLine {
                due_date: t.due_date,
                amount: c(t.amount_cents),
                paid: c(t.allocated_cents),
                credited: c(t.credited_cents),
                left_to_pay: left,
                status,
                refusal: (status == InstallmentStatus::Refused)
                    .then(|| crate::card::export::response_words(t.refused_code.as_deref().unwrap_or(""))),
                // Past its day, refused or settled, nothing more is debited by itself.
                automatic: t.debited && matches!(status, InstallmentStatus::Scheduled | InstallmentStatus::PartlyPaid),
                invoice_number: inv.number.clone(),
                invoice_date: inv.date,
                invoice_amount: total_of(inv),
                last_name: student.last_name.clone(),
                first_name: student.first_name.clone(),
            })
        })
        .collect();
    let schedule_left_total = schedule.iter().map(|s| s.left_to_pay).sum();
    let debited_total = schedule.iter().filter(|s| s.automatic).map(|s| s.left_to_pay).sum();
    let totals = Totals {
        orders_excl_vat: orders.iter().map(|o| o.excl_vat).sum(),
        orders_vat: orders.iter().map(|o| o.vat).sum(),
        orders_incl_vat: orders.iter().map(|o| o.incl_vat).sum(),
        orders_financed: orders.iter().map(|o| o.financed).sum(),
        orders_invoiced: orders.iter().map(|o| o.invoiced).sum(),
        invoices_excl_vat: invoices.iter().map(|i| i.excl_vat).sum(),
        invoices_vat: invoices.iter().map(|i| i.vat).sum(),
        invoices_incl_vat: invoices.iter().map(|i| i.incl_vat).sum(),
        invoices_credit_notes: invoices.iter().map(|i| i.credit_notes).sum(),
        invoices_settled: invoices.iter().map(|i| i.settled).sum(),
        invoices_refunded: invoices.iter().map(|i| i.refunded).sum(),
        payments_amount: payments.iter().map(|p| p.amount).sum(),
        payments_allocated: payments.iter().map(|p| p.allocated).sum(),
        payments_unpaid: payments.iter().map(|p| p.unpaid).sum(),
        credit_notes: credit_notes.iter().map(|n| n.amount).sum(),
        refunds: refunds.iter().filter(|r| r.status != RefundStatus::Cancelled).map(|r| r.amount).sum(),
    };
    // Every payment row counts, reversals included: a payment that came back nets to nothing,
    // which is what the listed amount less the unpaid column says.
    let summary = Summary::from_totals(
        totals.invoices_incl_vat,
        rows.refunds.iter().filter_map(refund_paid).sum(),
        rows.payments.iter().map(|p| c(p.amount_cents)).sum(),
        totals.credit_notes,
    );
    debug_assert_eq!(
        rows.payments.iter().map(|p| c(p.amount_cents)).sum::<Money>(),
        totals.payments_amount - totals.payments_unpaid
    );
    AccountPosition {
        student,
        orders,
        invoices,
        payments,
        credit_notes,
        refunds,
        schedule,
        schedule_left_total,
        debited_total,
        totals,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: i64) -> Money {
        Money::from_cents(c)
    }

    #[test]
    fn exemption_after_first_installment_leaves_a_zero_balance() {
        // 3770 in six, 601 paid, full exemption: credit note 3169, no refund.
        let s = Summary::from_totals(m(377000), Money::ZERO, m(60100), m(316900));
        assert_eq!(s.balance, Money::ZERO);
        assert_eq!(s.position, PositionKind::Settled);
    }

    #[test]
    fn exemption_after_two_installments_needs_a_refund_to_balance() {
        // 601 + 633.80 paid, credit note 3169, refund 633.80.
        let s = Summary::from_totals(m(377000), m(63380), m(60100 + 63380), m(316900));
        assert_eq!(s.debit, m(440380));
        assert_eq!(s.balance, Money::ZERO);
        let before_refund = Summary::from_totals(m(377000), Money::ZERO, m(60100 + 63380), m(316900));
        assert_eq!(before_refund.position, PositionKind::Creditor);
        assert_eq!(before_refund.balance, m(-63380));
    }

    #[test]
    fn unpaid_invoice_is_debtor() {
        let s = Summary::from_totals(m(60100), Money::ZERO, m(20033), Money::ZERO);
        assert_eq!((s.balance, s.position), (m(40067), PositionKind::Debtor));
    }
}
