//! Backups' names and retention: a file per day (`regie-2026-12-04.sqlite`), one before each
//! upgrade of the schema; the last 14 days' kept, and the latest of each of the last 12 months.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate};

/// Days kept whole.
pub const DAYS: u64 = 14;
/// Months kept by their latest backup.
pub const MONTHS: usize = 12;

/// The day's backup.
pub fn daily_name(date: NaiveDate) -> String {
    format!("regie-{}.sqlite", date.format("%Y-%m-%d"))
}

/// The backup written before the schema moves on from `version`.
pub fn before_upgrade_name(date: NaiveDate, version: i64) -> String {
    format!("regie-{}-avant-mise-a-jour-{version}.sqlite", date.format("%Y-%m-%d"))
}

/// The day a backup's name carries; `None` for a file that is not one of ours.
pub fn date_of(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("regie-")?.strip_suffix(".sqlite")?;
    NaiveDate::parse_from_str(rest.get(..10)?, "%Y-%m-%d")
        .ok()
        .filter(|_| rest.len() == 10 || rest[10..].starts_with('-'))
}

/// Which of `names` (a backups folder's files) to remove on `today`: ours older than `DAYS`
/// days, except the latest of each of the `MONTHS` most recent months. Files that are not ours
/// are never removed.
pub fn to_remove(names: &[String], today: NaiveDate) -> Vec<String> {
    let oldest_kept_day = today.checked_sub_days(Days::new(DAYS - 1)).unwrap_or(today);
    let mut dated: Vec<(NaiveDate, &String)> = names.iter().filter_map(|n| date_of(n).map(|d| (d, n))).collect();
    // Newest first: the first of a month met is its latest.
    dated.sort_by(|a, b| b.cmp(a));
    let mut months = BTreeSet::new();
    let mut remove = Vec::new();
    for (date, name) in dated {
        let month = (date.year(), date.month());
        let latest_of_month = !months.contains(&month) && (months.len() < MONTHS);
        if latest_of_month {
            months.insert(month);
        }
        if date < oldest_kept_day && !latest_of_month {
            remove.push(name.clone());
        }
    }
    remove.sort();
    remove
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn names_carry_their_day() {
        assert_eq!(daily_name(d(2026, 12, 4)), "regie-2026-12-04.sqlite");
        assert_eq!(date_of("regie-2026-12-04.sqlite"), Some(d(2026, 12, 4)));
        assert_eq!(date_of(&before_upgrade_name(d(2026, 12, 4), 14)), Some(d(2026, 12, 4)));
        assert_eq!(date_of("regie.sqlite"), None);
        assert_eq!(date_of("regie-2026-13-04.sqlite"), None);
        assert_eq!(date_of("regie-2026-12-04x.sqlite"), None);
        assert_eq!(date_of("notes.txt"), None);
    }

    #[test]
    fn fourteen_days_and_the_latest_of_twelve_months() {
        // A backup every day for two years, and a file that is not ours.
        let today = d(2026, 12, 4);
        let mut names: Vec<String> = (0..730).map(|k| daily_name(today - Days::new(k))).collect();
        names.push("lisez-moi.txt".into());
        let removed = to_remove(&names, today);
        let kept: Vec<&String> = names.iter().filter(|n| !removed.contains(n)).collect();
        let days: Vec<NaiveDate> = kept.iter().filter_map(|n| date_of(n)).collect();
        assert!(kept.iter().any(|n| *n == "lisez-moi.txt"));
        // The last 14 days (21 Nov. to 4 Dec.), then the last day of each earlier month back to
        // January 2026: twelve months counting December and November.
        assert!((0..14).all(|k| days.contains(&(today - Days::new(k)))));
        assert!(!days.contains(&d(2026, 11, 20)));
        assert!(days.contains(&d(2026, 10, 31)) && days.contains(&d(2026, 1, 31)));
        assert!(!days.contains(&d(2025, 12, 31)), "the thirteenth month is gone");
        assert_eq!(days.len(), 14 + 10);
        // Applied again, nothing more goes.
        let again: Vec<String> = kept.iter().map(|n| n.to_string()).collect();
        assert!(to_remove(&again, today).is_empty());
    }
}
