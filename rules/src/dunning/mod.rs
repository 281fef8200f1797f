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

/// The level the school's delays after the due date allow an overdue installment on `as_of` (a
/// refused card debit: the first reminder at once); a run raises it one step at a time towards
/// it (`next_level`).
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

/// The level a run on `as_of` gives an installment that has `reached` a level (`raised_on`, the
/// day of the run that raised it): one step at a time, never more than `level_due`. The first
/// reminder comes once the first delay has passed (a refused debit at once); the second once the
/// second delay has passed and the first reminder is as old as the gap between both delays; the
/// block likewise after the second. So a student is always reminded twice before the order is
/// blocked, even when the office runs its reminders late: a first run 50 days after the due date
/// sends the first reminder, not the block.
pub fn next_level(
    reached: Level,
    raised_on: Option<NaiveDate>,
    due: NaiveDate,
    refused: bool,
    as_of: NaiveDate,
    s: &SchoolSettings,
) -> Level {
    let target = level_due(due, refused, as_of, s);
    if target <= reached {
        return reached;
    }
    let (after_first, after_second) = waits(s);
    let gap = match reached {
        Level::None => return Level::First,
        Level::First => after_first,
        Level::Second => after_second,
        Level::Blocked => return Level::Blocked,
    };
    match raised_on {
        Some(on) if (as_of - on).num_days() < i64::from(gap) => reached,
        _ => Level::of(reached.rank() + 1),
    }
}

/// How old a first reminder must be before the second, and a second before the block: the gaps
/// between the school's delays.
fn waits(s: &SchoolSettings) -> (u32, u32) {
    (
        s.dunning_second_days.saturating_sub(s.dunning_first_days),
        s.dunning_block_days.saturating_sub(s.dunning_second_days),
    )
}

/// `next_level` on one day as dates, for a database to compare due dates and the days levels
/// were raised with: an installment due on or before `blocked` has reached the block's delay, on
/// or before `second` the second reminder's, on or before `first` (or refused, whenever due) the
/// first's; a first reminder raised on or before `second_after_first` is old enough for the
/// second, a second raised on or before `block_after_second` for the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    pub first: NaiveDate,
    pub second: NaiveDate,
    pub blocked: NaiveDate,
    pub second_after_first: NaiveDate,
    pub block_after_second: NaiveDate,
}

impl Cutoffs {
    pub fn on(as_of: NaiveDate, s: &SchoolSettings) -> Cutoffs {
        let back = |days: u32| as_of - chrono::Duration::days(i64::from(days));
        let (after_first, after_second) = waits(s);
        Cutoffs {
            first: back(s.dunning_first_days),
            second: back(s.dunning_second_days),
            blocked: back(s.dunning_block_days),
            second_after_first: back(after_first),
            block_after_second: back(after_second),
        }
    }

    /// Cutoffs that give no level: what a school without settings gets (none matches it anyway).
    pub fn none(as_of: NaiveDate) -> Cutoffs {
        Cutoffs { first: as_of, second: as_of, blocked: as_of, second_after_first: as_of, block_after_second: as_of }
    }

    /// The level the delays after the due date `due` reach (what the store's statement computes).
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

    /// `next_level` (what the store's statement computes).
    pub fn next(&self, reached: Level, raised_on: Option<NaiveDate>, due: NaiveDate, refused: bool) -> Level {
        if self.level(due, refused) <= reached {
            return reached;
        }
        let old_enough = |cutoff: NaiveDate| raised_on.is_none_or(|on| on <= cutoff);
        match reached {
            Level::None => Level::First,
            Level::First if old_enough(self.second_after_first) => Level::Second,
            Level::Second if old_enough(self.block_after_second) => Level::Blocked,
            other => other,
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
                    for reached in [Level::None, Level::First, Level::Second, Level::Blocked] {
                        for raised in [None, Some(as_of - chrono::Duration::days(back.rem_euclid(60)))] {
                            assert_eq!(
                                c.next(reached, raised, due, refused),
                                next_level(reached, raised, due, refused, as_of, &s),
                                "{due} {refused} {reached:?} {raised:?}"
                            );
                        }
                    }
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

    #[test]
    fn a_run_raises_one_level_at_a_time_and_waits_between_reminders() {
        let s = SchoolSettings::default_for(School::Isima, "ISIMA", 3);
        let due = d(2025, 10, 10);
        // Never reminded, 50 days late: the first reminder, not the block.
        assert_eq!(next_level(Level::None, None, due, false, d(2025, 11, 29), &s), Level::First);
        // Reminded on 29/11: the second comes 14 days later (21 - 7), the block 24 after it.
        let first = d(2025, 11, 29);
        assert_eq!(next_level(Level::First, Some(first), due, false, d(2025, 12, 12), &s), Level::First);
        assert_eq!(next_level(Level::First, Some(first), due, false, d(2025, 12, 13), &s), Level::Second);
        let second = d(2025, 12, 13);
        assert_eq!(next_level(Level::Second, Some(second), due, false, d(2026, 1, 5), &s), Level::Second);
        assert_eq!(next_level(Level::Second, Some(second), due, false, d(2026, 1, 6), &s), Level::Blocked);
        // Reminded on time, the delays after the due date decide as before.
        assert_eq!(next_level(Level::First, Some(d(2025, 10, 17)), due, false, d(2025, 10, 30), &s), Level::First);
        assert_eq!(next_level(Level::First, Some(d(2025, 10, 17)), due, false, d(2025, 10, 31), &s), Level::Second);
        assert_eq!(next_level(Level::Second, Some(d(2025, 10, 31)), due, false, d(2025, 11, 24), &s), Level::Blocked);
        // A level already reached stays; the block is the last.
        assert_eq!(next_level(Level::Second, Some(d(2025, 10, 31)), due, false, d(2025, 10, 31), &s), Level::Second);
        assert_eq!(next_level(Level::Blocked, Some(d(2025, 11, 24)), due, false, d(2026, 6, 1), &s), Level::Blocked);
        // A refused debit not yet 7 days old: the first reminder at once, then the delays.
        assert_eq!(next_level(Level::None, None, due, true, due, &s), Level::First);
        assert_eq!(next_level(Level::First, Some(due), due, true, d(2025, 10, 30), &s), Level::First);
    }

    #[test]
    fn runs_on_any_days_never_skip_a_level_nor_block_before_two_reminders() {
        let s = SchoolSettings::default_for(School::Polytech, "POLYTECH", 3);
        let due = d(2025, 10, 10);
        // Every pattern of runs over four months, one run every 1 to 16 days (a simple LCG).
        let mut seed: u64 = 7;
        for _ in 0..500 {
            let (mut level, mut raised) = (Level::None, None::<NaiveDate>);
            let mut day = due;
            let mut sent = Vec::new();
            while day < d(2026, 2, 10) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                day += chrono::Duration::days(1 + (seed >> 33) as i64 % 16);
                let next = next_level(level, raised, due, false, day, &s);
                assert!(next.rank() <= level.rank() + 1 && next >= level, "{level:?} -> {next:?} on {day}");
                assert!(next <= level_due(due, false, day, &s), "never past the delays: {next:?} on {day}");
                if next > level {
                    sent.push((next, day));
                    (level, raised) = (next, Some(day));
                }
            }
            let on = |l: Level| sent.iter().find(|(x, _)| *x == l).map(|(_, on)| *on);
            if let (Some(b), Some(sec), Some(fst)) = (on(Level::Blocked), on(Level::Second), on(Level::First)) {
                assert!((sec - fst).num_days() >= 14 && (b - sec).num_days() >= 24, "{sent:?}");
            }
        }
    }
}
