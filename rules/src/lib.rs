//! Régie's rules: the domain types and the pure rules of the registration-fee back office (money,
//! fees, plans, the ledger's vocabulary and the position's computation, matching, table parsing).
//!
//! Nothing here does I/O or knows the database: this crate cannot depend on the store, which
//! depends on it, and the core's actions use both. Every function is tested beside its rule.

pub use error::{Error, Result};
pub use money::Money;

/// An enum the database stores as a short text code, spelled as the CLI and the JSON spell it.
/// The store reads and writes these codes; the enum lists them once, here.
pub trait Coded: Copy + Sized + Send + Sync + 'static {
    /// Every value, in order.
    const ALL: &'static [Self];

    fn code(self) -> &'static str;

    fn from_code(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == text)
    }
}

/// Implements `Coded` from the enum's own `code()` and the list of its values.
macro_rules! coded {
    ($t:ident: $($v:ident),+ $(,)?) => {
        impl $crate::Coded for $t {
            const ALL: &'static [Self] = &[$($t::$v),+];

            fn code(self) -> &'static str {
                $t::code(self)
            }
        }

        /// Reads a stored code (the store's row types decode through this).
        impl TryFrom<String> for $t {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                <$t as $crate::Coded>::from_code(&text).ok_or_else(|| format!("code inconnu « {text} »"))
            }
        }
    };
}
pub(crate) use coded;

pub mod backups;
pub mod bank;
pub mod card;
pub mod dunning;
pub mod error;
pub mod exemptions;
pub mod fees;
pub mod ledger;
pub mod money;
pub mod page;
pub mod plans;
pub mod requests;
pub mod settings;
pub mod sheet;
pub mod users;

#[cfg(test)]
mod tests {
    use super::Coded;

    fn round_trips<T: Coded + PartialEq + std::fmt::Debug>() {
        for v in T::ALL {
            assert_eq!(T::from_code(v.code()), Some(*v), "{v:?}");
        }
        let codes: std::collections::HashSet<_> = T::ALL.iter().map(|v| v.code()).collect();
        assert_eq!(codes.len(), T::ALL.len(), "codes are distinct");
        assert_eq!(T::from_code("nothing-like-it"), None);
    }

    #[test]
    fn every_stored_code_reads_back_as_its_value() {
        round_trips::<crate::ledger::PaymentMethod>();
        round_trips::<crate::ledger::PaymentReversal>();
        round_trips::<crate::ledger::InstallmentState>();
        round_trips::<crate::ledger::RefundStatus>();
        round_trips::<crate::bank::matching::LineStatus>();
        round_trips::<crate::card::Outcome>();
        round_trips::<crate::card::export::Kind>();
        round_trips::<crate::card::export::Status>();
        round_trips::<crate::exemptions::OutcomeKind>();
        round_trips::<crate::users::Role>();
        round_trips::<crate::requests::RequestStatus>();
    }
}
