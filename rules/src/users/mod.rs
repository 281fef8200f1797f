//! Who may do what: the two roles, the actions only a finance manager may take (the one table of
//! rights), and the shape of a user name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a profile is in the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum Role {
    Accountant,
    FinanceManager,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Accountant => "accountant",
            Role::FinanceManager => "finance_manager",
        }
    }

    pub fn parse(text: &str) -> Result<Role> {
        match text.trim() {
            "accountant" => Ok(Role::Accountant),
            "finance_manager" => Ok(Role::FinanceManager),
            other => Err(Error::Invalid(format!("rôle inconnu « {other} » (accountant, finance_manager)"))),
        }
    }
}

crate::coded!(Role: Accountant, FinanceManager);

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

/// The actions a role is needed for. Everything else (reviewing requests, importing files,
/// matching the bank, rendering documents) is every user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    /// The schools' settings, among them the bank details printed on invoices and letters.
    SchoolSettings,
    FeeGrid,
    /// How far short of an installment a transfer may arrive (a matching setting).
    BankSettings,
    CreditNote,
    ExemptionOutcome,
    RefundPaid,
    RoleChange,
    /// Putting a backup in place of the database: every decision since leaves it.
    Restore,
}

impl Restricted {
    pub const ALL: [Restricted; 8] = [
        Restricted::SchoolSettings,
        Restricted::FeeGrid,
        Restricted::BankSettings,
        Restricted::CreditNote,
        Restricted::ExemptionOutcome,
        Restricted::RefundPaid,
        Restricted::RoleChange,
        Restricted::Restore,
    ];

    /// Who may: the one table of rights.
    pub fn allowed(self, role: Role) -> bool {
        match self {
            Restricted::SchoolSettings
            | Restricted::FeeGrid
            | Restricted::BankSettings
            | Restricted::CreditNote
            | Restricted::ExemptionOutcome
            | Restricted::RefundPaid
            | Restricted::RoleChange
            | Restricted::Restore => role == Role::FinanceManager,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Restricted::SchoolSettings => "modifier les paramètres d'une école (dont ses coordonnées bancaires)",
            Restricted::FeeGrid => "modifier la grille des droits",
            Restricted::BankSettings => "modifier la tolérance de frais bancaires",
            Restricted::CreditNote => "émettre un avoir",
            Restricted::ExemptionOutcome => "enregistrer les décisions de la commission et lui présenter un étudiant",
            Restricted::RefundPaid => "enregistrer le paiement d'un remboursement",
            Restricted::RoleChange => "attribuer un rôle",
            Restricted::Restore => "restaurer une sauvegarde (ce qui a été fait depuis sort de la base)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// A user name: trimmed, 1 to 60 characters, no control characters.
pub fn parse_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 60 || n.chars().any(char::is_control) {
        return Err(Error::Invalid("nom d'utilisateur vide ou trop long".into()));
    }
    Ok(n.to_string())
}

/// A reason given for a change of settings: required, trimmed.
pub fn reason_required(reason: Option<&str>) -> Result<&str> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() => Ok(r),
        _ => Err(Error::Invalid("un motif est obligatoire pour modifier un paramètre".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accountants_may_do_none_of_the_restricted_actions_and_finance_managers_all() {
        for action in Restricted::ALL {
            assert!(!action.allowed(Role::Accountant), "{action:?}");
            assert!(action.allowed(Role::FinanceManager), "{action:?}");
        }
        assert_eq!(Role::parse("finance_manager").unwrap(), Role::FinanceManager);
        assert!(Role::parse("admin").is_err());
    }
}
