//! The append-only audit log: who, when, what, why, for every money-changing action.

use serde::Serialize;
use serde_json::Value;

use super::Conn;
use crate::Result;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub reason: Option<String>,
    pub details: String,
}

/// Appends one line. Called inside the transaction of the action it records, so that the
/// action and its record commit or roll back together.
pub async fn record(
    conn: &mut Conn,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    reason: Option<&str>,
    details: impl Serialize,
) -> Result<()> {
    let details = serde_json::to_string(&details)
        .map_err(|e| crate::Error::Invalid(format!("détails d'audit de {action} illisibles: {e}")))?;
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(entity_id.to_string())
    .bind(reason)
    .bind(&details)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Appends one line per action of a batch (`entity_id`, `reason`, `details`), the same as
/// `record` would one by one, in multi-row statements.
pub async fn record_many(
    conn: &mut Conn,
    actor: &str,
    action: &str,
    entity: &str,
    lines: &[(String, Option<&str>, Value)],
) -> Result<()> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for chunk in lines.chunks(2000) {
        on!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, reason, details) ",
            );
            q.push_values(chunk, |mut b, (id, reason, details)| {
                b.push_bind(&at)
                    .push_bind(actor)
                    .push_bind(action)
                    .push_bind(entity)
                    .push_bind(id)
                    .push_bind(*reason)
                    .push_bind(details.to_string());
            });
            q.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The last record's id (0 when none): what changes whenever anything is recorded.
pub async fn last_id(conn: &mut Conn) -> Result<i64> {
    Ok(on!(conn, |c| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetch_one(c).await)?)
}

pub async fn list(conn: &mut Conn, entity: Option<&str>) -> Result<Vec<AuditEntry>> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, at, actor, action, entity, entity_id, reason, details FROM audit_log
         WHERE $1 IS NULL OR entity = $1 ORDER BY id",
    )
    .bind(entity)
    .fetch_all(c)
    .await)?)
}
