//! Benchmark: 1,000 invoices rendered to PDF with a warm Typst world (fonts, library and
//! templates built once). Targets (issue 5): median under 10 ms per invoice, the 1,000 under 10 s.
//! The cold first render (world built, nothing cached) is reported separately.
//! Run with `cargo bench -p regie --bench render`.

use std::time::Instant;

use chrono::NaiveDate;
use regie::fees::{AcademicYear, School, Session, Situation};
use regie::invoices::{self, Typesetter};
use regie::ledger::NewStudent;
use regie::money::Money;
use regie::plans::PlanKind;
use regie::requests::import::{Registration, store_all};
use regie::requests::{NewRequest, RequestStatus};

const N: usize = 1_000;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("regie-bench-render-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = regie::Store::open(&dir.join("bench.sqlite")).await.unwrap();
        let year = AcademicYear::starting(2025).unwrap();
        let regs: Vec<Registration> = (0..N)
            .map(|i| Registration {
                student: NewStudent::parse(&format!("R{i:05}"), "Éloïse-Marie", "D'Artagnan", &format!("r{i}@etu.uca.fr"), School::Isima).unwrap(),
                request: NewRequest {
                    academic_year: year,
                    school: School::Isima,
                    programme: "ING".into(),
                    session: Session::parse("P2526_ISI_2A").unwrap(),
                    year_of_study: 2,
                    situation: Situation::ExtraEu,
                    plan: PlanKind::Transfer,
                    amount: Money::from_cents(387_900),
                    amount_from_file: false,
                    requested_on: NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
                    extra_eu: Some(true),
                    certificate: None,
                    first_year_here: None,
                    contract_signed: None,
                    exchange_agreement: None,
                    apprentice: None,
                },
            })
            .collect();
        let mut tx = store.begin().await.unwrap();
        store_all(&mut tx, &regs).await.unwrap();
        tx.commit().await.unwrap();
        let ids: Vec<i64> = regie::requests::list(&store, Some(RequestStatus::Pending)).await.unwrap().iter().map(|r| r.id).collect();
        regie::requests::review::approve_many(&store, &ids, NaiveDate::from_ymd_opt(2025, 9, 5).unwrap(), None, "bench").await.unwrap();
        let numbers: Vec<String> = invoices::list(&store, None).await.unwrap().into_iter().map(|i| i.number).collect();

        let t = Instant::now();
        let ts = Typesetter::new();
        let world_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        invoices::render_invoice(&store, &ts, &numbers[0]).await.unwrap();
        println!("cold: world built in {world_ms:.1} ms, first invoice rendered in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

        let mut times = Vec::with_capacity(N);
        let all = Instant::now();
        for n in &numbers {
            let t = Instant::now();
            let pdf = invoices::render_invoice(&store, &ts, n).await.unwrap();
            assert!(pdf.starts_with(b"%PDF"));
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let total = all.elapsed().as_secs_f64();
        Typesetter::evict();
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "warm: {N} invoices in {total:.2} s; median {:.2} ms, p95 {:.2} ms, max {:.2} ms per invoice (data read + render) — targets: median < 10 ms, total < 10 s",
            times[N / 2],
            times[N * 95 / 100],
            times[N - 1]
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
