//! The migrations are read by `sqlx::migrate!` when the crate compiles: a migration added or
//! changed must rebuild it, which cargo does not know by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
