//! Benchmark: import and match a generated 50,000-line statement against 20,000 students with
//! open schedules, then a 100,000-line one on the same starting database.
//! Targets (issue 4): 50,000 lines under 2 s in all; 100,000 at most 2.5 times as long.
//! Run with `cargo bench -p regie --bench bank_import`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use regie::bank::{self, Columns};
use regie::fees::{AcademicYear, School, Session, Situation};
use regie::ledger::NewStudent;
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::import::{Registration, store_all};
use regie::requests::{NewRequest, RequestStatus};

const STUDENTS: usize = 20_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SYL: [&str; 40] = [
    "BA", "BEL", "CA", "DU", "DO", "FA", "GA", "GUE", "HA", "JA", "LA", "LE", "LOU", "MA", "MER", "MO", "NA", "NI",
    "PE", "PI", "RA", "RO", "SA", "SI", "TA", "TI", "VA", "VI", "ZA", "RIN", "LIN", "MAN", "TOR", "VET", "BOU", "CHA",
    "GNON", "QUET", "RAUD", "SSET",
];

fn name(rng: &mut Rng, syllables: usize) -> String {
    (0..syllables).map(|_| SYL[rng.below(SYL.len())]).collect()
}

struct Student {
    number: String,
    last: String,
    first: String,
    school: School,
}

async fn setup(path: &Path) -> Vec<Student> {
    let store = regie::Store::open(path).await.unwrap();
    let mut rng = Rng(0x5EED);
    let year = AcademicYear::starting(2025).unwrap();
    let mut students = Vec::new();
    let regs: Vec<Registration> = (0..STUDENTS)
        .map(|i| {
            let school = if i % 2 == 0 { School::Isima } else { School::Polytech };
            let (last, first) = (name(&mut rng, 3), name(&mut rng, 2));
            let extra = i % 5 == 0;
            students.push(Student { number: format!("S{i:06}"), last: last.clone(), first: first.clone(), school });
            Registration {
                student: NewStudent::parse(&format!("S{i:06}"), &last, &first, &format!("s{i}@etu.uca.fr"), school)
                    .unwrap(),
                request: NewRequest {
                    academic_year: year,
                    school,
                    programme: "ING".into(),
                    session: Session::parse("P2526_BENCH").unwrap(),
                    year_of_study: 2,
                    situation: if extra { Situation::ExtraEu } else { Situation::NonScholarship },
                    plan: if extra { PlanKind::Six } else { PlanKind::Three },
                    amount: Money::from_cents(if extra { 387_900 } else { 61_800 }),
                    amount_from_file: false,
                    requested_on: NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
                    extra_eu: Some(extra),
                    certificate: None,
                    first_year_here: None,
                    contract_signed: None,
                    exchange_agreement: None,
                    apprentice: None,
                },
            }
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    store_all(&mut tx, &regs).await.unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<i64> =
        regie::requests::list(&store, Some(RequestStatus::Pending)).await.unwrap().iter().map(|r| r.id).collect();
    regie::requests::review::approve_many(&store, &ids, NaiveDate::from_ymd_opt(2025, 9, 5).unwrap(), None, "bench")
        .await
        .unwrap();
    store.close().await;
    students
}

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
        let base = dir.join("base.sqlite");
        let t = Instant::now();
        let students = setup(&base).await;
        println!("setup: {STUDENTS} students with approved schedules in {:.1} s", t.elapsed().as_secs_f64());

        let mut times = Vec::new();
        for lines in [50_000usize, 100_000] {
            let db = dir.join(format!("db-{lines}.sqlite"));
            std::fs::copy(&base, &db).unwrap();
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
