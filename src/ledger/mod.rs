//! Ledger: students, orders, invoices, installments, payments and their allocations, credit notes,
//! refunds. Writes happen inside the caller's transaction and are audited; positions are computed.

pub mod position;

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::fees::{AcademicYear, School};
use crate::money::Money;
use crate::plans::Schedule;
use crate::store::{Conn, audit, ledger as sql};
use crate::{Error, Result};

/// A student number as the portal gives it: 1 to 32 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StudentNumber(String);

impl StudentNumber {
    pub fn parse(s: &str) -> Result<StudentNumber> {
        let s = s.trim();
        if s.is_empty() || s.len() > 32 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Error::Invalid(format!("numéro d'étudiant illisible « {s} »")));
        }
        Ok(StudentNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StudentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A student not yet stored: names trimmed and non-empty, an e-mail with an `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStudent {
    pub number: StudentNumber,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: School,
}

impl NewStudent {
    pub fn parse(number: &str, last_name: &str, first_name: &str, email: &str, school: School) -> Result<NewStudent> {
        let name = |what: &str, v: &str| -> Result<String> {
            let v = v.trim();
            if v.is_empty() || v.chars().count() > 100 || v.chars().any(char::is_control) {
                return Err(Error::Invalid(format!("{what} vide ou illisible")));
            }
            Ok(v.to_string())
        };
        let email = email.trim();
        if email.len() < 3 || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(Error::Invalid(format!("adresse e-mail invalide « {email} »")));
        }
        Ok(NewStudent {
            number: StudentNumber::parse(number)?,
            last_name: name("nom", last_name)?,
            first_name: name("prénom", first_name)?,
            email: email.to_string(),
            school,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Student {
    #[serde(skip)]
    pub id: i64,
    pub number: StudentNumber,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: School,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Card,
    Debit,
    Transfer,
    Other,
}

impl PaymentMethod {
    pub fn code(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Debit => "debit",
            PaymentMethod::Transfer => "transfer",
            PaymentMethod::Other => "other",
        }
    }
}

/// The documents created when a request is accepted.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedInvoice {
    pub order_number: String,
    pub invoice_number: String,
    pub invoice_id: i64,
    pub total: Money,
}

/// The designation of the tuition line ("Droits de scolarité"), with the VAT exemption mention.
pub const TUITION: &str = "Droits de scolarité";
pub const VAT_MENTION: &str = "Non soumis à la TVA selon l'art. 261-4-4 du C.G.I.";

/// What an invoice is issued for: a student's accepted request and its schedule.
pub struct InvoiceDraft<'a> {
    pub student: &'a Student,
    pub request_id: Option<i64>,
    pub year: AcademicYear,
    pub session: &'a str,
    pub date: NaiveDate,
    pub schedule: &'a Schedule,
}

/// Creates the order, the invoice (next number of its series) and the installments of the schedule.
///
/// Runs inside the caller's transaction: numbers are taken there, so a rollback leaves no gap.
pub async fn issue_invoice(conn: &mut Conn, draft: &InvoiceDraft<'_>, actor: &str) -> Result<IssuedInvoice> {
    let InvoiceDraft { student, request_id, year, session, date, schedule } = *draft;
    let total = schedule.total;
    let order_number = sql::next_number(conn, &format!("C{}", year.start_year())).await?;
    let order_id = sql::insert_order(conn, &order_number, student.id, request_id, date, total).await?;
    let series = format!("F{}", year.start_year());
    let invoice_number = sql::next_number(conn, &series).await?;
    let invoice_id =
        sql::insert_invoice(conn, &series, &invoice_number, order_id, student.id, date, "Paiement en ligne", session)
            .await?;
    sql::insert_line(conn, invoice_id, TUITION, 1, total, Money::ZERO).await?;
    for i in &schedule.installments {
        sql::insert_installment(conn, invoice_id, i.n, i.due_date, i.amount).await?;
    }
    audit::record(
        conn,
        actor,
        "invoice.issue",
        "invoice",
        &invoice_number,
        None,
        json!({
            "student": student.number, "order": order_number, "total": total, "session": session,
            "installments": schedule.installments,
        }),
    )
    .await?;
    Ok(IssuedInvoice { order_number, invoice_number, invoice_id, total })
}

/// Records a payment and allocates it to the student's open installments, oldest due first.
/// What exceeds the open installments stays unallocated: a credit on the account.
pub async fn record_payment(
    conn: &mut Conn,
    student: &Student,
    date: NaiveDate,
    amount: Money,
    method: PaymentMethod,
    reference: &str,
    actor: &str,
) -> Result<i64> {
    if !amount.is_positive() {
        return Err(Error::Invalid(format!("un règlement doit être positif ({amount})")));
    }
    let payment_id = sql::insert_payment(conn, student.id, date, amount, method, reference).await?;
    let mut left = amount;
    let mut allocated = Vec::new();
    for open in sql::open_installments(conn, student.id).await? {
        if !left.is_positive() {
            break;
        }
        let part = left.min(open.left_to_pay);
        sql::insert_allocation(conn, payment_id, open.id, part).await?;
        allocated.push(json!({"installment": open.id, "amount": part}));
        left -= part;
    }
    audit::record(
        conn,
        actor,
        "payment.record",
        "payment",
        payment_id,
        None,
        json!({"student": student.number, "amount": amount, "method": method, "reference": reference,
               "allocations": allocated, "unallocated": left}),
    )
    .await?;
    Ok(payment_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_numbers_and_names_are_parsed() {
        assert!(StudentNumber::parse("22001234").is_ok());
        assert!(StudentNumber::parse("").is_err());
        assert!(StudentNumber::parse("12 34").is_err());
        assert!(NewStudent::parse("1", "  O'Brien ", "Éloïse", "e@x.fr", School::Isima).is_ok());
        assert!(NewStudent::parse("1", "", "Éloïse", "e@x.fr", School::Isima).is_err());
        assert!(NewStudent::parse("1", "A", "B", "not-an-email", School::Isima).is_err());
    }
}

/// One line of the students list.
#[derive(Debug, Clone, Serialize)]
pub struct StudentListItem {
    pub number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: String,
    pub session: Option<String>,
    pub situation: Option<String>,
    pub balance: Money,
}

/// Students matching `query` (number or name), with their balance, at most `limit`.
pub async fn list_students(
    store: &crate::store::Store,
    query: Option<&str>,
    limit: i64,
) -> Result<Vec<StudentListItem>> {
    let query = query.map(str::trim).filter(|q| !q.is_empty());
    let rows = crate::store::students::list_with_totals(&mut *store.read().await?, query, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = Money::from_cents;
            let summary = position::Summary::from_totals(
                m(r.invoiced_cents),
                m(r.refunds_cents),
                m(r.payments_cents),
                m(r.credit_notes_cents),
            );
            StudentListItem {
                number: r.number,
                last_name: r.last_name,
                first_name: r.first_name,
                email: r.email,
                school: r.school,
                session: r.session,
                situation: r.situation,
                balance: summary.balance,
            }
        })
        .collect())
}

/// A student's account position, computed from the ledger now.
pub async fn account_position(store: &crate::store::Store, number: &str) -> Result<position::AccountPosition> {
    let number = StudentNumber::parse(number)?;
    let mut conn = store.read().await?;
    let student = crate::store::students::by_number(&mut conn, &number)
        .await?
        .ok_or_else(|| Error::StudentNotFound(number.to_string()))?;
    let rows = sql::rows_of(&mut conn, student.id).await?;
    Ok(position::compute(student, &rows))
}

/// Issues a credit note on an invoice, numbered in its own gapless series (`A2025-00001`).
/// A credit note never exceeds what the invoice still carries. Audited with its reason.
pub async fn issue_credit_note(
    conn: &mut Conn,
    invoice: &sql::RequestInvoice,
    amount: Money,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<String> {
    if !amount.is_positive() || amount > invoice.total - invoice.credited {
        return Err(Error::Invalid(format!(
            "avoir de {} impossible sur la facture {} (reste {})",
            amount,
            invoice.number,
            invoice.total - invoice.credited
        )));
    }
    let year = AcademicYear::containing(invoice.date).start_year();
    let series = format!("A{year}");
    let number = sql::next_number(conn, &series).await?;
    sql::insert_credit_note(conn, &series, &number, invoice.id, date, amount, reason).await?;
    audit::record(
        conn,
        actor,
        "credit_note.issue",
        "credit_note",
        &number,
        Some(reason),
        json!({"invoice": invoice.number, "amount": amount}),
    )
    .await?;
    Ok(number)
}

/// Re-bills an amount on the order of an earlier invoice (a new invoice, next number of its
/// series): how a credit note is undone, since a document is never deleted nor renumbered.
#[allow(clippy::too_many_arguments)]
pub async fn issue_rebill(
    conn: &mut Conn,
    student_id: i64,
    order_id: i64,
    session: &str,
    amount: Money,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<(i64, String)> {
    let series = format!("F{}", AcademicYear::containing(date).start_year());
    let number = sql::next_number(conn, &series).await?;
    let id = sql::insert_invoice(conn, &series, &number, order_id, student_id, date, "Refacturation", session).await?;
    sql::insert_line(conn, id, TUITION, 1, amount, Money::ZERO).await?;
    audit::record(conn, actor, "invoice.rebill", "invoice", &number, Some(reason), json!({"amount": amount})).await?;
    Ok((id, number))
}
