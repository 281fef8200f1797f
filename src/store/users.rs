//! Storage of user profiles and desktop preferences.

use super::Conn;
use crate::Result;
use crate::users::User;

pub async fn ensure(conn: &mut Conn, name: &str) -> Result<User> {
    sqlx::query("INSERT INTO users (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut *conn)
        .await?;
    Ok(by_name(conn, name).await?.expect("just ensured"))
}

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<User>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT name, role FROM users WHERE name = $1").bind(name).fetch_optional(conn).await?;
    Ok(row.map(|(name, role)| User { name, role }))
}

pub async fn set_pref(conn: &mut Conn, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_prefs (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn pref(conn: &mut Conn, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT value FROM app_prefs WHERE key = $1").bind(key).fetch_optional(conn).await?;
    Ok(row.map(|(v,)| v))
}
