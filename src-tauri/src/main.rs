//! Régie's desktop shell: opens the database and exposes the core to the web UI as Tauri commands.
//! Each command is one call into `regie` followed by `.map_err(Into::into)`; no rule lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;

use regie::demo::{DemoOptions, DemoSummary};
use regie::fees::grid::{FeeEntry, FeeRow};
use regie::ledger::position::AccountPosition;
use regie::ledger::StudentListItem;
use regie::requests::{RequestStatus, RequestView};
use regie::{AppStatus, ErrorPayload, Store};
use tauri::State;

struct Desk {
    store: Store,
    user: String,
}

type Reply<T> = Result<T, ErrorPayload>;

#[tauri::command]
async fn app_status(desk: State<'_, Desk>) -> Reply<AppStatus> {
    regie::app_status(&desk.store, &desk.user).await.map_err(Into::into)
}

#[tauri::command]
async fn load_demo(desk: State<'_, Desk>) -> Reply<DemoSummary> {
    regie::demo::fill(&desk.store, DemoOptions::default(), &desk.user).await.map_err(Into::into)
}

#[tauri::command]
async fn students_list(desk: State<'_, Desk>, query: Option<String>) -> Reply<Vec<StudentListItem>> {
    regie::ledger::list_students(&desk.store, query.as_deref(), 2_000).await.map_err(Into::into)
}

#[tauri::command]
async fn account_position(desk: State<'_, Desk>, student_number: String) -> Reply<AccountPosition> {
    regie::ledger::account_position(&desk.store, &student_number).await.map_err(Into::into)
}

#[tauri::command]
async fn fee_grid(desk: State<'_, Desk>) -> Reply<Vec<FeeRow>> {
    regie::fees::grid::rows(&desk.store).await.map_err(Into::into)
}

#[tauri::command]
async fn fee_set(desk: State<'_, Desk>, entry: FeeEntry) -> Reply<Vec<FeeRow>> {
    regie::fees::grid::set_amount(&desk.store, &entry, &desk.user, None).await.map_err(ErrorPayload::from)?;
    regie::fees::grid::rows(&desk.store).await.map_err(Into::into)
}

#[tauri::command]
async fn requests_list(desk: State<'_, Desk>, status: Option<String>) -> Reply<Vec<RequestView>> {
    let status = status.map(|s| s.parse::<RequestStatus>()).transpose().map_err(ErrorPayload::from)?;
    regie::requests::list(&desk.store, status).await.map_err(Into::into)
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

fn main() {
    let path = db_path();
    let store = match tauri::async_runtime::block_on(Store::open(&path)) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("Régie: impossible d'ouvrir la base {}: {e}", path.display());
            std::process::exit(1);
        }
    };
    tauri::Builder::default()
        .manage(Desk { store, user: regie::os_user() })
        .invoke_handler(tauri::generate_handler![app_status, load_demo, students_list, account_position, fee_grid, fee_set, requests_list])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("the Régie window failed to start");
}
