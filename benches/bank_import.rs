//! Benchmark: import and match a generated 50,000-line statement against 20,000 students with
//! open schedules, then a 100,000-line one on the same starting database; three name spreads
//! (made-up names, realistic French names, every name shared by ~30 students), the phases timed.
//! Targets (issue 15): 50,000 lines < 1 s with realistic names, < 2 s with namesakes; 100,000
//! within 2.2 times 50,000. Run with `cargo bench -p regie --bench bank_import`;
//! `REGIE_BENCH_SPREADS=realistic` (or `made-up`, `namesakes`, comma-separated) runs only those.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use regie::bank::{self, Columns};
use regie::fees::School;

#[path = "common/mod.rs"]
mod common;

use common::payers::{self, Spread};
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

/// A spread's statement of `lines` lines: the made-up names with their own label mix, or the
/// generated payers (every kind of label, each line paying a known student).
fn text_for(spread: Option<Spread>, students: &[Student], lines: usize, seed: u64) -> String {
    let Some(_) = spread else { return statement(students, lines, seed) };
    let mut text = String::from("Date;Date de valeur;Débit;Crédit;Libellé;Solde\n");
    let start = NaiveDate::from_ymd_opt(2025, 9, 6).unwrap();
    for (k, t) in payers::lines(students, lines, seed).iter().enumerate() {
        let date = (start + Days::new((k % 120) as u64)).format("%d/%m/%Y");
        writeln!(text, "{date};{date};;{},{:02};{};", t.cents / 100, t.cents % 100, t.label).unwrap();
    }
    text
}

/// Imports the file, timing each phase the import reports (read, index, match, save).
async fn timed_import(store: &regie::Store, file: &std::path::Path) -> (bank::ImportSummary, Vec<(&'static str, f64)>) {
    let marks = std::sync::Mutex::new(vec![("start", Instant::now())]);
    let progress = |p: bank::Progress| {
        let mut m = marks.lock().unwrap();
        if m.last().is_none_or(|(phase, _)| *phase != p.phase) {
            m.push((p.phase, Instant::now()));
        }
    };
    let s = bank::import_file_with(store, file, Columns::Detect, "bench", &progress).await.unwrap();
    let marks = marks.into_inner().unwrap();
    // Each phase lasts until the next one starts; `start` to `read` is nothing.
    let phases = marks.windows(2).skip(1).map(|w| (w[0].0, (w[1].1 - w[0].1).as_secs_f64() * 1e3)).collect();
    (s, phases)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("regie-bench-bank-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        println!("engine: {}", common::engine());
        let chosen = std::env::var("REGIE_BENCH_SPREADS").unwrap_or_default();
        for (key, spread) in [("made-up", None), ("realistic", Some(Spread::Realistic)), ("namesakes", Some(Spread::Namesakes))] {
            if !chosen.is_empty() && !chosen.split(',').any(|c| c.trim() == key) {
                continue;
            }
            let name = match spread {
                None => "made-up names",
                Some(Spread::Realistic) => "realistic names",
                Some(Spread::Namesakes) => "every name shared by ~30",
            };
            let base = common::fresh(&dir, &format!("base_{}", name.len()));
            let t = Instant::now();
            let students = match spread {
                None => setup(&base, STUDENTS).await,
                Some(spread) => {
                    let students = payers::students(STUDENTS, spread, 0x5EED);
                    let store = regie::Store::open(&base).await.unwrap();
                    common::setup_students(&store, &students).await;
                    store.close().await;
                    students
                }
            };
            println!("{name}: {STUDENTS} students with approved schedules in {:.1} s", t.elapsed().as_secs_f64());
            let mut times = Vec::new();
            for lines in [50_000usize, 100_000] {
                let db = common::copy(&base, &dir, &format!("db_{}_{lines}", name.len()));
                let file = dir.join(format!("releve-{lines}.csv"));
                let text = text_for(spread, &students, lines, 42 + lines as u64);
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
                std::fs::write(&file, bytes).unwrap();
                let store = regie::Store::open(&db).await.unwrap();
                let t = Instant::now();
                let (s, phases) = timed_import(&store, &file).await;
                let secs = t.elapsed().as_secs_f64();
                let phases: Vec<String> = phases.iter().map(|(p, ms)| format!("{p} {ms:.0}")).collect();
                println!(
                    "  import + match of {lines} lines: {:.0} ms [{} ms] ({} new, {} auto-matched, {} to review, {} unmatched)",
                    secs * 1e3,
                    phases.join(", "),
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
            println!("  100,000 / 50,000 = {:.2} (target <= 2.2)", times[1] / times[0]);
        }
        println!("targets: 50,000 lines < 1000 ms with realistic names, < 2000 ms when every name is shared by ~30");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
