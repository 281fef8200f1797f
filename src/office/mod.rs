//! Office: an office's SQLite file moved onto its shared PostgreSQL server, everything copied and
//! then checked (every table's count, every student's position) before it is kept.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::store::{self, Store, audit};
use crate::{Error, Result};

/// What a move copied and checked.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub target: String,
    /// Rows copied, per table.
    pub tables: BTreeMap<&'static str, u64>,
    /// Students whose account position was compared (all of them), equal on both.
    pub positions_checked: usize,
}

/// Copies the file behind `source` into the empty database behind `target` (a server), in one
/// transaction: ids, numbering series and the audit log included. Refuses a target that holds
/// students, requests or audit lines. Before it commits, every table must hold as many rows as
/// the file's; after, every student's account position (all five tables and the summary) must be
/// the same on both engines, else the error names the first student that differs. Audited on the
/// server.
pub async fn move_to_server(source: &Store, target: &Store, actor: &str) -> Result<Moved> {
    if source.path().is_none() {
        return Err(Error::Invalid("la source doit être un fichier SQLite".into()));
    }
    let shown = target.location().display();
    let mut tx = target.begin().await?;
    let held = store::transfer::occupied(&mut tx).await?;
    if held > 0 {
        return Err(Error::Invalid(format!(
            "{shown} n'est pas vide (il a déjà des étudiants, des demandes ou un journal) : rien n'a été copié"
        )));
    }
    let mut from = source.read().await?;
    let tables = store::transfer::copy(&mut from, &mut tx).await?;
    for table in store::transfer::TABLES {
        let (a, b) = (store::transfer::count(&mut from, table).await?, store::transfer::count(&mut tx, table).await?);
        if a != b {
            return Err(Error::Invalid(format!(
                "{table} : {a} lignes dans le fichier, {b} copiées ; rien n'a été gardé"
            )));
        }
    }
    drop(from);
    audit::record(&mut tx, actor, "office.move", "database", target.location().name(), None, json!({"tables": tables}))
        .await?;
    tx.commit().await?;
    let students = crate::ledger::list_students(source, None, 0, i64::MAX).await?;
    for s in &students {
        let a = crate::ledger::account_position(source, &s.number).await?;
        let b = crate::ledger::account_position(target, &s.number).await?;
        let (a, b) = (serde_json::to_value(&a).expect("json"), serde_json::to_value(&b).expect("json"));
        if a != b {
            return Err(Error::Invalid(format!(
                "la position de l'étudiant {} diffère après la copie : le serveur doit être vidé et la copie refaite",
                s.number
            )));
        }
    }
    Ok(Moved { target: shown, tables, positions_checked: students.len() })
}

/// Opens the office's server as `login`, for the window's start screen: `server` is its address
/// (`postgres://host[:port]/db`, any user or password in it is replaced), the password is used
/// for this connection only and never stored. The login must be a Régie login (created by `regie
/// users add` on a server prepared by `regie server setup`): its database role is the user's role.
pub async fn connect(server: &str, login: &str, password: &str) -> Result<(Store, crate::users::User)> {
    let login = crate::users::parse_name(login)?;
    let Some((scheme, rest)) = server.trim().split_once("://") else {
        return Err(Error::Invalid(format!("{server} : adresse de serveur attendue (postgres://hôte/base)")));
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "postgres" | "postgresql") {
        return Err(Error::Invalid(format!("{server} : adresse de serveur attendue (postgres://hôte/base)")));
    }
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let url = format!("postgres://{}:{}@{host}", userinfo(&login), userinfo(password));
    let store = Store::open_at(store::Location::Server(url)).await?;
    let signed = store::server::login(&mut *store.read().await?).await?;
    match signed {
        Some((name, role)) => Ok((store, crate::users::User { name, role })),
        None => Err(Error::Forbidden(format!(
            "{login} n'est pas un compte Régie de ce serveur (regie server setup, puis regie users add)"
        ))),
    }
}

/// Percent-encodes a URL's user or password: everything but unreserved characters.
fn userinfo(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_with_any_character_survives_the_url() {
        assert_eq!(userinfo("p@ss:wörd/1"), "p%40ss%3Aw%C3%B6rd%2F1");
        assert_eq!(userinfo("claire_2"), "claire_2");
    }
}
