//! Card: the payment gateway's transactions (Paybox), each tied to the installment it paid or
//! failed to pay. Captured debits become payments, refused ones mark their installment.

pub use regie_rules::card::*;

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use self::export::{Kind, Mapping, Status};
use crate::ledger::{self, PaymentMethod, PaymentReversal};
use crate::money::Money;
use crate::page::{Page, PageQuery, given};
use crate::sheets;
use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub rows: usize,
    pub new: usize,
    pub already_known: usize,
    pub paid: usize,
    pub refused: usize,
    pub refunded: usize,
    pub charged_back: usize,
    pub cancelled: usize,
    pub unknown: usize,
    /// Bank statement lines of remittances, imported before this export, that it ties.
    pub remittance_lines: usize,
    /// Transactions already recorded without their remittance (an export taken before the
    /// gateway sent them to the bank) that this export adds to the one it names.
    pub remitted: usize,
    /// Debits already recorded without their remittance that the gateway cancelled before
    /// sending them to the bank: their payments are reversed.
    pub cancelled_since: usize,
}

/// How the columns of an export are found.
pub enum Columns<'a> {
    Detect,
    Profile(&'a str),
    Mapping { mapping: Mapping, save_as: Option<&'a str> },
}

/// What the import looks transactions up in: who has open installments, which invoice is whose,
/// every student's number and e-mail.
async fn card_index(conn: &mut Conn) -> Result<CardIndex> {
    let payees = store::bank::payees(&mut *conn).await?;
    let invoice_student = store::card::invoice_students(&mut *conn).await?;
    let students = store::card::students(conn).await?;
    Ok(CardIndex::new(payees, invoice_student, students))
}

/// Imports a gateway export: every row or none; transactions already known (same number) are
/// counted, not added. Captured debits become card payments on their installment, refused ones
/// mark it refused, refunds are recorded paid, charge-backs make their payment unpaid; what
/// cannot be tied to a student waits (`unknown`). One transaction, audited.
pub async fn import_file(store: &Store, path: &Path, columns: Columns<'_>, actor: &str) -> Result<ImportSummary> {
    import_file_with(store, path, columns, actor, &|_| {}).await
}

/// `import_file`, reporting its progress (the statements' phases: read, match, save, done).
pub async fn import_file_with(
    store: &Store,
    path: &Path,
    columns: Columns<'_>,
    actor: &str,
    progress: &(dyn Fn(crate::bank::Progress) + Send + Sync),
) -> Result<ImportSummary> {
    use crate::bank::Progress;
    progress(Progress { phase: "read", done: 0, total: 0 });
    let given = match &columns {
        Columns::Detect => None,
        Columns::Profile(name) => {
            Some(crate::bank::saved_mapping(name, store::card::profile(&mut *store.read().await?, name).await?)?)
        }
        Columns::Mapping { mapping, .. } => Some(mapping.clone()),
    };
    // The file is read on the other core while the database is (100,000 rows: about 0.3 s and
    // 0.2 s).
    let reading = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || -> Result<(sheets::Sheet, Vec<export::CardRow>)> {
            let sheet = sheets::read(&path)?;
            let mapping = match given {
                Some(mapping) => mapping,
                None => export::detect(&sheet)?,
            };
            let mut rows = export::read_rows(&sheet, &mapping)?;
            export::oldest_first(&mut rows);
            Ok((sheet, rows))
        })
    };
    // Read without the write lock; the write transaction reads it again only if something was
    // recorded since (every money-changing action leaves an audit record).
    let (version, index) = {
        let mut c = store.read().await?;
        (audit::last_id(&mut c).await?, card_index(&mut c).await?)
    };
    let (sheet, rows) =
        reading.await.map_err(|e| Error::Invalid(format!("{}: fichier illisible ({e})", path.display())))??;

    // Every reference it writes is read in this transaction, or numbered by it.
    let mut tx = store.begin_bulk().await?;
    crate::session::office_only(&mut tx).await?;
    if let Columns::Mapping { mapping, save_as: Some(name) } = &columns {
        store::card::save_profile(&mut tx, name, &serde_json::to_string(mapping).expect("mapping serializes")).await?;
    }
    let import_id = store::card::insert_import(&mut tx, &sheet.file, sheet.sheet.as_deref(), actor, rows.len()).await?;
    let recorded = match (rows.iter().map(|r| r.date).min(), rows.iter().map(|r| r.date).max()) {
        (Some(from), Some(to)) => store::card::known_numbers(&mut tx, from, to).await?,
        _ => Default::default(),
    };
    if let Some(e) = contradicted(&sheet, &rows, &recorded) {
        return Err(e);
    }
    // Transactions an earlier export gave before the gateway sent them to the bank: this one
    // names their remittance (each once: a number may come twice, the same each time).
    let mut remitted_since = HashSet::new();
    let late: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            let r = &rows[i];
            r.remittance.is_some()
                && recorded.get(&r.number).is_some_and(|was| was.remittance().is_none())
                && remitted_since.insert(&r.number)
        })
        .collect();
    drop(remitted_since);
    // Debits of such an export that the gateway cancelled before its remittance (each once).
    let mut cancelled_seen = HashSet::new();
    let cancelled_since: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            let r = &rows[i];
            recorded.get(&r.number).is_some_and(|was| was.cancelled_by(r)) && cancelled_seen.insert(&r.number)
        })
        .collect();
    drop(cancelled_seen);
    // Before anything is matched: a retry of the debit in this export pays the installment the
    // cancelled one no longer does (its audit records make the index below be read again).
    let mut cancelled_details = Vec::with_capacity(cancelled_since.len());
    for i in cancelled_since {
        cancelled_details.push(cancel_since(&mut tx, &sheet, &rows[i], actor).await?);
    }
    let known: HashSet<String> = recorded.into_keys().collect();
    // Nothing new (a re-import): no need to look anyone up again.
    let fresh = rows.iter().any(|r| !known.contains(&r.number));
    let index = if !fresh || audit::last_id(&mut tx).await? == version { index } else { card_index(&mut tx).await? };
    let mut summary = ImportSummary { file: sheet.file.clone(), rows: rows.len(), ..ImportSummary::default() };
    let total = rows.len();
    // The rows are matched on the other core while those already matched are written, in order,
    // a chunk at a time (`chunk_sizes`: on SQLite; PostgreSQL takes them all at once): matching
    // 100,000 rows takes about 0.2 s, which no longer comes before the first write. The audit
    // record's list of payments is written there too, once the last chunk is sent.
    let rows = std::sync::Arc::new(rows);
    let (sender, mut matched) = tokio::sync::mpsc::unbounded_channel();
    let sizes = store::card::chunk_sizes(&tx);
    let matching = {
        let rows = rows.clone();
        let mut matcher = Matcher {
            index,
            known,
            id: store::card::last_transaction_id(&mut tx).await?,
            payment_id: store::ledger::last_payment_id(&mut tx).await?,
            outcome: Matching::default(),
        };
        tokio::task::spawn_blocking(move || {
            let mut start = 0;
            for size in sizes {
                if start >= rows.len() {
                    break;
                }
                let end = rows.len().min(start.saturating_add(size));
                // Nobody to receive: the writer stopped, and its error is the import's.
                if sender.send(matcher.chunk(&rows, start..end)).is_err() {
                    break;
                }
                start = end;
            }
            drop(sender);
            let paid: Vec<PaidDetail> = matcher
                .outcome
                .paid
                .iter()
                .map(|&(row, payment, student)| PaidDetail {
                    amount: rows[row].amount,
                    payment,
                    student,
                    transaction: &rows[row].number,
                })
                .collect();
            let paid = serde_json::value::to_raw_value(&paid);
            (matcher, paid)
        })
    };
    progress(Progress { phase: "match", done: 0, total });
    let mut new = Vec::with_capacity(rows.len());
    let mut batches = ledger::PaymentBatches::default();
    // (student, installments settled whole) of each payment that settled any.
    let mut closed = Vec::new();
    let mut paid = 0;
    let mut written = 0;
    while let Some(chunk) = matched.recv().await {
        // Writing starts as soon as the first chunk is matched; `done` counts the rows written.
        progress(Progress { phase: "save", done: written, total });
        paid += chunk.payments.len();
        let payments: Vec<_> = chunk
            .payments
            .into_iter()
            .map(|p| {
                let row = &rows[p.row];
                if p.settles > 0 {
                    closed.push((p.student_id, p.settles));
                }
                ledger::BulkPayment {
                    id: p.id,
                    student_id: p.student_id,
                    date: row.date,
                    amount: row.amount,
                    method: PaymentMethod::Card,
                    reference: &row.reference,
                    allocations: p.allocations,
                }
            })
            .collect();
        batches.record(&mut tx, &payments).await?;
        let from = new.len();
        new.extend(chunk.transactions.into_iter().map(|t| store::card::NewTransaction {
            id: t.id,
            import_id,
            row: &rows[t.row],
            student_id: t.student_id,
            installment_id: t.installment_id,
            payment_id: t.payment_id,
            outcome: t.outcome,
            reasons: t.reasons,
        }));
        if let Err(e) = store::card::insert_bulk(&mut tx, &new[from..]).await {
            return Err(recorded_on_another_day(store, &sheet, &new[from..]).await.unwrap_or(e));
        }
        written = chunk.end;
    }
    // The matcher counted what its allocations settled whole, on the installments read in this
    // transaction: the students' open counts follow without a join.
    batches.settle_counted(&mut tx, closed).await?;
    let (matcher, paid_details) =
        matching.await.map_err(|e| Error::Invalid(format!("{}: rattachement interrompu ({e})", sheet.file)))?;
    let paid_details =
        paid_details.map_err(|e| Error::Invalid(format!("{}: détails d'audit illisibles ({e})", sheet.file)))?;
    let Matching { already_known, refused, cancelled, later, refusals, refused_list, paid: _ } = matcher.outcome;
    summary.already_known = already_known;
    summary.paid = paid;
    summary.refused = refused;
    summary.cancelled = cancelled;
    summary.new = new.len();
    store::card::record_refusals(&mut tx, &refusals).await?;
    let late: Vec<&export::CardRow> = late.into_iter().map(|i| &rows[i]).collect();
    store::card::complete_remittances(&mut tx, &late).await?;
    summary.remitted = late.len();
    summary.cancelled_since = cancelled_details.len();
    let tied = tie_waiting_remittance_lines(&mut tx, new.iter().map(|t| t.row).chain(late.iter().copied())).await?;
    summary.remittance_lines = tied.len();
    // Refunds and charge-backs move money already recorded: one by one, after the payments.
    // The installments those made due again, with the latest day one did.
    let mut reopened: std::collections::HashMap<i64, NaiveDate> = std::collections::HashMap::new();
    for t in new.iter().filter(|t| later.contains(&t.id)) {
        let (outcome, due_again) = undo_money(&mut tx, t, actor).await?;
        match outcome {
            Outcome::Refunded => summary.refunded += 1,
            Outcome::ChargedBack => summary.charged_back += 1,
            _ => {}
        }
        for i in due_again {
            let day = reopened.entry(i).or_insert(t.row.date);
            *day = (*day).max(t.row.date);
        }
    }
    // A refused retry of an installment a charge-back or a refund of this same export made due
    // again was matched before that money came back (they come after the payments), when its
    // installment was not open: it is marked now, if it came on or after that day (one older
    // says nothing of why the installment is due now).
    let mut placed = std::collections::HashMap::new();
    if !reopened.is_empty() {
        for t in new.iter().filter(|t| t.outcome == Outcome::Refused && t.installment_id.is_none()) {
            if let Some((invoice, Some(n))) = export::invoice_in_reference(&t.row.reference)
                && let Some(i) = store::card::open_installment_ranked(&mut tx, &invoice, n).await?
                && reopened.get(&i).is_some_and(|day| t.row.date >= *day)
            {
                let code = t.row.response.clone().unwrap_or_default();
                store::card::record_refusals(&mut tx, &[(i, code, t.row.date, t.id)]).await?;
                let mut reasons: Vec<String> = serde_json::from_str(&t.reasons).unwrap_or_default();
                reasons.push(format!("échéance {n} due à nouveau après le retour de son paiement"));
                let reasons = serde_json::to_string(&reasons).expect("a list of strings serializes");
                store::card::settle_transaction(&mut tx, t.id, Outcome::Refused, None, Some(i), None, None, &reasons)
                    .await?;
                placed.insert(t.row.number.as_str(), i);
            }
        }
    }
    summary.unknown =
        summary.new - summary.paid - summary.refused - summary.cancelled - summary.refunded - summary.charged_back;
    store::card::set_import_counts(&mut tx, import_id, summary.new, summary.already_known).await?;
    let refused: Vec<_> = refused_list
        .into_iter()
        .map(|r| RefusedDetail {
            installment: r.installment.or_else(|| placed.get(rows[r.row].number.as_str()).copied()),
            reason: r.reason,
            transaction: &rows[r.row].number,
        })
        .collect();
    audit::record(
        &mut tx,
        actor,
        "card.import",
        "card_import",
        import_id,
        None,
        ImportDetails {
            paid: &paid_details,
            refused: &refused,
            remittance_lines: &tied,
            remitted_since: &late
                .iter()
                .map(|r| RemittedDetail {
                    transaction: &r.number,
                    remittance: r.remittance.as_deref(),
                    remittance_date: r.remittance_date,
                    amount: r.amount,
                    kind: r.kind.code(),
                    status: r.status.code(),
                })
                .collect::<Vec<_>>(),
            cancelled_since: &cancelled_details,
            summary: &summary,
        },
    )
    .await?;
    tx.commit().await?;
    progress(Progress { phase: "done", done: total, total });
    // A million small allocations to give back (100,000 rows: ~0.15 s): on the other core.
    drop((new, paid_details, refused));
    tokio::task::spawn_blocking(move || drop((sheet, rows, matcher.known, matcher.index)));
    Ok(summary)
}

/// The first row of the export that says something else of a transaction already recorded (its
/// day, amount, kind, status or remittance): which of the two is right only the gateway knows, so nothing of the
/// export is taken. Its row and the transaction's number are named. A debit's cancellation before
/// its remittance is no contradiction, either way: a later export cancels it (`cancelled_by`);
/// an older one, imported after, still says it captured (`cancelled_since`), and is known.
fn contradicted(
    sheet: &sheets::Sheet,
    rows: &[export::CardRow],
    recorded: &std::collections::HashMap<String, store::card::Recorded>,
) -> Option<Error> {
    if recorded.is_empty() {
        return None;
    }
    rows.iter().find_map(|r| {
        let was = recorded.get(&r.number)?;
        (!was.same_as(r) && !was.cancelled_by(r) && !was.cancelled_since(r)).then(|| {
            Error::Sheet(sheet.error_at(
                r.row - 1,
                Some("Numéro de transaction"),
                format!(
                    "transaction {} déjà importée ({}, {}, {}, {}{}) : l'export la dit autrement ({}, {}, {}, {}{})",
                    r.number,
                    was.date.format("%d/%m/%Y"),
                    was.cents().map(|c| Money::from_cents(c).to_french()).unwrap_or_default(),
                    in_words(was.kind()),
                    in_words(was.status()),
                    remittance_words(was.remittance()),
                    r.date.format("%d/%m/%Y"),
                    r.amount.to_french(),
                    in_words(r.kind.code()),
                    in_words(r.status.code()),
                    remittance_words(r.remittance.as_deref())
                ),
            ))
        })
    })
}

/// ", remise N" when there is one.
fn remittance_words(remittance: Option<&str>) -> String {
    remittance.map(|n| format!(", remise {n}")).unwrap_or_default()
}

/// A kind's or a status's code as the back office writes it.
fn in_words(code: &str) -> &str {
    match code {
        "debit" => "débit",
        "refund" => "remboursement",
        "chargeback" => "impayé",
        "captured" => "télécollecté",
        "refused" => "refusé",
        "cancelled" => "annulé",
        other => other,
    }
}

/// Why new transactions could not be written, when it is one of them recorded already under
/// another day (outside the dates the export's known numbers were read for): that row, named.
/// Read apart from the failed transaction, which PostgreSQL no longer lets run statements.
async fn recorded_on_another_day(
    store: &Store,
    sheet: &sheets::Sheet,
    rows: &[store::card::NewTransaction<'_>],
) -> Option<Error> {
    let numbers: Vec<&str> = rows.iter().map(|t| t.row.number.as_str()).collect();
    let found = store::card::recorded_on(&mut *store.read().await.ok()?, &numbers).await.ok()?;
    let (number, day) = found.first()?;
    let row = rows.iter().find(|t| &t.row.number == number)?.row;
    Some(Error::Sheet(sheet.error_at(
        row.row - 1,
        Some("Numéro de transaction"),
        format!(
            "transaction {number} déjà importée, datée du {} et non du {} : l'export la contredit",
            day.format("%d/%m/%Y"),
            row.date.format("%d/%m/%Y")
        ),
    )))
}

/// Ties an export's rows to students and installments, in file order, on a thread of its own.
/// Each row's outcome depends on those before it (an installment paid earlier in the export is
/// not open for the next), so one matcher reads them all, a chunk at a time.
struct Matcher {
    index: CardIndex,
    /// The numbers of the transactions already recorded, and of those met so far.
    known: HashSet<String>,
    /// The last transaction and payment ids given.
    id: i64,
    payment_id: i64,
    outcome: Matching,
}

/// What the matcher found over the whole export, for the summary, the refusals and the audit.
#[derive(Default)]
struct Matching {
    already_known: usize,
    refused: usize,
    cancelled: usize,
    /// Refunds and charge-backs, by transaction id: done after the payments they may undo.
    later: HashSet<i64>,
    /// (installment, response code, date, transaction id) of each refused debit.
    refusals: Vec<(i64, String, NaiveDate, i64)>,
    refused_list: Vec<MatchedRefusal>,
    /// (row, payment, student) of each payment, in the file's order: the audit record's list.
    paid: Vec<(usize, i64, i64)>,
}

/// One chunk of matched rows: the payments to record, then the transactions (which name them).
struct Matched {
    /// The index after the chunk's last row.
    end: usize,
    payments: Vec<MatchedPayment>,
    transactions: Vec<MatchedTransaction>,
}

/// A captured debit's payment; `row` is the row's index in the export.
struct MatchedPayment {
    id: i64,
    row: usize,
    student_id: i64,
    allocations: Vec<(i64, Money)>,
    /// How many of the student's open installments it settles whole.
    settles: i64,
}

struct MatchedTransaction {
    id: i64,
    row: usize,
    student_id: Option<i64>,
    installment_id: Option<i64>,
    payment_id: Option<i64>,
    outcome: Outcome,
    reasons: String,
}

struct MatchedRefusal {
    installment: Option<i64>,
    reason: String,
    row: usize,
}

impl Matcher {
    /// Matches `rows[range]`: a transaction already known is counted, not added; a captured debit
    /// of a known student becomes a payment on their installment (or their oldest open ones), a
    /// refused one marks its installment; refunds and charge-backs wait for `undo_money`.
    fn chunk(&mut self, rows: &[export::CardRow], range: std::ops::Range<usize>) -> Matched {
        let mut out = Matched { end: range.end, payments: Vec::new(), transactions: Vec::with_capacity(range.len()) };
        let m = &mut self.outcome;
        let paid_before = m.paid.len();
        for k in range {
            let row = &rows[k];
            if !self.known.insert(row.number.clone()) {
                m.already_known += 1;
                continue;
            }
            self.id += 1;
            let id = self.id;
            let target = self.index.target(row);
            let mut outcome = Outcome::Unknown;
            let mut installment_id = target.installment_id;
            let mut paid = None;
            match (row.kind, row.status) {
                (_, Status::Cancelled) | (Kind::Refund | Kind::Chargeback, Status::Refused) => {
                    outcome = Outcome::Cancelled
                }
                (Kind::Debit, Status::Refused) if target.student_id.is_some() => {
                    outcome = Outcome::Refused;
                    if let Some(installment) = installment_id {
                        m.refusals.push((installment, row.response.clone().unwrap_or_default(), row.date, id));
                    }
                    m.refused_list.push(MatchedRefusal {
                        installment: installment_id,
                        reason: export::response_words(row.response.as_deref().unwrap_or("")),
                        row: k,
                    });
                }
                (Kind::Debit, Status::Captured) => {
                    if let Some(student) = target.student_id {
                        self.payment_id += 1;
                        let (allocations, settles) = self.index.allocate(student, installment_id, row.amount);
                        if installment_id.is_none() {
                            installment_id = allocations.first().map(|(i, _)| *i);
                        }
                        out.payments.push(MatchedPayment {
                            id: self.payment_id,
                            row: k,
                            student_id: student,
                            allocations,
                            settles,
                        });
                        m.paid.push((k, self.payment_id, student));
                        paid = Some(self.payment_id);
                        outcome = Outcome::Paid;
                    }
                }
                (Kind::Refund | Kind::Chargeback, Status::Captured) => {
                    m.later.insert(id);
                }
                (Kind::Debit, Status::Refused) => {}
            }
            match outcome {
                Outcome::Refused => m.refused += 1,
                Outcome::Cancelled => m.cancelled += 1,
                _ => {}
            }
            out.transactions.push(MatchedTransaction {
                id,
                row: k,
                student_id: target.student_id,
                installment_id,
                payment_id: paid,
                outcome,
                reasons: serde_json::to_string(&target.reasons).expect("a list of strings serializes"),
            });
        }
        // The chunk's payments are numbered again in their students' order (each student's own
        // still in the file's): SQLite then puts them in its index of payments by student in
        // one pass, instead of at a random place each (100,000 rows: about 50 ms).
        let first = self.payment_id - out.payments.len() as i64;
        out.payments.sort_by_key(|p| p.student_id);
        let mut renumbered = vec![0; out.payments.len()];
        for (rank, p) in out.payments.iter_mut().enumerate() {
            let id = first + 1 + rank as i64;
            renumbered[(p.id - first - 1) as usize] = id;
            p.id = id;
        }
        let new_id = |id: i64| renumbered[(id - first - 1) as usize];
        for t in &mut out.transactions {
            t.payment_id = t.payment_id.map(new_id);
        }
        for paid in &mut m.paid[paid_before..] {
            paid.1 = new_id(paid.1);
        }
        out
    }
}

/// The audit record of an import: what it did to whom (the keys in JSON's order).
#[derive(Serialize)]
struct ImportDetails<'a> {
    /// Each payment with its student and transaction, in the file's order (`PaidDetail`s).
    paid: &'a serde_json::value::RawValue,
    refused: &'a [RefusedDetail<'a>],
    remittance_lines: &'a [TiedLine],
    /// Transactions recorded before, without their remittance, and the one this export names.
    remitted_since: &'a [RemittedDetail<'a>],
    /// Debits recorded before, without their remittance, that the gateway cancelled since.
    cancelled_since: &'a [CancelledDetail],
    summary: &'a ImportSummary,
}

#[derive(Serialize)]
struct CancelledDetail {
    transaction: String,
    amount: Money,
    /// The payment it made, now reversed; none if it was tied to no one.
    payment: Option<i64>,
}

/// A debit recorded captured, without a remittance, that this export says the gateway cancelled:
/// the payment it made is reversed (a correction, audited: what it paid is due again) and the
/// transaction is cancelled. One already charged back or refunded contradicts the export: its
/// row is named.
async fn cancel_since(
    conn: &mut Conn,
    sheet: &sheets::Sheet,
    row: &export::CardRow,
    actor: &str,
) -> Result<CancelledDetail> {
    let refused = |what: &str| {
        Error::Sheet(sheet.error_at(
            row.row - 1,
            Some("Statut"),
            format!("transaction {} déjà {what} : l'export la dit annulée", row.number),
        ))
    };
    let t = store::card::transaction(conn, &row.number).await?.ok_or_else(|| refused("effacée"))?;
    let payment = match (t.outcome, t.payment_id) {
        (Outcome::Paid, Some(payment)) => {
            let why = format!("transaction carte {} annulée par la passerelle avant sa remise", row.number);
            // Refused when a refund already paid out of the account counted on this payment: the
            // row that asks for it is named.
            ledger::reverse_payment(conn, payment, PaymentReversal::Correction, row.date, &why, actor).await.map_err(
                |e| match e {
                    Error::Invalid(why) => Error::Sheet(sheet.error_at(
                        row.row - 1,
                        Some("Statut"),
                        format!("transaction {} annulée par la passerelle : son règlement {payment} ne peut être annulé ({why})", row.number),
                    )),
                    other => other,
                },
            )?;
            Some(payment)
        }
        (Outcome::Unknown, _) => None,
        (Outcome::ChargedBack, _) => return Err(refused("impayée")),
        _ => return Err(refused("traitée")),
    };
    let mut reasons: Vec<String> = serde_json::from_str(&t.reasons).unwrap_or_default();
    reasons.push(match payment {
        Some(p) => format!("annulée par la passerelle avant sa remise : règlement {p} annulé"),
        None => "annulée par la passerelle avant sa remise".into(),
    });
    let reasons = serde_json::to_string(&reasons).expect("a list of strings serializes");
    if !store::card::cancel_transaction(conn, t.id, &reasons).await? {
        return Err(refused("remise"));
    }
    Ok(CancelledDetail { transaction: row.number.clone(), amount: row.amount, payment })
}

#[derive(Serialize)]
struct RemittedDetail<'a> {
    transaction: &'a str,
    remittance: Option<&'a str>,
    remittance_date: Option<NaiveDate>,
    amount: Money,
    kind: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct PaidDetail<'a> {
    amount: Money,
    payment: i64,
    student: i64,
    transaction: &'a str,
}

/// A statement line of a remittance tied by an import of the gateway's export.
#[derive(Serialize)]
struct TiedLine {
    line: i64,
    remittance: String,
}

/// Statement lines imported before the gateway's export that announced its remittances (or
/// none, found by date and amount) were left unmatched: the remittances now known, they are
/// tied as the statement's import would have tied them. `rows`: the transactions this export
/// added to a remittance. Returns the lines tied.
async fn tie_waiting_remittance_lines<'r>(
    conn: &mut Conn,
    rows: impl Iterator<Item = &'r export::CardRow>,
) -> Result<Vec<TiedLine>> {
    // A few dozen remittances among up to 100,000 rows: borrowed, not copied. A refund makes
    // one too (of refunds only: the bank debits it).
    let numbers: std::collections::BTreeSet<&str> = rows
        .filter(|r| r.kind != Kind::Chargeback && r.status == Status::Captured)
        .filter_map(|r| r.remittance.as_deref())
        .collect();
    let numbers: Vec<&str> = numbers.into_iter().collect();
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let waiting = store::bank::waiting_remittance_lines(conn, &numbers).await?;
    // A line tied before this export added to its remittance says why against the old total.
    let tied_before = store::bank::tied_remittance_lines(conn, &numbers).await?;
    if waiting.is_empty() && tied_before.is_empty() {
        return Ok(Vec::new());
    }
    let known = store::card::remittance_totals(conn).await?;
    let bp = commission_tolerance_bp(conn).await?;
    let mut credited = store::bank::credited_remittances(conn).await?;
    // A remittance a waiting line names is that line's: no line without a number takes it first.
    credited.extend(waiting.iter().filter(|w| !w.3.is_empty()).map(|w| w.3.clone()));
    for (line, date, amount, number) in tied_before {
        let m = match_remittance(Some(number.clone()), date, amount, &known, &credited, bp);
        if m.known && m.number.as_deref() == Some(number.as_str()) {
            let reasons = serde_json::to_string(&m.reasons).expect("a list of strings serializes");
            store::bank::tie_remittance_line(conn, line, &number, &reasons).await?;
        }
    }
    let mut tied = Vec::new();
    for (line, date, amount, number) in waiting {
        let announced = Some(number).filter(|n| !n.is_empty());
        let m = match_remittance(announced, date, amount, &known, &credited, bp);
        if let (true, Some(number)) = (m.known, m.number) {
            let reasons = serde_json::to_string(&m.reasons).expect("a list of strings serializes");
            store::bank::tie_remittance_line(conn, line, &number, &reasons).await?;
            credited.insert(number.clone());
            tied.push(TiedLine { line, remittance: number });
        }
    }
    Ok(tied)
}

#[derive(Serialize)]
struct RefusedDetail<'a> {
    installment: Option<i64>,
    reason: String,
    transaction: &'a str,
}

/// What the window shows before an import: the first rows as read, the mapping found (or why
/// none), how many transactions would be read, and the first bad cell.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub file: String,
    pub rows: Vec<Vec<String>>,
    pub mapping: Option<Mapping>,
    pub problem: Option<String>,
    pub transactions: usize,
}

/// What the export at `path` would import: its first rows and its columns (detected, or read
/// from `mapping`).
pub fn preview_file(path: &Path, mapping: Option<&str>) -> Result<Preview> {
    let sheet = sheets::read(path)?;
    let rows = crate::bank::table::preview(&sheet, 12);
    let found = match mapping {
        Some(text) => Mapping::parse(text),
        None => export::detect(&sheet),
    };
    Ok(match found {
        Ok(m) => {
            let (transactions, problem) = match export::read_rows(&sheet, &m) {
                Ok(r) => (r.len(), None),
                Err(e) => (0, Some(e.to_string())),
            };
            Preview { file: sheet.file, rows, mapping: Some(m), problem, transactions }
        }
        Err(e) => Preview { file: sheet.file, rows, mapping: None, problem: Some(e.to_string()), transactions: 0 },
    })
}

/// `preview_file` on an export the window sent (kept for the import that follows).
pub fn preview_uploaded(uploads: &crate::uploads::Uploads, token: u64, mapping: Option<&str>) -> Result<Preview> {
    preview_file(&uploads.path(token)?, mapping)
}

/// `import_file_with` on an export the window sent (removed once imported).
pub async fn import_uploaded(
    store: &Store,
    uploads: &crate::uploads::Uploads,
    token: u64,
    columns: Columns<'_>,
    actor: &str,
    progress: &(dyn Fn(crate::bank::Progress) + Send + Sync),
) -> Result<ImportSummary> {
    uploads.used(token, |path| async move { import_file_with(store, &path, columns, actor, progress).await }).await
}

/// A captured refund or charge-back row: a charge-back makes the debit it names unpaid; a refund
/// is recorded paid out of the account's credit. Either waits (`unknown`) when it cannot. Returns
/// the outcome and every installment the undone payment had settled (due again).
async fn undo_money(conn: &mut Conn, t: &store::card::NewTransaction<'_>, actor: &str) -> Result<(Outcome, Vec<i64>)> {
    let row = t.row;
    let mut reasons: Vec<String> = serde_json::from_str(&t.reasons).unwrap_or_default();
    // The installment the undone payment's debit paid, and all those it settled.
    let mut installment = None;
    let mut due_again = Vec::new();
    let (outcome, payment, refund) = match row.kind {
        Kind::Chargeback => {
            let back = Back { number: &row.number, reference: &row.reference, response: row.response.as_deref() };
            let (outcome, payment, paid) =
                charge_back_of(conn, &back, row.date, row.amount, None, &mut reasons, actor).await?;
            installment = paid;
            if let (Outcome::ChargedBack, Some(p)) = (outcome, payment) {
                due_again = store::ledger::installments_of_payment(conn, p).await?;
            }
            (outcome, payment, None)
        }
        _ => match t.student_id {
            Some(student) => {
                match refund_out(conn, student, &row.number, Some(&row.reference), row.amount, row.date, actor).await? {
                    Some(RefundedBy::Credit(refund)) => {
                        reasons.push("remboursé sur la carte".into());
                        (Outcome::Refunded, None, Some(refund))
                    }
                    Some(RefundedBy::GivenBack { payment, paid, refund, released }) => {
                        installment = paid;
                        due_again = released;
                        reasons.push(format!("remboursement du règlement {payment}: son échéance est due à nouveau"));
                        (Outcome::Refunded, Some(payment), Some(refund))
                    }
                    None => {
                        reasons.push(
                            "remboursement au-delà du crédit du compte, sans paiement carte de ce montant".into(),
                        );
                        (Outcome::Unknown, None, None)
                    }
                }
            }
            None => (Outcome::Unknown, None, None),
        },
    };
    let reasons = serde_json::to_string(&reasons).expect("json");
    store::card::settle_transaction(conn, t.id, outcome, None, installment, payment, refund, &reasons).await?;
    Ok((outcome, due_again))
}

/// A charge-back row as `charge_back_of` reads it.
struct Back<'a> {
    number: &'a str,
    reference: &'a str,
    response: Option<&'a str>,
}

/// What a captured charge-back does: the paid debit of its order reference and amount (of
/// `student`, when the accountant named one) becomes unpaid, what it paid due again; one the
/// office declared from the bank's "IMPAYE CB" line first is only confirmed; one told twice undoes
/// nothing more. Otherwise it waits (`Unknown`). Returns the outcome, the payment made unpaid and
/// the installment it paid; `reasons` says which.
async fn charge_back_of(
    conn: &mut Conn,
    back: &Back<'_>,
    date: NaiveDate,
    amount: Money,
    student: Option<i64>,
    reasons: &mut Vec<String>,
    actor: &str,
) -> Result<(Outcome, Option<i64>, Option<i64>)> {
    if let Some((debit, payment, paid)) =
        store::card::paid_debit_for(conn, Some(back.reference), student, amount).await?
    {
        let why = format!("impayé carte {} ({})", back.number, export::response_words(back.response.unwrap_or("")));
        ledger::reverse_payment(conn, payment, PaymentReversal::Unpaid, date, &why, actor).await?;
        store::card::settle_transaction(conn, debit, Outcome::ChargedBack, None, None, None, None, "[]").await?;
        reasons.push(format!("impayé du règlement {payment}"));
        return Ok((Outcome::ChargedBack, Some(payment), paid));
    }
    // The office may have declared it from the bank's "IMPAYE CB" line first: then this row only
    // confirms it, and nothing is undone twice.
    if let Some((_, payment, paid)) =
        store::card::declared_charge_back_for(conn, back.reference, student, amount).await?
    {
        reasons.push(format!("impayé déjà déclaré d'après le relevé (règlement {payment})"));
        return Ok((Outcome::ChargedBack, Some(payment), paid));
    }
    // The same charge-back told twice (a new row for a debit already back): nothing more comes
    // back, and nothing waits to be attributed.
    if let Some((first, payment, paid)) =
        store::card::recorded_charge_back_for(conn, back.reference, student, amount).await?
    {
        reasons.push(format!("impayé déjà enregistré (transaction {first}) : rien n'est défait deux fois"));
        return Ok((Outcome::ChargedBack, payment, paid));
    }
    reasons.push("aucun paiement carte de cette référence et de ce montant".into());
    Ok((Outcome::Unknown, None, None))
}

/// How a card refund left the account.
enum RefundedBy {
    /// Out of the account's credit: a refund record (one owed already, or a new one), paid.
    Credit(i64),
    /// The card payment it gives back no longer settles anything (what it paid is due again):
    /// that payment, the installment its debit paid, the refund recorded out of it, and every
    /// installment it had settled.
    GivenBack { payment: i64, paid: Option<i64>, refund: i64, released: Vec<i64> },
}

/// Gives a captured card refund back out of a student's account: out of its spare credit when
/// there is enough; else out of the refunds it owed already (`ledger::pay_owed_refunds`); else out of the card payment it refunds, the paid debit of the same amount
/// and order reference, or the student's latest paid debit of that amount when no reference ties
/// them: that payment settles nothing any more, and the refund is recorded beside it. `None` when
/// neither exists: the refund cannot be placed on this account.
async fn refund_out(
    conn: &mut Conn,
    student: i64,
    number: &str,
    reference: Option<&str>,
    amount: Money,
    date: NaiveDate,
    actor: &str,
) -> Result<Option<RefundedBy>> {
    let spare = ledger::spare_credit(conn, student).await?;
    if amount <= spare {
        let refund = ledger::issue_refund(conn, student, None, date, amount, None, actor).await?;
        ledger::pay_refund(conn, refund, None, date, actor).await?;
        audit::record(conn, actor, "card.refund", "card_transaction", number, None, json!({"refund": refund})).await?;
        return Ok(Some(RefundedBy::Credit(refund)));
    }
    // Beyond the spare credit, the refunds the office owed already (an exemption's, to pay), sent
    // back to the card, whole or in parts (a card refund never exceeds the debit it returns):
    // those are paid, not a payment given back, which would make an installment due again while
    // the school owes. The spare credit, if any, pays the rest of it.
    let how = format!("remboursement carte {number}");
    let beyond = amount - spare.max(Money::ZERO);
    if let Some(mut paid) = ledger::pay_owed_refunds(conn, student, beyond, date, &how, actor).await? {
        if spare.is_positive() {
            let refund = ledger::issue_refund(conn, student, None, date, spare, None, actor).await?;
            ledger::pay_refund(conn, refund, None, date, actor).await?;
            paid.push(refund);
        }
        audit::record(conn, actor, "card.refund", "card_transaction", number, None, json!({"pays_refunds": paid}))
            .await?;
        let last = paid.last().copied().ok_or_else(|| {
            Error::Invalid(format!("remboursement carte {number} : aucun remboursement dû n'a été payé"))
        })?;
        return Ok(Some(RefundedBy::Credit(last)));
    }
    let mut debit = None;
    if let Some(reference) = reference {
        debit = store::card::paid_debit_for(conn, Some(reference), Some(student), amount).await?;
    }
    if debit.is_none() {
        debit = store::card::paid_debit_for(conn, None, Some(student), amount).await?;
    }
    let Some((debit, payment, paid)) = debit else { return Ok(None) };
    let (refund, released) =
        ledger::give_back_payment(conn, payment, amount, date, &format!("remboursement carte {number}"), actor).await?;
    let why = json!([format!("remboursée par la transaction {number}")]).to_string();
    store::card::settle_transaction(conn, debit, Outcome::Refunded, None, None, None, None, &why).await?;
    audit::record(
        conn,
        actor,
        "card.refund",
        "card_transaction",
        number,
        Some("au-delà du crédit du compte: le paiement carte remboursé ne règle plus son échéance"),
        json!({"gives_back": payment, "debit": debit, "refund": refund}),
    )
    .await?;
    Ok(Some(RefundedBy::GivenBack { payment, paid, refund, released }))
}

/// A transaction as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionView {
    #[serde(flatten)]
    pub row: store::card::TransactionRow,
    pub amount: Money,
    /// The bank's answer in words for a refused one.
    pub refusal: Option<String>,
    pub reasons: Vec<String>,
}

pub async fn transactions(store: &Store, outcome: Option<Outcome>, limit: i64) -> Result<Vec<TransactionView>> {
    let rows = store::card::transactions(&mut *store.read().await?, outcome, limit).await?;
    rows.into_iter().map(view).collect()
}

/// What Cartes asks for: a window of the transactions with an outcome (`captured` for paid), of a
/// remittance, whose number, order reference or e-mail holds `search`; each all when none. Sorted
/// by `sort` (`date` by default). As typed: the core checks it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TransactionQuery {
    pub outcome: Option<String>,
    pub remittance: Option<String>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// A window of the transactions the query keeps, filtered, sorted and counted by the database.
pub async fn transaction_page(store: &Store, q: &TransactionQuery) -> Result<Page<TransactionView>> {
    let window = q.page.window()?;
    let search = q.page.search();
    let filter = store::card::TransactionFilter {
        outcome: given(&q.outcome).map(Outcome::parse).transpose()?,
        remittance: given(&q.remittance),
        search: search.as_ref(),
    };
    let sort: TransactionSort = q.page.sort()?;
    let page =
        store::card::transaction_page(&mut *store.read().await?, &filter, sort, q.page.descending, window).await?;
    let rows = page.rows.into_iter().map(view).collect::<Result<_>>()?;
    Ok(Page { total: page.total, offset: page.offset, rows })
}

fn view(row: store::card::TransactionRow) -> Result<TransactionView> {
    let reasons = serde_json::from_str(&row.reasons)
        .map_err(|e| Error::Invalid(format!("transaction {} : raisons illisibles ({e})", row.number)))?;
    Ok(TransactionView {
        amount: Money::from_cents(row.amount_cents),
        refusal: (row.status == Status::Refused)
            .then(|| export::response_words(row.response_code.as_deref().unwrap_or(""))),
        reasons,
        row,
    })
}

/// Ties a transaction that waits (`unknown`) to a student, as the accountant decides: a captured
/// debit becomes a card payment (oldest installment first); a refused one marks refused the open
/// installment of its amount already due on its date, as the import does without a rank (none
/// if there is no such installment); a refund leaves the account as the import's would (its
/// credit, a refund owed, or the card payment it gives back); a charge-back makes unpaid the
/// student's card payment of its reference and amount. Audited.
pub async fn assign(store: &Store, number: &str, student_number: &str, actor: &str) -> Result<TransactionView> {
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let t = store::card::transaction(&mut tx, number)
        .await?
        .ok_or_else(|| Error::Invalid(format!("transaction {number} introuvable")))?;
    if t.outcome != Outcome::Unknown {
        return Err(Error::Conflict(format!("transaction {number} déjà traitée ({})", t.outcome.code())));
    }
    let parsed = ledger::StudentNumber::parse(student_number)?;
    let student = store::students::by_number(&mut tx, &parsed)
        .await?
        .ok_or_else(|| Error::StudentNotFound(student_number.to_string()))?;
    let amount = Money::from_cents(t.amount_cents);
    let reasons = json!([format!("attribuée par {actor}")]).to_string();
    match (t.kind, t.status) {
        (Kind::Debit, Status::Captured) => {
            let payment =
                ledger::record_payment(&mut tx, &student, t.date, amount, PaymentMethod::Card, &t.order_ref, actor)
                    .await?;
            store::card::settle_transaction(
                &mut tx,
                t.id,
                Outcome::Paid,
                Some(student.id),
                None,
                Some(payment),
                None,
                &reasons,
            )
            .await?;
        }
        (Kind::Debit, Status::Refused) => {
            // As the import marks one without a rank; the refusal is recorded for the position
            // ("Refusée") and the reminders, as the import's.
            let open = store::ledger::open_installments(&mut tx, student.id).await?;
            let installment = open.iter().find(|o| o.left_to_pay == amount && o.due_date <= t.date).map(|o| o.id);
            if let Some(i) = installment {
                let code = t.response_code.clone().unwrap_or_default();
                store::card::record_refusals(&mut tx, &[(i, code, t.date, t.id)]).await?;
            }
            store::card::settle_transaction(
                &mut tx,
                t.id,
                Outcome::Refused,
                Some(student.id),
                installment,
                None,
                None,
                &reasons,
            )
            .await?;
        }
        (Kind::Refund, Status::Captured) => {
            let (payment, refund, paid) = match refund_out(
                &mut tx,
                student.id,
                number,
                Some(&t.order_ref),
                amount,
                t.date,
                actor,
            )
            .await?
            {
                Some(RefundedBy::Credit(refund)) => (None, Some(refund), None),
                Some(RefundedBy::GivenBack { payment, paid, refund, .. }) => (Some(payment), Some(refund), paid),
                None => {
                    return Err(Error::Invalid(format!(
                        "remboursement {number} de {amount} : ni crédit ni paiement carte de ce montant sur le compte de {student_number}"
                    )));
                }
            };
            store::card::settle_transaction(
                &mut tx,
                t.id,
                Outcome::Refunded,
                Some(student.id),
                paid,
                payment,
                refund,
                &reasons,
            )
            .await?;
        }
        // A charge-back that came before its debit was tied to anyone (the debit waited, or came
        // in a later export): tied now, it does what the import would have done.
        (Kind::Chargeback, Status::Captured) => {
            let mut why = vec![format!("attribuée par {actor}")];
            let back = Back { number, reference: &t.order_ref, response: t.response_code.as_deref() };
            let (outcome, payment, paid) =
                charge_back_of(&mut tx, &back, t.date, amount, Some(student.id), &mut why, actor).await?;
            if outcome == Outcome::Unknown {
                return Err(Error::Invalid(format!(
                    "impayé {number} de {} : aucun paiement carte de la référence {} et de ce montant sur le compte de {student_number}",
                    amount.to_french(),
                    t.order_ref
                )));
            }
            let why = serde_json::to_string(&why).expect("a list of strings serializes");
            store::card::settle_transaction(&mut tx, t.id, outcome, Some(student.id), paid, payment, None, &why)
                .await?;
        }
        _ => {
            return Err(Error::Invalid(format!(
                "transaction {number} : seuls un débit, un remboursement ou un impayé s'attribuent à un étudiant"
            )));
        }
    }
    audit::record(&mut tx, actor, "card.assign", "card_transaction", number, None, json!({"student": student_number}))
        .await?;
    let done = store::card::transaction(&mut tx, number).await?.ok_or_else(|| Error::Invalid(number.to_string()))?;
    tx.commit().await?;
    view(done)
}

/// A captured card payment came back (the bank's "IMPAYE CB" line, matched by the accountant):
/// its payment becomes unpaid and what it paid is due again. Audited.
pub async fn charge_back(
    store: &Store,
    number: &str,
    date: NaiveDate,
    reason: &str,
    actor: &str,
) -> Result<TransactionView> {
    let reason = crate::users::reason_required(Some(reason))?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    let t = store::card::transaction(&mut tx, number)
        .await?
        .ok_or_else(|| Error::Invalid(format!("transaction {number} introuvable")))?;
    let Some(payment) = t.payment_id.filter(|_| t.outcome == Outcome::Paid) else {
        return Err(Error::Invalid(format!("transaction {number} : aucun paiement carte à déclarer impayé")));
    };
    ledger::reverse_payment(
        &mut tx,
        payment,
        PaymentReversal::Unpaid,
        date,
        &format!("impayé carte {number}: {reason}"),
        actor,
    )
    .await?;
    store::card::settle_transaction(&mut tx, t.id, Outcome::ChargedBack, None, None, None, None, &t.reasons).await?;
    audit::record(
        &mut tx,
        actor,
        "card.charge_back",
        "card_transaction",
        number,
        Some(reason),
        json!({"payment": payment}),
    )
    .await?;
    let done = store::card::transaction(&mut tx, number).await?.ok_or_else(|| Error::Invalid(number.to_string()))?;
    tx.commit().await?;
    view(done)
}

/// A remittance: the gateway's captured debits of one remittance number, and the bank line that
/// credited them, net of the acquirer's commission or gross with a separate commission line.
#[derive(Debug, Clone, Serialize)]
pub struct Remittance {
    pub number: String,
    pub date: NaiveDate,
    pub gross: Money,
    pub count: i64,
    pub bank_line_id: Option<i64>,
    pub bank_amount: Option<Money>,
    /// Gross less what the bank credited: the acquirer's commission when the line is net, zero
    /// when it is gross (the commission is then a "COMMISSION CB" debit line of its own).
    pub difference: Option<Money>,
    /// That separate commission line, when there is one on the bank line's day.
    pub commission_line: Option<Money>,
    /// The difference is beyond the commission tolerance: to look at.
    pub flagged: bool,
}

/// The commission the acquirer may keep on a remittance, in basis points of its gross (1 %).
pub async fn commission_tolerance_bp(conn: &mut Conn) -> Result<i64> {
    Ok(store::users::pref(conn, "card.commission_tolerance_bp").await?.and_then(|v| v.parse().ok()).unwrap_or(100))
}

pub async fn set_commission_tolerance(store: &Store, bp: i64, reason: Option<&str>, actor: &str) -> Result<()> {
    if !(0..=1000).contains(&bp) {
        return Err(Error::Invalid(format!("tolérance de commission {bp} points de base hors de 0 à 1000 (10 %)")));
    }
    let reason = crate::users::reason_required(reason)?;
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::BankSettings).await?;
    let old = commission_tolerance_bp(&mut tx).await?;
    store::users::set_pref(&mut tx, "card.commission_tolerance_bp", &bp.to_string()).await?;
    audit::record(
        &mut tx,
        actor,
        "settings.commission_tolerance",
        "settings",
        "card",
        Some(reason),
        json!({"old": old, "new": bp}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remittances(store: &Store) -> Result<Vec<Remittance>> {
    let mut conn = store.read().await?;
    let bp = commission_tolerance_bp(&mut conn).await?;
    let rows = store::card::remittances(&mut conn).await?;
    Ok(rows.into_iter().map(|r| remittance(r, bp)).collect())
}

/// A window of the remittances, latest first, counted by the database (what Cartes shows).
pub async fn remittance_page(store: &Store, q: &PageQuery) -> Result<Page<Remittance>> {
    let window = q.window()?;
    q.unsorted("par date, la plus récente d'abord")?;
    let mut conn = store.read().await?;
    let bp = commission_tolerance_bp(&mut conn).await?;
    let page = store::card::remittance_page(&mut conn, window).await?;
    Ok(Page {
        total: page.total,
        offset: page.offset,
        rows: page.rows.into_iter().map(|r| remittance(r, bp)).collect(),
    })
}

/// A remittance as the database adds it up, its difference checked against the tolerance `bp`.
fn remittance(r: store::card::RemittanceRow, bp: i64) -> Remittance {
    let gross = Money::from_cents(r.gross_cents);
    let difference = r.bank_cents.map(|b| gross - Money::from_cents(b));
    Remittance {
        number: r.number,
        date: r.date,
        gross,
        count: r.count,
        bank_line_id: r.bank_line_id,
        bank_amount: r.bank_cents.map(Money::from_cents),
        commission_line: r.commission_cents.map(Money::from_cents),
        flagged: difference.is_some_and(|d| !within(gross, d, bp)),
        difference,
    }
}
