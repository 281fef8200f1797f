//! Benchmark: the automatic review of 20,000 pending requests on a real SQLite file.
//! Target (issue 3): under 1 s. Run with `cargo bench -p regie --bench auto_review`.

use std::time::Instant;

use chrono::{Days, NaiveDate};
use regie::fees::{AcademicYear, School, Session, Situation};
use regie::ledger::NewStudent;
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::NewRequest;
use regie::requests::import::{Registration, store_all};

const N: usize = 20_000;

fn registrations() -> Vec<Registration> {
    let year = AcademicYear::starting(2025).unwrap();
    let plans = [PlanKind::One, PlanKind::Three, PlanKind::Six, PlanKind::Transfer];
    (0..N)
        .map(|i| {
            let school = if i % 2 == 0 { School::Isima } else { School::Polytech };
            let plan = plans[i % 4];
            // A third of the six-installment requests at or below the threshold.
            let amount = match (plan, i % 3) {
                (PlanKind::Six, 0) => Money::from_cents(61_800),
                (PlanKind::Six | PlanKind::Transfer, _) => Money::from_cents(387_900),
                _ => Money::from_cents(61_800),
            };
            Registration {
                student: NewStudent::parse(&format!("B{i:07}"), "Nom", "Prénom", &format!("e{i}@etu.uca.fr"), school)
                    .unwrap(),
                request: NewRequest {
                    academic_year: year,
                    school,
                    programme: "ING".into(),
                    session: Session::parse("P2526_BENCH").unwrap(),
                    year_of_study: 2,
                    situation: if amount > Money::from_cents(100_000) {
                        Situation::ExtraEu
                    } else {
                        Situation::NonScholarship
                    },
                    plan,
                    amount,
                    amount_from_file: true,
                    requested_on: NaiveDate::from_ymd_opt(2025, 8, 25).unwrap() + Days::new((i % 30) as u64),
                    extra_eu: Some(false),
                    certificate: None,
                    first_year_here: None,
                    contract_signed: None,
                    exchange_agreement: None,
                    apprentice: None,
                },
            }
        })
        .collect()
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("regie-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = regie::Store::open(&dir.join("bench.sqlite")).await.unwrap();
        let regs = registrations();
        let t = Instant::now();
        let mut tx = store.begin().await.unwrap();
        store_all(&mut tx, &regs).await.unwrap();
        tx.commit().await.unwrap();
        println!("setup: {N} students and pending requests stored in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        let dry = regie::requests::review::auto_review(&store, true, "bench").await.unwrap();
        println!(
            "auto-review --dry-run of {N}: {:.0} ms ({} would be rejected, {} findings)",
            t.elapsed().as_secs_f64() * 1e3,
            dry.rejected.len(),
            dry.flagged.len()
        );

        let t = Instant::now();
        let done = regie::requests::review::auto_review(&store, false, "bench").await.unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "auto-review of {N} pending requests: {ms:.0} ms ({} rejected, {} findings flagged) — target < 1000 ms",
            done.rejected.len(),
            done.flagged.len()
        );
        assert_eq!(done.rejected.len(), dry.rejected.len());
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
