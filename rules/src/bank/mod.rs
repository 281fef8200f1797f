//! The bank's rules: reading a statement's table (its columns, amounts, dates and labels) and
//! matching each credit to a student's open installments, with the reasons given.

pub mod camt;
pub mod cfonb;
pub mod matching;
pub mod table;

/// What a statement was read from: a spreadsheet (CSV, xlsx, xls, ods) through its columns, or
/// one of the banks' own formats, found from the file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub enum StatementFormat {
    #[default]
    #[serde(rename = "tableur")]
    Sheet,
    #[serde(rename = "CAMT.053")]
    Camt053,
    #[serde(rename = "CAMT.054")]
    Camt054,
    #[serde(rename = "CFONB 120")]
    Cfonb120,
}

impl StatementFormat {
    /// As stored.
    pub fn code(self) -> &'static str {
        match self {
            StatementFormat::Sheet => "sheet",
            StatementFormat::Camt053 => "camt053",
            StatementFormat::Camt054 => "camt054",
            StatementFormat::Cfonb120 => "cfonb120",
        }
    }

    /// As the accountant reads it (and the serialized form).
    pub fn name(self) -> &'static str {
        match self {
            StatementFormat::Sheet => "tableur",
            StatementFormat::Camt053 => "CAMT.053",
            StatementFormat::Camt054 => "CAMT.054",
            StatementFormat::Cfonb120 => "CFONB 120",
        }
    }

    /// The bank format of a file's first bytes, if it is one (a spreadsheet otherwise).
    pub fn of(head: &[u8]) -> StatementFormat {
        if camt::looks_like(head) {
            StatementFormat::Camt053
        } else if camt::looks_like_notification(head) {
            StatementFormat::Camt054
        } else if cfonb::looks_like(head) {
            StatementFormat::Cfonb120
        } else {
            StatementFormat::Sheet
        }
    }
}

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
