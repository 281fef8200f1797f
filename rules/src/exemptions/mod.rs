//! The commission's outcomes for the exemption of differentiated fees: what each one exempts,
//! and the IBAN a refund is paid to.

use serde::Serialize;

use crate::money::Money;
use crate::{Error, Result};

/// What an outcome is, as stored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export, rename = "ExemptionOutcome")]
pub enum OutcomeKind {
    Full,
    Partial,
    Refused,
}

impl OutcomeKind {
    pub fn code(self) -> &'static str {
        match self {
            OutcomeKind::Full => "full",
            OutcomeKind::Partial => "partial",
            OutcomeKind::Refused => "refused",
        }
    }
}

crate::coded!(OutcomeKind: Full, Partial, Refused);

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.code())
    }
}

/// What the commission decided for a student.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Pays only the standard fee.
    Full,
    /// This much of the differentiated fees is exempted.
    Partial(Money),
    Refused,
}

impl Outcome {
    pub fn parse(outcome: &str, amount: Option<Money>) -> Result<Outcome> {
        match (outcome.trim(), amount) {
            ("full", None) => Ok(Outcome::Full),
            ("partial", Some(a)) if a.is_positive() => Ok(Outcome::Partial(a)),
            ("partial", _) => {
                Err(Error::Invalid("une exonération partielle a besoin d'un montant positif (--amount)".into()))
            }
            ("refused", None) => Ok(Outcome::Refused),
            ("full" | "refused", Some(_)) => Err(Error::Invalid("--amount ne va qu'avec partial".into())),
            (other, _) => Err(Error::Invalid(format!("décision inconnue « {other} » (full, partial, refused)"))),
        }
    }

    pub fn kind(self) -> OutcomeKind {
        match self {
            Outcome::Full => OutcomeKind::Full,
            Outcome::Partial(_) => OutcomeKind::Partial,
            Outcome::Refused => OutcomeKind::Refused,
        }
    }
}

/// An IBAN as written on a RIB: letters and digits, spaces ignored, checked with its mod-97 key.
pub fn parse_iban(text: &str) -> Result<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bad = || Error::Invalid(format!("IBAN invalide « {} »", text.trim()));
    if !(15..=34).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let rotated = format!("{}{}", &compact[4..], &compact[..4]);
    let mut rest: u32 = 0;
    for c in rotated.chars() {
        let v = c.to_digit(36).ok_or_else(bad)?;
        rest = if v >= 10 { (rest * 100 + v) % 97 } else { (rest * 10 + v) % 97 };
    }
    if rest != 1 {
        return Err(bad());
    }
    Ok(compact.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).expect("ascii")).collect::<Vec<_>>().join(" "))
}

impl Outcome {
    /// What the outcome exempts of an invoice of `total` whose standard fee is `standard`: all
    /// beyond the standard fee (full), the amount decided when it is not more (partial), nothing
    /// (refused). The standard fee itself is never exempted.
    pub fn exempted(self, total: Money, standard: Money) -> Result<Money> {
        let most = total - standard;
        match self {
            Outcome::Full => Ok(most),
            Outcome::Partial(a) if a <= most => Ok(a),
            Outcome::Partial(a) => Err(Error::Invalid(format!(
                "exonération de {} impossible : au plus {} (au-delà des droits de scolarité)",
                a.to_french(),
                most.to_french()
            ))),
            Outcome::Refused => Ok(Money::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_exempts_at_most_what_lies_beyond_the_standard_fee() {
        let (total, standard) = (Money::from_cents(377_000), Money::from_cents(61_800));
        assert_eq!(Outcome::Full.exempted(total, standard).unwrap(), Money::from_cents(315_200));
        let part = Money::from_cents(100_000);
        assert_eq!(Outcome::Partial(part).exempted(total, standard).unwrap(), part);
        let all = Money::from_cents(315_200);
        assert_eq!(Outcome::Partial(all).exempted(total, standard).unwrap(), all);
        let err = Outcome::Partial(all + Money::from_cents(1)).exempted(total, standard).unwrap_err();
        assert!(err.to_string().contains(&format!("au plus {}", all.to_french())), "{err}");
        assert_eq!(Outcome::Refused.exempted(total, standard).unwrap(), Money::ZERO);
    }

    #[test]
    fn ibans_are_checked_by_their_key_and_written_by_fours() {
        assert_eq!(parse_iban("fr7630006000011234567890189").unwrap(), "FR76 3000 6000 0112 3456 7890 189");
        assert!(parse_iban("FR7630006000011234567890188").is_err(), "a wrong key");
        assert!(parse_iban("FR76 3000").is_err(), "too short");
        assert!(parse_iban("FR76-3000-6000-0112-3456-7890-189").is_err(), "not letters and digits");
    }
}
