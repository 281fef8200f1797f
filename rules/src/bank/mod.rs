//! The bank's rules: reading a statement's table (its columns, amounts, dates and labels) and
//! matching each credit to a student's open installments, with the reasons given.

pub mod matching;
pub mod table;

/// How Banque's lines may be sorted: by the columns the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineSort {
    #[default]
    Date,
    Label,
    Amount,
    Score,
}

impl LineSort {
    pub fn code(self) -> &'static str {
        match self {
            LineSort::Date => "date",
            LineSort::Label => "label",
            LineSort::Amount => "amount",
            LineSort::Score => "score",
        }
    }
}

crate::coded!(LineSort: Date, Label, Amount, Score);
