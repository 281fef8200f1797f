//! Benchmark: the portal's export of 20,000 registrations (realistic names, a `;` CSV in
//! Windows-1252) imported into a fresh database, imported again (nothing changes), then every
//! request approved (each its own conditional decision, invoice numbered without gap).
//! Targets (issue 15): import < 1 s; 20,000 approvals < 3 s.
//! Run with `cargo bench -p regie --bench registrations`.

use std::fmt::Write as _;
use std::time::Instant;

#[path = "common/mod.rs"]
mod common;

use common::payers::{self, Spread};

const N: usize = 20_000;

/// The portal's columns, a student per row: three installments, every fifth in six (extra-EU).
fn export(students: &[common::Student]) -> String {
    let mut text = String::from(
        "Numéro;Nom;Prénom;Email;Ecole;Formation;Année;Situation;Echéancier;Date demande;Montant;Extra UE;Attestation de bourse;Première année ici\r\n",
    );
    for (i, s) in students.iter().enumerate() {
        let (school, session) = if s.school == regie::fees::School::Isima {
            ("ISIMA", "P2526_ISI_2A")
        } else {
            ("POLYTECH", "P2526_Y3_2A")
        };
        let (situation, plan, extra) = if s.six { ("05", "6", "oui") } else { ("01", "3", "non") };
        writeln!(
            text,
            "{};{};{};e{i}@etu.uca.fr;{school};{session};2;{situation};{plan};{:02}/08/2025;;{extra};;\r",
            26_000_000 + i,
            s.last,
            s.first,
            1 + i % 28
        )
        .unwrap();
    }
    text
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("regie-bench-registrations-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        println!("engine: {}", common::engine());
        let students = payers::students(N, Spread::Realistic, 0x5EED);
        let file = dir.join("inscriptions.csv");
        let text = export(&students);
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        std::fs::write(&file, bytes).unwrap();
        let store = regie::Store::open(&common::fresh(&dir, "registrations")).await.unwrap();

        let t = Instant::now();
        let s = regie::requests::import::import_file(&store, &file, "bench").await.unwrap();
        println!(
            "import of {N} registrations: {:.0} ms ({} students, {} requests) — target < 1000 ms",
            t.elapsed().as_secs_f64() * 1e3,
            s.students_created,
            s.requests_created
        );
        let t = Instant::now();
        let again = regie::requests::import::import_file(&store, &file, "bench").await.unwrap();
        println!("  again: {:.0} ms ({} unchanged)", t.elapsed().as_secs_f64() * 1e3, again.unchanged);

        let t = Instant::now();
        let decided = common::approve_pending(&store).await;
        println!("approval of {decided} requests: {:.0} ms — target < 3000 ms", t.elapsed().as_secs_f64() * 1e3);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
