//! Card: the payment gateway's transactions (Paybox), each tied to the installment it paid or
//! failed to pay. Captured debits become payments, refused ones mark their installment.

pub mod export;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::export::{CardRow, Kind, Mapping, Status};
use crate::bank::matching::Payee;
use crate::ledger::{self, PaymentMethod, PaymentReversal};
use crate::money::Money;
use crate::sheets;
use crate::store::{self, Conn, Store, audit};
use crate::{Error, Result};

/// What Régie made of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Outcome {
    /// A captured debit, recorded as a card payment on its installment.
    Paid,
    /// A debit the cardholder's bank refused: the installment stays due, marked refused.
    Refused,
    /// Money sent back to the card: a refund, paid.
    Refunded,
    /// A captured payment that came back: the payment is unpaid ("Impayé").
    ChargedBack,
    Cancelled,
    /// Not tied to a student yet: waits for the accountant (`card assign`).
    Unknown,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Refused => "refused",
            Outcome::Refunded => "refunded",
            Outcome::ChargedBack => "charged_back",
            Outcome::Cancelled => "cancelled",
            Outcome::Unknown => "unknown",
        }
    }

    /// Reads the CLI's `--status`: an outcome, or `captured` for the paid ones.
    pub fn parse(text: &str) -> Result<Outcome> {
        match text.trim().to_lowercase().as_str() {
            "paid" | "captured" => Ok(Outcome::Paid),
            "refused" => Ok(Outcome::Refused),
            "refunded" => Ok(Outcome::Refunded),
            "charged_back" | "chargeback" => Ok(Outcome::ChargedBack),
            "cancelled" => Ok(Outcome::Cancelled),
            "unknown" => Ok(Outcome::Unknown),
            other => Err(Error::Invalid(format!(
                "statut « {other} » inconnu (captured, refused, refunded, charged_back, cancelled, unknown)"
            ))),
        }
    }
}

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
}

/// How the columns of an export are found.
pub enum Columns<'a> {
    Detect,
    Profile(&'a str),
    Mapping { mapping: Mapping, save_as: Option<&'a str> },
}

/// Who a transaction is for, and which installment, with the reasons.
#[derive(Debug, Clone, Default)]
struct Target {
    student_id: Option<i64>,
    installment_id: Option<i64>,
    reasons: Vec<String>,
}

/// What the import looks transactions up in, built once per import.
struct Index {
    payees: Vec<Payee>,
    payee_of: HashMap<i64, usize>,
    invoice_student: HashMap<String, i64>,
    by_email: HashMap<String, Vec<i64>>,
    by_number: HashMap<String, i64>,
}

impl Index {
    fn empty() -> Index {
        Index {
            payees: Vec::new(),
            payee_of: HashMap::new(),
            invoice_student: HashMap::new(),
            by_email: HashMap::new(),
            by_number: HashMap::new(),
        }
    }

    async fn build(conn: &mut Conn) -> Result<Index> {
        let payees = store::bank::payees(&mut *conn).await?;
        let payee_of = payees.iter().enumerate().map(|(i, p)| (p.student_id, i)).collect();
        let invoice_student = store::card::invoice_students(&mut *conn).await?;
        let mut by_email: HashMap<String, Vec<i64>> = HashMap::new();
        let mut by_number = HashMap::new();
        for (id, number, email) in store::card::students(conn).await? {
            by_email.entry(email).or_default().push(id);
            by_number.insert(number, id);
        }
        Ok(Index { payees, payee_of, invoice_student, by_email, by_number })
    }

    /// The student and installment a row is for: the order reference when it names one of our
    /// invoices (and the installment's rank), else the payer's e-mail, else a student number in
    /// the reference; then the open installment of that amount, else the oldest open one.
    fn target(&self, row: &CardRow) -> Target {
        let mut t = Target::default();
        let mut rank = None;
        let mut invoice = None;
        if let Some((number, n)) = export::invoice_in_reference(&row.reference)
            && let Some(student) = self.invoice_student.get(&number)
        {
            t.student_id = Some(*student);
            t.reasons.push(format!("référence {}", row.reference));
            invoice = Some(number);
            rank = n;
        }
        if t.student_id.is_none()
            && let Some(ids) = row.email.as_ref().and_then(|e| self.by_email.get(e))
        {
            if let [one] = ids.as_slice() {
                t.student_id = Some(*one);
                t.reasons.push(format!("e-mail {}", row.email.as_deref().unwrap_or_default()));
            } else {
                t.reasons.push(format!("e-mail partagé par {} étudiants", ids.len()));
            }
        }
        if t.student_id.is_none() {
            let number = row
                .reference
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() >= 6 && self.by_number.contains_key(*w));
            if let Some(n) = number {
                t.student_id = self.by_number.get(n).copied();
                t.reasons.push(format!("n° étudiant {n} dans la référence"));
            }
        }
        let Some(student) = t.student_id else {
            if t.reasons.is_empty() {
                t.reasons.push(format!("référence « {} » et e-mail inconnus", row.reference));
            }
            return t;
        };
        let Some(payee) = self.payee_of.get(&student).map(|i| &self.payees[*i]) else {
            t.reasons.push("aucune échéance ouverte".into());
            return t;
        };
        let on_invoice = |o: &&crate::bank::matching::OpenItem| invoice.as_ref().is_none_or(|n| &o.invoice_number == n);
        let pick = payee
            .open
            .iter()
            .filter(on_invoice)
            .find(|o| rank.is_some_and(|n| o.n == n))
            .or_else(|| payee.open.iter().filter(on_invoice).find(|o| o.left == row.amount))
            .or_else(|| payee.open.iter().find(|o| o.left == row.amount))
            .or_else(|| payee.open.iter().find(on_invoice))
            .or_else(|| payee.open.first());
        if let Some(o) = pick {
            t.installment_id = Some(o.installment_id);
            t.reasons.push(format!("échéance {} du {} ({})", o.n, o.due_date.format("%d/%m/%Y"), o.invoice_number));
        }
        t
    }
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
    let sheet = sheets::read(path)?;
    let mapping = match &columns {
        Columns::Detect => export::detect(&sheet)?,
        Columns::Profile(name) => {
            crate::bank::saved_mapping(name, store::card::profile(&mut *store.read().await?, name).await?)?
        }
        Columns::Mapping { mapping, .. } => mapping.clone(),
    };
    let mut rows = export::read_rows(&sheet, &mapping)?;
    // Oldest first: a charge-back or a refund comes after the debit it undoes.
    rows.sort_by(|a, b| (a.date, &a.time, a.row).cmp(&(b.date, &b.time, b.row)));

    let mut tx = store.begin().await?;
    if let Columns::Mapping { mapping, save_as: Some(name) } = &columns {
        store::card::save_profile(&mut tx, name, &serde_json::to_string(mapping).expect("mapping serializes")).await?;
    }
    let import_id = store::card::insert_import(&mut tx, &sheet.file, sheet.sheet.as_deref(), actor, rows.len()).await?;
    let mut known = match (rows.iter().map(|r| r.date).min(), rows.iter().map(|r| r.date).max()) {
        (Some(from), Some(to)) => store::card::known_numbers(&mut tx, from, to).await?,
        _ => HashSet::new(),
    };
    // Nothing new (a re-import): no need to look anyone up.
    let fresh = rows.iter().any(|r| !known.contains(&r.number));
    let mut index = if fresh { Index::build(&mut tx).await? } else { Index::empty() };
    let mut summary = ImportSummary { file: sheet.file.clone(), rows: rows.len(), ..ImportSummary::default() };
    let mut id = store::card::last_transaction_id(&mut tx).await?;
    let mut payment_id = store::ledger::last_payment_id(&mut tx).await?;
    let mut new = Vec::new();
    let mut payments = Vec::new();
    // Refunds and charge-backs, by id: done after the payments they may undo are stored.
    let mut later = HashSet::new();
    let mut refused = Vec::new();
    let mut refusals = Vec::new();
    let mut paid_list = Vec::new();
    let total = rows.len();
    for (k, row) in rows.iter().enumerate() {
        if k % 5000 == 0 {
            progress(Progress { phase: "match", done: k, total });
        }
        if !known.insert(row.number.clone()) {
            summary.already_known += 1;
            continue;
        }
        id += 1;
        let target = index.target(row);
        let mut outcome = Outcome::Unknown;
        let mut installment_id = target.installment_id;
        let mut paid = None;
        match (row.kind, row.status) {
            (_, Status::Cancelled) | (Kind::Refund | Kind::Chargeback, Status::Refused) => outcome = Outcome::Cancelled,
            (Kind::Debit, Status::Refused) if target.student_id.is_some() => {
                outcome = Outcome::Refused;
                if let Some(installment) = installment_id {
                    refusals.push((installment, row.response.clone().unwrap_or_default(), row.date, id));
                }
                refused.push(json!({"transaction": row.number, "installment": installment_id,
                                    "reason": export::response_words(row.response.as_deref().unwrap_or(""))}));
            }
            (Kind::Debit, Status::Captured) => {
                if let Some(student) = target.student_id {
                    payment_id += 1;
                    let allocations = match index.payee_of.get(&student) {
                        Some(i) => {
                            let payee = &mut index.payees[*i];
                            // The installment the transaction is for first, then the oldest.
                            let first = payee.open.iter().position(|o| Some(o.installment_id) == installment_id);
                            if let Some(k) = first {
                                payee.open[..=k].rotate_right(1);
                            }
                            let (parts, _) = ledger::allocation::spread(payee.open.iter_mut(), row.amount);
                            payee.open.retain(|o| o.left.is_positive());
                            payee.open.sort_by_key(|o| (o.due_date, o.n));
                            parts
                        }
                        None => Vec::new(),
                    };
                    if installment_id.is_none() {
                        installment_id = allocations.first().map(|(i, _)| *i);
                    }
                    payments.push(ledger::BulkPayment {
                        id: payment_id,
                        student_id: student,
                        date: row.date,
                        amount: row.amount,
                        method: PaymentMethod::Card,
                        reference: &row.reference,
                        allocations,
                    });
                    paid = Some(payment_id);
                    paid_list.push(json!({"transaction": row.number, "student": student, "payment": payment_id,
                                          "amount": row.amount}));
                    outcome = Outcome::Paid;
                }
            }
            (Kind::Refund | Kind::Chargeback, Status::Captured) => {
                later.insert(id);
            }
            (Kind::Debit, Status::Refused) => {}
        }
        match outcome {
            Outcome::Paid => summary.paid += 1,
            Outcome::Refused => summary.refused += 1,
            Outcome::Cancelled => summary.cancelled += 1,
            _ => {}
        }
        new.push(store::card::NewTransaction {
            id,
            import_id,
            row,
            student_id: target.student_id,
            installment_id,
            payment_id: paid,
            outcome,
            reasons: serde_json::to_string(&target.reasons).expect("json"),
        });
    }
    summary.new = new.len();
    progress(Progress { phase: "save", done: total, total });
    ledger::record_payments_bulk(&mut tx, &payments).await?;
    store::card::insert_bulk(&mut tx, &new).await?;
    store::card::record_refusals(&mut tx, &refusals).await?;
    // Refunds and charge-backs move money already recorded: one by one, after the payments.
    for t in new.iter().filter(|t| later.contains(&t.id)) {
        let outcome = undo_money(&mut tx, t, actor).await?;
        match outcome {
            Outcome::Refunded => summary.refunded += 1,
            Outcome::ChargedBack => summary.charged_back += 1,
            _ => {}
        }
    }
    summary.unknown =
        summary.new - summary.paid - summary.refused - summary.cancelled - summary.refunded - summary.charged_back;
    store::card::set_import_counts(&mut tx, import_id, summary.new, summary.already_known).await?;
    audit::record(
        &mut tx,
        actor,
        "card.import",
        "card_import",
        import_id,
        None,
        json!({"summary": summary, "paid": paid_list, "refused": refused}),
    )
    .await?;
    tx.commit().await?;
    progress(Progress { phase: "done", done: total, total });
    Ok(summary)
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

pub fn preview_bytes(name: &str, bytes: &[u8], mapping: Option<&str>) -> Result<Preview> {
    let upload = crate::bank::Upload::new(name, bytes)?;
    let sheet = sheets::read(&upload.path)?;
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

/// An export received as bytes (from the window, which has no file-system access): read from a
/// private temporary file, then removed.
pub async fn import_bytes(
    store: &Store,
    name: &str,
    bytes: &[u8],
    columns: Columns<'_>,
    actor: &str,
    progress: &(dyn Fn(crate::bank::Progress) + Send + Sync),
) -> Result<ImportSummary> {
    let upload = crate::bank::Upload::new(name, bytes)?;
    import_file_with(store, &upload.path, columns, actor, progress).await
}

/// A captured refund or charge-back row: a charge-back makes the debit it names unpaid; a refund
/// is recorded paid out of the account's credit. Either waits (`unknown`) when it cannot.
async fn undo_money(conn: &mut Conn, t: &store::card::NewTransaction<'_>, actor: &str) -> Result<Outcome> {
    let row = t.row;
    let mut reasons: Vec<String> = serde_json::from_str(&t.reasons).unwrap_or_default();
    let (outcome, payment, refund) = match row.kind {
        Kind::Chargeback => match store::card::paid_debit_for(conn, Some(&row.reference), None, row.amount).await? {
            Some((debit, payment)) => {
                let why = format!(
                    "impayé carte {} ({})",
                    row.number,
                    export::response_words(row.response.as_deref().unwrap_or(""))
                );
                ledger::reverse_payment(conn, payment, PaymentReversal::Unpaid, row.date, &why, actor).await?;
                store::card::settle_transaction(conn, debit, Outcome::ChargedBack, None, None, None, None, "[]")
                    .await?;
                reasons.push(format!("impayé du règlement {payment}"));
                (Outcome::ChargedBack, Some(payment), None)
            }
            None => {
                reasons.push("aucun paiement carte de cette référence et de ce montant".into());
                (Outcome::Unknown, None, None)
            }
        },
        _ => match t.student_id {
            Some(student) => {
                match refund_out(conn, student, &row.number, Some(&row.reference), row.amount, row.date, actor).await? {
                    Some(RefundedBy::Credit(refund)) => {
                        reasons.push("remboursé sur la carte".into());
                        (Outcome::Refunded, None, Some(refund))
                    }
                    Some(RefundedBy::Reversal { payment, .. }) => {
                        reasons.push(format!("remboursement du règlement {payment}: son échéance est due à nouveau"));
                        (Outcome::Refunded, Some(payment), None)
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
    store::card::settle_transaction(conn, t.id, outcome, None, None, payment, refund, &reasons).await?;
    Ok(outcome)
}

/// How a card refund left the account.
enum RefundedBy {
    /// Out of the account's spare credit: a refund record, paid.
    Credit(i64),
    /// The card payment it gives back is undone (what it paid is due again): that payment.
    Reversal { payment: i64 },
}

/// Gives a captured card refund back out of a student's account: out of its spare credit when
/// there is enough; else it undoes the card payment it refunds, the paid debit of the same amount
/// and order reference, or the student's latest paid debit of that amount when no reference ties
/// them. `None` when neither exists: the refund cannot be placed on this account.
async fn refund_out(
    conn: &mut Conn,
    student: i64,
    number: &str,
    reference: Option<&str>,
    amount: Money,
    date: NaiveDate,
    actor: &str,
) -> Result<Option<RefundedBy>> {
    if amount <= ledger::spare_credit(conn, student).await? {
        let refund = ledger::issue_refund(conn, student, None, date, amount, None, actor).await?;
        ledger::pay_refund(conn, refund, None, date, actor).await?;
        audit::record(conn, actor, "card.refund", "card_transaction", number, None, json!({"refund": refund})).await?;
        return Ok(Some(RefundedBy::Credit(refund)));
    }
    let mut debit = None;
    if let Some(reference) = reference {
        debit = store::card::paid_debit_for(conn, Some(reference), Some(student), amount).await?;
    }
    if debit.is_none() {
        debit = store::card::paid_debit_for(conn, None, Some(student), amount).await?;
    }
    let Some((debit, payment)) = debit else { return Ok(None) };
    ledger::reverse_payment(
        conn,
        payment,
        PaymentReversal::Correction,
        date,
        &format!("remboursement carte {number}"),
        actor,
    )
    .await?;
    let why = json!([format!("remboursée par la transaction {number}")]).to_string();
    store::card::settle_transaction(conn, debit, Outcome::Refunded, None, None, None, None, &why).await?;
    audit::record(
        conn,
        actor,
        "card.refund",
        "card_transaction",
        number,
        Some("au-delà du crédit du compte: le paiement carte remboursé est annulé"),
        json!({"reverses": payment, "debit": debit}),
    )
    .await?;
    Ok(Some(RefundedBy::Reversal { payment }))
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
/// debit becomes a card payment (oldest installment first), a refused one marks the oldest open
/// installment refused, a refund leaves the account out of its credit or by undoing the student's
/// card payment of that amount. Audited.
pub async fn assign(store: &Store, number: &str, student_number: &str, actor: &str) -> Result<TransactionView> {
    let mut tx = store.begin().await?;
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
            let open = store::ledger::open_installments(&mut tx, student.id).await?;
            let installment = open.first().map(|o| o.id);
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
            let (payment, refund) = match refund_out(&mut tx, student.id, number, None, amount, t.date, actor).await? {
                Some(RefundedBy::Credit(refund)) => (None, Some(refund)),
                Some(RefundedBy::Reversal { payment }) => (Some(payment), None),
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
                None,
                payment,
                refund,
                &reasons,
            )
            .await?;
        }
        _ => {
            return Err(Error::Invalid(format!(
                "transaction {number} : seuls un débit ou un remboursement s'attribuent à un étudiant"
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

/// The remittance a bank line's label announces: `Some(number)` for "REMISE CB 81234 DU 11/10/25",
/// `Some(None)` for a card remittance without its number, `None` for any other line.
pub fn remittance_in_label(label: &str) -> Option<Option<String>> {
    let upper = crate::bank::table::canonical_label(label);
    let at = ["REMISE CB", "REM CB", "REMISE CARTE", "REMISE CARTES"]
        .iter()
        .find_map(|k| upper.find(k).map(|i| i + k.len()))?;
    let number: String = upper[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    Some((!number.is_empty()).then_some(number))
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

fn within(gross: Money, difference: Money, bp: i64) -> bool {
    // |difference| <= gross x bp / 10 000, in cents without rounding.
    difference.cents().abs() * 10_000 <= gross.cents() * bp
}

pub async fn remittances(store: &Store) -> Result<Vec<Remittance>> {
    let mut conn = store.read().await?;
    let bp = commission_tolerance_bp(&mut conn).await?;
    let rows = store::card::remittances(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
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
        })
        .collect())
}

/// What the bank import makes of a remittance line: the remittance it credits (by its number,
/// else by date and amount within the commission tolerance) and the reasons.
pub struct RemittanceMatch {
    pub number: Option<String>,
    pub known: bool,
    pub reasons: Vec<String>,
}

/// Ties a statement's remittance line to its remittance. `known` are the remittances recorded
/// from the gateway: (number, date, gross).
pub fn match_remittance(
    label_number: Option<String>,
    date: NaiveDate,
    amount: Money,
    known: &[(String, NaiveDate, Money)],
    bp: i64,
) -> RemittanceMatch {
    let explain = |number: &str, gross: Money| {
        let d = gross - amount;
        let mut r = vec![format!("remise CB {number} : {} brut", gross.to_french())];
        if d.is_zero() {
            r.push("créditée brute (commission à part)".into());
        } else if within(gross, d, bp) {
            r.push(format!("créditée nette, commission {}", d.to_french()));
        } else {
            r.push(format!("écart de {} au-delà de la tolérance", d.to_french()));
        }
        r
    };
    if let Some(n) = label_number {
        return match known.iter().find(|(k, _, _)| *k == n) {
            Some((_, _, gross)) => RemittanceMatch { reasons: explain(&n, *gross), number: Some(n), known: true },
            None => RemittanceMatch {
                reasons: vec![format!("remise CB {n} absente des exports de la passerelle importés")],
                number: Some(n),
                known: false,
            },
        };
    }
    let candidates = known.iter().filter(|(_, d, gross)| {
        (*d..=*d + chrono::Days::new(5)).contains(&date) && within(*gross, *gross - amount, bp) && *gross >= amount
    });
    match candidates.min_by_key(|(_, _, gross)| (*gross - amount).cents()) {
        Some((n, _, gross)) => {
            let mut reasons = explain(n, *gross);
            reasons.insert(0, "retrouvée par sa date et son montant".into());
            RemittanceMatch { number: Some(n.clone()), known: true, reasons }
        }
        None => RemittanceMatch {
            number: None,
            known: false,
            reasons: vec!["remise CB sans numéro : aucune remise de la passerelle à cette date et ce montant".into()],
        },
    }
}
