//! The bank's rules: reading a statement's table (its columns, amounts, dates and labels) and
//! matching each credit to a student's open installments, with the reasons given.

pub mod matching;
pub mod table;
