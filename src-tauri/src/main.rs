//! Régie's desktop shell: opens the database and exposes the core to the web UI as Tauri commands.
//! Each command is one call into `regie` followed by `.map_err(Into::into)`; no rule lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::sync::Mutex;

use regie::bank::table::{Mapping, MappingSpec};
use regie::bank::{Confirmed, ImportSummary, Preview, Progress};
use regie::demo::{DemoOptions, DemoSummary};
use regie::fees::grid::{FeeEntry, FeeRow};
use regie::invoices::{IssuedCreditNote, Written};
use regie::ledger::StudentPage;
use regie::ledger::position::AccountPosition;
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::RequestDetail;
use regie::requests::export::Exported;
use regie::requests::review::{self, AutoReview, Decided, InBatch};
use regie::settings::SchoolSettings;
use regie::users::User;
use regie::{AppStatus, ErrorPayload, Store};
use std::sync::atomic::Ordering;
use tauri::State;
use tauri::ipc::Channel;

struct Desk {
    /// The database in use: the local file, or the office server once signed in to it.
    store: Mutex<Store>,
    /// Fonts, library and templates, built on first use and kept for every document.
    typesetter: std::sync::OnceLock<regie::invoices::Typesetter>,
    /// Set by the window's cancel button; checked between the documents of a batch.
    cancel: std::sync::atomic::AtomicBool,
    /// The signed-in user, recorded in the audit log of every decision.
    user: Mutex<Option<String>>,
    /// The files the window sent (statements, gateway exports, session files), by token.
    uploads: regie::uploads::Uploads,
}

impl Desk {
    /// The current database (a cheap handle on its pool).
    fn store(&self) -> Store {
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn typesetter(&self) -> &regie::invoices::Typesetter {
        self.typesetter.get_or_init(regie::invoices::Typesetter::new)
    }

    /// Who acts; a decision without a signed-in user is refused.
    fn actor(&self) -> Result<String, ErrorPayload> {
        self.user.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone().ok_or(ErrorPayload {
            code: "not_signed_in",
            message: "Vous n'êtes pas identifié : une décision est toujours signée.".into(),
            hint: "Indiquez votre nom sur l'écran d'accueil (« changer d'utilisateur » en haut) : il figure dans le journal.",
        })
    }
}

type Reply<T> = Result<T, ErrorPayload>;

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[tauri::command]
async fn app_status(desk: State<'_, Desk>) -> Reply<AppStatus> {
    let user = desk.user.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone().unwrap_or_default();
    regie::app_status(&desk.store(), &user).await.map_err(Into::into)
}

#[tauri::command]
async fn sign_in(desk: State<'_, Desk>, name: String) -> Reply<User> {
    let user = regie::users::sign_in(&desk.store(), &name).await.map_err(ErrorPayload::from)?;
    *desk.user.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(user.name.clone());
    Ok(user)
}

/// Back to the sign-in screen, to act under another profile of this file (the next start still
/// opens under the last one signed in).
#[tauri::command]
async fn sign_out(desk: State<'_, Desk>) -> Reply<AppStatus> {
    *desk.user.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    regie::app_status(&desk.store(), "").await.map_err(Into::into)
}

#[tauri::command]
async fn backups_list(desk: State<'_, Desk>) -> Reply<Vec<regie::backups::Listed>> {
    Ok(regie::backups::list(&desk.store()))
}

#[tauri::command]
async fn backup_now(desk: State<'_, Desk>) -> Reply<regie::backups::Backup> {
    regie::backups::write(&desk.store(), None, today()).await.map_err(Into::into)
}

/// Puts a backup of `backups/` (named, never a path) in place of the file; the desk goes on with
/// the store the core hands back, the restored file or its own.
#[tauri::command]
async fn backup_restore(desk: State<'_, Desk>, name: String) -> Reply<regie::backups::Restored> {
    let actor = desk.actor()?;
    let (store, restored) = regie::backups::restore_listed(desk.store(), &name, &actor).await;
    *desk.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = store;
    restored.map_err(Into::into)
}

/// The start screen's "office server": signs in to it with the person's own login; from then on
/// every screen reads and writes the server, as that login.
#[tauri::command]
async fn connect_server(desk: State<'_, Desk>, server: String, login: String, password: String) -> Reply<AppStatus> {
    let (store, user) = regie::office::connect(&server, &login, &password).await.map_err(ErrorPayload::from)?;
    *desk.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = store.clone();
    *desk.user.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(user.name.clone());
    regie::app_status(&store, &user.name).await.map_err(Into::into)
}

/// On the office server: the window is told (`on_change`, a growing count) each time any
/// desktop commits, to reload what it shows. Returns whether there is anything to watch (a local
/// file has one desk only).
#[tauri::command]
async fn watch_changes(desk: State<'_, Desk>, on_change: Channel<u64>) -> Reply<bool> {
    let Some(mut changes) = desk.store().changes().await.map_err(ErrorPayload::from)? else { return Ok(false) };
    tauri::async_runtime::spawn(async move {
        let mut count = 0;
        // Ends when the connection drops or the window stops listening.
        while changes.next().await.is_ok() {
            count += 1;
            if on_change.send(count).is_err() {
                break;
            }
        }
    });
    Ok(true)
}

#[tauri::command]
async fn load_demo(desk: State<'_, Desk>) -> Reply<DemoSummary> {
    regie::demo::fill(&desk.store(), DemoOptions::default(), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn students_list(desk: State<'_, Desk>, query: regie::page::PageQuery) -> Reply<StudentPage> {
    regie::ledger::student_page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn account_position(desk: State<'_, Desk>, student_number: String) -> Reply<AccountPosition> {
    regie::ledger::account_position(&desk.store(), &student_number).await.map_err(Into::into)
}

#[tauri::command]
async fn fee_grid(desk: State<'_, Desk>) -> Reply<Vec<FeeRow>> {
    regie::settings::fee_rows(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn fee_set(desk: State<'_, Desk>, entry: FeeEntry, reason: String) -> Reply<Vec<FeeRow>> {
    regie::settings::set_fee_amount(&desk.store(), &entry, &desk.actor()?, Some(&reason))
        .await
        .map_err(ErrorPayload::from)?;
    regie::settings::fee_rows(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn settings_list(desk: State<'_, Desk>) -> Reply<Vec<SchoolSettings>> {
    regie::settings::list(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn settings_set(desk: State<'_, Desk>, settings: SchoolSettings, reason: String) -> Reply<()> {
    regie::settings::update(&desk.store(), &settings, &desk.actor()?, Some(&reason)).await.map_err(Into::into)
}

#[tauri::command]
async fn requests_list(
    desk: State<'_, Desk>,
    query: regie::requests::RequestQuery,
) -> Reply<regie::requests::RequestPage> {
    regie::requests::page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn request_detail(desk: State<'_, Desk>, id: i64) -> Reply<RequestDetail> {
    regie::requests::detail(&desk.store(), id, today()).await.map_err(Into::into)
}

#[tauri::command]
async fn requests_approve(
    desk: State<'_, Desk>,
    ids: Vec<i64>,
    override_reason: Option<String>,
) -> Reply<Vec<InBatch>> {
    review::approve_many(&desk.store(), &ids, today(), override_reason.as_deref(), &desk.actor()?)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn requests_reject(desk: State<'_, Desk>, ids: Vec<i64>, reason: String) -> Reply<Vec<InBatch>> {
    review::reject_many(&desk.store(), &ids, &reason, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn request_hold(desk: State<'_, Desk>, id: i64, reason: String) -> Reply<Decided> {
    review::hold(&desk.store(), id, &reason, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn request_reopen(desk: State<'_, Desk>, id: i64, reason: String) -> Reply<Decided> {
    review::reopen(&desk.store(), id, &reason, today(), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn request_change_plan(desk: State<'_, Desk>, id: i64, plan: PlanKind, reason: Option<String>) -> Reply<Decided> {
    review::change_plan(&desk.store(), id, plan, today(), reason.as_deref(), &desk.actor()?).await.map_err(Into::into)
}

/// A file the window sends once, as its raw bytes, its name percent-encoded in the `x-file-name`
/// header; the answer is the token that the preview and the import then name it by.
#[tauri::command]
async fn file_upload(desk: State<'_, Desk>, request: tauri::ipc::Request<'_>) -> Reply<u64> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(regie::Error::Invalid("fichier attendu en octets bruts".into()).into());
    };
    let name = request.headers().get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or_default();
    desk.uploads.put(name, bytes).map_err(Into::into)
}

#[tauri::command]
async fn card_preview(desk: State<'_, Desk>, token: u64, mapping: Option<String>) -> Reply<regie::card::Preview> {
    regie::card::preview_uploaded(&desk.uploads, token, mapping.as_deref()).map_err(Into::into)
}

#[tauri::command]
async fn card_import(
    desk: State<'_, Desk>,
    token: u64,
    mapping: Option<String>,
    save_as: Option<String>,
    on_progress: Channel<Progress>,
) -> Reply<regie::card::ImportSummary> {
    let columns = match mapping.as_deref() {
        Some(m) => regie::card::Columns::Mapping {
            mapping: regie::card::export::Mapping::parse(m)?,
            save_as: save_as.as_deref(),
        },
        None => regie::card::Columns::Detect,
    };
    let report = move |p: Progress| drop(on_progress.send(p));
    regie::card::import_uploaded(&desk.store(), &desk.uploads, token, columns, &desk.actor()?, &report)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn card_transactions(
    desk: State<'_, Desk>,
    query: regie::card::TransactionQuery,
) -> Reply<regie::page::Page<regie::card::TransactionView>> {
    regie::card::transaction_page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn card_assign(
    desk: State<'_, Desk>,
    number: String,
    student_number: String,
) -> Reply<regie::card::TransactionView> {
    regie::card::assign(&desk.store(), &number, &student_number, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn card_charge_back(
    desk: State<'_, Desk>,
    number: String,
    reason: String,
) -> Reply<regie::card::TransactionView> {
    regie::card::charge_back(&desk.store(), &number, today(), &reason, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn card_remittances(
    desk: State<'_, Desk>,
    query: regie::page::PageQuery,
) -> Reply<regie::page::Page<regie::card::Remittance>> {
    regie::card::remittance_page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn dunning_list(
    desk: State<'_, Desk>,
    as_of: Option<chrono::NaiveDate>,
    query: regie::dunning::DunningQuery,
) -> Reply<regie::dunning::DunningPage> {
    regie::dunning::page(&desk.store(), as_of.unwrap_or_else(today), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn dunning_run(
    desk: State<'_, Desk>,
    merged: bool,
    as_of: Option<chrono::NaiveDate>,
) -> Reply<regie::dunning::RunSummary> {
    regie::dunning::run_to_exports(
        &desk.store(),
        desk.typesetter(),
        as_of.unwrap_or_else(today),
        merged,
        &desk.actor()?,
    )
    .await
    .map_err(Into::into)
}

#[tauri::command]
async fn exemption_add(desk: State<'_, Desk>, student_number: String, reason: String) -> Reply<bool> {
    regie::exemptions::add_candidate(&desk.store(), &student_number, &reason, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn session_labels(desk: State<'_, Desk>) -> Reply<Vec<regie::settings::SessionLabel>> {
    regie::settings::session_labels(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn session_label_set(
    desk: State<'_, Desk>,
    session: String,
    label: String,
    reason: String,
) -> Reply<regie::settings::SessionLabel> {
    regie::settings::set_session_label(&desk.store(), &session, &label, Some(&reason), &desk.actor()?)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn requests_auto_review(desk: State<'_, Desk>, dry_run: bool) -> Reply<AutoReview> {
    review::auto_review(&desk.store(), dry_run, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn requests_export(desk: State<'_, Desk>, format: String) -> Reply<Exported> {
    regie::requests::export::write_export(&desk.store(), &format).await.map_err(Into::into)
}

/// The portal's registrations, as the window sent them: what the import would do, every bad row.
#[tauri::command]
async fn registrations_preview(desk: State<'_, Desk>, token: u64) -> Reply<regie::requests::import::Preview> {
    regie::requests::import::preview_uploaded(&desk.store(), &desk.uploads, token).await.map_err(Into::into)
}

#[tauri::command]
async fn registrations_import(desk: State<'_, Desk>, token: u64) -> Reply<regie::requests::import::ImportSummary> {
    regie::requests::import::import_uploaded(&desk.store(), &desk.uploads, token, &desk.actor()?)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn statement_preview(desk: State<'_, Desk>, token: u64) -> Reply<Preview> {
    regie::bank::preview_uploaded(&desk.uploads, token).map_err(Into::into)
}

#[tauri::command]
#[allow(clippy::too_many_arguments)]
async fn statement_import(
    desk: State<'_, Desk>,
    token: u64,
    mapping: Option<MappingSpec>,
    save_as: Option<String>,
    profile: Option<String>,
    on_progress: Channel<Progress>,
) -> Reply<ImportSummary> {
    let mapping = mapping.as_ref().map(MappingSpec::resolve).transpose()?;
    let columns = regie::bank::Columns::choose(profile.as_deref(), mapping, save_as.as_deref());
    let report = move |p: Progress| drop(on_progress.send(p));
    regie::bank::import_uploaded(&desk.store(), &desk.uploads, token, columns, &desk.actor()?, &report)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn statement_profiles(desk: State<'_, Desk>) -> Reply<Vec<(String, Mapping)>> {
    regie::bank::profiles(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn sessions(desk: State<'_, Desk>) -> Reply<Vec<regie::session::SessionView>> {
    regie::session::list(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn session_checkout(desk: State<'_, Desk>) -> Reply<regie::session::CheckedOut> {
    regie::session::checkout_to_exports(&desk.store(), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn session_checkin(desk: State<'_, Desk>, token: u64) -> Reply<regie::session::CheckedIn> {
    regie::session::checkin_uploaded(&desk.store(), &desk.uploads, token, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn statement_lines(desk: State<'_, Desk>, query: regie::bank::LineQuery) -> Reply<regie::bank::LinePage> {
    regie::bank::line_page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn statement_confirm(
    desk: State<'_, Desk>,
    line_id: i64,
    student_number: String,
    amount: Option<Money>,
) -> Reply<Confirmed> {
    regie::bank::confirm(&desk.store(), line_id, &student_number, amount, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn statement_undo(desk: State<'_, Desk>, line_id: i64, reason: String) -> Reply<usize> {
    regie::bank::undo(&desk.store(), line_id, &reason, today(), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn statement_hold(desk: State<'_, Desk>, line_id: i64, reason: String) -> Reply<()> {
    regie::bank::hold(&desk.store(), line_id, &reason, &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn fee_tolerance_get(desk: State<'_, Desk>) -> Reply<Money> {
    regie::bank::rules(&desk.store()).await.map(|r| r.fee_tolerance).map_err(Into::into)
}

#[tauri::command]
async fn fee_tolerance_set(desk: State<'_, Desk>, amount: Money, reason: String) -> Reply<()> {
    regie::bank::set_fee_tolerance(&desk.store(), amount, Some(&reason), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn invoices_list(
    desk: State<'_, Desk>,
    query: regie::invoices::InvoiceQuery,
) -> Reply<regie::invoices::InvoicePage> {
    regie::invoices::page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn invoice_export(desk: State<'_, Desk>, number: String) -> Reply<Written> {
    regie::invoices::export_invoice(&desk.store(), desk.typesetter(), &number).await.map_err(Into::into)
}

#[tauri::command]
async fn invoices_export(
    desk: State<'_, Desk>,
    numbers: Vec<String>,
    on_progress: Channel<(usize, usize)>,
) -> Reply<Written> {
    desk.cancel.store(false, Ordering::SeqCst);
    let report = move |done: usize, total: usize| drop(on_progress.send((done, total)));
    let cancelled = || desk.cancel.load(Ordering::SeqCst);
    regie::invoices::export_selection(&desk.store(), desk.typesetter(), &numbers, &report, &cancelled)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn invoices_export_merged(desk: State<'_, Desk>, numbers: Vec<String>) -> Reply<Written> {
    regie::invoices::export_merged(&desk.store(), desk.typesetter(), &numbers).await.map_err(Into::into)
}

/// What an invoice prints (the template's data), for the preview panel.
#[tauri::command]
async fn invoice_preview(desk: State<'_, Desk>, number: String) -> Reply<serde_json::Value> {
    regie::invoices::invoice_data(&desk.store(), &number).await.map(|(data, _)| data).map_err(Into::into)
}

#[tauri::command]
fn export_cancel(desk: State<'_, Desk>) {
    desk.cancel.store(true, Ordering::SeqCst);
}

#[tauri::command]
async fn account_export(desk: State<'_, Desk>, student_number: String) -> Reply<Written> {
    regie::invoices::export_account(&desk.store(), desk.typesetter(), &student_number).await.map_err(Into::into)
}

#[tauri::command]
async fn credit_note_issue(
    desk: State<'_, Desk>,
    invoice: String,
    amount: Money,
    reason: String,
) -> Reply<IssuedCreditNote> {
    regie::invoices::issue_credit_note(&desk.store(), &invoice, amount, &reason, &desk.actor()?)
        .await
        .map_err(Into::into)
}

#[tauri::command]
async fn exemptions_list(
    desk: State<'_, Desk>,
    query: regie::exemptions::CandidateQuery,
) -> Reply<regie::exemptions::CandidatePage> {
    regie::exemptions::page(&desk.store(), &query).await.map_err(Into::into)
}

#[tauri::command]
async fn exemption_years(desk: State<'_, Desk>) -> Reply<Vec<String>> {
    regie::exemptions::years(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn exemption_decide(
    desk: State<'_, Desk>,
    session: Option<String>,
    student_number: String,
    outcome: String,
    amount: Option<Money>,
    reference: String,
    iban: Option<String>,
) -> Reply<regie::exemptions::Applied> {
    let actor = desk.actor()?;
    regie::exemptions::decide_from(
        &desk.store(),
        session.as_deref(),
        &student_number,
        &outcome,
        amount,
        &reference,
        iban.as_deref(),
        &actor,
    )
    .await
    .map_err(Into::into)
}

#[tauri::command]
async fn refunds_list(desk: State<'_, Desk>) -> Reply<Vec<regie::exemptions::Refund>> {
    regie::exemptions::refunds(&desk.store()).await.map_err(Into::into)
}

#[tauri::command]
async fn refund_pay(desk: State<'_, Desk>, id: i64, iban: Option<String>) -> Reply<()> {
    regie::exemptions::pay_refund(&desk.store(), id, iban.as_deref(), &desk.actor()?).await.map_err(Into::into)
}

#[tauri::command]
async fn exemptions_report(desk: State<'_, Desk>, year: Option<String>) -> Reply<regie::exemptions::Report> {
    regie::exemptions::report(&desk.store(), year.as_deref()).await.map_err(Into::into)
}

#[tauri::command]
async fn exemptions_export(desk: State<'_, Desk>, year: Option<String>) -> Reply<Written> {
    regie::exemptions::export_report(&desk.store(), year.as_deref()).await.map_err(Into::into)
}

/// `--db PATH` on the command line, else `$REGIE_DB`, else the app-data folder.
fn db_path() -> PathBuf {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--db")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(regie::store::default_db_path)
}

/// Without a GPU (no render node: a VM, a remote desktop, Xvfb), WebKitGTK composites the page
/// through software GL, Mesa's llvmpipe, which holds its own copy of LLVM and the layers' buffers:
/// about 150 MB more in the web process for nothing a page of tables needs (the office-scale
/// window test: 356–457 MB with it, 220–345 MB without). There the window draws without
/// compositing; a variable set by the user keeps their choice.
#[cfg(target_os = "linux")]
fn without_gpu_draw_without_compositing() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let render_node = std::fs::read_dir("/dev/dri")
        .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    if !render_node {
        // SAFETY: the first thing `main` does, before any thread exists to read the environment.
        unsafe { std::env::set_var(VAR, "1") };
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    without_gpu_draw_without_compositing();
    let path = db_path();
    let opened = tauri::async_runtime::block_on(async {
        let store = Store::open(&path).await?;
        // The day's backup, beside the window (a large file takes seconds); a failed one (a
        // full disk) is said and does not keep the office from working.
        let for_backup = store.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = regie::backups::on_start(&for_backup, today()).await {
                eprintln!("Régie: sauvegarde du jour impossible: {e}");
            }
        });
        let user = regie::users::current(&store).await?.map(|u| u.name);
        Ok::<_, regie::Error>((store, user))
    });
    let (store, user) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("Régie: impossible d'ouvrir la base {}: {e}", path.display());
            std::process::exit(1);
        }
    };
    tauri::Builder::default()
        .manage(Desk {
            store: Mutex::new(store),
            typesetter: Default::default(),
            cancel: Default::default(),
            user: Mutex::new(user),
            uploads: Default::default(),
        })
        .invoke_handler(tauri::generate_handler![
            app_status,
            sign_in,
            sign_out,
            backups_list,
            backup_now,
            backup_restore,
            connect_server,
            watch_changes,
            load_demo,
            students_list,
            account_position,
            fee_grid,
            fee_set,
            settings_list,
            settings_set,
            requests_list,
            request_detail,
            requests_approve,
            requests_reject,
            request_hold,
            request_reopen,
            request_change_plan,
            requests_auto_review,
            requests_export,
            file_upload,
            registrations_preview,
            registrations_import,
            statement_preview,
            statement_import,
            statement_profiles,
            statement_lines,
            sessions,
            session_checkout,
            session_checkin,
            statement_confirm,
            statement_undo,
            statement_hold,
            fee_tolerance_get,
            fee_tolerance_set,
            invoices_list,
            invoice_export,
            invoices_export,
            export_cancel,
            invoices_export_merged,
            invoice_preview,
            account_export,
            credit_note_issue,
            exemptions_list,
            exemption_years,
            exemption_decide,
            exemption_add,
            card_preview,
            card_import,
            card_transactions,
            card_assign,
            card_charge_back,
            card_remittances,
            dunning_list,
            dunning_run,
            session_labels,
            session_label_set,
            exemptions_report,
            exemptions_export,
            refunds_list,
            refund_pay,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("the Régie window failed to start");
}
