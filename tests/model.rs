//! The ledger's model test: random sequences of real operations (approve, reject, reopen, change
//! of plan, statements imported and re-imported, matches confirmed, split and undone, card
//! payments, credit notes, exemption outcomes decided, changed and reversed, refunds paid) on a
//! real database, with the ledger's invariants checked after every step. A failing sequence is
//! shrunk to the shortest one that still breaks an invariant, and printed.
//!
//! `REGIE_MODEL_SEEDS=500 cargo test --test model` runs more sequences than CI does.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use common::{AMINE_BENALI, CHLOE_MOREAU, CHLOE_MOREAU_2022, LEA_DURAND, PAUL_DURAND, Row};
use regie::bank::{self, Columns};
use regie::exemptions::{self, Outcome};
use regie::ledger::{self, InstallmentStatus, PaymentMethod, RefundStatus, StudentNumber};
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::{self, RequestStatus, review};
use regie::{Store, store};

#[rustfmt::skip]
const HUGO_PETIT: Row = ["25000010", "Petit", "Hugo", "hugo@etu.uca.fr", "POLYTECH", "P2526_Y4_4A", "4", "01", "1", "03/09/2025", "", "non", "", ""];
const STUDENTS: [Row; 6] = [LEA_DURAND, PAUL_DURAND, AMINE_BENALI, CHLOE_MOREAU, CHLOE_MOREAU_2022, HUGO_PETIT];

/// One operation, with its choices as indices taken modulo what exists when it runs, so that a
/// sequence stays meaningful when the shrinker removes steps from it.
#[derive(Debug, Clone)]
enum Op {
    Approve(usize),
    Reject(usize),
    Reopen(usize),
    ChangePlan(usize, PlanKind),
    /// A transfer from a student, imported from a statement; confirmed by hand when not matched.
    Transfer {
        student: usize,
        cents: i64,
        confirm: bool,
    },
    /// The same statement file imported again: must add nothing.
    ReimportLast,
    /// A line to review split between two students.
    Split {
        a: usize,
        b: usize,
        cents: i64,
        part: i64,
    },
    Undo(usize),
    CardPayment {
        student: usize,
        cents: i64,
    },
    /// A credit note for `per_mille` of what an invoice still carries.
    CreditNote {
        invoice: usize,
        per_mille: i64,
    },
    Exemption {
        candidate: usize,
        outcome: u8,
        cents: i64,
    },
    PayRefund(usize),
    /// A captured card payment comes back (a charge-back): "Impayé", what it paid is due again.
    ChargeBack(usize),
    /// The gateway's export: a debit of a student's installment, captured or refused, by its
    /// invoice reference (or the payer's e-mail only); sometimes imported twice.
    GatewayDebit {
        student: usize,
        installment: usize,
        cents: i64,
        refused: bool,
        by_email: bool,
        again: bool,
    },
    /// The gateway's export: a charge-back row of an earlier captured transaction.
    GatewayChargeBack(usize),
    /// The gateway's export: a refund to a student's card, of an earlier captured transaction
    /// (beyond the account's credit, it undoes that payment) or of any amount.
    GatewayRefund {
        k: usize,
        cents: i64,
        of_a_debit: bool,
    },
    /// The lines still to decide leave for a laptop (an offline session), when none is out.
    CheckOut,
    /// On the laptop: a line confirmed for a student (all of it, or a part), a match undone, or
    /// a line put on hold.
    Offline {
        line: usize,
        student: usize,
        part: Option<i64>,
        undo: bool,
        hold: bool,
    },
    /// The laptop's decisions come back to the office; a second check-in must apply nothing.
    CheckIn,
    /// A reminders run on the step's day, every letter in one PDF: right after it, nothing is
    /// left to raise that day and no paid or cancelled installment keeps a level.
    Remind,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic from the seed, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn cents(&mut self) -> i64 {
        // Amounts as they come: installments, round sums, odd cents, large over-payments.
        match self.below(6) {
            0 => [20600, 61800, 63380, 163050, 60100, 77580][self.below(6) as usize],
            1 => 100 * (1 + self.below(5000) as i64),
            2 => 1 + self.below(400_000) as i64,
            3 => 387900,
            _ => 1 + self.below(100_000) as i64,
        }
    }
}

fn generate(seed: u64, steps: usize) -> Vec<Op> {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ops = Vec::with_capacity(steps);
    for _ in 0..steps {
        let k = r.below(1000) as usize;
        let plans = [PlanKind::One, PlanKind::Three, PlanKind::Six, PlanKind::Transfer];
        ops.push(match r.below(36) {
            0..=3 => Op::Approve(k),
            4 => Op::Reject(k),
            5 => Op::Reopen(k),
            6 => Op::ChangePlan(k, plans[r.below(4) as usize]),
            7..=9 => Op::Transfer { student: k, cents: r.cents(), confirm: r.below(3) > 0 },
            10 => Op::ReimportLast,
            11 => Op::Split { a: k, b: r.below(1000) as usize, cents: r.cents(), part: r.cents() },
            12 => Op::Undo(k),
            13 => Op::CardPayment { student: k, cents: r.cents() },
            14 | 15 => Op::CreditNote { invoice: k, per_mille: 1 + r.below(1000) as i64 },
            16..=18 => Op::Exemption { candidate: k, outcome: r.below(3) as u8, cents: r.cents() },
            19 => Op::PayRefund(k),
            20 => Op::ChargeBack(k),
            21 | 22 => Op::GatewayDebit {
                student: k,
                installment: r.below(6) as usize,
                cents: r.cents(),
                refused: r.below(4) == 0,
                by_email: r.below(5) == 0,
                again: r.below(3) == 0,
            },
            23 => Op::GatewayChargeBack(k),
            24 | 25 => Op::GatewayRefund { k, cents: r.cents(), of_a_debit: r.below(2) == 0 },
            26 | 27 => Op::CheckOut,
            28..=31 => Op::Offline {
                line: k,
                student: r.below(1000) as usize,
                part: (r.below(3) == 0).then(|| r.cents()),
                undo: r.below(5) == 0,
                hold: r.below(3) == 0,
            },
            32 => Op::CheckIn,
            _ => Op::Remind,
        });
    }
    ops
}

// The debits of three days make one remittance: an export adds to a remittance earlier ones began.
const GATEWAY_HEADER: &str =
    "Date;Numéro de transaction;Référence commande;Montant;Type;Statut;Code réponse;E-mail;Numéro de remise";

/// Typst's world, built once for every sequence's reminders.
fn typesetter() -> &'static regie::invoices::Typesetter {
    static WORLD: std::sync::OnceLock<regie::invoices::Typesetter> = std::sync::OnceLock::new();
    WORLD.get_or_init(regie::invoices::Typesetter::new)
}

/// Two days per step: a sequence of 40 spans 78 days, long enough for an installment to climb
/// to the block (45 days late, two reminders before it, 14 and 24 days apart).
fn day(step: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 9, 5).unwrap() + chrono::Days::new(2 * step as u64)
}

struct World {
    store: Store,
    dir: std::path::PathBuf,
    last_statement: Option<std::path::PathBuf>,
    statements: usize,
    /// The offline session out, if any: its file and the laptop's store on it.
    session: Option<(std::path::PathBuf, Store)>,
}

/// An error an operation may meet on a valid ledger (a refused action, or a decision already
/// taken: a conflict), which changes nothing. A database error (a constraint broken) or anything
/// else is a defect.
fn expected(e: &regie::Error) -> bool {
    matches!(e.code(), "invalid_input" | "forbidden" | "invalid_amount" | "invalid_plan" | "no_fee" | "conflict")
}

fn statement_line(date: NaiveDate, cents: i64, label: &str) -> String {
    format!(
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\r\n{d};{d};;{a};{label};\r\n",
        d = date.format("%d/%m/%Y"),
        a = Money::from_cents(cents).to_french_number().replace('\u{202f}', " ")
    )
}

impl World {
    async fn new(tag: &str) -> World {
        let dir = common::temp_dir(tag);
        let file = dir.join("inscriptions.csv");
        common::write_csv_1252(&file, &STUDENTS);
        let store = Store::open(&common::db_at(&dir, "model")).await.unwrap();
        requests::import::import_file(&store, &file, "model").await.unwrap();
        regie::users::set_role(&store, "claire", regie::users::Role::FinanceManager, "model").await.unwrap();
        World { store, dir, last_statement: None, statements: 0, session: None }
    }

    fn student(&self, k: usize) -> &'static Row {
        &STUDENTS[k % STUDENTS.len()]
    }

    async fn import(&mut self, step: usize, cents: i64, label: &str) -> Result<Option<i64>, regie::Error> {
        self.statements += 1;
        let file = self.dir.join(format!("releve-{}.csv", self.statements));
        common::write_1252(&file, &statement_line(day(step), cents, label));
        self.last_statement = Some(file.clone());
        let s = bank::import_file(&self.store, &file, Columns::Detect, "paul").await?;
        assert_eq!(s.new, 1, "a new statement line is added once: {s:?}");
        let lines = bank::lines(&self.store, None).await?;
        Ok(lines.iter().filter(|l| l.label == label).map(|l| l.id).max())
    }

    /// Imports a gateway export; with `again`, imports it a second time, which must add nothing.
    async fn gateway(&mut self, text: &str, again: bool) -> Result<(), regie::Error> {
        self.statements += 1;
        let file = self.dir.join(format!("paybox-{}.csv", self.statements));
        common::write_1252(&file, text);
        regie::card::import_file(&self.store, &file, regie::card::Columns::Detect, "paul").await?;
        if again {
            let s = regie::card::import_file(&self.store, &file, regie::card::Columns::Detect, "paul").await?;
            assert_eq!((s.new, s.already_known), (0, 1), "a gateway export imported twice adds nothing");
        }
        Ok(())
    }

    async fn apply(&mut self, step: usize, op: &Op) -> Result<(), regie::Error> {
        let store = self.store.clone();
        let s = &store;
        let date = day(step);
        let nth = |v: Vec<i64>, k: usize| if v.is_empty() { None } else { Some(v[k % v.len()]) };
        let requests_in = |statuses: &'static [RequestStatus]| async move {
            let all = requests::list(s, None).await?;
            Ok::<_, regie::Error>(all.into_iter().filter(|r| statuses.contains(&r.status)).map(|r| r.id).collect())
        };
        match op {
            Op::Approve(k) => {
                if let Some(id) = nth(requests_in(&[RequestStatus::Pending, RequestStatus::Hold]).await?, *k) {
                    review::approve(s, id, date, "paul").await?;
                }
            }
            Op::Reject(k) => {
                if let Some(id) = nth(requests_in(&[RequestStatus::Pending]).await?, *k) {
                    review::reject(s, id, "refus", "paul").await?;
                }
            }
            Op::Reopen(k) => {
                if let Some(id) = nth(requests_in(&[RequestStatus::Approved, RequestStatus::Rejected]).await?, *k) {
                    review::reopen(s, id, "réexamen", date, "paul").await?;
                }
            }
            // Before approval the request goes back to the queue; after, the rest of its invoice
            // is re-planned from today, what was paid staying where it is.
            Op::ChangePlan(k, plan) => {
                let states = &[RequestStatus::Pending, RequestStatus::Hold, RequestStatus::Approved];
                if let Some(id) = nth(requests_in(states).await?, *k) {
                    review::change_plan(s, id, *plan, date, Some("l'étudiant change d'échéancier"), "paul").await?;
                }
            }
            Op::Transfer { student, cents, confirm } => {
                let row = self.student(*student);
                let label =
                    format!("VIR SEPA RECU /DE {} {} /MOTIF {} ETAPE {step}", row[1], row[2], row[0]).to_uppercase();
                if let Some(line) = self.import(step, *cents, &label).await? {
                    let view = bank::lines(s, None).await?.into_iter().find(|l| l.id == line).expect("line");
                    if *confirm && view.status != bank::matching::LineStatus::Matched {
                        bank::confirm(s, line, row[0], None, "paul").await?;
                    }
                }
            }
            Op::ReimportLast => {
                if let Some(file) = self.last_statement.clone() {
                    let sum = bank::import_file(s, &file, Columns::Detect, "paul").await?;
                    assert_eq!(
                        (sum.new, sum.already_known),
                        (0, 1),
                        "importing the same statement twice changes nothing"
                    );
                }
            }
            Op::Split { a, b, cents, part } => {
                let (ra, rb) = (self.student(*a), self.student(*b));
                let label = format!("VIR SEPA RECU /DE FAMILLE /MOTIF SCOLARITE ETAPE {step}");
                if let Some(line) = self.import(step, *cents, &label).await? {
                    let part = Money::from_cents(1 + part % cents.max(&1));
                    bank::confirm(s, line, ra[0], Some(part), "paul").await?;
                    let rest = Money::from_cents(*cents) - part;
                    if rest.is_positive() {
                        bank::confirm(s, line, rb[0], Some(rest), "paul").await?;
                    }
                }
            }
            Op::Undo(k) => {
                let lines: Vec<i64> = bank::lines(s, None)
                    .await?
                    .into_iter()
                    .filter(|l| l.student_number.is_some())
                    .map(|l| l.id)
                    .collect();
                if let Some(id) = nth(lines, *k) {
                    bank::undo(s, id, "erreur d'affectation", date, "paul").await?;
                }
            }
            Op::CardPayment { student, cents } => {
                let number = StudentNumber::parse(self.student(*student)[0]).unwrap();
                let mut tx = s.begin().await?;
                let Some(st) = store::students::by_number(&mut tx, &number).await? else { return Ok(()) };
                ledger::record_payment(
                    &mut tx,
                    &st,
                    date,
                    Money::from_cents(*cents),
                    PaymentMethod::Card,
                    "CB",
                    "paul",
                )
                .await?;
                tx.commit().await?;
            }
            Op::ChargeBack(k) => {
                let live: Vec<(i64,)> = common::rows(
                    s,
                    "SELECT p.id FROM payments p WHERE p.method = 'card' AND p.reverses IS NULL
                       AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses = p.id)
                       AND NOT EXISTS (SELECT 1 FROM refunds g WHERE g.gives_back = p.id) ORDER BY p.id",
                )
                .await;
                if let Some((id,)) = nth(live.into_iter().map(|(id,)| id).collect(), *k).map(|id| (id,)) {
                    let mut tx = s.begin().await?;
                    ledger::reverse_payment(&mut tx, id, ledger::PaymentReversal::Unpaid, date, "00141", "paul")
                        .await?;
                    tx.commit().await?;
                }
            }
            Op::GatewayDebit { student, installment, cents, refused, by_email, again } => {
                let row = self.student(*student);
                let invoices: Vec<String> = regie::invoices::list(s, None)
                    .await?
                    .into_iter()
                    .filter(|i| i.student_number == row[0])
                    .map(|i| i.number)
                    .collect();
                let Some(invoice) = invoices.last() else { return Ok(()) };
                let reference =
                    if *by_email { "PORTAIL".to_string() } else { format!("{invoice}-{}", installment + 1) };
                let (status, code) = if *refused { ("Refusé", "00151") } else { ("Télécollecté", "00000") };
                let text = format!(
                    "{GATEWAY_HEADER}\r\n{};G{step}-{student};{reference};{};Débit;{status};{code};{};{}\r\n",
                    date.format("%d/%m/%Y"),
                    Money::from_cents(*cents).to_french_number().replace('\u{202f}', " "),
                    row[3],
                    81000 + step / 3
                );
                self.gateway(&text, *again).await?;
            }
            Op::GatewayChargeBack(k) => {
                let paid: Vec<(String, i64)> = common::rows(s, "SELECT order_ref, amount_cents FROM card_transactions WHERE outcome = 'paid' AND kind = 'debit' ORDER BY id").await;
                if paid.is_empty() {
                    return Ok(());
                }
                let (reference, cents) = &paid[k % paid.len()];
                let text = format!(
                    "{GATEWAY_HEADER}\r\n{};B{step}-{k};{reference};{};Impayé;Télécollecté;00141;;\r\n",
                    date.format("%d/%m/%Y"),
                    Money::from_cents(*cents).to_french_number().replace('\u{202f}', " ")
                );
                self.gateway(&text, false).await?;
            }
            Op::GatewayRefund { k, cents, of_a_debit } => {
                let paid: Vec<(String, i64, String)> = common::rows(
                    s,
                    "SELECT c.order_ref, c.amount_cents, s.email FROM card_transactions c
                     JOIN students s ON s.id = c.student_id
                     WHERE c.outcome = 'paid' AND c.kind = 'debit' ORDER BY c.id",
                )
                .await;
                if paid.is_empty() {
                    return Ok(());
                }
                let (reference, paid_cents, email) = &paid[k % paid.len()];
                let cents = if *of_a_debit { *paid_cents } else { *cents };
                let text = format!(
                    "{GATEWAY_HEADER}\r\n{};R{step}-{k};{reference};{};Remboursement;Télécollecté;00000;{email};{}\r\n",
                    date.format("%d/%m/%Y"),
                    Money::from_cents(cents).to_french_number().replace('\u{202f}', " "),
                    // Sent back with that day's debits: their remittance nets it.
                    81000 + step / 3
                );
                self.gateway(&text, false).await?;
            }
            Op::CreditNote { invoice, per_mille } => {
                let invoices = regie::invoices::list(s, None).await?;
                if invoices.is_empty() {
                    return Ok(());
                }
                let i = &invoices[invoice % invoices.len()];
                let room = (i.total - i.credited).cents();
                let cents = (room * per_mille / 1000).max(1);
                regie::invoices::issue_credit_note(s, &i.number, Money::from_cents(cents), "geste", "claire").await?;
            }
            Op::Exemption { candidate, outcome, cents } => {
                let list = exemptions::list(s, None, None).await?;
                if list.is_empty() {
                    return Ok(());
                }
                let c = &list[candidate % list.len()];
                let outcome = match outcome {
                    0 => Outcome::Full,
                    1 => Outcome::Partial(Money::from_cents(*cents)),
                    _ => Outcome::Refused,
                };
                let iban = Some("FR76 1007 1630 0000 0010 0383 489");
                exemptions::decide(
                    s,
                    "Commission",
                    &c.student_number,
                    outcome,
                    &format!("CE-{step}"),
                    iban,
                    date,
                    "claire",
                )
                .await?;
            }
            Op::PayRefund(k) => {
                let refunds: Vec<i64> = exemptions::refunds(s)
                    .await?
                    .into_iter()
                    .filter(|r| r.status == RefundStatus::ToPay)
                    .map(|r| r.id)
                    .collect();
                if let Some(id) = nth(refunds, *k) {
                    exemptions::pay_refund(s, id, None, "claire").await?;
                }
            }
            Op::CheckOut => {
                if self.session.is_none() {
                    self.statements += 1;
                    let file = self.dir.join(format!("session-{}.sqlite", self.statements));
                    regie::session::checkout(s, &file, &regie::session::DEFAULT_LINES, None, "luc").await?;
                    let laptop = Store::open(&file).await?;
                    self.session = Some((file, laptop));
                }
            }
            Op::Offline { line, student, part, undo, hold } => {
                let Some((_, laptop)) = &self.session else { return Ok(()) };
                let lines = bank::lines(laptop, None).await?;
                if *hold {
                    let open: Vec<i64> = lines.iter().filter(|l| l.unassigned.is_positive()).map(|l| l.id).collect();
                    if let Some(id) = nth(open, *line) {
                        bank::hold(laptop, id, "en attente du payeur", "luc").await?;
                    }
                } else if *undo {
                    let matched: Vec<i64> = lines.iter().filter(|l| l.student_number.is_some()).map(|l| l.id).collect();
                    if let Some(id) = nth(matched, *line) {
                        bank::undo(laptop, id, "erreur d'affectation", date, "luc").await?;
                    }
                } else {
                    let open: Vec<i64> = lines.iter().filter(|l| l.unassigned.is_positive()).map(|l| l.id).collect();
                    if let Some(id) = nth(open, *line) {
                        let left = lines.iter().find(|l| l.id == id).expect("listed").unassigned.cents();
                        let part = part.map(|p| Money::from_cents(1 + p % left));
                        bank::confirm(laptop, id, self.student(*student)[0], part, "luc").await?;
                    }
                }
            }
            Op::Remind => {
                let out = self.dir.join(format!("relances-{step}"));
                regie::dunning::run(s, typesetter(), date, &out, true, "claire").await?;
            }
            Op::CheckIn => {
                if let Some((file, laptop)) = self.session.take() {
                    laptop.close().await;
                    let first = regie::session::checkin(s, &file, "claire").await?;
                    let again = regie::session::checkin(s, &file, "claire").await?;
                    assert_eq!(again.applied, 0, "a second check-in applies nothing: {again:?}");
                    assert_eq!(again.already_applied, first.applied + first.already_applied);
                }
            }
        }
        Ok(())
    }
}

async fn scalar(s: &Store, sql: &'static str) -> i64 {
    let (v,): (i64,) = common::one(s, sql).await;
    v
}

async fn rows(s: &Store, sql: &'static str) -> Vec<(i64, i64, i64)> {
    common::rows(s, sql).await
}

/// Every invariant of the ledger, from the raw rows and from what Régie shows.
async fn check(s: &Store) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut fail = |what: String| errors.push(what);
    // Per student: the balance's rule from raw sums, and the same balance as what is still due
    // on open installments minus the account's spare credit.
    let per_student = rows(
        s,
        "SELECT s.id,
           COALESCE((SELECT CAST(SUM(l.excl_vat_cents + l.vat_cents) AS BIGINT) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.student_id = s.id), 0)
           - COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.student_id = s.id), 0)
           - COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM payments p WHERE p.student_id = s.id), 0)
           + COALESCE((SELECT CAST(SUM(f.amount_cents) AS BIGINT) FROM refunds f WHERE f.student_id = s.id AND f.status = 'paid'), 0),
           COALESCE((SELECT CAST(SUM(t.amount_cents
                 - COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0)
                 - COALESCE((SELECT SUM(x.amount_cents) FROM credit_allocations x WHERE x.installment_id = t.id), 0)) AS BIGINT)
              FROM installments t JOIN invoices i ON i.id = t.invoice_id WHERE i.student_id = s.id AND t.status <> 'cancelled'), 0)
           - (COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM payments p WHERE p.student_id = s.id), 0)
              - COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a JOIN payments p ON p.id = a.payment_id WHERE p.student_id = s.id), 0)
              + COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.student_id = s.id), 0)
              - COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x JOIN credit_notes c ON c.id = x.credit_note_id
                          JOIN invoices i ON i.id = c.invoice_id WHERE i.student_id = s.id), 0)
              - COALESCE((SELECT CAST(SUM(f.amount_cents) AS BIGINT) FROM refunds f WHERE f.student_id = s.id AND f.status = 'paid'), 0))
         FROM students s ORDER BY s.id",
    )
    .await;
    // Card imports write with SQLite's key checks off (`Store::begin_bulk`): nothing may dangle.
    // PostgreSQL checks every key itself.
    if let regie::store::Pool::Sqlite(_) = s.pool() {
        let dangling: Vec<(String, Option<i64>, String, i64)> = common::rows(s, "PRAGMA foreign_key_check").await;
        if !dangling.is_empty() {
            fail(format!("dangling references (table, row, parent, key): {dangling:?}"));
        }
    }
    let listed = ledger::list_students(s, None, 0, 100).await.map_err(|e| e.to_string())?;
    for (row, (id, rule, due_minus_credit)) in STUDENTS.iter().zip(per_student) {
        let pos = ledger::account_position(s, row[0]).await.map_err(|e| e.to_string())?;
        let b = pos.summary.balance.cents();
        if b != rule {
            fail(format!("{}: balance {b} != invoiced - credited - paid + refunded {rule}", row[0]));
        }
        if b != due_minus_credit {
            fail(format!("{} (#{id}): balance {b} != still due - spare credit {due_minus_credit}", row[0]));
        }
        // The payments table (what came back shown as unpaid, undone matches not listed) adds up
        // to the credit the balance counts, less the credit notes.
        let t = &pos.totals;
        if t.payments_amount - t.payments_unpaid + t.credit_notes != pos.summary.credit {
            fail(format!("{}: payments table {:?} vs credit {}", row[0], t, pos.summary.credit));
        }
        let scheduled: Money = pos.schedule.iter().map(|l| l.left_to_pay).sum();
        if pos.schedule_left_total != scheduled || pos.schedule.iter().any(|l| l.left_to_pay.is_negative()) {
            fail(format!("{}: schedule left {:?}", row[0], pos.schedule));
        }
        // What the gateway will still debit by itself: its lines, none overdue, refused or paid.
        let debited: Money = pos.schedule.iter().filter(|l| l.automatic).map(|l| l.left_to_pay).sum();
        let past = |s: InstallmentStatus| !matches!(s, InstallmentStatus::Scheduled | InstallmentStatus::PartlyPaid);
        if pos.debited_total != debited
            || pos.debited_total > scheduled
            || pos.schedule.iter().any(|l| l.automatic && past(l.status))
        {
            fail(format!("{}: debited {} of {:?}", row[0], pos.debited_total, pos.schedule));
        }
        match listed.iter().find(|l| l.number == row[0]) {
            Some(l) if l.balance.cents() == b => {}
            other => fail(format!("{}: students list says {:?}, position {b}", row[0], other.map(|l| l.balance))),
        }
    }
    // A remittance's totals, kept import by import, are what its captured debits add up to, less
    // its captured refunds.
    let kept: Vec<(String, i64, i64)> =
        common::rows(s, "SELECT number, gross_cents, count FROM card_remittances ORDER BY number").await;
    let summed: Vec<(String, i64, i64)> = common::rows(
        s,
        "SELECT remittance, CAST(SUM(CASE WHEN kind = 'refund' THEN -amount_cents ELSE amount_cents END) AS BIGINT), COUNT(*)
         FROM card_transactions
         WHERE remittance IS NOT NULL AND kind IN ('debit', 'refund') AND status = 'captured'
         GROUP BY remittance ORDER BY remittance",
    )
    .await;
    if kept != summed {
        fail(format!("remittances kept {kept:?} != summed from their debits and refunds {summed:?}"));
    }
    if let Err(e) = line_counts_agree(s).await {
        fail(e);
    }
    // Installments: never settled beyond their amount, nothing paid on a cancelled one, and an
    // invoice's installments add up to it; nothing credited beyond an invoice.
    for (id, amount, settled) in rows(
        s,
        "SELECT id, amount_cents, paid_cents + credited_cents FROM installment_balances
         WHERE paid_cents < 0 OR credited_cents < 0 OR paid_cents + credited_cents > amount_cents
            OR (status = 'cancelled' AND (paid_cents <> 0 OR credited_cents <> amount_cents))",
    )
    .await
    {
        fail(format!("installment {id}: {settled} settled of {amount} (or paid while cancelled)"));
    }
    let invoices: Vec<(i64, i64, i64, i64)> = common::rows(s, "SELECT i.id, COALESCE((SELECT CAST(SUM(l.excl_vat_cents) AS BIGINT) FROM invoice_lines l WHERE l.invoice_id = i.id), 0),
                COALESCE((SELECT CAST(SUM(t.amount_cents) AS BIGINT) FROM installments t WHERE t.invoice_id = i.id), 0),
                COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c WHERE c.invoice_id = i.id), 0)
         FROM invoices i").await;
    for (id, total, scheduled, credited) in invoices {
        if total != scheduled {
            fail(format!("invoice {id}: total {total} but installments {scheduled}"));
        }
        if credited > total {
            fail(format!("invoice {id}: credited {credited} beyond its total {total}"));
        }
    }
    // Payments: a payment's allocations never exceed it; a reversal mirrors its payment.
    for (id, amount, allocated) in rows(
        s,
        "SELECT p.id, p.amount_cents, COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = p.id), 0)
         FROM payments p",
    )
    .await
    {
        if (amount >= 0 && !(0..=amount).contains(&allocated)) || (amount < 0 && !(amount..=0).contains(&allocated)) {
            fail(format!("payment {id}: {allocated} allocated of {amount}"));
        }
    }
    let unmirrored = scalar(
        s,
        "SELECT COUNT(*) FROM payments r JOIN payments p ON p.id = r.reverses
         WHERE r.amount_cents <> -p.amount_cents
            OR COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = r.id), 0)
               <> -COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = p.id), 0)",
    )
    .await;
    if unmirrored > 0 {
        fail(format!("{unmirrored} reversal(s) do not mirror their payment"));
    }
    // A payment a card refund gave back settles nothing, is not reversed, and its refund is its
    // whole amount, paid.
    let given_back: Vec<(i64, i64, i64, i64, i64)> = common::rows(
        s,
        "SELECT p.id, COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.payment_id = p.id), 0),
                (SELECT COUNT(*) FROM payments r WHERE r.reverses = p.id),
                COALESCE((SELECT CAST(SUM(g.amount_cents) AS BIGINT) FROM refunds g WHERE g.gives_back = p.id AND g.status = 'paid'), 0),
                p.amount_cents
         FROM payments p WHERE EXISTS (SELECT 1 FROM refunds g WHERE g.gives_back = p.id)",
    )
    .await;
    for (id, allocated, reversed, refunded, amount) in given_back {
        if allocated != 0 || reversed != 0 || refunded != amount {
            fail(format!(
                "payment {id} given back: {allocated} allocated, {reversed} reversals, {refunded} refunded of {amount}"
            ));
        }
    }
    // What Relances reads as settled is what the allocations say, whatever wrote them.
    for (id, settled, summed) in rows(
        s,
        "SELECT t.id, t.settled_cents,
                COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.installment_id = t.id), 0)
              + COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x WHERE x.installment_id = t.id), 0)
         FROM installments t",
    )
    .await
    {
        if settled != summed {
            fail(format!("installment {id}: settled_cents {settled} but its allocations add up to {summed}"));
        }
    }
    // Relances shows what is left to pay on each installment it lists, never a cancelled or a
    // settled one: read at the end of the year, everything due by then.
    let left: BTreeMap<i64, (i64, String)> = common::rows::<(i64, i64, String)>(
        s,
        "SELECT id, amount_cents - paid_cents - credited_cents, status FROM installment_balances",
    )
    .await
    .into_iter()
    .map(|(id, left, status)| (id, (left, status)))
    .collect();
    let overdue =
        regie::dunning::list(s, NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()).await.map_err(|e| e.to_string())?;
    for e in &overdue {
        match left.get(&e.installment_id) {
            Some((cents, status)) if status != "cancelled" && *cents > 0 && e.amount.cents() == *cents => {}
            other => fail(format!(
                "Relances lists {} n° {} for {}, the ledger says {other:?}",
                e.invoice, e.installment, e.amount
            )),
        }
    }
    // The students Relances walks are those with an open installment, as many as they have.
    let miscounted = scalar(
        s,
        "SELECT COUNT(*) FROM students s
         WHERE s.open_installments <> (SELECT COUNT(*) FROM invoices i JOIN installments b ON b.invoice_id = i.id
                                       WHERE i.student_id = s.id AND b.status <> 'cancelled'
                                         AND b.settled_cents < b.amount_cents)",
    )
    .await;
    if miscounted > 0 {
        fail(format!("{miscounted} student(s) with a count of open installments that is not theirs"));
    }
    // A charge-back finds its debit by the number of its reference, kept beside each transaction.
    let unkeyed = scalar(
        s,
        "SELECT (SELECT COUNT(*) FROM card_transactions c
                 WHERE NOT EXISTS (SELECT 1 FROM card_reference_keys r WHERE r.transaction_id = c.id AND r.ref_key = c.ref_key))
              + (SELECT COUNT(*) FROM card_reference_keys r
                 WHERE NOT EXISTS (SELECT 1 FROM card_transactions c WHERE c.id = r.transaction_id AND c.ref_key = r.ref_key))",
    )
    .await;
    if unkeyed > 0 {
        fail(format!("{unkeyed} transaction(s) or reference number(s) without their counterpart"));
    }
    // What Factures reads as credited is what the credit notes say.
    let miscredited = scalar(
        s,
        "SELECT COUNT(*) FROM invoices i
         WHERE (CASE WHEN i.credited THEN 1 ELSE 0 END)
            <> (CASE WHEN (SELECT SUM(c.amount_cents) FROM credit_notes c WHERE c.invoice_id = i.id)
                          >= COALESCE((SELECT SUM(l.excl_vat_cents + l.vat_cents) FROM invoice_lines l
                                       WHERE l.invoice_id = i.id), 0)
                     THEN 1 ELSE 0 END)",
    )
    .await;
    if miscredited > 0 {
        fail(format!("{miscredited} invoice(s) marked credited or not against their credit notes"));
    }
    for (id, amount, allocated) in rows(
        s,
        "SELECT c.id, c.amount_cents, COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x WHERE x.credit_note_id = c.id), 0)
         FROM credit_notes c",
    )
    .await
    {
        if !(0..=amount).contains(&allocated) {
            fail(format!("credit note {id}: {allocated} settled of {amount}"));
        }
    }
    // Refunds to pay and paid are covered by the account's credit.
    for (id, spare, refunds) in rows(
        s,
        "SELECT s.id,
            COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM payments p WHERE p.student_id = s.id), 0)
            - COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a JOIN payments p ON p.id = a.payment_id WHERE p.student_id = s.id), 0)
            + COALESCE((SELECT CAST(SUM(c.amount_cents) AS BIGINT) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.student_id = s.id), 0)
            - COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x JOIN credit_notes c ON c.id = x.credit_note_id
                        JOIN invoices i ON i.id = c.invoice_id WHERE i.student_id = s.id), 0),
            COALESCE((SELECT CAST(SUM(f.amount_cents) AS BIGINT) FROM refunds f WHERE f.student_id = s.id AND f.status <> 'cancelled'), 0)
         FROM students s",
    )
    .await
    {
        if refunds > spare {
            fail(format!("student #{id}: refunds {refunds} beyond the account's credit {spare}"));
        }
    }
    // Numbers: every series gapless from 1, unique.
    for (table, sql) in [
        ("invoices", "SELECT series, MIN(seq), MAX(seq), COUNT(DISTINCT number) FROM invoices GROUP BY series"),
        ("credit_notes", "SELECT series, MIN(seq), MAX(seq), COUNT(DISTINCT number) FROM credit_notes GROUP BY series"),
    ] {
        let series: Vec<(String, i64, i64, i64)> = common::rows(s, sql).await;
        for (name, min, max, count) in series {
            if min != 1 || max != count {
                fail(format!("{table} {name}: numbers {min}..{max} for {count} documents"));
            }
        }
    }
    // Audit: every document, payment and refund has its record.
    let audit: Vec<(String, String, String)> =
        common::rows(s, "SELECT action, entity_id, details FROM audit_log").await;
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (action, entity_id, details) in &audit {
        let kind = action.split('.').next().unwrap_or_default().to_string();
        seen.insert((kind.clone(), entity_id.clone()));
        let v: serde_json::Value = serde_json::from_str(details).unwrap();
        for m in v["auto_matched"].as_array().into_iter().flatten() {
            seen.insert(("payment".into(), m["payment"].to_string()));
        }
        if action == "card.import" {
            for m in v["paid"].as_array().into_iter().flatten() {
                seen.insert(("payment".into(), m["payment"].to_string()));
            }
        }
        if action == "bank.confirm" {
            seen.insert(("payment".into(), v["payment"].to_string()));
        }
        for r in v["refunds"].as_array().into_iter().flatten() {
            seen.insert(("refund".into(), r["replaced_by"].to_string()));
        }
    }
    let ids = |sql: &'static str| async move { common::rows::<(String,)>(s, sql).await.into_iter().map(|(x,)| x) };
    for n in ids("SELECT number FROM invoices").await {
        if !seen.contains(&("invoice".into(), n.clone())) {
            fail(format!("invoice {n} has no audit record"));
        }
    }
    for n in ids("SELECT number FROM credit_notes").await {
        if !seen.contains(&("credit_note".into(), n.clone())) {
            fail(format!("credit note {n} has no audit record"));
        }
    }
    for n in ids("SELECT CAST(id AS TEXT) FROM payments").await {
        if !seen.contains(&("payment".into(), n.clone())) {
            fail(format!("payment {n} has no audit record"));
        }
    }
    for n in ids("SELECT CAST(id AS TEXT) FROM refunds").await {
        if !seen.contains(&("refund".into(), n.clone())) {
            fail(format!("refund {n} has no audit record"));
        }
    }
    // The exemption report's refunds are the positions' refunds, but for those sent back to a card
    // by the gateway (paid at once, out of the account's credit).
    let (card_refunds,): (i64,) = common::one(
        s,
        "SELECT COALESCE(CAST(SUM(f.amount_cents) AS BIGINT), 0) FROM refunds f
         WHERE f.status = 'paid' AND EXISTS (SELECT 1 FROM card_transactions c WHERE c.refund_id = f.id)",
    )
    .await;
    let report = exemptions::report(s, None).await.map_err(|e| e.to_string())?;
    let mut by_status: BTreeMap<&str, Money> = BTreeMap::new();
    for row in &STUDENTS {
        let pos = ledger::account_position(s, row[0]).await.map_err(|e| e.to_string())?;
        for r in &pos.refunds {
            *by_status.entry(r.status.code()).or_default() += r.amount;
        }
    }
    *by_status.entry("paid").or_default() -= Money::from_cents(card_refunds);
    let get = |k: &str| by_status.get(k).copied().unwrap_or_default();
    if (report.totals.refunds_to_pay, report.totals.refunds_paid) != (get("to_pay"), get("paid")) {
        fail(format!(
            "report refunds {} to pay / {} paid, positions {} / {}",
            report.totals.refunds_to_pay,
            report.totals.refunds_paid,
            get("to_pay"),
            get("paid")
        ));
    }
    // A transfer never pays more than it carries, whatever desk or session decided it: the
    // payments of a credit line (reversals included) add up to between nothing and its amount,
    // and all of it when it is matched.
    let lines: Vec<(i64, i64, i64, String)> = common::rows(
        s,
        "SELECT l.id, l.amount_cents,
           COALESCE((SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM line_payments lp JOIN payments p ON p.id = lp.payment_id
                     WHERE lp.line_id = l.id), 0),
           l.status
         FROM statement_lines l WHERE l.amount_cents > 0 AND l.remittance IS NULL ORDER BY l.id",
    )
    .await;
    for (id, amount, assigned, status) in lines {
        if assigned < 0 || assigned > amount || (status == "matched" && assigned != amount) {
            fail(format!("line {id} of {amount} ({status}) carries payments of {assigned}"));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}

/// Runs a sequence on a fresh database; the first step after which an invariant fails.
/// Each status's kept count of statement lines is how many lines have it (at the office and in a
/// session file).
async fn line_counts_agree(s: &Store) -> Result<(), String> {
    let counts: Vec<(String, i64, i64)> = common::rows(
        s,
        "SELECT k.status, k.n, (SELECT COUNT(*) FROM statement_lines l WHERE l.status = k.status) FROM line_counts k
         ORDER BY k.status",
    )
    .await;
    if counts.len() != 4 || counts.iter().any(|(_, kept, counted)| kept != counted) {
        return Err(format!("line counts kept != counted: {counts:?}"));
    }
    Ok(())
}

/// Runs a sequence, checking every invariant after each step. Returns the audited actions the
/// sequence took (which operations really changed the ledger).
async fn run(tag: &str, ops: &[Op]) -> Result<HashSet<String>, (usize, String)> {
    let mut w = World::new(tag).await;
    let mut blocked = false;
    for (step, op) in ops.iter().enumerate() {
        let levels_before = levels(&w.store).await;
        let applied = w.apply(step, op).await;
        if let Err(e) = &applied
            && !expected(e)
        {
            return Err((step, format!("{op:?} failed: [{}] {e}", e.code())));
        }
        check(&w.store).await.map_err(|e| (step, format!("after {op:?}:\n{e}")))?;
        if applied.is_ok() && matches!(op, Op::Remind) {
            blocked |= reminded(&w.store, day(step), &levels_before)
                .await
                .map_err(|e| (step, format!("after {op:?}:\n{e}")))?;
        }
        if let Some((_, laptop)) = &w.session {
            line_counts_agree(laptop).await.map_err(|e| (step, format!("after {op:?}, in the session file:\n{e}")))?;
        }
    }
    let actions: Vec<(String,)> = common::rows(&w.store, "SELECT DISTINCT action FROM audit_log").await;
    let _ = std::fs::remove_dir_all(&w.dir);
    // Not an audited action of its own: a run that raised a second reminder to the block.
    let climbed = blocked.then(|| "dunning.block".to_string());
    Ok(actions.into_iter().map(|(a,)| a).chain(climbed).collect())
}

/// Each installment's reminder level and the day it was raised.
async fn levels(s: &Store) -> HashMap<i64, (i64, NaiveDate)> {
    let rows: Vec<(i64, i64, NaiveDate)> =
        common::rows(s, "SELECT installment_id, level, raised_on FROM dunning").await;
    rows.into_iter().map(|(id, level, on)| (id, (level, on))).collect()
}

/// Right after a reminders run on `date`: a second run that day would raise nothing, the levels
/// of what was paid or cancelled since are gone, and no level climbed more than one step, nor
/// sooner than the gap between the default delays (7, 21, 45 days) after the one before. Says
/// whether the run raised a second reminder to the block.
async fn reminded(s: &Store, date: NaiveDate, before: &HashMap<i64, (i64, NaiveDate)>) -> Result<bool, String> {
    let mut blocked = false;
    for (id, (level, on)) in levels(s).await {
        let (was, was_on) = before.get(&id).map_or((0, None), |(l, on)| (*l, Some(*on)));
        if level > was + 1 {
            return Err(format!("installment {id} climbed from level {was} to {level} on {date}"));
        }
        let gap = match was {
            1 => 14,
            2 => 24,
            _ => 0,
        };
        if level > was && was_on.is_some_and(|w| (date - w).num_days() < gap) {
            return Err(format!("installment {id} raised to {level} on {date}, {was} was raised on {was_on:?}"));
        }
        if level > was && on != date {
            return Err(format!("installment {id} raised to {level} on {date} is dated {on}"));
        }
        blocked |= (was, level) == (2, 3);
    }
    let list = regie::dunning::list(s, date).await.map_err(|e| e.to_string())?;
    if let Some(e) = list.iter().find(|e| e.next_level > e.level) {
        return Err(format!("after the run of {date}, {} n° {} is still to raise: {e:?}", e.invoice, e.installment));
    }
    let kept = scalar(
        s,
        "SELECT COUNT(*) FROM dunning d JOIN installments b ON b.id = d.installment_id
         WHERE b.status = 'cancelled' OR b.settled_cents >= b.amount_cents",
    )
    .await;
    if kept > 0 {
        return Err(format!("after the run of {date}, {kept} paid or cancelled installment(s) keep a level"));
    }
    Ok(blocked)
}

/// Removes steps one at a time while the sequence still fails: the shortest failing sequence
/// this greedy pass finds.
async fn shrink(mut ops: Vec<Op>) -> (Vec<Op>, String) {
    let (step, mut why) = run("shrink", &ops).await.expect_err("fails");
    ops.truncate(step + 1);
    let mut i = ops.len();
    while i > 0 {
        i -= 1;
        let mut shorter = ops.clone();
        shorter.remove(i);
        if let Err((step, w)) = run("shrink", &shorter).await {
            shorter.truncate(step + 1);
            ops = shorter;
            why = w;
            i = i.min(ops.len());
        }
    }
    (ops, why)
}

async fn explore(seeds: std::ops::Range<u64>, steps: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    let seeds: Vec<u64> = seeds.collect();
    // Four sequences at a time, each on its own database: on PostgreSQL every statement waits for
    // a socket, and the waits overlap.
    for batch in seeds.chunks(4) {
        let runs: Vec<_> = batch
            .iter()
            .map(|&seed| {
                tokio::spawn(async move {
                    let ops = generate(seed, steps);
                    let done = run(&format!("model-{seed}"), &ops).await;
                    (seed, ops, done)
                })
            })
            .collect();
        let mut results = Vec::new();
        for r in runs {
            results.push(r.await.expect("a sequence panicked"));
        }
        for (seed, ops, done) in results {
            if let Ok(actions) = &done {
                seen.extend(actions.iter().cloned());
            }
            if done.is_err() {
                let (ops, why) = shrink(ops).await;
                let mut text = String::new();
                for op in &ops {
                    let _ = writeln!(text, "    Op::{op:?},");
                }
                panic!("seed {seed} breaks an invariant; shortest sequence ({} steps):\n{text}{why}", ops.len());
            }
        }
    }
    seen
}

/// Found by seed 145: a refund that shrank when a payment was undone was replaced by a smaller
/// one, which the exemption report did not see (it looked at the outcome's first refund only),
/// and which a changed outcome would not have cancelled.
#[tokio::test]
async fn found_a_shrunk_refund_is_still_the_outcome_s() {
    let ops = vec![
        Op::Approve(528),
        Op::Approve(400),
        Op::Reject(54),
        Op::Undo(16),
        Op::Approve(499),
        Op::Exemption { candidate: 511, outcome: 1, cents: 16563 },
        Op::Exemption { candidate: 304, outcome: 0, cents: 28906 },
        Op::Approve(510),
        Op::Transfer { student: 792, cents: 24108, confirm: true },
        Op::Split { a: 338, b: 591, cents: 95572, part: 163050 },
        Op::CardPayment { student: 6, cents: 97152 },
        Op::Exemption { candidate: 233, outcome: 2, cents: 138600 },
        Op::Transfer { student: 531, cents: 306412, confirm: true },
        Op::Exemption { candidate: 247, outcome: 0, cents: 303200 },
        Op::Undo(387),
        Op::Exemption { candidate: 247, outcome: 2, cents: 0 },
    ];
    if let Err((step, why)) = run("found-145", &ops).await {
        panic!("step {step}: {why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sequences_keep_every_invariant() {
    let seeds: u64 = std::env::var("REGIE_MODEL_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seen = explore(0..seeds, 40).await;
    // The sequences reached the ledger's hard cases, not only refusals.
    if seeds >= 20 {
        for action in [
            "invoice.issue",
            "invoice.replan",
            "payment.reverse",
            "credit_note.issue",
            "exemption.apply",
            "refund.paid",
            "invoice.rebill",
            "card.import",
            "card.refund",
            "session.checkout",
            "session.apply",
            "bank.hold",
            "dunning.run",
            "dunning.block",
        ] {
            assert!(seen.contains(action), "no sequence did {action}: {seen:?}");
        }
    }
}
