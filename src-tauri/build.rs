//! Reads the one configuration at the repository root and declares the app's commands, so that
//! the capability file can grant exactly these and nothing else.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_status",
        "load_demo",
        "students_list",
        "account_position",
        "fee_grid",
        "fee_set",
        "requests_list",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json").app_manifest(manifest))
        .expect("tauri-build: ../tauri.conf.json and capabilities/ must be valid");
}
