//! Reads the one configuration at the repository root and declares the app's commands, so that
//! the capability file can grant exactly these and nothing else.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_status",
        "sign_in",
        "load_demo",
        "students_list",
        "account_position",
        "fee_grid",
        "fee_set",
        "settings_list",
        "settings_set",
        "requests_list",
        "request_detail",
        "requests_approve",
        "requests_reject",
        "request_hold",
        "request_reopen",
        "request_change_plan",
        "requests_auto_review",
        "requests_export",
        "statement_preview",
        "statement_import",
        "statement_profiles",
        "statement_lines",
        "statement_confirm",
        "statement_undo",
        "fee_tolerance_get",
        "fee_tolerance_set",
        "invoices_list",
        "invoice_export",
        "invoices_export",
        "export_cancel",
        "invoices_export_merged",
        "invoice_preview",
        "account_export",
        "credit_note_issue",
        "exemptions_list",
        "exemption_decide",
        "exemptions_report",
        "exemptions_export",
        "refunds_list",
        "refund_pay",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json").app_manifest(manifest))
        .expect("tauri-build: ../tauri.conf.json and capabilities/ must be valid");
}
