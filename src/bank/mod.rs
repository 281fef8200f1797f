//! Bank: imports the office's bank statements (CSV, xlsx, xls, ods) all-or-nothing and idempotently,
//! matches each credit line to the student it pays, and turns confirmed matches into payments.

pub use regie_rules::bank::*;

use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use matching::{Index, LineStatus, MatchRules, Suggestion, alias_key, parse_label};
use table::Mapping;

use crate::ledger::{self, PaymentMethod, StudentNumber};
use crate::money::Money;
use crate::page::{Page, PageQuery, given};
use crate::sheets;
use crate::sheets::SheetError;
use crate::store::{self, Store, audit};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub rows: usize,
    pub new: usize,
    pub already_known: usize,
    pub auto_matched: usize,
    pub to_review: usize,
    pub unmatched: usize,
    /// Card remittance lines ("REMISE CB"): tied to the gateway's remittances, never to students.
    pub remittances: usize,
    pub format: StatementFormat,
}

/// A statement file as read, whatever its format.
struct StatementFile {
    name: String,
    sheet: Option<String>,
    format: StatementFormat,
    lines: Vec<table::ParsedLine>,
}

/// Reads a statement: in a bank format when its content says so (the format fixes the columns),
/// else as a spreadsheet through the columns asked for.
/// `mapping`: the spreadsheet's columns, detected when `None`.
fn read_statement(path: &Path, mapping: Option<Mapping>) -> Result<StatementFile> {
    if let Some((format, lines)) = bank_file(path)? {
        return Ok(StatementFile { name: file_name(path), sheet: None, format, lines: lines? });
    }
    let sheet = sheets::read(path)?;
    let mapping = match mapping {
        Some(mapping) => mapping,
        None => table::detect(&sheet)?,
    };
    let lines = table::read_lines(&sheet, &mapping)?;
    Ok(StatementFile { name: sheet.file, sheet: sheet.sheet, format: StatementFormat::Sheet, lines })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// A CAMT.053 or CFONB 120 file's format and lines (or why they cannot be read); `None` for
/// anything else. Whatever the extension: the first bytes tell. At most `camt::MAX_BYTES` read.
#[allow(clippy::type_complexity)]
fn bank_file(
    path: &Path,
) -> Result<Option<(StatementFormat, std::result::Result<Vec<table::ParsedLine>, SheetError>)>> {
    use std::io::Read as _;
    let name = file_name(path);
    let unreadable = |e: std::io::Error| SheetError {
        file: name.clone(),
        sheet: None,
        row: None,
        column: None,
        message: format!("fichier illisible ({e})"),
    };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    (&mut f).take(4096).read_to_end(&mut bytes).map_err(unreadable)?;
    let format = StatementFormat::of(&bytes);
    if format == StatementFormat::Sheet {
        return Ok(None);
    }
    // One byte past the limit is enough for the parser to refuse the file by its size.
    f.take(camt::MAX_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    let lines = match format {
        StatementFormat::Cfonb120 => cfonb::parse(&bytes, &name),
        _ => camt::parse(&bytes, &name),
    };
    Ok(Some((format, lines)))
}

/// How to find the columns: detect them, or a mapping given now (and saved under a name), or
/// a profile saved before.
pub enum Columns<'a> {
    Detect,
    Profile(&'a str),
    Mapping { mapping: Mapping, save_as: Option<&'a str> },
}

/// Where a long import stands, for a progress bar.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress {
    /// `read` (the file), `index` (what the ledger owes, indexed), `match`, `save`, `done`.
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
}

impl<'a> Columns<'a> {
    /// A saved profile if named, else the mapping given (saved under `save_as` if named), else detection.
    pub fn choose(profile: Option<&'a str>, mapping: Option<Mapping>, save_as: Option<&'a str>) -> Columns<'a> {
        match (profile, mapping) {
            (Some(p), _) => Columns::Profile(p),
            (None, Some(mapping)) => Columns::Mapping { mapping, save_as },
            (None, None) => Columns::Detect,
        }
    }
}

/// A column mapping saved under `name` (statements' and gateway exports' profiles alike): unknown
/// or undecodable is an error naming it, never a guess.
pub(crate) fn saved_mapping<T: serde::de::DeserializeOwned>(name: &str, saved: Option<String>) -> Result<T> {
    let json = saved.ok_or_else(|| Error::Invalid(format!("profil de colonnes inconnu « {name} »")))?;
    serde_json::from_str(&json).map_err(|e| Error::Invalid(format!("profil « {name} » illisible: {e}")))
}

/// Imports a statement file: every line or none; lines already known (same fingerprint) are
/// counted, not added; new credit lines are matched, the clear ones turned into payments.
pub async fn import_file(store: &Store, path: &Path, columns: Columns<'_>, actor: &str) -> Result<ImportSummary> {
    import_file_with(store, path, columns, actor, &|_| {}).await
}

/// `import_file`, reporting its progress every thousand lines.
pub async fn import_file_with(
    store: &Store,
    path: &Path,
    columns: Columns<'_>,
    actor: &str,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ImportSummary> {
    progress(Progress { phase: "read", done: 0, total: 0 });
    let given = match &columns {
        Columns::Detect => None,
        Columns::Profile(name) => {
            Some(saved_mapping(name, store::bank::profile(&mut *store.read().await?, name).await?)?)
        }
        Columns::Mapping { mapping, .. } => Some(mapping.clone()),
    };
    // The file is read, and its labels parsed, on the other core while the database is read and
    // indexed (50,000 lines: about 0.3 s and 0.2 s).
    let reading = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let file = read_statement(&path, given)?;
            let (labels, canonical) = labels(&file.lines);
            let prints = table::fingerprints_of(&file.lines, &canonical);
            Ok((file, prints, labels))
        })
    };
    // Matching reads a snapshot and runs without the write lock; the write transaction then
    // checks that nothing was recorded since (the audit log's last record), else matches again.
    let mut snap = ledger_snapshot(&mut *store.read().await?).await?;
    let (file, prints, labels) =
        reading.await.map_err(|e| Error::Invalid(format!("{}: fichier illisible ({e})", path.display())))??;
    let lines = file.lines;
    let total = lines.len();
    progress(Progress { phase: "index", done: 0, total });
    let (from, to) = (lines.iter().map(|l| l.date).min(), lines.iter().map(|l| l.date).max());
    snap.see(&mut *store.read().await?, from.zip(to), file.format).await?;
    let mut decided = decide(&lines, &labels, &prints, &mut snap, progress);

    // Every reference it writes is read in this transaction (or unchanged since, by the audit
    // log), or numbered by it.
    let mut tx = store.begin_bulk().await?;
    crate::session::office_only(&mut tx).await?;
    if store::audit::last_id(&mut tx).await? != snap.version {
        snap = snapshot(&mut tx, from.zip(to), file.format).await?;
        decided = decide(&lines, &labels, &prints, &mut snap, progress);
    }
    if let Columns::Mapping { mapping, save_as: Some(name) } = &columns {
        store::bank::save_profile(&mut tx, name, &serde_json::to_string(mapping).expect("mapping serializes")).await?;
    }
    let statement =
        store::bank::insert_statement(&mut tx, &file.name, file.sheet.as_deref(), file.format, actor, lines.len())
            .await?;
    let mut line_id = store::bank::last_line_id(&mut tx).await?;
    let mut payment_id = store::ledger::last_payment_id(&mut tx).await?;
    let mut summary =
        ImportSummary { file: file.name.clone(), rows: lines.len(), format: file.format, ..decided.summary };
    let mut new_lines = Vec::with_capacity(decided.lines.len());
    let mut payments = Vec::new();
    let mut links = Vec::new();
    let mut matched = Vec::new();
    for d in decided.lines {
        let line = &lines[d.k];
        line_id += 1;
        if let Some(pay) = d.payment {
            payment_id += 1;
            payments.push(ledger::BulkPayment {
                id: payment_id,
                student_id: pay.student_id,
                date: line.date,
                amount: line.amount,
                method: PaymentMethod::Transfer,
                reference: &line.label,
                allocations: pay.allocations,
            });
            links.push((line_id, payment_id));
            matched.push(MatchedDetail {
                amount: line.amount,
                line: line_id,
                payment: payment_id,
                score: d.score,
                student: pay.number,
            });
        }
        new_lines.push(store::bank::NewLine {
            id: line_id,
            fingerprint: &prints[d.k],
            row: line.row,
            date: line.date,
            value_date: line.value_date,
            label: &line.label,
            amount: line.amount,
            status: d.status,
            score: d.score,
            reasons: d.reasons,
            suggestions: d.suggestions,
            remittance: d.remittance,
        });
    }
    summary.new = new_lines.len();
    progress(Progress { phase: "save", done: total, total });
    ledger::record_payments_bulk(&mut tx, &payments).await?;
    store::bank::insert_lines_bulk(&mut tx, statement, &new_lines, &links).await?;
    store::bank::set_statement_counts(&mut tx, statement, summary.new, summary.already_known).await?;
    audit::record(
        &mut tx,
        actor,
        "bank.import",
        "statement",
        statement,
        None,
        ImportDetails { auto_matched: &matched, summary: &summary },
    )
    .await?;
    tx.commit().await?;
    // The import stands whatever happens here: lines left out of the index are still found.
    let _ = store.catch_up_line_text(UNINDEXED_AT_MOST).await;
    progress(Progress { phase: "done", done: total, total });
    // Hundreds of thousands of small allocations to give back: on the other core.
    drop((new_lines, payments, matched));
    tokio::task::spawn_blocking(move || drop((lines, prints, labels, snap)));
    Ok(summary)
}

/// How many statement lines may stay out of the text index after an import (a search reads them
/// one by one: about 10 ms for this many); past it, the import adds them (about 0.27 s for this
/// many), and the next opening adds any.
const UNINDEXED_AT_MOST: i64 = 100_000;

/// The audit record of an import (the keys in JSON's order).
#[derive(Serialize)]
struct ImportDetails<'a> {
    auto_matched: &'a [MatchedDetail],
    summary: &'a ImportSummary,
}

/// A line matched and paid by the import.
#[derive(Serialize)]
struct MatchedDetail {
    amount: Money,
    line: i64,
    payment: i64,
    score: Option<i64>,
    student: String,
}

/// What matching needs of the database, read at one point. `version` is the audit log's last
/// record then: every money-changing action and setting leaves one, so an unchanged version
/// means an unchanged ledger.
struct Snapshot {
    version: i64,
    known: std::collections::HashSet<String>,
    /// Lines per (day, cents) read from another format: a movement seen in the spreadsheet is
    /// known when its CAMT.053 or CFONB line comes (and the other way round).
    other_formats: std::collections::HashMap<(NaiveDate, i64), usize>,
    rules: MatchRules,
    index: Index,
    commission_bp: i64,
    remittances: Vec<(String, NaiveDate, Money)>,
    /// The remittances a line ties already (this statement's included, as they are tied).
    credited: std::collections::HashSet<String>,
}

async fn snapshot(
    conn: &mut store::Conn,
    dates: Option<(NaiveDate, NaiveDate)>,
    format: StatementFormat,
) -> Result<Snapshot> {
    let mut snap = ledger_snapshot(conn).await?;
    snap.see(conn, dates, format).await?;
    Ok(snap)
}

/// What is owed and the rules, read before the file's lines are known; `Snapshot::see` then
/// adds the lines already recorded over the file's dates.
async fn ledger_snapshot(conn: &mut store::Conn) -> Result<Snapshot> {
    Ok(Snapshot {
        version: store::audit::last_id(conn).await?,
        known: Default::default(),
        other_formats: Default::default(),
        rules: rules_in(conn).await?,
        index: Index::build(store::bank::payees(conn).await?),
        commission_bp: crate::card::commission_tolerance_bp(conn).await?,
        remittances: store::card::remittance_totals(conn).await?,
        credited: store::bank::credited_remittances(conn).await?,
    })
}

impl Snapshot {
    async fn see(
        &mut self,
        conn: &mut store::Conn,
        dates: Option<(NaiveDate, NaiveDate)>,
        format: StatementFormat,
    ) -> Result<()> {
        if let Some((from, to)) = dates {
            self.known = store::bank::known_fingerprints(conn, from, to).await?;
            self.other_formats = store::bank::counts_of_other_formats(conn, from, to, format).await?;
        }
        Ok(())
    }
}

/// A new line as matching left it, before it has an id: `k` is its rank in the file.
struct Decided {
    k: usize,
    status: LineStatus,
    score: Option<i64>,
    reasons: String,
    suggestions: String,
    remittance: Option<String>,
    payment: Option<AutoPayment>,
}

/// The payment an automatic match makes.
struct AutoPayment {
    student_id: i64,
    number: String,
    allocations: Vec<(i64, Money)>,
}

struct Decisions {
    lines: Vec<Decided>,
    /// The counts (file and rows are filled by the caller).
    summary: ImportSummary,
}

/// A line's label as matching reads it: its words for the student matcher, or the card
/// remittance it announces (`card::remittance_of_line`).
struct ReadLabel {
    label: matching::Label,
    remittance: Option<Option<String>>,
}

/// Each line's label as matching reads it, and as fingerprints do (`table::canonical_label`).
fn labels(lines: &[table::ParsedLine]) -> (Vec<ReadLabel>, Vec<String>) {
    let read = |l: &table::ParsedLine| {
        let canonical = table::canonical_label(&l.label);
        let remittance = crate::card::remittance_of_line(&canonical, l.amount);
        (ReadLabel { label: matching::parse_canonical(&canonical), remittance }, canonical)
    };
    let parse = |lines: &[table::ParsedLine]| lines.iter().map(read).unzip::<_, _, Vec<_>, Vec<_>>();
    if lines.len() < 4096 {
        return parse(lines);
    }
    // Half on a thread of its own: the other core is done reading the database before this is
    // (50,000 lines: over a tenth of a second of parsing).
    let (first, second) = lines.split_at(lines.len() / 2);
    std::thread::scope(|s| {
        let second = s.spawn(|| parse(second));
        let (mut labels, mut canonical) = parse(first);
        let (more_labels, more_canonical) = second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        labels.extend(more_labels);
        canonical.extend(more_canonical);
        (labels, canonical)
    })
}

/// Matches the file's new lines against the snapshot, in file order: a line matched
/// automatically settles its student's installments before the next line is looked at.
fn decide(
    lines: &[table::ParsedLine],
    labels: &[ReadLabel],
    prints: &[String],
    snap: &mut Snapshot,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Decisions {
    let total = lines.len();
    let mut summary = ImportSummary::default();
    let mut out = Vec::new();
    // A remittance a line of the statement names has its line, wherever that line comes: a line
    // without a number, even an earlier one, does not take it.
    for l in labels {
        if let Some(Some(n)) = &l.remittance {
            snap.credited.insert(n.clone());
        }
    }
    for (k, (line, print)) in lines.iter().zip(prints).enumerate() {
        if k % 1000 == 0 {
            progress(Progress { phase: "match", done: k, total });
        }
        if snap.known.contains(print) {
            summary.already_known += 1;
            continue;
        }
        if let Some(n) = snap.other_formats.get_mut(&(line.date, line.amount.cents())).filter(|n| **n > 0) {
            *n -= 1;
            summary.already_known += 1;
            continue;
        }
        // A card remittance confirms transactions the gateway's export recorded: it never goes
        // to the student matcher, and never pays anyone.
        if let Some(number) = labels[k].remittance.clone() {
            let m = crate::card::match_remittance(
                number,
                line.date,
                line.amount,
                &snap.remittances,
                &snap.credited,
                snap.commission_bp,
            );
            if let (true, Some(n)) = (m.known, &m.number) {
                snap.credited.insert(n.clone());
            }
            out.push(Decided {
                k,
                status: if m.known { LineStatus::Matched } else { LineStatus::Unmatched },
                score: None,
                reasons: serde_json::to_string(&m.reasons).expect("a list of strings serializes"),
                suggestions: "[]".into(),
                remittance: Some(m.number.unwrap_or_default()),
                payment: None,
            });
            summary.remittances += 1;
            continue;
        }
        let (status, ranked) = snap.index.suggest_label(&labels[k].label, line.date, line.amount, &snap.rules);
        let best = ranked.first().map(|r| &r.1);
        let suggestions: Vec<&Suggestion> = ranked.iter().map(|r| &r.1).collect();
        let mut decided = Decided {
            k,
            status,
            score: best.map(|b| b.score),
            reasons: serde_json::to_string(&best.map(|b| &b.reasons)).expect("json"),
            // A matched line is explained by its reasons; the ranked list is for lines to review.
            suggestions: if status == LineStatus::Matched {
                "[]".into()
            } else {
                serde_json::to_string(&suggestions).expect("json")
            },
            remittance: None,
            payment: None,
        };
        match status {
            LineStatus::Matched => {
                let payee = &mut snap.index.payees[ranked[0].0 as usize];
                let (allocations, _) = ledger::allocation::spread(payee.open.iter_mut(), line.amount);
                payee.open.retain(|o| o.left.is_positive());
                decided.payment =
                    Some(AutoPayment { student_id: payee.student_id, number: payee.number.clone(), allocations });
                summary.auto_matched += 1;
            }
            LineStatus::ToReview => summary.to_review += 1,
            LineStatus::Unmatched => summary.unmatched += 1,
            LineStatus::Debit => {}
        }
        out.push(decided);
    }
    Decisions { lines: out, summary }
}

/// A statement line as the reconciliation view and the CLI show it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export, rename = "Line")]
pub struct LineView {
    pub id: i64,
    pub date: NaiveDate,
    pub label: String,
    pub amount: Money,
    /// What is not yet turned into payments: nothing on a debit, nor on a card remittance (its
    /// payments came from the gateway's export), which `confirm` refuses.
    pub unassigned: Money,
    pub status: LineStatus,
    pub student_number: Option<String>,
    /// The matched student's name, "LAST First": what the accountant reads.
    pub student_name: Option<String>,
    pub score: Option<i64>,
    pub reasons: Vec<String>,
    pub suggestions: Vec<Suggestion>,
    /// The card remittance the line credits ("" when its number is unknown).
    pub remittance: Option<String>,
    /// The offline session that took the line, and who has it since when: the office may still
    /// decide it, but the session's decision will then come back as a conflict.
    pub checked_out: Option<String>,
    /// On hold: why, by whom, since when ("en attente : RIB demandé (claire, 01/12/2026 09:30)").
    pub held: Option<String>,
}

/// A line as stored. Its reasons and suggestions are JSON the import wrote: one that does not
/// decode is an error, never an empty list (the accountant would be shown a line with no lead).
fn view(r: store::bank::LineRow) -> Result<LineView> {
    let amount = Money::from_cents(r.amount_cents);
    let corrupt = |what: &str, e: serde_json::Error| {
        Error::Invalid(format!("ligne de relevé {}: {what} illisibles dans la base ({e})", r.id))
    };
    let reasons = serde_json::from_str::<Option<Vec<String>>>(&r.reasons).map_err(|e| corrupt("motifs", e))?;
    let suggestions = serde_json::from_str(&r.suggestions).map_err(|e| corrupt("suggestions", e))?;
    Ok(LineView {
        id: r.id,
        date: r.date,
        unassigned: match (amount.is_positive(), &r.remittance) {
            (true, None) => amount - Money::from_cents(r.assigned_cents),
            _ => Money::ZERO,
        },
        amount,
        label: r.label,
        status: r.status,
        student_number: r.student_number,
        student_name: r.student_name,
        score: r.score,
        reasons: reasons.unwrap_or_default(),
        suggestions,
        remittance: r.remittance,
        checked_out: None,
        held: r.held_reason.map(|why| {
            let since = r.held_at.as_deref().and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
            let since = since.map(|t| t.with_timezone(&chrono::Local).format(", %d/%m/%Y %H:%M").to_string());
            format!("en attente : {why} ({}{})", r.held_by.unwrap_or_default(), since.unwrap_or_default())
        }),
    })
}

pub async fn lines(store: &Store, status: Option<&str>) -> Result<Vec<LineView>> {
    let status = status.map(LineStatus::parse).transpose()?;
    let mut conn = store.read().await?;
    let out = store::session::lines_out(&mut conn).await?;
    let mut lines: Vec<LineView> =
        store::bank::lines(&mut conn, status).await?.into_iter().map(view).collect::<Result<_>>()?;
    for l in &mut lines {
        l.checked_out = out.get(&l.id).map(|(session, by, at)| out_since(session, by, at));
    }
    Ok(lines)
}

/// One window of Banque's lines, with how many lines each status has (the filter's counts).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct LinePage {
    #[serde(flatten)]
    pub page: Page<LineView>,
    pub matched: i64,
    pub to_review: i64,
    pub unmatched: i64,
}

/// What Banque asks for: a window of the lines with a status (all when none), whose label holds
/// `search`, or the one line `line`; sorted by `sort` (`date` by default). As typed: the core
/// checks it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LineQuery {
    pub status: Option<String>,
    pub line: Option<i64>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// One window of the lines the query asks for, sorted and counted by the database; only that
/// window's lines are read and sent.
pub async fn line_page(store: &Store, q: &LineQuery) -> Result<LinePage> {
    let window = q.page.window()?;
    let status = given(&q.status).map(LineStatus::parse).transpose()?;
    let sort: LineSort = q.page.sort()?;
    let search = q.page.search();
    let mut conn = store.read().await?;
    let out = store::session::lines_out(&mut conn).await?;
    let page = store::bank::line_page(
        &mut conn,
        status,
        search.as_ref(),
        q.line,
        sort,
        q.page.descending,
        window,
        q.page.counted(),
    )
    .await?;
    let counts =
        store::bank::status_counts(&mut conn, &[LineStatus::Matched, LineStatus::ToReview, LineStatus::Unmatched])
            .await?;
    let count = |s: LineStatus| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    let mut rows = Vec::with_capacity(page.rows.len());
    for r in page.rows {
        let mut l = view(r)?;
        l.checked_out = out.get(&l.id).map(|(session, by, at)| out_since(session, by, at));
        rows.push(l);
    }
    Ok(LinePage {
        page: Page { total: page.total, offset: page.offset, rows },
        matched: count(LineStatus::Matched),
        to_review: count(LineStatus::ToReview),
        unmatched: count(LineStatus::Unmatched),
    })
}

fn out_since(session: &str, by: &str, at: &str) -> String {
    let since = chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_else(|_| at.to_string());
    format!("hors ligne avec {by} depuis le {since} (session {session})")
}

#[derive(Debug, Clone, Serialize)]
pub struct Confirmed {
    pub line_id: i64,
    pub student_number: String,
    pub amount: Money,
    pub payment_id: i64,
    pub status: LineStatus,
    pub unassigned: Money,
    /// The payer's name remembered as the student's alias, when it was new.
    pub alias_learned: Option<String>,
}

/// Confirms that a line (or `amount` of it, when split between students) pays `student_number`:
/// creates the payment, allocates it oldest installment first, remembers the payer's name.
/// One transaction, audited.
pub async fn confirm(
    store: &Store,
    line_id: i64,
    student_number: &str,
    amount: Option<Money>,
    actor: &str,
) -> Result<Confirmed> {
    let mut tx = store.begin().await?;
    let confirmed = confirm_in(&mut tx, line_id, student_number, amount, actor).await?;
    // On a session file the decision is kept, in order, for the office's check-in to replay,
    // and written into the file itself at once.
    let session = store::session::origin(&mut tx).await?.is_some();
    if session {
        let date = chrono::Local::now().date_naive();
        store::session::record_decision(
            &mut tx,
            "confirm",
            line_id,
            Some(&confirmed.student_number),
            Some(confirmed.amount.cents()),
            Some(confirmed.payment_id),
            None,
            date,
            actor,
        )
        .await?;
    }
    tx.commit().await?;
    if session {
        store.checkpoint().await?;
    }
    Ok(confirmed)
}

/// `confirm`, inside the caller's transaction (a check-in replays a session's decisions so).
pub(crate) async fn confirm_in(
    tx: &mut store::Conn,
    line_id: i64,
    student_number: &str,
    amount: Option<Money>,
    actor: &str,
) -> Result<Confirmed> {
    let line = store::bank::line(tx, line_id).await?.ok_or(Error::LineNotFound(line_id))?;
    let total = Money::from_cents(line.amount_cents);
    if !total.is_positive() {
        return Err(Error::Invalid(format!("la ligne {line_id} est un débit : rien à rapprocher")));
    }
    // The transactions of a card remittance were paid from the gateway's export already.
    if let Some(r) = &line.remittance {
        return Err(Error::Invalid(format!(
            "la ligne {line_id} est une remise carte ({r}) : ses paiements viennent de l'export de la passerelle"
        )));
    }
    let unassigned = total - Money::from_cents(line.assigned_cents);
    if !unassigned.is_positive() {
        return Err(Error::Conflict(format!("la ligne {line_id} est déjà entièrement rapprochée")));
    }
    let amount = amount.unwrap_or(unassigned);
    if !amount.is_positive() || amount > unassigned {
        return Err(Error::Invalid(format!(
            "montant {} impossible : il reste {} à affecter sur la ligne {line_id}",
            amount.to_french(),
            unassigned.to_french()
        )));
    }
    let number = StudentNumber::parse(student_number)?;
    let student =
        store::students::by_number(tx, &number).await?.ok_or_else(|| Error::StudentNotFound(number.to_string()))?;
    let payment =
        ledger::record_payment(tx, &student, line.date, amount, PaymentMethod::Transfer, &line.label, actor).await?;
    store::bank::link_payment(tx, line_id, payment).await?;
    let left = unassigned - amount;
    let status = if left.is_zero() { LineStatus::Matched } else { LineStatus::ToReview };
    store::bank::set_line_status(tx, line_id, status).await?;
    if status == LineStatus::Matched && line.held_reason.is_some() {
        store::bank::set_hold(tx, line_id, None).await?;
    }
    let mut alias_learned = None;
    // A payer who is not the student (a parent, a sponsor) is remembered; the student's own
    // name, whole or in part, is not an alias.
    if let Some(payer) = parse_label(&line.label).payer {
        let key = alias_key(&payer);
        let own = matching::words(&format!("{} {}", student.last_name, student.first_name));
        let is_own = key.split(' ').all(|w| own.iter().any(|o| o == w));
        if !key.is_empty() && !is_own && store::bank::add_alias(tx, student.id, &key).await? {
            alias_learned = Some(key);
        }
    }
    audit::record(
        tx,
        actor,
        "bank.confirm",
        "statement_line",
        line_id,
        None,
        json!({"student": student.number, "amount": amount, "payment": payment, "alias_learned": alias_learned}),
    )
    .await?;
    Ok(Confirmed {
        line_id,
        student_number: student.number.to_string(),
        amount,
        payment_id: payment,
        status,
        unassigned: left,
        alias_learned,
    })
}

/// Undoes a line's match by an audited reversal of its payments; the line returns to review.
pub async fn undo(store: &Store, line_id: i64, reason: &str, date: NaiveDate, actor: &str) -> Result<usize> {
    let mut tx = store.begin().await?;
    let undone = undo_in(&mut tx, line_id, reason, date, actor).await?;
    let session = store::session::origin(&mut tx).await?.is_some();
    if session {
        store::session::record_decision(&mut tx, "undo", line_id, None, None, None, Some(reason.trim()), date, actor)
            .await?;
    }
    tx.commit().await?;
    if session {
        store.checkpoint().await?;
    }
    Ok(undone)
}

/// `undo`, inside the caller's transaction.
pub(crate) async fn undo_in(
    tx: &mut store::Conn,
    line_id: i64,
    reason: &str,
    date: NaiveDate,
    actor: &str,
) -> Result<usize> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid("un motif est obligatoire pour annuler un rapprochement".into()));
    }
    store::bank::line(tx, line_id).await?.ok_or(Error::LineNotFound(line_id))?;
    let live = store::bank::live_payments(tx, line_id).await?;
    if live.is_empty() {
        return Err(Error::Invalid(format!("la ligne {line_id} n'est rapprochée d'aucun règlement")));
    }
    let mut reversed = Vec::new();
    for (payment, _, amount) in &live {
        let rev =
            ledger::reverse_payment(tx, *payment, ledger::PaymentReversal::Correction, date, reason, actor).await?;
        store::bank::link_payment(tx, line_id, rev).await?;
        reversed.push(json!({"payment": payment, "reversal": rev, "amount": amount}));
    }
    store::bank::set_line_status(tx, line_id, LineStatus::ToReview).await?;
    audit::record(tx, actor, "bank.undo", "statement_line", line_id, Some(reason), json!({"reversed": reversed}))
        .await?;
    Ok(live.len())
}

/// Puts a line still to decide on hold, with the reason (the payer asked, a document awaited):
/// it stays to decide, and says why and since when. Audited; on a session file, kept for the
/// check-in like any decision.
pub async fn hold(store: &Store, line_id: i64, reason: &str, actor: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    hold_in(&mut tx, line_id, reason, actor).await?;
    let session = store::session::origin(&mut tx).await?.is_some();
    if session {
        let date = chrono::Local::now().date_naive();
        store::session::record_decision(&mut tx, "hold", line_id, None, None, None, Some(reason.trim()), date, actor)
            .await?;
    }
    tx.commit().await?;
    if session {
        store.checkpoint().await?;
    }
    Ok(())
}

/// `hold`, inside the caller's transaction.
pub(crate) async fn hold_in(tx: &mut store::Conn, line_id: i64, reason: &str, actor: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid("un motif est obligatoire pour mettre une ligne en attente".into()));
    }
    let line = store::bank::line(tx, line_id).await?.ok_or(Error::LineNotFound(line_id))?;
    if line.remittance.is_some() || line.amount_cents <= 0 {
        return Err(Error::Invalid(format!("la ligne {line_id} n'est pas un virement à rapprocher")));
    }
    if line.status == LineStatus::Matched {
        return Err(Error::Conflict(format!("la ligne {line_id} est déjà entièrement rapprochée")));
    }
    store::bank::set_hold(tx, line_id, Some((reason, actor))).await?;
    audit::record(
        tx,
        actor,
        "bank.hold",
        "statement_line",
        line_id,
        Some(reason),
        json!({"previous": line.held_reason}),
    )
    .await?;
    Ok(())
}

/// Saved import profiles: name and mapping.
pub async fn profiles(store: &Store) -> Result<Vec<(String, Mapping)>> {
    let rows = store::bank::profiles(&mut *store.read().await?).await?;
    rows.into_iter()
        .map(|(n, m)| {
            let mapping = serde_json::from_str(&m)
                .map_err(|e| Error::Invalid(format!("profil d'import « {n} » illisible dans la base ({e})")))?;
            Ok((n, mapping))
        })
        .collect()
}

/// What the import wizard shows before importing: the first rows, and the columns as detected
/// (or why they could not be).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub file: String,
    pub rows: Vec<Vec<String>>,
    pub mapping: Option<Mapping>,
    pub missing: Option<String>,
    /// Lines read with the detected mapping (0 when it needs one).
    pub lines: usize,
    pub first_error: Option<String>,
    /// A bank format's name ("CAMT.053", "CFONB 120"), whose columns need no mapping; `None` for
    /// a spreadsheet.
    pub format: Option<StatementFormat>,
}

/// What the statement at `path` would import: its first rows and the columns detected.
pub fn preview_file(path: &Path) -> Result<Preview> {
    if let Some((format, lines)) = bank_file(path)? {
        let (rows, count, first_error) = match lines {
            Ok(lines) => {
                let header = ["Date", "Date de valeur", "Libellé", "Montant"].map(String::from).to_vec();
                let rows = std::iter::once(header)
                    .chain(lines.iter().take(14).map(|l| {
                        vec![
                            l.date.format("%d/%m/%Y").to_string(),
                            l.value_date.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
                            l.label.clone(),
                            l.amount.to_french(),
                        ]
                    }))
                    .collect();
                (rows, lines.len(), None)
            }
            Err(e) => (Vec::new(), 0, Some(e.to_string())),
        };
        return Ok(Preview {
            file: file_name(path),
            rows,
            mapping: None,
            missing: None,
            lines: count,
            first_error,
            format: Some(format),
        });
    }
    let sheet = sheets::read(path)?;
    let rows = table::preview(&sheet, 15);
    Ok(match table::detect(&sheet) {
        Ok(mapping) => {
            let (lines, first_error) = match table::read_lines(&sheet, &mapping) {
                Ok(l) => (l.len(), None),
                Err(e) => (0, Some(e.to_string())),
            };
            Preview { file: sheet.file, rows, mapping: Some(mapping), missing: None, lines, first_error, format: None }
        }
        Err(regie_rules::Error::MappingNeeded { missing, .. }) => Preview {
            file: sheet.file,
            rows,
            mapping: None,
            missing: Some(missing),
            lines: 0,
            first_error: None,
            format: None,
        },
        Err(e) => return Err(e.into()),
    })
}

/// `preview_file` on a statement the window sent (kept for the import that follows).
pub fn preview_uploaded(uploads: &crate::uploads::Uploads, token: u64) -> Result<Preview> {
    preview_file(&uploads.path(token)?)
}

/// `import_file_with` on a statement the window sent (removed once imported).
pub async fn import_uploaded(
    store: &Store,
    uploads: &crate::uploads::Uploads,
    token: u64,
    columns: Columns<'_>,
    actor: &str,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ImportSummary> {
    uploads.used(token, |path| async move { import_file_with(store, &path, columns, actor, progress).await }).await
}

/// The matching rules in force: the defaults, with the fee tolerance from Settings.
pub async fn rules(store: &Store) -> Result<MatchRules> {
    rules_in(&mut *store.read().await?).await
}

async fn rules_in(conn: &mut store::Conn) -> Result<MatchRules> {
    let mut rules = MatchRules::default();
    if let Some(cents) = store::users::pref(conn, "bank.fee_tolerance_cents").await? {
        rules.fee_tolerance =
            Money::from_cents(cents.parse().map_err(|_| Error::Invalid("tolérance de frais illisible".into()))?);
    }
    Ok(rules)
}

/// Sets how far short of an installment a transfer may arrive and still be that installment
/// (the bank's fees); the shortfall always stays owed. Audited.
pub async fn set_fee_tolerance(store: &Store, tolerance: Money, reason: Option<&str>, actor: &str) -> Result<()> {
    if tolerance.is_negative() || tolerance > Money::from_cents(100_000) {
        return Err(Error::Invalid(format!("tolérance de frais {} hors de 0 à 1 000 €", tolerance.to_french())));
    }
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::BankSettings).await?;
    let old = rules_in(&mut tx).await?.fee_tolerance;
    store::users::set_pref(&mut tx, "bank.fee_tolerance_cents", &tolerance.cents().to_string()).await?;
    audit::record(
        &mut tx,
        actor,
        "settings.fee_tolerance",
        "settings",
        "bank",
        Some(reason),
        json!({"old": old, "new": tolerance}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
