//! The ledger's vocabulary: students, payment methods, installment and refund states, the
//! documents' fixed wording; how payments are allocated and how a position is computed.

pub mod allocation;
pub mod position;

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::fees::{AcademicYear, School};
use crate::money::Money;
use crate::plans::Schedule;
use crate::sheet::clipped;
use crate::{Error, Result};

/// A student number as the portal gives it: 1 to 32 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ts_rs::TS)]
#[ts(type = "string")]
pub struct StudentNumber(String);

impl StudentNumber {
    pub fn parse(s: &str) -> Result<StudentNumber> {
        let s = s.trim();
        if s.is_empty() || s.len() > 32 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Error::Invalid(format!("numéro d'étudiant illisible « {} »", clipped(s))));
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

/// Which of a new student's fields was refused, so that an import names its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudentField {
    Number,
    LastName,
    FirstName,
    Email,
}

/// A new student's field refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StudentError {
    pub field: StudentField,
    pub message: String,
}

impl From<StudentError> for Error {
    fn from(e: StudentError) -> Self {
        Error::Invalid(e.message)
    }
}

/// The longest e-mail address there is (RFC 5321's path, less its brackets).
const MAX_EMAIL: usize = 254;

impl NewStudent {
    pub fn parse(
        number: &str,
        last_name: &str,
        first_name: &str,
        email: &str,
        school: School,
    ) -> std::result::Result<NewStudent, StudentError> {
        let refused = |field: StudentField, message: String| StudentError { field, message };
        let name = |field: StudentField, what: &str, v: &str| -> std::result::Result<String, StudentError> {
            let v = v.trim();
            if v.is_empty() || v.chars().count() > 100 || v.chars().any(char::is_control) {
                return Err(refused(field, format!("{what} vide ou illisible")));
            }
            Ok(v.to_string())
        };
        let email = email.trim();
        if email.len() < 3
            || email.len() > MAX_EMAIL
            || !email.contains('@')
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(refused(StudentField::Email, format!("adresse e-mail invalide « {} »", clipped(email))));
        }
        Ok(NewStudent {
            number: StudentNumber::parse(number).map_err(|e| refused(StudentField::Number, e.to_string()))?,
            last_name: name(StudentField::LastName, "nom", last_name)?,
            first_name: name(StudentField::FirstName, "prénom", first_name)?,
            email: email.to_string(),
            school,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Student {
    #[serde(skip)]
    pub id: i64,
    pub number: StudentNumber,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: School,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(ts_rs::TS)]
#[ts(export)]
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

/// Why a payment was reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentReversal {
    /// It came back (a card chargeback, a returned transfer): "Impayé", due again.
    Unpaid,
    /// It was matched to the wrong student: it never was this account's.
    Correction,
}

impl PaymentReversal {
    pub fn code(self) -> &'static str {
        match self {
            PaymentReversal::Unpaid => "unpaid",
            PaymentReversal::Correction => "correction",
        }
    }
}

/// An installment's stored state. What is paid, partly paid or overdue is computed
/// ([`InstallmentStatus`]); only a cancellation is a decision that must be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallmentState {
    Scheduled,
    /// A credit note removed all of it before anything was paid.
    Cancelled,
}

impl InstallmentState {
    pub fn code(self) -> &'static str {
        match self {
            InstallmentState::Scheduled => "scheduled",
            InstallmentState::Cancelled => "cancelled",
        }
    }
}

crate::coded!(PaymentMethod: Card, Debit, Transfer, Other);
crate::coded!(PaymentReversal: Unpaid, Correction);
crate::coded!(InstallmentState: Scheduled, Cancelled);
crate::coded!(RefundStatus: ToPay, Paid, Cancelled);

/// An installment as the schedule shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum InstallmentStatus {
    Scheduled,
    PartlyPaid,
    Paid,
    Overdue,
    Refused,
    Cancelled,
}

impl InstallmentStatus {
    /// The status shown: cancelled as stored; paid once nothing is left (payments and credit
    /// notes together); refused when a card debit of it was refused and it is still due; overdue
    /// when something is left after the due date; partly paid otherwise when something was paid.
    pub fn of(
        state: InstallmentState,
        amount: Money,
        paid: Money,
        credited: Money,
        due: NaiveDate,
        today: NaiveDate,
        refused: bool,
    ) -> InstallmentStatus {
        let left = amount - paid - credited;
        match state {
            InstallmentState::Cancelled => InstallmentStatus::Cancelled,
            InstallmentState::Scheduled if !left.is_positive() => InstallmentStatus::Paid,
            InstallmentState::Scheduled if refused => InstallmentStatus::Refused,
            InstallmentState::Scheduled if due < today => InstallmentStatus::Overdue,
            InstallmentState::Scheduled if paid.is_positive() => InstallmentStatus::PartlyPaid,
            InstallmentState::Scheduled => InstallmentStatus::Scheduled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum RefundStatus {
    ToPay,
    Paid,
    Cancelled,
}

impl RefundStatus {
    pub fn code(self) -> &'static str {
        match self {
            RefundStatus::ToPay => "to_pay",
            RefundStatus::Paid => "paid",
            RefundStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl InstallmentStatus {
    pub fn code(self) -> &'static str {
        match self {
            InstallmentStatus::Scheduled => "scheduled",
            InstallmentStatus::PartlyPaid => "partly_paid",
            InstallmentStatus::Paid => "paid",
            InstallmentStatus::Overdue => "overdue",
            InstallmentStatus::Refused => "refused",
            InstallmentStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for InstallmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
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
/// The label of an invoice that re-bills what a reversed commission decision had credited.
pub const REBILL_LABEL: &str = "Refacturation après modification de la décision de la commission";
/// The heading of every document: the schools are Clermont Auvergne INP's.
pub const ISSUER: &str = "CLERMONT AUVERGNE INP";
pub const VAT_MENTION: &str = "Non soumis à la TVA selon l'art. 261-4-4 du C.G.I.";

/// What an invoice is issued for: a student's accepted request and its schedule.
pub struct InvoiceDraft<'a> {
    pub student_id: i64,
    pub student_number: &'a str,
    pub request_id: Option<i64>,
    pub year: AcademicYear,
    pub session: &'a str,
    pub date: NaiveDate,
    pub schedule: &'a Schedule,
    /// As the portal records it ("Paiement par virement"): `PlanKind::invoice_label`.
    pub label: &'a str,
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
        let long = format!("{}@etu.uca.fr", "a".repeat(243));
        assert!(NewStudent::parse("1", "A", "B", &long, School::Isima).is_ok());
        let e = NewStudent::parse("1", "A", "B", &format!("a{long}"), School::Isima).unwrap_err();
        assert_eq!(e.field, StudentField::Email);
        assert_eq!(e.message, format!("adresse e-mail invalide « {}… »", "a".repeat(40)));
        assert_eq!(
            NewStudent::parse("1", "A", "B", "a\u{7}@x.fr", School::Isima).unwrap_err().field,
            StudentField::Email
        );
        assert_eq!(
            NewStudent::parse("1 2", "A", "B", "a@x.fr", School::Isima).unwrap_err().field,
            StudentField::Number
        );
        assert_eq!(
            NewStudent::parse("1", "A", "", "a@x.fr", School::Isima).unwrap_err().field,
            StudentField::FirstName
        );
    }
}

/// How the invoices list may be sorted (the codes are the list's column keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvoiceSort {
    /// By series and number: the order they were issued in.
    #[default]
    Number,
    Date,
    Student,
    Session,
}

impl InvoiceSort {
    pub fn code(self) -> &'static str {
        match self {
            InvoiceSort::Number => "number",
            InvoiceSort::Date => "date",
            InvoiceSort::Student => "student_number",
            InvoiceSort::Session => "session",
        }
    }
}

crate::coded!(InvoiceSort: Number, Date, Student, Session);
