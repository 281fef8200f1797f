//! Paging: the slice of a long list a screen shows, asked of the core and answered with the list's
//! true count, so that no screen ever holds a whole table. Sort keys are each list's own enum.

use serde::{Deserialize, Serialize};

use crate::{Coded, Error, Result};

/// The most rows one page may hold: what a screen shows, with room to scroll.
pub const MAX_LIMIT: i64 = 1_000;

/// A slice of a list: `limit` rows from position `offset` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    offset: i64,
    limit: i64,
}

impl Window {
    /// Refuses a negative position and a page of no row or of more than [`MAX_LIMIT`].
    pub fn parse(offset: i64, limit: i64) -> Result<Window> {
        if offset < 0 {
            return Err(Error::Invalid(format!("position de page négative : {offset}")));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::Invalid(format!("une page compte de 1 à {MAX_LIMIT} lignes (demandé : {limit})")));
        }
        Ok(Window { offset, limit })
    }

    /// The first page.
    pub fn first(limit: i64) -> Result<Window> {
        Window::parse(0, limit)
    }

    pub fn offset(self) -> i64 {
        self.offset
    }

    pub fn limit(self) -> i64 {
        self.limit
    }

    /// This window of a whole list that a rule had to filter; the count is the list's.
    pub fn cut<T>(self, mut all: Vec<T>) -> Page<T> {
        let total = all.len() as i64;
        let from = usize::try_from(self.offset).unwrap_or(usize::MAX).min(all.len());
        let to = from.saturating_add(usize::try_from(self.limit).unwrap_or(0)).min(all.len());
        Page { total: Some(total), offset: self.offset, rows: all.drain(from..to).collect() }
    }
}

/// What a screen asks of a long list beside its own filters: which window, searched for what,
/// sorted how. As typed: the core checks it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    pub search: Option<String>,
    /// A sort code of the list (its column key); the list's default when none.
    pub sort: Option<String>,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub offset: i64,
    pub limit: i64,
    #[serde(default)]
    pub count: Count,
}

/// Whether a page comes with its list's true count. A screen asks for its rows first
/// (`Later`) and for the count after: the rows of a page are found by an index and stay as
/// fast whatever the history, but counting a filter over every year reads all of it. A list
/// whose count costs nothing (one kept number) may count anyway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    #[default]
    Counted,
    Later,
}

impl PageQuery {
    pub fn window(&self) -> Result<Window> {
        Window::parse(self.offset, self.limit)
    }

    pub fn search(&self) -> Option<Search> {
        Search::parse(self.search.as_deref())
    }

    /// Whether the list is to be counted with this page.
    pub fn counted(&self) -> bool {
        self.count == Count::Counted
    }

    /// For a list a rule filters in the core: whether one of a row's `fields` holds the search,
    /// whatever the case; every row when there is no search.
    pub fn finder(&self) -> impl Fn(&[&str]) -> bool + use<> {
        let search = given(&self.search).map(str::to_lowercase);
        move |fields| search.as_deref().is_none_or(|t| fields.iter().any(|f| f.to_lowercase().contains(t)))
    }

    /// For a list read in one order only (`order` says which): a sort asked for is refused.
    pub fn unsorted(&self, order: &str) -> Result<()> {
        match given(&self.sort) {
            None => Ok(()),
            Some(sort) => Err(Error::Invalid(format!("tri « {sort} » : cette liste se lit {order}"))),
        }
    }

    /// The sort asked for; an unknown one is refused with the list's sorts.
    pub fn sort<T: Coded + Default>(&self) -> Result<T> {
        match given(&self.sort) {
            None => Ok(T::default()),
            Some(code) => T::from_code(code).ok_or_else(|| {
                let all: Vec<&str> = T::ALL.iter().map(|s| s.code()).collect();
                Error::Invalid(format!("tri inconnu « {code} » ({})", all.join(", ")))
            }),
        }
    }
}

/// A filter's field as a screen sends it: blank means no filter.
pub fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The rows of one window and how many the whole list holds (`None`: not counted, as asked by
/// [`Count::Later`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Page<T> {
    pub total: Option<i64>,
    pub offset: i64,
    pub rows: Vec<T>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { total: self.total, offset: self.offset, rows: self.rows.into_iter().map(f).collect() }
    }
}

/// The accented letters a search folds, capitals and small, to plain small letters: names are
/// found whatever their case and accents ("lefevre" finds LEFÈVRE). Only this code folds: the
/// store keeps each student's [`search_key`], and a search is folded before it is looked for;
/// other letters are only lower-cased when ASCII.
pub const FOLDS: [(char, &str); 36] = [
    ('À', "a"),
    ('Â', "a"),
    ('Ä', "a"),
    ('à', "a"),
    ('â', "a"),
    ('ä', "a"),
    ('Ç', "c"),
    ('ç', "c"),
    ('É', "e"),
    ('È', "e"),
    ('Ê', "e"),
    ('Ë', "e"),
    ('é', "e"),
    ('è', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('Î', "i"),
    ('Ï', "i"),
    ('î', "i"),
    ('ï', "i"),
    ('Ô', "o"),
    ('Ö', "o"),
    ('ô', "o"),
    ('ö', "o"),
    ('Ù', "u"),
    ('Û', "u"),
    ('Ü', "u"),
    ('ù', "u"),
    ('û', "u"),
    ('ü', "u"),
    ('Ÿ', "y"),
    ('ÿ', "y"),
    ('Œ', "oe"),
    ('œ', "oe"),
    ('Æ', "ae"),
    ('æ', "ae"),
];

/// A text as the searches compare it: accents of [`FOLDS`] dropped, ASCII lower-cased.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Every letter of FOLDS is outside ASCII: most of a bank label never looks there.
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match FOLDS.iter().find(|(f, _)| *f == c) {
            Some((_, plain)) => out.push_str(plain),
            None => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

/// What a student is found by in every list: the number and both orders of the names, folded
/// (stored with the student, so that a search reads one column instead of folding every row).
pub fn search_key(number: &str, last_name: &str, first_name: &str) -> String {
    fold(&format!("{number} {last_name} {first_name} {first_name} {last_name}"))
}

/// A search typed in a list's box, as a `LIKE` pattern over folded text: trimmed, [`fold`]ed,
/// with `%`, `_` and `\` escaped (the store says `ESCAPE '\'`), so that what is typed is looked
/// for as written. Empty: no search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    /// At most 100 characters are looked for: a search box, not a document.
    pub fn parse(text: Option<&str>) -> Option<Search> {
        let text = fold(&text?.trim().chars().take(100).collect::<String>());
        if text.is_empty() {
            return None;
        }
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push('%');
        for c in text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Some(Search(pattern))
    }

    pub fn pattern(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_within_bounds() {
        assert_eq!(Window::parse(40, 20).map(|w| (w.offset(), w.limit())).ok(), Some((40, 20)));
        assert!(Window::parse(-1, 20).is_err());
        assert!(Window::parse(0, 0).is_err());
        assert!(Window::parse(0, MAX_LIMIT + 1).is_err());
        assert!(Window::parse(0, MAX_LIMIT).is_ok());
    }

    #[test]
    fn a_search_drops_accents_and_case() {
        assert_eq!(fold("LEFÈVRE Éloïse Œuvre"), "lefevre eloise oeuvre");
        assert_eq!(Search::parse(Some("Lefèvre")).unwrap().pattern(), "%lefevre%");
        assert_eq!(fold("Ñ"), "Ñ", "as SQL's lower() leaves it");
    }

    #[test]
    fn a_search_is_looked_for_as_typed() {
        assert_eq!(Search::parse(Some("  Dupont ")).unwrap().pattern(), "%dupont%");
        assert_eq!(Search::parse(Some("50%_a\\b")).unwrap().pattern(), "%50\\%\\_a\\\\b%");
        assert_eq!(Search::parse(Some("   ")), None);
        assert_eq!(Search::parse(None), None);
        assert_eq!(Search::parse(Some(&"x".repeat(5000))).unwrap().pattern().len(), 102);
    }

    #[test]
    fn a_page_is_counted_unless_its_count_is_asked_for_later() {
        let asked = |json: &str| serde_json::from_str::<PageQuery>(json).unwrap();
        assert!(asked(r#"{"limit": 10}"#).counted());
        assert!(asked(r#"{"limit": 10, "count": "counted"}"#).counted());
        assert!(!asked(r#"{"limit": 10, "count": "later"}"#).counted());
        assert!(serde_json::from_str::<PageQuery>(r#"{"limit": 10, "count": "never"}"#).is_err());
    }

    #[test]
    fn a_finder_looks_in_every_field_whatever_the_case() {
        let q = PageQuery { search: Some(" Durand ".into()), ..Default::default() };
        let finds = q.finder();
        assert!(finds(&["20250001", "DURAND Léa"]));
        assert!(!finds(&["20250002", "MARTIN Paul"]));
        assert!(PageQuery::default().finder()(&["anything"]));
    }

    #[test]
    fn a_window_cuts_a_whole_list() {
        let w = Window::parse(4, 3).unwrap();
        assert_eq!(w.cut((0..10).collect()), Page { total: Some(10), offset: 4, rows: vec![4, 5, 6] });
        assert_eq!(w.cut((0..5).collect()), Page { total: Some(5), offset: 4, rows: vec![4] });
        assert_eq!(w.cut(Vec::<i32>::new()), Page { total: Some(0), offset: 4, rows: vec![] });
    }

    #[test]
    fn a_page_keeps_its_count_when_its_rows_change_shape() {
        let p = Page { total: Some(7), offset: 2, rows: vec![1, 2] }.map(|x| x * 10);
        assert_eq!(p, Page { total: Some(7), offset: 2, rows: vec![10, 20] });
    }
}
