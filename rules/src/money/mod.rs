//! Money: exact euro amounts held as `Decimal` to the cent, shown the French way (`1 630,50 €`).
//! Parses what spreadsheets and bank exports hold (`1 630,50`, `1.630,50`, `-200,31`, `1630.50`).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in euros. Invariant: at most two decimal places (whole cents). Amounts read from
/// input (`new`, `parse`) are also below [`Money::LIMIT`] in absolute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, ts_rs::TS)]
#[ts(type = "string")]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("montant vide")]
    Empty,
    #[error("montant illisible « {0} »")]
    Unreadable(String),
    #[error("montant ambigu « {0} »: un seul point suivi de trois chiffres (1.630 = 1 630 ou 1,63 ?)")]
    Ambiguous(String),
    #[error("montant « {0} » plus précis que le centime")]
    SubCent(String),
    #[error("montant hors limites « {0} »")]
    OutOfRange(String),
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// No amount a registration office sees reaches 10 million euros: anything at or beyond it is
    /// a typo or a corrupt file, refused where it is read rather than stored.
    pub const LIMIT: Money = Money(Decimal::from_parts(10_000_000, 0, 0, false, 0));

    /// Exact conversion; fails when the value has fractions of a cent or reaches [`Money::LIMIT`].
    pub fn new(value: Decimal) -> Result<Money, MoneyError> {
        let normalized = value.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::SubCent(value.to_string()));
        }
        if normalized.abs() >= Money::LIMIT.0 {
            return Err(MoneyError::OutOfRange(value.to_string()));
        }
        Ok(Money(normalized))
    }

    /// A spreadsheet number as the spreadsheet shows it: the shortest decimal that reads back as
    /// the same float (`10.005`, never its binary expansion), to the 15 significant digits
    /// spreadsheets compute with (a formula's `0.1+0.2` is 0.3 there, not 0.30000000000000004).
    /// A typed fraction of a cent is refused rather than rounded away.
    pub fn from_f64(value: f64) -> Result<Money, MoneyError> {
        let text = format!("{value}");
        let decimal = Decimal::from_str(&text)
            .ok()
            .and_then(|d| d.round_sf(15))
            .ok_or_else(|| MoneyError::OutOfRange(text.clone()))?;
        Money::new(decimal).map_err(|e| match e {
            MoneyError::SubCent(_) => MoneyError::SubCent(text),
            _ => MoneyError::OutOfRange(text),
        })
    }

    /// Rounds half away from zero to the cent: the rule for computed shares (thirds, 20 %).
    pub fn rounded(value: Decimal) -> Money {
        Money(value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero).normalize())
    }

    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2).normalize())
    }

    /// Integer cents: how amounts are stored (exact in SQLite and PostgreSQL alike).
    ///
    /// Read amounts are below [`Money::LIMIT`], so only sums of billions of them could leave
    /// i64's range; those saturate rather than abort the process.
    pub fn cents(self) -> i64 {
        let saturated = if self.is_negative() { i64::MIN } else { i64::MAX };
        self.0.checked_mul(Decimal::ONE_HUNDRED).and_then(|c| i64::try_from(c).ok()).unwrap_or(saturated)
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }

    /// `1 630,50 €`: narrow no-break space between thousands, comma before cents.
    pub fn to_french(self) -> String {
        format!("{} €", self.to_french_number())
    }

    /// `1 630,50` without the currency sign, for table cells.
    pub fn to_french_number(self) -> String {
        let plain = format!("{:.2}", self.0.abs());
        let (int, frac) = plain.split_once('.').expect("two decimals");
        let mut grouped = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push('\u{202f}');
            }
            grouped.push(ch);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        format!("{sign}{grouped},{frac}")
    }

    /// Reads an amount the way French spreadsheets and banks write it.
    ///
    /// Spaces (plain, no-break, narrow) and `€`/`EUR` are ignored; with both `,` and `.` present
    /// the last one is the decimal mark; a lone `,` is decimal; a lone `.` is decimal unless it is
    /// followed by exactly three digits, which is refused as ambiguous rather than guessed.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let mut s: String =
            text.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '€' | '\t')).collect();
        if let Some(stripped) = s.strip_suffix("EUR").or_else(|| s.strip_suffix("eur")) {
            s = stripped.to_string();
        }
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let unreadable = || MoneyError::Unreadable(text.trim().to_string());
        // One sign only: accounting parentheses, or a leading or trailing `-`, or a leading `+`.
        // `(-5)` or `(5-)` would be a double negative whose intent nobody can tell.
        let negative = if s.len() >= 2 && s.starts_with('(') && s.ends_with(')') {
            s = s[1..s.len() - 1].to_string();
            true
        } else if let Some(rest) = s.strip_prefix('-') {
            s = rest.to_string();
            true
        } else if let Some(rest) = s.strip_suffix('-') {
            s = rest.to_string();
            true
        } else {
            if let Some(rest) = s.strip_prefix('+') {
                s = rest.to_string();
            }
            false
        };
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') {
            return Err(unreadable());
        }
        let last_comma = s.rfind(',');
        let last_dot = s.rfind('.');
        let canonical = match (last_comma, last_dot) {
            (Some(c), Some(d)) => {
                let (decimal, thousands) = if c > d { (',', '.') } else { ('.', ',') };
                let int_and_frac = s.replace(thousands, "");
                if int_and_frac.matches(decimal).count() != 1 {
                    return Err(unreadable());
                }
                int_and_frac.replace(decimal, ".")
            }
            (Some(_), None) => {
                if s.matches(',').count() != 1 {
                    return Err(unreadable());
                }
                s.replace(',', ".")
            }
            (None, Some(d)) => {
                let dots = s.matches('.').count();
                if dots > 1 {
                    // 1.630.000 : dots only group thousands.
                    if !s.split('.').skip(1).all(|g| g.len() == 3) {
                        return Err(unreadable());
                    }
                    s.replace('.', "")
                } else if s.len() - d - 1 == 3 {
                    return Err(MoneyError::Ambiguous(text.trim().to_string()));
                } else {
                    s.clone()
                }
            }
            (None, None) => s.clone(),
        };
        if canonical.starts_with('.') || canonical.ends_with('.') {
            return Err(unreadable());
        }
        let value = Decimal::from_str(&canonical).map_err(|_| MoneyError::OutOfRange(text.trim().to_string()))?;
        let money = Money::new(value).map_err(|e| match e {
            MoneyError::SubCent(_) => MoneyError::SubCent(text.trim().to_string()),
            _ => MoneyError::OutOfRange(text.trim().to_string()),
        })?;
        Ok(if negative { -money } else { money })
    }
}

impl fmt::Display for Money {
    /// Machine form `1630.50`: two decimals, dot, no grouping (JSON, CSV exports).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl std::ops::Mul<i64> for Money {
    type Output = Money;
    fn mul(self, rhs: i64) -> Money {
        Money(self.0 * Decimal::from(rhs))
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_spreadsheet_forms() {
        assert_eq!(m("1 630,50"), Money::from_cents(163050));
        assert_eq!(m("1\u{a0}630,50"), Money::from_cents(163050));
        assert_eq!(m("1\u{202f}630,50 €"), Money::from_cents(163050));
        assert_eq!(m("1630.50"), Money::from_cents(163050));
        assert_eq!(m("1.630,50"), Money::from_cents(163050));
        assert_eq!(m("1,630.50"), Money::from_cents(163050));
        assert_eq!(m("-200,31"), Money::from_cents(-20031));
        assert_eq!(m("-1.630,50"), Money::from_cents(-163050));
        assert_eq!(m("200,31-"), Money::from_cents(-20031));
        assert_eq!(m("(15,00)"), Money::from_cents(-1500));
        assert_eq!(m("601"), Money::from_cents(60100));
        assert_eq!(m("3879 EUR"), Money::from_cents(387900));
        assert_eq!(m("1.630.000"), Money::from_cents(163000000));
        assert_eq!(m("0,5"), Money::from_cents(50));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert!(matches!(Money::parse("abc"), Err(MoneyError::Unreadable(_))));
        assert!(matches!(Money::parse("1,2,3"), Err(MoneyError::Unreadable(_))));
        assert!(matches!(Money::parse("1.630"), Err(MoneyError::Ambiguous(_))));
        assert!(matches!(Money::parse("10,005"), Err(MoneyError::SubCent(_))));
        assert!(matches!(Money::parse("12,"), Err(MoneyError::Unreadable(_))));
    }

    #[test]
    fn amounts_beyond_ten_million_are_refused_and_cents_never_panics() {
        assert!(matches!(Money::parse("100000000000000000"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("10 000 000,00"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("-10000000"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("1".repeat(40).as_str()), Err(MoneyError::OutOfRange(_))));
        assert_eq!(m("9 999 999,99"), Money::from_cents(999_999_999));
        assert_eq!(m("-9 999 999,99"), Money::from_cents(-999_999_999));
        assert!(matches!(Money::from_f64(1e17), Err(MoneyError::OutOfRange(_))));
        let huge = Money::rounded(Decimal::MAX);
        assert_eq!(huge.cents(), i64::MAX);
        assert_eq!((-huge).cents(), i64::MIN);
    }

    #[test]
    fn double_negatives_are_refused() {
        for text in ["(-5)", "-(5)", "--5", "(5-)", "(+5)", "-5-", "+-5", "()", "(", "-"] {
            assert!(Money::parse(text).is_err(), "{text} must be refused");
        }
        assert_eq!(m("(5)"), Money::from_cents(-500));
        assert_eq!(m("+5"), Money::from_cents(500));
    }

    #[test]
    fn spreadsheet_numbers_are_read_as_shown() {
        assert_eq!(Money::from_f64(1630.5), Ok(Money::from_cents(163050)));
        assert_eq!(Money::from_f64(-12.0), Ok(Money::from_cents(-1200)));
        assert!(matches!(Money::from_f64(10.005), Err(MoneyError::SubCent(_))));
        assert_eq!(Money::from_f64(0.1 + 0.2), Ok(Money::from_cents(30)), "a formula's float noise");
        assert_eq!(Money::from_f64(1234.56 + 0.0000000000002), Ok(Money::from_cents(123456)));
        assert!(matches!(Money::from_f64(0.001), Err(MoneyError::SubCent(_))));
        assert!(Money::from_f64(f64::NAN).is_err());
        assert!(Money::from_f64(f64::INFINITY).is_err());
    }

    #[test]
    fn french_display() {
        assert_eq!(Money::from_cents(163050).to_french(), "1\u{202f}630,50 €");
        assert_eq!(Money::from_cents(-20031).to_french(), "-200,31 €");
        assert_eq!(Money::from_cents(0).to_french(), "0,00 €");
        assert_eq!(Money::from_cents(123456789).to_french_number(), "1\u{202f}234\u{202f}567,89");
        assert_eq!(Money::from_cents(60100).to_string(), "601.00");
    }

    #[test]
    fn cents_round_trip() {
        for c in [0i64, 1, -1, 63380, 387900, -163050, 999_999_999] {
            assert_eq!(Money::from_cents(c).cents(), c);
        }
        let json = serde_json::to_string(&Money::from_cents(63380)).unwrap();
        assert_eq!(json, "\"633.80\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), Money::from_cents(63380));
    }
}
