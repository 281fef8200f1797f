//! Storage of user profiles, their roles, and desktop preferences.

use super::{Code, Conn};
use crate::Result;
use regie_rules::users::{Role, User};

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<User>> {
    let row: Option<(String, Code<Role>)> =
        on!(conn, |c| sqlx::query_as("SELECT name, role FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(c)
            .await)?;
    Ok(row.map(|(name, Code(role))| User { name, role }))
}

/// Every profile of this database, by name.
pub async fn list(conn: &mut Conn) -> Result<Vec<User>> {
    let rows: Vec<(String, Code<Role>)> =
        on!(conn, |c| sqlx::query_as("SELECT name, role FROM users ORDER BY name").fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(name, Code(role))| User { name, role }).collect())
}

pub async fn role_of(conn: &mut Conn, name: &str) -> Result<Option<Role>> {
    let row: Option<(Code<Role>,)> =
        on!(conn, |c| sqlx::query_as("SELECT role FROM users WHERE name = $1").bind(name).fetch_optional(c).await)?;
    Ok(row.map(|(r,)| r.0))
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(c).await)?;
    Ok(n)
}

pub async fn count_with_role(conn: &mut Conn, role: Role) -> Result<i64> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = $1")
        .bind(role.code())
        .fetch_one(c)
        .await)?;
    Ok(n)
}

/// Creates the profile with `role`, or changes its role.
pub async fn set_role(conn: &mut Conn, name: &str, role: Role) -> Result<()> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET role = excluded.role",
    )
    .bind(name)
    .bind(role.code())
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn set_pref(conn: &mut Conn, key: &str, value: &str) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO app_prefs (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn pref(conn: &mut Conn, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        on!(conn, |c| sqlx::query_as("SELECT value FROM app_prefs WHERE key = $1").bind(key).fetch_optional(c).await)?;
    Ok(row.map(|(v,)| v))
}
