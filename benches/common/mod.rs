//! What the benchmarks share: a database of students with approved schedules, built fast.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use regie::fees::{AcademicYear, School, Session, Situation};
use regie::ledger::NewStudent;
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::import::{Registration, store_all};
use regie::requests::{NewRequest, RequestStatus};

pub mod erpnext;
pub mod payers;

pub const STUDENTS: usize = 20_000;

/// The engine a benchmark runs on: SQLite files in `dir`, or, when `REGIE_BENCH_POSTGRES` names a
/// server (`postgres://user:pw@host:port`), databases on it.
pub fn engine() -> &'static str {
    if server().is_some() { "PostgreSQL" } else { "SQLite" }
}

fn server() -> Option<String> {
    std::env::var("REGIE_BENCH_POSTGRES").ok().filter(|s| !s.is_empty()).map(|s| s.trim_end_matches('/').to_string())
}

fn psql(server: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-q", "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A new empty database named `name`.
pub fn fresh(dir: &Path, name: &str) -> PathBuf {
    match server() {
        None => dir.join(format!("{name}.sqlite")),
        Some(server) => {
            let db = database_name(name);
            psql(&server, &format!("CREATE DATABASE {db}"));
            PathBuf::from(format!("{server}/{db}"))
        }
    }
}

/// The throw-away database of `name` on the server: an identifier (`card-0` becomes `card_0`).
fn database_name(name: &str) -> String {
    format!("bench_{}_{}", std::process::id(), name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
}

/// A copy of `base` (closed) named `name`.
pub fn copy(base: &Path, dir: &Path, name: &str) -> PathBuf {
    match server() {
        None => {
            let db = dir.join(format!("{name}.sqlite"));
            std::fs::copy(base, &db).unwrap();
            db
        }
        Some(server) => {
            let from = base.to_str().unwrap().rsplit('/').next().unwrap().to_string();
            let db = database_name(name);
            psql(&server, &format!("CREATE DATABASE {db} TEMPLATE {from}"));
            PathBuf::from(format!("{server}/{db}"))
        }
    }
}

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SYL: [&str; 40] = [
    "BA", "BEL", "CA", "DU", "DO", "FA", "GA", "GUE", "HA", "JA", "LA", "LE", "LOU", "MA", "MER", "MO", "NA", "NI",
    "PE", "PI", "RA", "RO", "SA", "SI", "TA", "TI", "VA", "VI", "ZA", "RIN", "LIN", "MAN", "TOR", "VET", "BOU", "CHA",
    "GNON", "QUET", "RAUD", "SSET",
];

pub fn name(rng: &mut Rng, syllables: usize) -> String {
    (0..syllables).map(|_| SYL[rng.below(SYL.len())]).collect()
}

pub struct Student {
    pub number: String,
    pub last: String,
    pub first: String,
    pub school: School,
    /// Extra-EU in six installments (3 879 €), else in three (618 €).
    pub six: bool,
}

/// `n` students with made-up names, a fifth of them extra-EU in six (3 879 €), the others in
/// three (618 €), all approved on 05/09/2025: invoice `F2025-{i+1:05}` is student `S{i:06}`'s.
pub async fn setup(path: &Path, n: usize) -> Vec<Student> {
    let mut rng = Rng(0x5EED);
    let students: Vec<Student> = (0..n)
        .map(|i| Student {
            number: format!("S{i:06}"),
            last: name(&mut rng, 3),
            first: name(&mut rng, 2),
            school: if i % 2 == 0 { School::Isima } else { School::Polytech },
            six: i % 5 == 0,
        })
        .collect();
    let store = regie::Store::open(path).await.unwrap();
    setup_students(&store, &students).await;
    store.close().await;
    students
}

/// Registers `students` and approves their requests on 05/09/2025, in order.
pub async fn setup_students(store: &regie::Store, students: &[Student]) {
    let year = AcademicYear::starting(2025).unwrap();
    let regs: Vec<Registration> = students
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (school, extra) = (s.school, s.six);
            Registration {
                student: NewStudent::parse(&s.number, &s.last, &s.first, &format!("s{i}@etu.uca.fr"), school).unwrap(),
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
    approve_pending(store).await;
}

/// Approves every pending request on 05/09/2025, in order; returns how many were decided.
pub async fn approve_pending(store: &regie::Store) -> usize {
    let ids: Vec<i64> =
        regie::requests::list(store, Some(RequestStatus::Pending)).await.unwrap().iter().map(|r| r.id).collect();
    regie::requests::review::approve_many(
        store,
        &ids,
        NaiveDate::from_ymd_opt(2025, 9, 5).unwrap(),
        Some("banc d'essai"),
        "bench",
    )
    .await
    .unwrap()
    .len()
}
