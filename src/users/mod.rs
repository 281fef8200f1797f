//! Users: the local profiles whose names go into the audit log, their roles, and what each role
//! may do. The core enforces it for every command, CLI and window alike.

pub use regie_rules::users::*;

use serde_json::json;

use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

/// Refuses `action` unless `actor` is a profile whose role allows it. Runs inside the action's
/// transaction, so a role changed meanwhile is seen.
pub async fn require(conn: &mut Conn, actor: &str, action: Restricted) -> Result<()> {
    // On the office server, the session's login and its database role decide, not a typed name.
    let (actor, role) = match store::server::login(conn).await? {
        Some((login, role)) => (login, Some(role)),
        None => (actor.to_string(), store::users::role_of(conn, actor).await?),
    };
    match role {
        Some(role) if action.allowed(role) => Ok(()),
        _ => Err(Error::Forbidden(format!(
            "{actor} n'est pas responsable financier : seul un responsable financier peut {}",
            action.describe()
        ))),
    }
}

/// Gives a profile its role (creating the profile if new). Only a finance manager may, except
/// on a database that has none yet (its first finance manager is named this way). Audited.
pub async fn set_role(store: &Store, name: &str, role: Role, actor: &str) -> Result<()> {
    let name = parse_name(name)?;
    let mut tx = store.begin().await?;
    if store::users::count_with_role(&mut tx, Role::FinanceManager).await? > 0 {
        require(&mut tx, actor, Restricted::RoleChange).await?;
    }
    let old = store::users::role_of(&mut tx, &name).await?;
    store::users::set_role(&mut tx, &name, role).await?;
    audit::record(&mut tx, actor, "user.role", "user", &name, None, json!({"old": old, "role": role})).await?;
    tx.commit().await?;
    Ok(())
}

/// Prepares the office's PostgreSQL database: its schema, the roles `regie_accountant` and
/// `regie_finance_manager`, their grants and the rules the database enforces itself
/// (`store::server::setup`). Run by the database's owner; idempotent. Audited.
pub async fn setup_server(store: &Store, actor: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    store::server::setup(&mut tx).await?;
    audit::record(&mut tx, actor, "server.setup", "database", store.location().name(), None, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a person's own login on the office server, in the group of `role` (or changes the
/// password and role of an existing one). The password goes to PostgreSQL, which keeps its hash
/// only; it is neither stored nor logged by Régie. Audited (the name and role only).
pub async fn add_login(store: &Store, name: &str, password: &str, role: Role, actor: &str) -> Result<()> {
    let name = parse_name(name)?;
    if password.chars().count() < 8 {
        return Err(Error::Invalid("mot de passe trop court (8 caractères au moins)".into()));
    }
    let mut tx = store.begin().await?;
    store::server::add_login(&mut tx, &name, password, role).await?;
    audit::record(&mut tx, actor, "user.login", "user", &name, None, json!({"role": role})).await?;
    tx.commit().await?;
    Ok(())
}

/// Signs `name` in on this desktop and remembers it for the next start. A new profile is an
/// accountant, except the database's first, which is its finance manager. Audited when created.
pub async fn sign_in(store: &Store, name: &str) -> Result<User> {
    let name = parse_name(name)?;
    let mut tx = store.begin().await?;
    let user = match store::users::by_name(&mut tx, &name).await? {
        Some(user) => user,
        None => {
            let role = if store::users::count(&mut tx).await? == 0 { Role::FinanceManager } else { Role::Accountant };
            store::users::set_role(&mut tx, &name, role).await?;
            audit::record(&mut tx, &name, "user.create", "user", &name, None, json!({"role": role})).await?;
            User { name: name.clone(), role }
        }
    };
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
