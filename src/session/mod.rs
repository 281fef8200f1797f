//! Offline sessions: a file that takes the statement lines to review away from the office, and a
//! check-in that replays its decisions in the office as the same actions, each one re-checked.
//!
//! Nothing is merged row by row: the office applies a decision only if the line and the
//! installments it pays are as the session saw them, else reports a conflict and changes nothing.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::bank::matching::{LineStatus, Suggestion};
use crate::money::Money;
use crate::store::{self, Store, audit, session as sql};
use crate::{Error, Result};

/// What a check-out took.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedOut {
    pub session: String,
    pub file: String,
    pub lines: usize,
    pub students: usize,
    pub installments: usize,
}

/// The session a database is, when it is a session file: the window says so.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SessionInfo {
    pub name: String,
    pub office: String,
    pub checked_out_at: String,
    pub checked_out_by: String,
    /// Decisions taken on the file so far, that a check-in will replay.
    #[ts(type = "number")]
    pub decisions: i64,
}

/// A decision the office did not apply: why, and what the office did meanwhile.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub line: i64,
    pub reason: String,
    pub office: String,
}

/// What a check-in did.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedIn {
    pub session: String,
    pub applied: usize,
    pub already_applied: usize,
    pub conflicts: Vec<Conflict>,
}

/// A session as the office lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub name: String,
    pub file: String,
    pub checked_out_at: String,
    pub checked_out_by: String,
    pub status: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub conflicts: Vec<Conflict>,
}

/// The line statuses a check-out takes by default: what still needs deciding.
pub const DEFAULT_LINES: [LineStatus; 2] = [LineStatus::ToReview, LineStatus::Unmatched];

/// A session's name: when it was taken, by whom, and a few bits of the clock so that two
/// check-outs in one second differ.
fn session_name(now: chrono::DateTime<chrono::Utc>, actor: &str) -> String {
    let who: String = actor.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    let salt = (now.timestamp_subsec_nanos() ^ std::process::id()) & 0xffff;
    format!("S{}-{}-{salt:04x}", now.format("%Y%m%d-%H%M%S"), if who.is_empty() { "x" } else { &who })
}

/// Writes a session file at `out` (a new SQLite file): the lines of `statuses` (of `statement`,
/// when given) not already out in another session, every student, the ledger of those who may
/// be concerned (those with an open installment, those the lines suggest or already pay), the
/// settings and grid the matcher needs, the session's identity and the version of
/// each line and installment it took. In the office the lines are marked as taken (not locked).
/// One office transaction, audited; a file that exists already is refused.
pub async fn checkout(
    office: &Store,
    out: &Path,
    statuses: &[LineStatus],
    statement: Option<i64>,
    actor: &str,
) -> Result<CheckedOut> {
    if out.exists() {
        return Err(Error::Invalid(format!(
            "{} existe déjà : une session s'écrit dans un nouveau fichier",
            out.display()
        )));
    }
    let mut tx = office.begin().await?;
    if sql::origin(&mut tx).await?.is_some() {
        return Err(Error::Invalid("cette base est déjà une session : on ne sort une session que du bureau".into()));
    }
    let codes: Vec<&'static str> = statuses.iter().map(|s| s.code()).collect();
    let lines = sql::takeable_lines(&mut tx, &codes, statement).await?;
    if lines.is_empty() {
        return Err(Error::Invalid("aucune ligne à sortir : toutes sont décidées ou déjà dans une session".into()));
    }
    let line_ids: Vec<i64> = lines.iter().map(|(id, _, _)| *id).collect();
    let now = chrono::Utc::now();
    let name = session_name(now, actor);
    let at = now.to_rfc3339();
    let file_name = out.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    sql::insert(&mut tx, &name, &file_name, &at, actor).await?;
    for (id, links, assigned) in &lines {
        sql::take_line(&mut tx, &name, *id, *links, *assigned).await?;
    }

    // Who may be concerned: the owing students, those the lines suggest, those they already pay.
    let mut students: Vec<i64> = sql::students_owing(&mut tx).await?;
    students.extend(sql::line_students(&mut tx, &line_ids).await?);
    let mut suggested: Vec<String> = Vec::new();
    for text in store::bank::suggestions_of(&mut tx, &line_ids).await? {
        // Suggestions the import wrote; one that does not decode only suggests no one.
        let s: Vec<Suggestion> = serde_json::from_str(&text).unwrap_or_default();
        suggested.extend(s.into_iter().map(|s| s.student_number));
    }
    students.extend(sql::student_ids(&mut tx, &suggested).await?);
    let students: Vec<i64> = students.into_iter().collect::<HashSet<_>>().into_iter().collect();
    let invoices = sql::ids_where(&mut tx, "invoices", "student_id", &students).await?;
    let payments = sql::ids_where(&mut tx, "payments", "student_id", &students).await?;
    let credit_notes = sql::ids_where(&mut tx, "credit_notes", "invoice_id", &invoices).await?;
    let statements: Vec<i64> = store::bank::statements_of(&mut tx, &line_ids).await?;

    let file = Store::open(out).await?;
    let written = async {
        let mut f = file.begin().await?;
        for (table, _) in sql::COPIED.iter().rev() {
            sql::clear(&mut f, table).await?;
        }
        for (table, column) in sql::COPIED {
            let among: &[i64] = match column {
                None => &[],
                Some("student_id") => &students,
                Some("invoice_id") => &invoices,
                Some("payment_id") => &payments,
                Some("credit_note_id") => &credit_notes,
                Some("id") if table == "statements" => &statements,
                Some(_) => &line_ids,
            };
            sql::copy_rows(&mut tx, &mut f, table, column, among).await?;
        }
        store::bank::recount_lines(&mut f).await?;
        sql::forget_desk_user(&mut f).await?;
        let origin = sql::Origin {
            name: name.clone(),
            office: office.location().display(),
            checked_out_at: at.clone(),
            checked_out_by: actor.to_string(),
        };
        sql::insert_origin(&mut f, &origin).await?;
        for (id, links, assigned) in &lines {
            sql::insert_version(&mut f, "line", *id, &format!("{links}:{assigned}")).await?;
        }
        let mut installments = 0;
        for s in &students {
            for o in store::ledger::open_installments(&mut f, *s).await? {
                sql::insert_version(&mut f, "installment", o.id, &o.left_to_pay.cents().to_string()).await?;
                installments += 1;
            }
        }
        audit::record(&mut f, actor, "session.open", "session", &name, None, json!({"office": origin.office})).await?;
        f.commit().await?;
        Ok::<usize, Error>(installments)
    }
    .await;
    file.close().await;
    let installments = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    audit::record(
        &mut tx,
        actor,
        "session.checkout",
        "session",
        &name,
        None,
        json!({"file": file_name, "lines": line_ids, "students": students.len(), "statement": statement}),
    )
    .await?;
    if let Err(e) = tx.commit().await {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(CheckedOut {
        session: name,
        file: out.display().to_string(),
        lines: line_ids.len(),
        students: students.len(),
        installments,
    })
}

/// Refuses, on a session file, an action whose effect would never reach the office: only the
/// reconciliation of the session's own lines comes back (imports, decisions on requests,
/// credit notes, exemptions, reminders and settings are the office's).
pub(crate) async fn office_only(conn: &mut store::Conn) -> Result<()> {
    match sql::origin(conn).await? {
        Some(o) => Err(Error::Invalid(format!(
            "impossible dans la session hors ligne {} : seuls les rapprochements de ses lignes reviennent au bureau ({})",
            o.name, o.office
        ))),
        None => Ok(()),
    }
}

/// `checkout` into a new file of `dir` named after the moment (`session-20261201-0930.sqlite`):
/// the window's way, which names no path itself.
pub async fn checkout_into(office: &Store, dir: &Path, actor: &str) -> Result<CheckedOut> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut out = dir.join(format!("session-{stamp}.sqlite"));
    for n in 2.. {
        if !out.exists() {
            break;
        }
        out = dir.join(format!("session-{stamp}-{n}.sqlite"));
    }
    checkout(office, &out, &DEFAULT_LINES, None, actor).await
}

/// `checkout_into` the exports folder's `Sessions` (Documents/Régie/Sessions), for the window.
pub async fn checkout_to_exports(office: &Store, actor: &str) -> Result<CheckedOut> {
    checkout_into(office, &crate::exports_dir()?.join("Sessions"), actor).await
}

/// `checkin` of a session file the window sent (a private copy, removed once checked in).
pub async fn checkin_uploaded(
    office: &Store,
    uploads: &crate::uploads::Uploads,
    token: u64,
    actor: &str,
) -> Result<CheckedIn> {
    uploads.used(token, |path| async move { checkin(office, &path, actor).await }).await
}

/// The session this database is, if it is a session file.
pub async fn info(store: &Store) -> Result<Option<SessionInfo>> {
    let mut conn = store.read().await?;
    let Some(o) = sql::origin(&mut conn).await? else { return Ok(None) };
    let decisions = sql::decisions(&mut conn).await?.len() as i64;
    Ok(Some(SessionInfo {
        name: o.name,
        office: o.office,
        checked_out_at: o.checked_out_at,
        checked_out_by: o.checked_out_by,
        decisions,
    }))
}

/// Replays the decisions of the session file at `file` in the office, in order, each in its own
/// transaction as the same action (`bank::confirm`, `bank::undo`), audited with the session, the
/// laptop's user and `actor`. A decision is applied only if its line carries exactly what it
/// carried at check-out plus what this session already brought back, and, for a confirmation,
/// if the office would allocate the payment to the same installments for the same amounts as
/// the laptop did; otherwise it is a conflict, with the reason and what the office did. Decisions
/// already applied are skipped: a second check-in applies nothing new. The session's lines are
/// released.
pub async fn checkin(office: &Store, file: &Path, actor: &str) -> Result<CheckedIn> {
    if !file.is_file() {
        return Err(Error::Invalid(format!("{} : fichier de session introuvable", file.display())));
    }
    if !sql::is_session_file(file).await? {
        return Err(Error::Invalid(format!("{} n'est pas une session (regie session checkout)", file.display())));
    }
    // A laptop's file is input like any other: looked at before anything of it runs.
    if let Some(what) = sql::foreign_schema(file).await? {
        return Err(Error::Invalid(format!("{} : session refusée, {what}", file.display())));
    }
    let laptop = Store::open(file).await?;
    let (origin, decisions) = {
        let mut c = laptop.read().await?;
        let Some(origin) = sql::origin(&mut c).await? else {
            return Err(Error::Invalid(format!("{} n'est pas une session (regie session checkout)", file.display())));
        };
        let decisions = sql::decisions(&mut c).await?;
        (origin, decisions)
    };
    let session = {
        let mut c = office.read().await?;
        sql::by_name(&mut c, &origin.name).await?
    };
    let Some(session) = session else {
        return Err(Error::Invalid(format!("la session {} n'a pas été sortie de ce bureau", origin.name)));
    };
    if session.status == "discarded" {
        return Err(Error::Conflict(format!(
            "la session {} a été abandonnée au bureau par {} : ses décisions ne peuvent plus revenir",
            origin.name,
            session.closed_by.unwrap_or_default()
        )));
    }
    let mut out = CheckedIn { session: origin.name.clone(), applied: 0, already_applied: 0, conflicts: Vec::new() };
    for d in &decisions {
        let mut tx = office.begin().await?;
        if sql::returned(&mut tx, &origin.name, d.seq).await?.as_deref() == Some("applied") {
            out.already_applied += 1;
            tx.rollback().await?;
            continue;
        }
        let checked = replay(&mut tx, &laptop, &origin, &session.checked_out_at, d, actor).await;
        let now = chrono::Utc::now().to_rfc3339();
        match checked {
            Ok(links) => {
                let back = sql::Return {
                    session: &origin.name,
                    seq: d.seq,
                    line_id: d.line_id,
                    applied: true,
                    links,
                    reason: None,
                    office: None,
                    at: &now,
                    by: actor,
                };
                sql::record_return(&mut tx, &back).await?;
                audit::record(
                    &mut tx,
                    actor,
                    "session.apply",
                    "statement_line",
                    d.line_id,
                    d.reason.as_deref(),
                    json!({"session": origin.name, "seq": d.seq, "action": d.action, "laptop_user": d.actor,
                           "decided_at": d.at, "student": d.student_number, "amount_cents": d.amount_cents}),
                )
                .await?;
                tx.commit().await?;
                out.applied += 1;
            }
            Err(Replay::Conflict { reason, office: did }) => {
                // Nothing of the decision stays; the finding is kept for the window.
                tx.rollback().await?;
                let mut tx = office.begin().await?;
                let back = sql::Return {
                    session: &origin.name,
                    seq: d.seq,
                    line_id: d.line_id,
                    applied: false,
                    links: 0,
                    reason: Some(&reason),
                    office: Some(&did),
                    at: &now,
                    by: actor,
                };
                sql::record_return(&mut tx, &back).await?;
                tx.commit().await?;
                out.conflicts.push(Conflict { line: d.line_id, reason, office: did });
            }
            Err(Replay::Failed(e)) => return Err(e),
        }
    }
    laptop.close().await;
    let mut tx = office.begin().await?;
    let now = chrono::Utc::now().to_rfc3339();
    if session.status == "out" {
        sql::close(&mut tx, &origin.name, "checked_in", &now, actor).await?;
    }
    audit::record(
        &mut tx,
        actor,
        "session.checkin",
        "session",
        &origin.name,
        None,
        json!({"file": file.file_name().map(|f| f.to_string_lossy().into_owned()), "laptop_user": origin.checked_out_by,
               "applied": out.applied, "already_applied": out.already_applied, "conflicts": out.conflicts}),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// Why a decision was not applied.
enum Replay {
    /// The office no longer is as the session saw it: nothing applied, said to the accountant.
    Conflict { reason: String, office: String },
    /// The office could not be read or written: the check-in stops.
    Failed(Error),
}

impl From<Error> for Replay {
    fn from(e: Error) -> Self {
        Replay::Failed(e)
    }
}

/// Checks one decision against the office and applies it in `tx`; returns the links it added to
/// its line.
async fn replay(
    tx: &mut store::Conn,
    laptop: &Store,
    origin: &sql::Origin,
    since: &str,
    d: &sql::Decision,
    actor: &str,
) -> std::result::Result<i64, Replay> {
    let Some((links_then, assigned_then)) = sql::taken(tx, &origin.name, d.line_id).await? else {
        return Err(Replay::Conflict {
            reason: format!("la ligne {} n'a pas été sortie avec cette session", d.line_id),
            office: String::new(),
        });
    };
    let expected = links_then + sql::returned_links(tx, &origin.name, d.line_id).await?;
    let links_now = sql::line_links(tx, d.line_id).await?;
    if links_now != expected {
        let did = describe_office(tx, d.line_id, since).await?;
        return Err(Replay::Conflict {
            reason: format!(
                "la ligne {} a été traitée au bureau depuis la sortie de la session (elle portait {})",
                d.line_id,
                Money::from_cents(assigned_then).to_french()
            ),
            office: did,
        });
    }
    let outcome = match d.action.as_str() {
        "confirm" => {
            let (Some(number), Some(cents), Some(payment)) = (&d.student_number, d.amount_cents, d.payment_id) else {
                return Err(Replay::Failed(Error::Invalid(format!("décision {} incomplète dans la session", d.seq))));
            };
            let amount = Money::from_cents(cents);
            let offline = {
                let mut c = laptop.read().await?;
                sql::allocations_of(&mut c, payment).await?
            };
            let number_ok = crate::ledger::StudentNumber::parse(number).map_err(Error::from)?;
            let student = store::students::by_number(tx, &number_ok)
                .await?
                .ok_or_else(|| Error::StudentNotFound(number.clone()))?;
            let here: Vec<(i64, i64)> = crate::ledger::allocation_preview(tx, student.id, amount)
                .await?
                .into_iter()
                .map(|(i, m)| (i, m.cents()))
                .collect();
            let mut sorted = here.clone();
            sorted.sort();
            if sorted != offline {
                return Err(Replay::Conflict {
                    reason: format!(
                        "les échéances de {number} ont changé au bureau : le règlement de {} irait {} au lieu de {}",
                        amount.to_french(),
                        parts_text(&sorted),
                        parts_text(&offline)
                    ),
                    office: describe_student(tx, student.id).await?,
                });
            }
            crate::bank::confirm_in(tx, d.line_id, number, Some(amount), actor).await.map(|_| 1)
        }
        "undo" => {
            let reason = d.reason.clone().unwrap_or_else(|| "annulation hors ligne".into());
            crate::bank::undo_in(tx, d.line_id, &reason, d.date, actor).await.map(|n| n as i64)
        }
        "hold" => {
            let reason = d.reason.clone().unwrap_or_else(|| "mise en attente hors ligne".into());
            crate::bank::hold_in(tx, d.line_id, &reason, &d.actor).await.map(|()| 0)
        }
        other => return Err(Replay::Failed(Error::Invalid(format!("décision « {other} » inconnue dans la session")))),
    };
    match outcome {
        Ok(links) => Ok(links),
        // A refusal of the action itself (the line no longer has anything to undo, a student
        // gone): the decision no longer holds.
        Err(e @ (Error::Invalid(_) | Error::Conflict(_) | Error::StudentNotFound(_) | Error::LineNotFound(_))) => {
            Err(Replay::Conflict { reason: e.to_string(), office: describe_office(tx, d.line_id, since).await? })
        }
        Err(e) => Err(Replay::Failed(e)),
    }
}

fn parts_text(parts: &[(i64, i64)]) -> String {
    if parts.is_empty() {
        return "en avoir (aucune échéance ouverte)".into();
    }
    let each: Vec<String> =
        parts.iter().map(|(i, c)| format!("{} sur l'échéance {i}", Money::from_cents(*c).to_french())).collect();
    each.join(", ")
}

/// What the office did on a line since the session left, from the audit log.
async fn describe_office(tx: &mut store::Conn, line_id: i64, since: &str) -> Result<String> {
    let history = sql::line_history(tx, line_id, since).await?;
    if history.is_empty() {
        return Ok("rien d'enregistré au bureau sur cette ligne".into());
    }
    let each: Vec<String> = history
        .iter()
        .map(|(at, actor, action)| {
            let when = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M").to_string())
                .unwrap_or_else(|_| at.clone());
            let what = match action.as_str() {
                "bank.confirm" => "rapprochée",
                "bank.undo" => "rapprochement annulé",
                "bank.hold" => "mise en attente",
                "session.apply" => "décision d'une session",
                other => other,
            };
            format!("{what} par {actor} le {when}")
        })
        .collect();
    Ok(each.join(" ; "))
}

/// What the student owes in the office now, for a conflict on their installments.
async fn describe_student(tx: &mut store::Conn, student_id: i64) -> Result<String> {
    let open = store::ledger::open_installments(tx, student_id).await?;
    if open.is_empty() {
        return Ok("plus aucune échéance ouverte au bureau".into());
    }
    let each: Vec<String> =
        open.iter().map(|o| format!("échéance {} : reste {}", o.id, o.left_to_pay.to_french())).collect();
    Ok(each.join(", "))
}

/// Gives up a session: its lines are released in the office, and its file can no longer be
/// checked in. Audited.
pub async fn discard(office: &Store, name: &str, reason: &str, actor: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid("un motif est obligatoire pour abandonner une session".into()));
    }
    let mut tx = office.begin().await?;
    let Some(s) = sql::by_name(&mut tx, name).await? else {
        return Err(Error::Invalid(format!("session {name} inconnue de ce bureau")));
    };
    if s.status != "out" {
        return Err(Error::Conflict(format!("la session {name} est déjà close ({})", s.status)));
    }
    sql::close(&mut tx, name, "discarded", &chrono::Utc::now().to_rfc3339(), actor).await?;
    audit::record(&mut tx, actor, "session.discard", "session", name, Some(reason), json!({"file": s.file})).await?;
    tx.commit().await?;
    Ok(())
}

/// The office's sessions, newest first, with the conflicts their check-ins left.
pub async fn list(office: &Store) -> Result<Vec<SessionView>> {
    let mut conn = office.read().await?;
    let mut out = Vec::new();
    for s in sql::list(&mut conn).await? {
        let conflicts = sql::conflicts(&mut conn, &s.name)
            .await?
            .into_iter()
            .map(|(line, reason, office)| Conflict { line, reason, office })
            .collect();
        out.push(SessionView {
            name: s.name,
            file: s.file,
            checked_out_at: s.checked_out_at,
            checked_out_by: s.checked_out_by,
            status: s.status,
            closed_at: s.closed_at,
            closed_by: s.closed_by,
            conflicts,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_say_when_and_who_and_differ() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:05.000123456Z").unwrap().to_utc();
        let a = session_name(t, "Claire Comptable");
        assert!(a.starts_with("S20261201-093005-ClaireCompta-"), "{a}");
        let b = session_name(t + chrono::Duration::nanoseconds(1), "Claire Comptable");
        assert_ne!(a, b);
        assert!(session_name(t, "é").contains("-x-"));
    }
}
