//! The follow-up of what is unpaid: the levels an overdue installment climbs (first reminder,
//! second reminder, the order blocked) by the school's delays.

use chrono::NaiveDate;
use serde::Serialize;

use crate::settings::SchoolSettings;

/// How far the follow-up of an installment has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export, rename = "DunningLevel")]
pub enum Level {
    None,
    First,
    Second,
    /// The order is blocked ("Blocage") until it is paid.
    Blocked,
}

impl Level {
    /// The level of a count of reminders sent.
    pub fn of(n: i64) -> Level {
        match n {
            i64::MIN..=0 => Level::None,
            1 => Level::First,
            2 => Level::Second,
            _ => Level::Blocked,
        }
    }

    pub fn rank(self) -> i64 {
        self as i64
    }

    /// How the office names the level in a list ("—" before any reminder).
    pub fn label(self) -> &'static str {
        match self {
            Level::None => "—",
            Level::First => "1er rappel",
            Level::Second => "2e rappel",
            Level::Blocked => "bloquée",
        }
    }

    /// The letter's heading.
    pub fn title(self) -> &'static str {
        match self {
            Level::None => "",
            Level::First => "Premier rappel",
            Level::Second => "Second rappel",
            Level::Blocked => "Inscription bloquée",
        }
    }
}

/// The level an overdue installment has reached on `as_of`: a refused card debit is reminded at
/// once; otherwise the school's delays after the due date decide.
pub fn level_due(due: NaiveDate, refused: bool, as_of: NaiveDate, s: &SchoolSettings) -> Level {
    let days = (as_of - due).num_days();
    if days < 0 {
        return if refused { Level::First } else { Level::None };
    }
    let days = days as u64;
    if days >= u64::from(s.dunning_block_days) {
        Level::Blocked
    } else if days >= u64::from(s.dunning_second_days) {
        Level::Second
    } else if refused || days >= u64::from(s.dunning_first_days) {
        Level::First
    } else {
        Level::None
    }
}

/// `level_due` on one day as three due dates, for a database to compare due dates with: an
/// installment due on or before `blocked` is blocked, on or before `second` at the second
/// reminder, on or before `first` (or refused, whenever due) at the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    pub first: NaiveDate,
    pub second: NaiveDate,
    pub blocked: NaiveDate,
}

impl Cutoffs {
    pub fn on(as_of: NaiveDate, s: &SchoolSettings) -> Cutoffs {
        let back = |days: u32| as_of - chrono::Duration::days(i64::from(days));
        Cutoffs {
            first: back(s.dunning_first_days),
            second: back(s.dunning_second_days),
            blocked: back(s.dunning_block_days),
        }
    }

    /// The level of an installment due on `due` (what the store's statement computes).
    pub fn level(&self, due: NaiveDate, refused: bool) -> Level {
        if due <= self.blocked {
            Level::Blocked
        } else if due <= self.second {
            Level::Second
        } else if refused || due <= self.first {
            Level::First
        } else {
            Level::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::School;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_cutoffs_give_the_levels_the_delays_give() {
        let as_of = d(2026, 3, 1);
        for (first, second, block) in [(7, 21, 45), (0, 1, 2), (30, 60, 365)] {
            let mut s = SchoolSettings::default_for(School::Isima, "ISIMA", 3);
            (s.dunning_first_days, s.dunning_second_days, s.dunning_block_days) = (first, second, block);
            let c = Cutoffs::on(as_of, &s);
            for back in -400..400 {
                let due = as_of - chrono::Duration::days(back);
                for refused in [false, true] {
                    assert_eq!(c.level(due, refused), level_due(due, refused, as_of, &s), "{due} {refused}");
                }
            }
        }
    }

    #[test]
    fn levels_climb_with_the_school_s_delays() {
        let s = SchoolSettings::default_for(School::Isima, "ISIMA", 3);
        let due = d(2025, 10, 10);
        assert_eq!(level_due(due, false, d(2025, 10, 16), &s), Level::None, "6 days: not yet");
        assert_eq!(level_due(due, false, d(2025, 10, 17), &s), Level::First, "7 days");
        assert_eq!(level_due(due, false, d(2025, 10, 31), &s), Level::Second, "21 days");
        assert_eq!(level_due(due, false, d(2025, 11, 24), &s), Level::Blocked, "45 days");
        // A refused debit is reminded the day it is refused.
        assert_eq!(level_due(due, true, d(2025, 10, 10), &s), Level::First);
        let slow = SchoolSettings { dunning_first_days: 15, dunning_second_days: 30, dunning_block_days: 60, ..s };
        assert_eq!(level_due(due, false, d(2025, 10, 24), &slow), Level::None, "a setting per school");
    }
}
