//! Benchmark: import and match a generated 50,000-line statement against 20,000 students with
//! open schedules, then a 100,000-line one on the same starting database.
//! Targets (issue 4): 50,000 lines under 2 s in all; 100,000 at most 2.5 times as long.
//! Run with `cargo bench -p regie --bench bank_import`.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use regie::bank::{self, Columns};
use regie::fees::School;

#[path = "common/mod.rs"]
mod common;

use common::{Rng, STUDENTS, Student, setup};

/// A French bank's `;` CSV: title rows, then clear transfers, reversed and cut names, fees
/// deducted, unknown payers, same-name ambiguities and debits.
fn statement(students: &[Student], lines: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out =
        String::from("Relevé de compte\nCompte 00010038348\nDate;Date de valeur;Débit;Crédit;Libellé;Solde\n");
    let start = NaiveDate::from_ymd_opt(2025, 9, 6).unwrap();
    for i in 0..lines {
        let s = &students[rng.below(students.len())];
        let date = (start + Days::new(rng.below(120) as u64)).format("%d/%m/%Y");
        let school = if s.school == School::Isima { "ISIMA" } else { "POLYTECH" };
        let (label, debit, credit) = match rng.below(10) {
            0..=4 => (
                format!("VIR SEPA RECU /DE {} {} /MOTIF {}+{school}+F.I", s.last, s.first, s.last),
                "",
                "206,00".to_string(),
            ),
            5 => (
                format!("VIR SEPA RECU /DE {} {} /MOTIF FRAIS", s.first, &s.last[..s.last.len().min(6)]),
                "",
                "191,00".to_string(),
            ),
            6 => {
                (format!("VIR SEPA RECU /DE PARENT{} /MOTIF SCOLARITE {}", i % 997, s.number), "", "412,00".to_string())
            }
            7 => (format!("VIR SEPA RECU /DE INCONNU {} /MOTIF DON", i % 1013), "", "50,00".to_string()),
            8 => (format!("VIR SEPA RECU /DE {} /MOTIF {school}", s.last), "", "100,00".to_string()),
            _ => ("PRLV SEPA FOURNISSEUR".to_string(), "35,20", String::new()),
        };
        writeln!(out, "{date};{date};{debit};{credit};{label};").unwrap();
    }
    out.push_str(";;;;Solde final;0,00\n");
    out
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("regie-bench-bank-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        println!("engine: {}", common::engine());
        let base = common::fresh(&dir, "base");
        let t = Instant::now();
        let students = setup(&base, STUDENTS).await;
        println!("setup: {STUDENTS} students with approved schedules in {:.1} s", t.elapsed().as_secs_f64());

        let mut times = Vec::new();
        for lines in [50_000usize, 100_000] {
            let db = common::copy(&base, &dir, &format!("db_{lines}"));
            let file = dir.join(format!("releve-{lines}.csv"));
            let text = statement(&students, lines, 42 + lines as u64);
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            std::fs::write(&file, bytes).unwrap();
            let store = regie::Store::open(&db).await.unwrap();
            let t = Instant::now();
            let s = bank::import_file(&store, &file, Columns::Detect, "bench").await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "import + match of {lines} lines: {:.0} ms ({} new, {} auto-matched, {} to review, {} unmatched)",
                secs * 1e3,
                s.new,
                s.auto_matched,
                s.to_review,
                s.unmatched
            );
            let t = Instant::now();
            let again = bank::import_file(&store, &file, Columns::Detect, "bench").await.unwrap();
            println!(
                "  re-import of the same {lines} lines: {:.0} ms ({} already known)",
                t.elapsed().as_secs_f64() * 1e3,
                again.already_known
            );
            times.push(secs);
            store.close().await;
        }
        println!("100,000 / 50,000 = {:.2} (target <= 2.5); 50,000 target < 2000 ms", times[1] / times[0]);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
