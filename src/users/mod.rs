//! Users: the local profiles whose names go into the audit log, and the desktop's signed-in user.
//! The window asks for a name on first start and remembers it.

use serde::Serialize;

use crate::store::{self, Store};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: String,
}

/// A user name: trimmed, 1 to 60 characters, no control characters.
pub fn parse_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 60 || n.chars().any(char::is_control) {
        return Err(Error::Invalid("nom d'utilisateur vide ou trop long".into()));
    }
    Ok(n.to_string())
}

/// Signs `name` in on this desktop: creates the profile if new (as an accountant) and remembers
/// it for the next start.
pub async fn sign_in(store: &Store, name: &str) -> Result<User> {
    let name = parse_name(name)?;
    let mut tx = store.begin().await?;
    let user = store::users::ensure(&mut tx, &name).await?;
    store::users::set_pref(&mut tx, "last_user", &name).await?;
    tx.commit().await?;
    Ok(user)
}

/// The user signed in last on this desktop, if any.
pub async fn current(store: &Store) -> Result<Option<User>> {
    let mut conn = store.read().await?;
    match store::users::pref(&mut conn, "last_user").await? {
        Some(name) => store::users::by_name(&mut conn, &name).await,
        None => Ok(None),
    }
}
