//! How the store reads and writes the rules' coded enums: as their text code, on both engines.
//! A row type holds `Code<T>`; a code the rules do not know is a decoding error, not a panic.

use regie_rules::Coded;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A coded enum as a column: its text code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code<T>(pub T);

impl<T: Coded, DB: Database> Type<DB> for Code<T>
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, T: Coded, DB: Database> Decode<'r, DB> for Code<T>
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<DB>>::decode(value)?;
        T::from_code(text).map(Code).ok_or_else(|| format!("code inconnu « {text} » en base").into())
    }
}

impl<'q, T: Coded, DB: Database> Encode<'q, DB> for Code<T>
where
    &'static str: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&'static str as Encode<'q, DB>>::encode(self.0.code(), buf)
    }
}
