//! The rules' error: a value the rules refuse, with what is wrong in the office's words. The
//! core turns each one into its own error, keeping the code the window and scripts classify by.

use crate::money::MoneyError;
use crate::plans::PlanError;
use crate::sheet::SheetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A cell of a spreadsheet or CSV that cannot be used; names file, row and column.
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("aucun tarif pour {what} dans la grille des droits")]
    NoFee { what: String },
    #[error("{0}")]
    Invalid(String),
    /// The statement's columns could not be recognised: the window shows `preview` for a mapping.
    #[error("{file}: colonnes du relevé non reconnues ({missing}) ; indiquez la correspondance des colonnes")]
    MappingNeeded { file: String, missing: String, preview: Vec<Vec<String>> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
