//! `regie`: the command line over the core, for scripts, batch jobs and the office's own checks.
//! `--json` prints one JSON document on stdout; errors go to stderr with a non-zero exit.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use regie::demo::DemoOptions;
use regie::money::Money;
use regie::plans::{self, PlanKind, PlanRules, Rounding};
use regie::requests::RequestStatus;
use regie::{ErrorPayload, Store};

#[derive(Parser)]
#[command(name = "regie", version, about = "Régie — droits d'inscription de Clermont Auvergne INP")]
struct Cli {
    /// The database file (default: $REGIE_DB, else the OS's app-data folder).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Who acts (recorded in the audit log); default: the OS user.
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// One page of a long list instead of all of it: `{"total", "offset", "rows", ...}`.
#[derive(Args, Clone)]
struct PageArgs {
    /// One page of this many rows (up to 1000), counted.
    #[arg(long)]
    limit: Option<i64>,
    /// The page's first row, from 0.
    #[arg(long, default_value_t = 0, requires = "limit")]
    offset: i64,
    /// Rows that hold this text.
    #[arg(long, requires = "limit")]
    search: Option<String>,
    /// The column to sort by.
    #[arg(long, requires = "limit")]
    sort: Option<String>,
    /// Sorted the other way.
    #[arg(long, requires = "limit")]
    desc: bool,
}

impl PageArgs {
    /// The page asked for, when one is (`--limit`).
    fn asked(&self) -> Option<regie::page::PageQuery> {
        Some(regie::page::PageQuery {
            search: self.search.clone(),
            sort: self.sort.clone(),
            descending: self.desc,
            offset: self.offset,
            limit: self.limit?,
            count: regie::page::Count::Counted,
        })
    }
}

/// A page as the CLI prints it: where it stands, then its rows.
fn page_text<T>(what: &str, p: &regie::page::Page<T>, row: impl Fn(&T) -> String) -> String {
    let first = if p.rows.is_empty() { 0 } else { p.offset + 1 };
    let total = p.total.map_or_else(|| "?".to_string(), |n| n.to_string());
    let mut text = format!("{what} {first}–{} sur {total}", p.offset + p.rows.len() as i64);
    for r in &p.rows {
        text.push('\n');
        text.push_str(&row(r));
    }
    text
}

#[derive(Subcommand)]
enum Command {
    /// Create (or migrate) the database.
    Init,
    /// Write a checked copy of the database file: the day's backup in `backups/` beside it (the
    /// last 14 days and a month's latest for 12 months are kept), or FILE.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Put a backup in place of the database file (the current one is kept aside, renamed).
    Restore { file: PathBuf },
    /// Fill an empty database with a deterministic demo year.
    Demo {
        #[arg(long, default_value_t = 500)]
        students: usize,
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// The day the demo stands at, DD/MM/YYYY or YYYY-MM-DD (default: today): its academic
        /// year, and nothing dated after it.
        #[arg(long)]
        today: Option<String>,
        /// Academic years of history, the current one last (up to 10): past years complete.
        #[arg(long, default_value_t = 1)]
        years: u16,
        /// An office that has never sent its reminders (by default, it sent them on the eve of the
        /// last debit day).
        #[arg(long)]
        no_reminders: bool,
    },
    /// Import the portal's registrations export (CSV, XLSX, XLS, ODS): all rows or none.
    ImportRegistrations { file: PathBuf },
    /// Compute a payment schedule.
    Plan {
        /// Amount due, e.g. 3770 or 1630,50.
        #[arg(long)]
        amount: String,
        /// one | three | six | transfer
        #[arg(long)]
        plan: String,
        /// Fixed first installment of a six or transfer plan (the standard fee).
        #[arg(long)]
        first: Option<String>,
        /// Date of the first installment, DD/MM/YYYY or YYYY-MM-DD (default: today).
        #[arg(long)]
        start: Option<String>,
        /// exact | portal
        #[arg(long, default_value = "exact")]
        rounding: String,
    },
    /// Students.
    Students {
        #[command(subcommand)]
        command: StudentsCommand,
    },
    /// A student's account position (`--pdf FILE` prints the statement).
    Account {
        student_number: String,
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// The fee grid.
    Fees {
        #[command(subcommand)]
        command: FeesCommand,
    },
    /// Bank statements: import, lines, confirm, undo.
    Statements {
        #[command(subcommand)]
        command: StatementsCommand,
    },
    /// Reminders (relances) of overdue installments.
    Dunning {
        #[command(subcommand)]
        command: DunningCommand,
    },
    /// Card payments: the payment gateway's (Paybox) transaction exports.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// Invoices: list and render to PDF.
    Invoices {
        #[command(subcommand)]
        command: InvoicesCommand,
    },
    /// Offline reconciliation sessions: take the lines to review away, bring the decisions back.
    Session {
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Credit notes (avoirs).
    CreditNotes {
        #[command(subcommand)]
        command: CreditNotesCommand,
    },
    /// The exemption commission's outcomes (finance managers).
    Exemptions {
        #[command(subcommand)]
        command: ExemptionsCommand,
    },
    /// Local user profiles and their roles; on the office server, people's own logins.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Copy this SQLite file (--db) into an empty PostgreSQL database, then check every table's
    /// count and every student's position on both.
    MigrateTo {
        /// postgres://owner@host/db
        url: String,
    },
    /// The office's shared PostgreSQL server.
    Server {
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// Per-school settings: threshold, rounding, debit day, deadline.
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Payment-plan requests.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
}

#[derive(Subcommand)]
enum StudentsCommand {
    /// List students (with their balance).
    List {
        /// Filter by number or name.
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum FeesCommand {
    /// List the grid.
    List,
    /// Set one amount of the grid.
    Set {
        /// e.g. 2025-26
        #[arg(long)]
        year: String,
        /// ISIMA | POLYTECH
        #[arg(long)]
        school: String,
        #[arg(long, default_value = "ING")]
        programme: String,
        /// Situation code, e.g. 05
        #[arg(long)]
        situation: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
enum RequestsCommand {
    /// List requests with the findings of the checks.
    List {
        /// pending | hold | approved | rejected
        #[arg(long)]
        status: Option<String>,
        /// ISIMA | POLYTECH (with --limit).
        #[arg(long, requires = "limit")]
        school: Option<String>,
        /// one | three | six | transfer (with --limit).
        #[arg(long, requires = "limit")]
        plan: Option<String>,
        /// A situation code, e.g. 05 (with --limit).
        #[arg(long, requires = "limit")]
        situation: Option<String>,
        /// A finding code, e.g. six_at_or_below_threshold (with --limit).
        #[arg(long, requires = "limit")]
        finding: Option<String>,
        /// A page (--limit) of the requests whose student's number or name holds --search, sorted by
        /// requested_on | student_number | last_name | school | situation | plan | amount | status.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Approve requests: creates order, invoice and installments (first installment today).
    Approve {
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Approve despite blocking findings, for this reason (recorded in the audit log).
        #[arg(long = "override")]
        override_reason: Option<String>,
    },
    /// Reject requests, with the reason the student will read.
    Reject {
        #[arg(required = true)]
        ids: Vec<i64>,
        #[arg(long)]
        reason: String,
    },
    /// Put a request on hold (uncertain situation).
    Hold {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Put a decided request back in the queue.
    Reopen {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// The student chose another plan: the request returns to the queue with it.
    ChangePlan {
        id: i64,
        /// one | three | six | transfer
        #[arg(long)]
        plan: String,
        /// Why (required once the request is approved: the rest of its invoice is re-planned from today).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject every pending 6-installment request at or below its school's threshold; flag the rest.
    AutoReview {
        #[arg(long)]
        dry_run: bool,
    },
    /// Letters to students: decisions with e-mail, name, reason and schedule (.csv or .xlsx).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DunningCommand {
    /// What is overdue, with each installment's reminder level and the level a run would give it.
    List {
        /// The day, DD/MM/YYYY or YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
        /// first | second | blocked: what a run would leave at that level (with --limit).
        #[arg(long, requires = "limit")]
        level: Option<String>,
        /// A page (--limit) of the overdue installments whose student or invoice holds --search.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Raise the levels, write the letters (PDF) and the mail-merge file (CSV and XLSX) into DIR.
    Run {
        /// The run's day, DD/MM/YYYY or YYYY-MM-DD (default: today); never before the latest run's.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// One PDF for all the letters.
        #[arg(long)]
        merged: bool,
    },
}

#[derive(Subcommand)]
enum CardCommand {
    /// Import the gateway's export (CSV, XLSX, XLS, ODS): all rows or none; known transactions are not added again.
    Import {
        file: PathBuf,
        /// Use a saved column mapping.
        #[arg(long, conflicts_with = "map")]
        profile: Option<String>,
        /// Give the columns: header=ROW,date=COL,number=COL,reference=COL,amount=COL,status=COL[,kind=COL,time=COL,
        /// call=COL,currency=COL,response=COL,card_type=COL,remittance=COL,remittance_date=COL,email=COL]
        /// (rows 1-based, columns as letters A, B, ... or 1-based numbers).
        #[arg(long)]
        map: Option<String>,
        /// Save the --map under this name for next time.
        #[arg(long, requires = "map")]
        save_profile: Option<String>,
    },
    /// Transactions, newest first, with what became of them.
    Transactions {
        /// captured | refused | refunded | charged_back | cancelled | unknown
        #[arg(long)]
        status: Option<String>,
        /// The transactions of this remittance (with --limit).
        #[arg(long, requires = "limit")]
        remittance: Option<String>,
        /// A page (--limit) of the transactions whose number, order reference or e-mail holds
        /// --search, sorted by date | number | amount. Without --limit: the latest 1,000, as a list.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Tie a waiting (unknown) transaction to a student.
    Assign { transaction: String, student_number: String },
    /// Remittances: the captured transactions of each remittance and the bank line that credited them.
    Remittances,
    /// The commission the acquirer may keep on a remittance, in percent (1 by default); prints it, or sets it.
    CommissionTolerance {
        percent: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// A captured card payment came back (the bank's "IMPAYE CB" line): it becomes unpaid.
    Chargeback {
        transaction: String,
        #[arg(long)]
        reason: String,
        /// The day it came back, DD/MM/YYYY or YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand)]
enum StatementsCommand {
    /// Import a statement (CSV, XLSX, XLS, ODS): all lines or none; known lines are not added again.
    Import {
        file: PathBuf,
        /// Use a saved column mapping.
        #[arg(long, conflicts_with = "map")]
        profile: Option<String>,
        /// Give the columns: header=ROW,date=COL,label=COL[+COL],amount=COL or debit=COL,credit=COL[,value_date=COL]
        /// (rows 1-based as the spreadsheet shows them, columns as letters A, B, ... or 1-based numbers).
        #[arg(long)]
        map: Option<String>,
        /// Save the --map under this name for next time.
        #[arg(long, requires = "map")]
        save_profile: Option<String>,
    },
    /// Statement lines with their status, score, reasons and suggestions.
    Lines {
        /// matched | to_review | unmatched | debit
        #[arg(long)]
        status: Option<String>,
        /// A page (--limit) of the lines whose label holds --search, sorted by date | label | amount | score.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Confirm that a line pays a student (or --amount of it, to split a line between students).
    Confirm {
        line_id: i64,
        student_number: String,
        #[arg(long)]
        amount: Option<String>,
    },
    /// Undo a line's match by an audited reversal.
    Undo {
        line_id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Put a line still to decide on hold, with the reason (it stays to decide).
    Hold {
        line_id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum InvoicesCommand {
    /// Invoices with their totals, settled and credited amounts.
    List {
        #[arg(long)]
        session: Option<String>,
        /// open | settled | credited (with --limit).
        #[arg(long, requires = "limit")]
        status: Option<String>,
        /// A page (--limit) of the invoices whose number or student holds --search, sorted by
        /// number | date | student_number | session.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Render one invoice to PDF.
    Render {
        number: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Render every invoice (of a session) into a folder, one PDF each, or one merged PDF.
    RenderAll {
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// One PDF with every invoice (`OUT/factures.pdf`).
        #[arg(long)]
        merged: bool,
    },
    /// Render an invoice's schedule letter (dates, amounts; bank details for transfers).
    Schedule {
        number: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum CreditNotesCommand {
    /// Issue a credit note on an invoice.
    Issue {
        invoice_number: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Render a credit note to PDF.
    Render {
        number: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExemptionsCommand {
    /// Students with differentiated fees: plan, invoiced, paid, still scheduled, outcome.
    List {
        /// Only the outcomes of this commission session.
        #[arg(long)]
        session: Option<String>,
        /// Only the candidates of this academic year (2026-27).
        #[arg(long)]
        year: Option<String>,
        /// A page (--limit) of the candidates whose number or name holds --search.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Record and apply an outcome (finance managers only).
    Decide {
        student_number: String,
        /// full | partial | refused
        #[arg(long)]
        outcome: String,
        /// The exempted amount, with partial.
        #[arg(long)]
        amount: Option<String>,
        /// The decision's reference.
        #[arg(long = "ref")]
        reference: String,
        /// The commission session (default: "Commission YYYY-09" of the current academic year).
        #[arg(long)]
        session: Option<String>,
        /// The account a refund will be paid to.
        #[arg(long)]
        iban: Option<String>,
    },
    /// Put a student before the commission by hand (finance managers only): situations priced
    /// per contract (20, 25, 42, 43) are not listed otherwise.
    Add {
        student_number: String,
        #[arg(long)]
        reason: String,
    },
    /// Refunds, to pay and paid.
    Refunds,
    /// Record that a refund was paid (finance managers only).
    PayRefund {
        refund_id: i64,
        #[arg(long)]
        iban: Option<String>,
    },
    /// Outcomes by school and programme, collections against expectations by month.
    Report {
        /// The academic year's commission (2026-27); every year when left out.
        #[arg(long)]
        year: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Give a profile its role: accountant or finance_manager.
    SetRole {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// On the office server: create a person's login (or change its password and role), as the
    /// database's owner. The password is read from the first line of standard input.
    Add {
        name: String,
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Prepare the office's PostgreSQL database (schema, roles, grants, rules), as its owner:
    /// `regie server setup postgres://owner@host/regie`. Idempotent.
    Setup {
        /// The database (else --db / REGIE_DB).
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Each school's settings.
    List,
    /// How far short of an installment a bank transfer may arrive (bank fees); prints it, or sets it.
    FeeTolerance {
        amount: Option<String>,
        /// Why it changes (required to change it).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Change a school's settings.
    Set {
        /// ISIMA | POLYTECH
        #[arg(long)]
        school: String,
        /// 6-installment requests at or below this amount are rejected.
        #[arg(long)]
        six_threshold: Option<String>,
        /// exact | portal
        #[arg(long)]
        rounding: Option<String>,
        /// Day of the month of automatic debits (1-28).
        #[arg(long)]
        debit_day: Option<u32>,
        /// Deadline of the year's payments, DD/MM (15/12).
        #[arg(long)]
        deadline: Option<String>,
        /// The bank's domiciliation printed on transfer letters (TPCLERMONT F).
        #[arg(long)]
        domiciliation: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// The sessions' full labels printed on invoices.
    Sessions,
    /// Sets the full label of a session ("P2223_Y3_3A - Ingénieur Polytech - spécialité Génie Civil 3ème année").
    SessionLabel {
        session: String,
        label: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Writes a session file with the lines still to decide, the students they may pay and what
    /// the matcher needs; the lines are marked as taken in the office.
    Checkout {
        /// The new session file (SQLite), e.g. on the laptop.
        #[arg(long)]
        out: PathBuf,
        /// Line statuses to take, comma-separated (to_review, unmatched).
        #[arg(long, value_delimiter = ',', default_values_t = ["to_review".to_string(), "unmatched".to_string()])]
        lines: Vec<String>,
        /// Only the lines of this statement.
        #[arg(long)]
        statement: Option<i64>,
    },
    /// Replays a session file's decisions in the office (--db), each re-checked.
    Checkin { file: PathBuf },
    /// Gives a session up: its lines are released and its file can no longer come back.
    Discard {
        name: String,
        #[arg(long)]
        reason: String,
    },
    /// The office's sessions, with the conflicts their check-ins left.
    List,
    /// The session the --db file is, if it is one.
    Info,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let done = run(cli).await;
    close_opened().await;
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A rule's refusal reaches here as the rules' own error when no core call wrapped it.
            let payload = match e.downcast::<regie::Error>() {
                Ok(core) => ErrorPayload::from(core),
                Err(e) => match e.downcast::<regie_rules::Error>() {
                    Ok(rule) => ErrorPayload::from(rule),
                    Err(other) => ErrorPayload {
                        code: "cli",
                        message: format!("{other:#}"),
                        hint: "Vérifiez la commande et ses arguments : regie --help.",
                    },
                },
            };
            // A closed stderr leaves only the exit status to tell the failure: no panic over it.
            let mut err = std::io::stderr().lock();
            let _ = if json {
                writeln!(err, "{}", serde_json::json!({"error": payload}))
            } else {
                writeln!(err, "erreur [{}]: {}\n  → {}", payload.code, payload.message, payload.hint)
            };
            ExitCode::FAILURE
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal (never in a pipe, a log or
/// `--json`'s consumer).
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>13} [{bar:40}] {pos}/{len}") {
        bar.set_style(style.progress_chars("#>-"));
    }
    bar
}

/// An import's phase on its bar, in the office's words.
fn show_phase(bar: &indicatif::ProgressBar, p: &regie::bank::Progress) {
    bar.set_message(match p.phase {
        "read" => "lecture",
        "index" => "ce qui est dû",
        "match" => "rapprochement",
        "save" => "écriture",
        _ => "terminé",
    });
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
}

fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
    let text = if json { serde_json::to_string_pretty(value)? } else { human(value) };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        // `regie … | head`: the reader has all it wanted; the action itself is done.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.context("écriture sur la sortie standard")?),
    }
}

/// The databases this command opened, closed before the process ends: SQLite then folds its
/// write-ahead log into the file and removes it. Left behind, the next command's opening reads the
/// whole log to recover it (60 ms per command after the folding of 255,000 labels, measured).
static OPENED: std::sync::Mutex<Vec<Store>> = std::sync::Mutex::new(Vec::new());

async fn open(db: &Option<PathBuf>) -> anyhow::Result<Store> {
    let path = db.clone().unwrap_or_else(regie::store::default_db_path);
    let store = Store::open(&path).await?;
    OPENED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(store.clone());
    Ok(store)
}

async fn close_opened() {
    let opened = std::mem::take(&mut *OPENED.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for store in opened {
        store.close().await;
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let user = cli.user.clone().unwrap_or_else(regie::os_user);
    let json = cli.json;
    match cli.command {
        Command::Init => {
            let store = open(&cli.db).await?;
            let status = regie::app_status(&store, &user).await?;
            emit(json, &status, |s| format!("base prête: {}", s.db_path))
        }
        Command::Backup { out } => {
            let store = open(&cli.db).await?;
            let b = regie::backups::write(&store, out.as_deref(), chrono::Local::now().date_naive()).await?;
            emit(json, &b, |b| format!("sauvegarde {} ({} octets, intègre)", b.path, b.bytes))
        }
        Command::Restore { file } => {
            let db = cli.db.clone().unwrap_or_else(regie::store::default_db_path);
            if matches!(regie::store::Location::of(&db), regie::store::Location::Server(_)) {
                anyhow::bail!("la base du bureau est sur le serveur PostgreSQL : elle se restaure sur le serveur");
            }
            let restored = regie::backups::restore(&db, &file).await?;
            // Opened once: an older backup's schema is brought up to date now, not by surprise.
            open(&Some(db)).await?.close().await;
            emit(json, &restored, |r| {
                format!(
                    "{} restaurée depuis {}{}",
                    r.database,
                    r.from,
                    r.set_aside.as_ref().map(|a| format!(" ; l'ancienne est gardée sous {a}")).unwrap_or_default()
                )
            })
        }
        Command::Demo { students, seed, today, years, no_reminders } => {
            let today = day("--today", today)?.unwrap_or_else(|| chrono::Local::now().date_naive());
            let store = open(&cli.db).await?;
            let summary = regie::demo::fill(
                &store,
                DemoOptions { students, seed, today, years, reminders: !no_reminders },
                &user,
            )
            .await?;
            emit(json, &summary, |s| {
                let carried = s
                    .grid_carried_from
                    .as_ref()
                    .map(|y| format!("\n(montants {y} reportés sur {} : à confirmer dans Paramètres)", s.academic_year))
                    .unwrap_or_default();
                let reminded = s
                    .reminded_on
                    .map(|d| format!(", {} lettre(s) de relance au {}", s.reminder_letters, fr_date(d)))
                    .unwrap_or_default();
                let years = match s.academic_years.as_slice() {
                    [first, .., last] => format!("{first} à {last}"),
                    _ => s.academic_year.clone(),
                };
                format!(
                    "{years} : {} étudiants, {} demandes, {} acceptées, {} refusées, {} règlements, {} prélèvements refusés, {} impayés, {} avoirs, {} remboursements, {} lignes de relevé{reminded}{carried}",
                    s.students,
                    s.requests,
                    s.approved,
                    s.rejected,
                    s.payments,
                    s.refused_debits,
                    s.charge_backs,
                    s.credit_notes,
                    s.refunds,
                    s.bank_lines
                )
            })
        }
        Command::ImportRegistrations { file } => {
            let store = open(&cli.db).await?;
            let summary = regie::requests::import::import_file(&store, &file, &user).await?;
            emit(json, &summary, |s| {
                let mut text = format!(
                    "{} lignes: {} étudiants créés, {} demandes créées, {} inchangées",
                    s.rows, s.students_created, s.requests_created, s.unchanged
                );
                if !s.ignored_columns.is_empty() {
                    text.push_str(&format!("\n! colonnes non lues : {}", s.ignored_columns.join(", ")));
                }
                text
            })
        }
        Command::Plan { amount, plan, first, start, rounding } => {
            let amount = Money::parse(&amount).map_err(regie::Error::from).context("--amount")?;
            let kind: PlanKind = plan.parse().map_err(regie::Error::from)?;
            let first = first.map(|f| Money::parse(&f).map_err(regie::Error::from)).transpose().context("--first")?;
            let start = day("--start", start)?.unwrap_or_else(|| chrono::Local::now().date_naive());
            let rules = PlanRules {
                rounding: rounding.parse::<Rounding>().map_err(regie::Error::from)?,
                ..PlanRules::default()
            };
            let schedule = plans::schedule(amount, kind, first, start, &rules).map_err(regie::Error::from)?;
            emit(json, &schedule, |s| {
                let mut out: Vec<String> = s
                    .installments
                    .iter()
                    .map(|i| format!("{}  {}  {:>14}", i.n, fr_date(i.due_date), i.amount.to_french()))
                    .collect();
                out.push(format!("total      {:>14}", s.total.to_french()));
                out.extend(s.findings.iter().map(|f| format!("! {}", f.message)));
                out.join("\n")
            })
        }
        Command::Students { command: StudentsCommand::List { query, limit } } => {
            let store = open(&cli.db).await?;
            let list = regie::ledger::list_students(&store, query.as_deref(), 0, limit).await?;
            emit(json, &list, |l| {
                l.iter()
                    .map(|s| {
                        format!(
                            "{:<10} {:<20} {:<15} {:<8} {:>14}",
                            s.number,
                            s.last_name,
                            s.first_name,
                            s.school,
                            s.balance.to_french()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Account { student_number, pdf: Some(out) } => {
            let store = open(&cli.db).await?;
            let today = chrono::Local::now().date_naive();
            let pdf =
                regie::invoices::render_account(&store, &regie::invoices::Typesetter::new(), &student_number, today)
                    .await?;
            std::fs::write(&out, &pdf).with_context(|| format!("écriture de {}", out.display()))?;
            emit(json, &serde_json::json!({"file": out, "bytes": pdf.len()}), |_| {
                format!("{student_number} -> {}", out.display())
            })
        }
        Command::Account { student_number, pdf: None } => {
            let store = open(&cli.db).await?;
            let today = chrono::Local::now().date_naive();
            let pos = regie::ledger::account_position(&store, &student_number).await?;
            let text = if json {
                String::new()
            } else {
                regie::invoices::account_text(&store, &student_number, today).await?
            };
            emit(json, &pos, |_| text.trim_end().to_string())
        }
        Command::Fees { command: FeesCommand::List } => {
            let store = open(&cli.db).await?;
            let rows = regie::settings::fee_rows(&store).await?;
            emit(json, &rows, |rows| {
                rows.iter()
                    .map(|f| {
                        format!(
                            "{} {:<8} {} {} {:>12}  {}",
                            f.academic_year,
                            f.school,
                            f.programme,
                            f.situation,
                            f.amount.to_french(),
                            f.situation_label
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Fees { command: FeesCommand::Set { year, school, programme, situation, amount, reason } } => {
            let store = open(&cli.db).await?;
            let entry = regie::fees::grid::FeeEntry {
                academic_year: year.parse()?,
                school: school.parse()?,
                programme,
                situation: situation.parse()?,
                amount: Money::parse(&amount).map_err(regie::Error::from)?,
            };
            regie::settings::set_fee_amount(&store, &entry, &user, reason.as_deref()).await?;
            emit(json, &entry, |e| {
                format!("{} {} {} {} = {}", e.academic_year, e.school, e.programme, e.situation, e.amount.to_french())
            })
        }
        Command::Requests { command } => requests(&cli.db, command, &user, json).await,
        Command::Settings { command } => settings(&cli.db, command, &user, json).await,
        Command::Statements { command } => statements(&cli.db, command, &user, json).await,
        Command::Card { command } => card(&cli.db, command, &user, json).await,
        Command::Dunning { command } => dunning(&cli.db, command, &user, json).await,
        Command::Invoices { command } => invoices(&cli.db, command, json).await,
        Command::Exemptions { command } => exemptions(&cli.db, command, &user, json).await,
        Command::MigrateTo { url } => {
            let source = open(&cli.db).await?;
            let target = Store::open(std::path::Path::new(&url)).await?;
            let moved = regie::office::move_to_server(&source, &target, &user).await?;
            emit(json, &moved, |m| {
                let mut text = format!("copié vers {} :\n", m.target);
                for (table, n) in &m.tables {
                    text.push_str(&format!("  {table} : {n}\n"));
                }
                text.push_str(&format!("{} positions d'étudiants identiques sur les deux bases", m.positions_checked));
                text
            })
        }
        Command::Server { command: ServerCommand::Setup { url } } => {
            let db = url.map(PathBuf::from).or(cli.db.clone());
            let store = open(&db).await?;
            regie::users::setup_server(&store, &user).await?;
            let shown = store.location().display();
            emit(
                json,
                &serde_json::json!({"database": shown, "roles": ["regie_accountant", "regie_finance_manager"]}),
                |_| format!("serveur prêt : {shown} (rôles regie_accountant et regie_finance_manager)"),
            )
        }
        Command::Users { command: UsersCommand::Add { name, role } } => {
            let store = open(&cli.db).await?;
            let role = regie::users::Role::parse(&role)?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("lecture du mot de passe sur l'entrée standard")?;
            let password = password.trim_end_matches(['\r', '\n']);
            regie::users::add_login(&store, &name, password, role, &user).await?;
            emit(json, &serde_json::json!({"name": name, "role": role}), |_| format!("compte {name} : {role}"))
        }
        Command::Users { command: UsersCommand::SetRole { name, role } } => {
            let store = open(&cli.db).await?;
            let role = regie::users::Role::parse(&role)?;
            regie::users::set_role(&store, &name, role, &user).await?;
            emit(json, &serde_json::json!({"name": name, "role": role}), |_| format!("{name} : {role}"))
        }
        Command::CreditNotes { command } => credit_notes(&cli.db, command, &user, json).await,
        Command::Session { command } => session(&cli.db, command, &user, json).await,
    }
}

async fn requests(db: &Option<PathBuf>, command: RequestsCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::requests::review;
    let store = open(db).await?;
    let today = chrono::Local::now().date_naive();
    let decided = |d: &Vec<review::Decided>| {
        d.iter()
            .map(|d| {
                format!(
                    "{} -> {}{}",
                    d.id,
                    d.status,
                    d.invoice.as_ref().map(|i| format!(", facture {i}")).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // A batch says what became of each request; those decided elsewhere first make the run fail
    // (code `conflict`) once the others are done and printed.
    let batch = |out: Vec<review::InBatch>| -> anyhow::Result<()> {
        emit(json, &out, |out| {
            out.iter()
                .map(|b| match b {
                    review::InBatch::Decided(d) => decided(&vec![d.clone()]),
                    review::InBatch::Conflict { id, message } => format!("{id} -> conflit : {message}"),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let conflicts = out.iter().filter(|b| matches!(b, review::InBatch::Conflict { .. })).count();
        if conflicts > 0 {
            return Err(regie::Error::Conflict(format!(
                "{conflicts} demande(s) sur {} déjà décidée(s) : rien n'a été changé pour elle(s)",
                out.len()
            ))
            .into());
        }
        Ok(())
    };
    match command {
        RequestsCommand::List { status, school, plan, situation, finding, page } => match page.asked() {
            Some(page) => {
                let query = regie::requests::RequestQuery { status, school, plan, situation, finding, page };
                let page = regie::requests::page(&store, &query).await?;
                emit(json, &page, |p| page_text("demandes", &p.page, request_text))
            }
            None => {
                let status = status.map(|s| s.parse::<RequestStatus>()).transpose()?;
                let list = regie::requests::list(&store, status).await?;
                emit(json, &list, |l| l.iter().map(request_text).collect::<Vec<_>>().join("\n"))
            }
        },
        RequestsCommand::Approve { ids, override_reason } => {
            batch(review::approve_many(&store, &ids, today, override_reason.as_deref(), user).await?)
        }
        RequestsCommand::Reject { ids, reason } => batch(review::reject_many(&store, &ids, &reason, user).await?),
        RequestsCommand::Hold { id, reason } => {
            let out = vec![review::hold(&store, id, &reason, user).await?];
            emit(json, &out, decided)
        }
        RequestsCommand::Reopen { id, reason } => {
            let out = vec![review::reopen(&store, id, &reason, today, user).await?];
            emit(json, &out, decided)
        }
        RequestsCommand::ChangePlan { id, plan, reason } => {
            let plan: PlanKind = plan.parse().map_err(regie::Error::from)?;
            let out = vec![review::change_plan(&store, id, plan, today, reason.as_deref(), user).await?];
            emit(json, &out, decided)
        }
        RequestsCommand::AutoReview { dry_run } => {
            let review = review::auto_review(&store, dry_run, user).await?;
            emit(json, &review, |r| {
                let verb = if r.dry_run { "seraient refusées" } else { "refusées" };
                let mut lines =
                    vec![format!("{} demandes en 6 fois sous le seuil {verb}: {:?}", r.rejected.len(), r.rejected)];
                lines.extend(r.flagged.iter().map(|f| format!("  {} ! {}", f.id, f.finding.message)));
                lines.join("\n")
            })
        }
        RequestsCommand::Export { out } => {
            let n = regie::requests::export::write(&store, &out).await?;
            emit(json, &serde_json::json!({"file": out, "letters": n}), |_| {
                format!("{n} lettres écrites dans {}", out.display())
            })
        }
    }
}

async fn statements(db: &Option<PathBuf>, command: StatementsCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::bank::table::MappingSpec;
    use regie::bank::{self, Columns};
    let store = open(db).await?;
    match command {
        StatementsCommand::Import { file, profile, map, save_profile } => {
            let mapping = map.map(|m| MappingSpec::parse(&m)?.resolve()).transpose()?;
            let columns = Columns::choose(profile.as_deref(), mapping, save_profile.as_deref());
            let bar = progress_bar();
            let s = bank::import_file_with(&store, &file, columns, user, &|p| show_phase(&bar, &p)).await;
            bar.finish_and_clear();
            let s = s?;
            emit(json, &s, |s| {
                format!(
                    "{} ({}): {} lignes, {} nouvelles, {} déjà connues ; {} rapprochées automatiquement, {} à examiner, {} sans correspondance",
                    s.file,
                    s.format.name(),
                    s.rows,
                    s.new,
                    s.already_known,
                    s.auto_matched,
                    s.to_review,
                    s.unmatched
                )
            })
        }
        StatementsCommand::Lines { status, page } => match page.asked() {
            Some(page) => {
                let page = bank::line_page(&store, &bank::LineQuery { status, line: None, page }).await?;
                emit(json, &page, |p| page_text("lignes", &p.page, line_text))
            }
            None => {
                let lines = bank::lines(&store, status.as_deref()).await?;
                emit(json, &lines, |l| l.iter().map(line_text).collect::<Vec<_>>().join("\n"))
            }
        },
        StatementsCommand::Confirm { line_id, student_number, amount } => {
            let amount = amount.map(|a| Money::parse(&a).map_err(regie::Error::from)).transpose()?;
            let c = bank::confirm(&store, line_id, &student_number, amount, user).await?;
            emit(json, &c, |c| {
                format!("ligne {} -> {} : {} ({})", c.line_id, c.student_number, c.amount.to_french(), c.status)
            })
        }
        StatementsCommand::Undo { line_id, reason } => {
            let n = bank::undo(&store, line_id, &reason, chrono::Local::now().date_naive(), user).await?;
            emit(json, &serde_json::json!({"line_id": line_id, "reversed": n}), |_| {
                format!("ligne {line_id}: {n} règlement(s) annulé(s)")
            })
        }
        StatementsCommand::Hold { line_id, reason } => {
            bank::hold(&store, line_id, &reason, user).await?;
            emit(json, &serde_json::json!({"line_id": line_id, "held": reason.trim()}), |_| {
                format!("ligne {line_id} en attente : {}", reason.trim())
            })
        }
    }
}

async fn invoices(db: &Option<PathBuf>, command: InvoicesCommand, json: bool) -> anyhow::Result<()> {
    use regie::invoices::{self, Typesetter};
    let store = open(db).await?;
    match command {
        InvoicesCommand::List { session, status, page } => match page.asked() {
            Some(page) => {
                let query = invoices::InvoiceQuery { session, status, from: None, to: None, page };
                let page = invoices::page(&store, &query).await?;
                emit(json, &page, |p| page_text("factures", &p.page, invoice_text))
            }
            None => {
                let list = invoices::list(&store, session.as_deref()).await?;
                emit(json, &list, |l| l.iter().map(invoice_text).collect::<Vec<_>>().join("\n"))
            }
        },
        InvoicesCommand::Render { number, out } => {
            let pdf = invoices::render_invoice(&store, &Typesetter::new(), &number).await?;
            std::fs::write(&out, &pdf).with_context(|| format!("écriture de {}", out.display()))?;
            emit(json, &serde_json::json!({"file": out, "bytes": pdf.len()}), |_| {
                format!("{number} -> {}", out.display())
            })
        }
        InvoicesCommand::RenderAll { session, out, merged: true } => {
            let numbers: Vec<String> =
                invoices::list(&store, session.as_deref()).await?.into_iter().map(|i| i.number).collect();
            std::fs::create_dir_all(&out).with_context(|| format!("création de {}", out.display()))?;
            let pdf = invoices::render_merged(&store, &Typesetter::new(), &numbers).await?;
            let file = out.join("factures.pdf");
            std::fs::write(&file, &pdf).with_context(|| format!("écriture de {}", file.display()))?;
            emit(json, &serde_json::json!({"file": file, "rendered": numbers.len()}), |_| {
                format!("{} factures dans {}", numbers.len(), file.display())
            })
        }
        InvoicesCommand::Schedule { number, out } => {
            let pdf = invoices::render_schedule(&store, &Typesetter::new(), &number).await?;
            std::fs::write(&out, &pdf).with_context(|| format!("écriture de {}", out.display()))?;
            emit(json, &serde_json::json!({"file": out, "bytes": pdf.len()}), |_| {
                format!("échéancier {number} -> {}", out.display())
            })
        }
        InvoicesCommand::RenderAll { session, out, merged: false } => {
            let bar = progress_bar();
            bar.set_message("factures");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let n =
                invoices::render_all(&store, &Typesetter::new(), session.as_deref(), &out, &progress, &|| false).await;
            bar.finish_and_clear();
            let n = n?;
            emit(json, &serde_json::json!({"dir": out, "rendered": n}), |_| {
                format!("{n} factures dans {}", out.display())
            })
        }
    }
}

async fn credit_notes(db: &Option<PathBuf>, command: CreditNotesCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::invoices::{self, Typesetter};
    let store = open(db).await?;
    match command {
        CreditNotesCommand::Issue { invoice_number, amount, reason } => {
            let amount = Money::parse(&amount).map_err(regie::Error::from)?;
            let c = invoices::issue_credit_note(&store, &invoice_number, amount, &reason, user).await?;
            emit(json, &c, |c| format!("avoir {} de {}", c.number, c.amount.to_french()))
        }
        CreditNotesCommand::Render { number, out } => {
            let pdf = invoices::render_credit_note(&store, &Typesetter::new(), &number).await?;
            std::fs::write(&out, &pdf).with_context(|| format!("écriture de {}", out.display()))?;
            emit(json, &serde_json::json!({"file": out, "bytes": pdf.len()}), |_| {
                format!("{number} -> {}", out.display())
            })
        }
    }
}

async fn exemptions(db: &Option<PathBuf>, command: ExemptionsCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::exemptions;
    let store = open(db).await?;
    match command {
        ExemptionsCommand::List { session, year, page } => match page.asked() {
            Some(page) => {
                let page = exemptions::page(&store, &exemptions::CandidateQuery { session, year, page }).await?;
                emit(json, &page, |p| page_text("candidats", &p.page, candidate_text))
            }
            None => {
                let list = exemptions::list(&store, session.as_deref(), year.as_deref()).await?;
                emit(json, &list, |l| l.iter().map(candidate_text).collect::<Vec<_>>().join("\n"))
            }
        },
        ExemptionsCommand::Add { student_number, reason } => {
            let added = exemptions::add_candidate(&store, &student_number, &reason, user).await?;
            emit(json, &serde_json::json!({"added": added}), |_| {
                if added {
                    format!("{student_number} présenté à la commission")
                } else {
                    format!("{student_number} était déjà présenté à la commission")
                }
            })
        }
        ExemptionsCommand::Refunds => {
            let list = exemptions::refunds(&store).await?;
            emit(json, &list, |l| {
                l.iter()
                    .map(|r| {
                        format!(
                            "{:>4} {:<10} {:<25} {:>12} {:<7} {}",
                            r.id,
                            r.student_number,
                            r.name,
                            r.amount.to_french(),
                            r.status,
                            r.iban.clone().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ExemptionsCommand::PayRefund { refund_id, iban } => {
            exemptions::pay_refund(&store, refund_id, iban.as_deref(), user).await?;
            emit(json, &serde_json::json!({"refund_id": refund_id, "status": "paid"}), |_| {
                format!("remboursement {refund_id} payé")
            })
        }
        ExemptionsCommand::Decide { student_number, outcome, amount, reference, session, iban } => {
            let amount = amount.map(|a| Money::parse(&a).map_err(regie::Error::from)).transpose()?;
            let applied = exemptions::decide_from(
                &store,
                session.as_deref(),
                &student_number,
                &outcome,
                amount,
                &reference,
                iban.as_deref(),
                user,
            )
            .await?;
            emit(json, &applied, |a| {
                format!(
                    "{} échéance(s) annulée(s) ; avoir {} ; remboursement {}{}",
                    a.cancelled_installments.len(),
                    a.credit_note
                        .as_ref()
                        .map(|c| format!("{} de {}", c.number, c.amount.to_french()))
                        .unwrap_or_else(|| "aucun".into()),
                    a.refund.as_ref().map(|r| r.amount.to_french()).unwrap_or_else(|| "aucun".into()),
                    if a.changed { "" } else { " (déjà appliquée, inchangée)" }
                )
            })
        }
        ExemptionsCommand::Report { year, out } => {
            if let Some(out) = &out {
                exemptions::report_xlsx(&store, year.as_deref(), out).await?;
            }
            let r = exemptions::report(&store, year.as_deref()).await?;
            emit(json, &r, |r| {
                let mut lines: Vec<String> = r
                    .groups
                    .iter()
                    .chain(std::iter::once(&r.totals))
                    .map(|g| {
                        format!(
                            "{:<8} {:<4} {:>4} étudiants, exonéré {:>12}, remboursements à payer {:>12}, payés {:>12}",
                            g.school,
                            g.programme,
                            g.students,
                            g.exempted.to_french(),
                            g.refunds_to_pay.to_french(),
                            g.refunds_paid.to_french()
                        )
                    })
                    .collect();
                lines.extend(r.months.iter().map(|m| {
                    format!(
                        "{}  attendu {:>12}  encaissé {:>12}",
                        m.month,
                        m.expected.to_french(),
                        m.collected.to_french()
                    )
                }));
                lines.join("\n")
            })
        }
    }
}

async fn settings(db: &Option<PathBuf>, command: SettingsCommand, user: &str, json: bool) -> anyhow::Result<()> {
    let store = open(db).await?;
    match command {
        SettingsCommand::List => {
            let all = regie::settings::list(&store).await?;
            emit(json, &all, |all| {
                all.iter()
                    .map(|s| {
                        format!(
                            "{:<8} seuil 6 fois {}  arrondi {}  prélèvement le {}  date limite {:02}/{:02}",
                            s.school,
                            s.six_threshold.to_french(),
                            s.rounding,
                            s.debit_day,
                            s.deadline_day,
                            s.deadline_month
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SettingsCommand::FeeTolerance { amount, reason } => {
            if let Some(a) = amount {
                let amount = Money::parse(&a).map_err(regie::Error::from)?;
                regie::bank::set_fee_tolerance(&store, amount, reason.as_deref(), user).await?;
            }
            let tolerance = regie::bank::rules(&store).await?.fee_tolerance;
            emit(json, &serde_json::json!({"fee_tolerance": tolerance}), |_| {
                format!("tolérance de frais bancaires : {}", tolerance.to_french())
            })
        }
        SettingsCommand::Sessions => {
            let all = regie::settings::session_labels(&store).await?;
            emit(json, &all, |all| {
                all.iter().map(|l| format!("{:<16} {}", l.session, l.label)).collect::<Vec<_>>().join("\n")
            })
        }
        SettingsCommand::SessionLabel { session, label, reason } => {
            let saved = regie::settings::set_session_label(&store, &session, &label, reason.as_deref(), user).await?;
            emit(json, &saved, |l| format!("{} : {}", l.session, l.label))
        }
        SettingsCommand::Set { school, six_threshold, rounding, debit_day, deadline, domiciliation, reason } => {
            let school: regie::fees::School = school.parse()?;
            let mut s = regie::settings::list(&store)
                .await?
                .into_iter()
                .find(|s| s.school == school)
                .context("école sans réglages")?;
            if let Some(t) = six_threshold {
                s.six_threshold = Money::parse(&t).map_err(regie::Error::from)?;
            }
            if let Some(r) = rounding {
                s.rounding = r.parse().map_err(regie::Error::from)?;
            }
            if let Some(d) = debit_day {
                s.debit_day = d;
            }
            if let Some(d) = deadline {
                let (day, month) = d.split_once('/').context("--deadline attend JJ/MM")?;
                s.deadline_day = day.parse().context("--deadline: jour")?;
                s.deadline_month = month.parse().context("--deadline: mois")?;
            }
            if let Some(d) = domiciliation {
                s.domiciliation = d;
            }
            regie::settings::update(&store, &s, user, reason.as_deref()).await?;
            emit(json, &s, |s| format!("{} mis à jour", s.school))
        }
    }
}

async fn dunning(db: &Option<PathBuf>, command: DunningCommand, user: &str, json: bool) -> anyhow::Result<()> {
    let store = open(db).await?;
    let today = chrono::Local::now().date_naive();
    match command {
        DunningCommand::List { as_of, level, page } => {
            let as_of = day("--as-of", as_of)?.unwrap_or(today);
            match page.asked() {
                Some(page) => {
                    let page =
                        regie::dunning::page(&store, as_of, &regie::dunning::DunningQuery { level, page }).await?;
                    emit(json, &page, |p| page_text("échéances", &p.page, dunning_text))
                }
                None => {
                    let list = regie::dunning::list(&store, as_of).await?;
                    emit(json, &list, |l| l.iter().map(dunning_text).collect::<Vec<_>>().join("\n"))
                }
            }
        }
        DunningCommand::Run { as_of, out, merged } => {
            let as_of = day("--as-of", as_of)?;
            let typesetter = regie::invoices::Typesetter::new();
            let s = regie::dunning::run(&store, &typesetter, as_of.unwrap_or(today), &out, merged, user).await?;
            emit(json, &s, |s| {
                format!(
                    "{} lettres, {} échéances relancées, {} blocages, {} levées -> {}",
                    s.letters,
                    s.raised,
                    s.blocked,
                    s.cleared,
                    out.display()
                )
            })
        }
    }
}

async fn card(db: &Option<PathBuf>, command: CardCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::card;
    let store = open(db).await?;
    let line = |t: &card::TransactionView| {
        format!(
            "{:<12} {} {:>12} {:<10} {:<8} {:<13} {:<10} {}",
            t.row.number,
            fr_date(t.row.date),
            t.amount.to_french(),
            t.row.kind.code(),
            t.row.status.code(),
            t.row.outcome.code(),
            t.row.student_number.clone().unwrap_or_default(),
            t.refusal.clone().unwrap_or_else(|| t.reasons.join(", "))
        )
    };
    match command {
        CardCommand::Import { file, profile, map, save_profile } => {
            let columns = match (profile.as_deref(), map) {
                (Some(p), _) => card::Columns::Profile(p),
                (None, Some(m)) => card::Columns::Mapping {
                    mapping: card::export::Mapping::parse(&m)?,
                    save_as: save_profile.as_deref(),
                },
                (None, None) => card::Columns::Detect,
            };
            let bar = progress_bar();
            let s = card::import_file_with(&store, &file, columns, user, &|p| show_phase(&bar, &p)).await;
            bar.finish_and_clear();
            let s = s?;
            emit(json, &s, |s| {
                let mut tied = match s.remittance_lines {
                    0 => String::new(),
                    n => format!(" ; {n} ligne(s) de remise du relevé rapprochée(s)"),
                };
                if s.remitted > 0 {
                    tied.push_str(&format!(" ; {} déjà connue(s) ajoutée(s) à leur remise", s.remitted));
                }
                if s.cancelled_since > 0 {
                    tied.push_str(&format!(
                        " ; {} déjà connue(s) annulée(s) avant leur remise, règlement annulé",
                        s.cancelled_since
                    ));
                }
                format!(
                    "{}: {} transactions, {} nouvelles, {} déjà connues ; {} payées, {} refusées, {} remboursées, {} impayées, {} annulées, {} à attribuer{tied}",
                    s.file,
                    s.rows,
                    s.new,
                    s.already_known,
                    s.paid,
                    s.refused,
                    s.refunded,
                    s.charged_back,
                    s.cancelled,
                    s.unknown
                )
            })
        }
        CardCommand::Transactions { status, remittance, page } => match page.asked() {
            Some(page) => {
                let query = card::TransactionQuery { outcome: status, remittance, page };
                let page = card::transaction_page(&store, &query).await?;
                emit(json, &page, |p| page_text("transactions", p, line))
            }
            None => {
                let outcome = status.as_deref().map(card::Outcome::parse).transpose()?;
                let list = card::transactions(&store, outcome, 1_000).await?;
                emit(json, &list, |l| l.iter().map(line).collect::<Vec<_>>().join("\n"))
            }
        },
        CardCommand::Remittances => {
            let list = card::remittances(&store).await?;
            emit(json, &list, |l| {
                l.iter()
                    .map(|r| {
                        format!(
                            "{:<10} {} {:>4} transactions {:>12} brut  banque {:>12}  écart {:>10}{}",
                            r.number,
                            fr_date(r.date),
                            r.count,
                            r.gross.to_french(),
                            r.bank_amount.map(|m| m.to_french()).unwrap_or_else(|| "—".into()),
                            r.difference.map(|m| m.to_french()).unwrap_or_else(|| "—".into()),
                            if r.flagged { "  À VÉRIFIER" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        CardCommand::CommissionTolerance { percent, reason } => {
            if let Some(p) = percent {
                let value = Money::parse(&p).map_err(regie::Error::from)?;
                card::set_commission_tolerance(&store, value.cents(), reason.as_deref(), user).await?;
            }
            let bp = card::commission_tolerance_bp(&mut *store.read().await?).await?;
            let percent = Money::from_cents(bp);
            emit(json, &serde_json::json!({"commission_tolerance_percent": percent}), |_| {
                format!("tolérance de commission sur les remises : {} %", percent.to_french_number())
            })
        }
        CardCommand::Assign { transaction, student_number } => {
            let t = card::assign(&store, &transaction, &student_number, user).await?;
            emit(json, &t, line)
        }
        CardCommand::Chargeback { transaction, reason, date } => {
            let date = day("--date", date)?.unwrap_or_else(|| chrono::Local::now().date_naive());
            let t = card::charge_back(&store, &transaction, date, &reason, user).await?;
            emit(json, &t, line)
        }
    }
}

/// An invoice as `invoices list` prints it.
fn invoice_text(i: &regie::invoices::InvoiceItem) -> String {
    format!(
        "{} {} {:<10} {:>12} réglé {:>12} avoirs {:>12}",
        i.number,
        fr_date(i.date),
        i.student_number,
        i.total.to_french(),
        i.settled.to_french(),
        i.credited.to_french()
    )
}

/// An overdue installment as `dunning list` prints it.
fn dunning_text(e: &regie::dunning::Entry) -> String {
    format!(
        "{:<10} {:<25} {} éch. {} du {} {:>12}  {:<22} {}{} -> {}",
        e.student_number,
        format!("{} {}", e.last_name, e.first_name),
        e.invoice,
        e.installment,
        fr_date(e.due_date),
        e.amount.to_french(),
        e.reason,
        e.level.label(),
        e.reminded_on.map(|d| format!(" le {}", fr_date(d))).unwrap_or_default(),
        e.next_level.label()
    )
}

/// A commission candidate as `exemptions list` prints it.
fn candidate_text(c: &regie::exemptions::Candidate) -> String {
    format!(
        "{:<10} {:<20} {:<8} {:<3} {:<10} facturé {:>12} payé {:>12} prévu {:>12} {}",
        c.student_number,
        c.last_name,
        c.school,
        c.situation,
        c.plan_label,
        c.invoiced.to_french(),
        c.paid.to_french(),
        c.scheduled.to_french(),
        c.outcome.map(|o| o.code()).unwrap_or_default()
    )
}

/// A request as `requests list` prints it.
fn request_text(r: &regie::requests::RequestView) -> String {
    let findings: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
    format!(
        "{:>5} {:<10} {:<8} {:<8} {:>12} {:<8} {}",
        r.id,
        r.student_number,
        r.school,
        r.plan,
        r.amount.to_french(),
        r.status,
        findings.join(",")
    )
}

/// A statement line as `statements lines` prints it.
fn line_text(l: &regie::bank::LineView) -> String {
    format!(
        "{:>6} {} {:>12} {:<10} {:<10} {:<50} {}",
        l.id,
        fr_date(l.date),
        l.amount.to_french(),
        l.status,
        l.student_number.clone().unwrap_or_default(),
        l.label.chars().take(50).collect::<String>(),
        l.reasons.join(", ")
    )
}

/// A day typed on the command line: as the office writes it (06/12/2026 or 6/12/2026), as ISO
/// (2026-12-06), or in any form an imported file may hold it (06.12.2026, 06/12/26: the year 2026).
fn day(flag: &str, text: Option<String>) -> Result<Option<NaiveDate>, regie::Error> {
    use chrono::Datelike as _;
    let Some(text) = text else { return Ok(None) };
    let t = text.trim();
    regie::sheets::parse_date(t)
        .ok()
        .or_else(|| NaiveDate::parse_from_str(t, "%d/%m/%Y").ok().filter(|d| (1000..=9999).contains(&d.year())))
        .map(Some)
        .ok_or_else(|| {
            regie::Error::Invalid(format!("{flag} : date illisible « {t} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)"))
        })
}

fn fr_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

async fn session(db: &Option<PathBuf>, command: SessionCommand, user: &str, json: bool) -> anyhow::Result<()> {
    use regie::session;
    let store = open(db).await?;
    match command {
        SessionCommand::Checkout { out, lines, statement } => {
            let statuses =
                lines.iter().map(|l| regie::bank::matching::LineStatus::parse(l)).collect::<Result<Vec<_>, _>>()?;
            let done = session::checkout(&store, &out, &statuses, statement, user).await?;
            emit(json, &done, |d| {
                format!(
                    "session {} : {} ligne(s), {} étudiant(s), {} échéance(s) ouvertes -> {}",
                    d.session, d.lines, d.students, d.installments, d.file
                )
            })
        }
        SessionCommand::Checkin { file } => {
            let done = session::checkin(&store, &file, user).await?;
            emit(json, &done, |d| {
                let mut text = format!(
                    "session {} : {} décision(s) appliquée(s), {} déjà appliquée(s), {} conflit(s)",
                    d.session,
                    d.applied,
                    d.already_applied,
                    d.conflicts.len()
                );
                for c in &d.conflicts {
                    text.push_str(&format!("\n  ligne {} : {} ({})", c.line, c.reason, c.office));
                }
                text
            })
        }
        SessionCommand::Discard { name, reason } => {
            session::discard(&store, &name, &reason, user).await?;
            emit(json, &serde_json::json!({"session": name, "status": "discarded"}), |_| {
                format!("session {name} abandonnée : ses lignes sont rendues au bureau")
            })
        }
        SessionCommand::List => {
            let all = session::list(&store).await?;
            emit(json, &all, |all| {
                all.iter()
                    .map(|s| {
                        format!(
                            "{} {} par {} le {} ({}){}",
                            s.name,
                            s.status,
                            s.checked_out_by,
                            s.checked_out_at,
                            s.file,
                            if s.conflicts.is_empty() {
                                String::new()
                            } else {
                                format!(", {} conflit(s)", s.conflicts.len())
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        SessionCommand::Info => {
            let info = session::info(&store).await?;
            emit(json, &info, |i| match i {
                Some(i) => format!(
                    "session {} du bureau {}, sortie par {} le {} : {} décision(s) à rapporter",
                    i.name, i.office, i.checked_out_by, i.checked_out_at, i.decisions
                ),
                None => "ce n'est pas une session : c'est une base de bureau".into(),
            })
        }
    }
}
