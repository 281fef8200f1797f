//! Demo: fills an empty database with a deterministic, realistic current year (about 500 students
//! over both schools, every situation, requests in the queue, approvals, card payments and debits,
//! transfers, refused debits and charge-backs), dated relative to today.

use chrono::{Days, NaiveDate};
use serde::Serialize;
use serde_json::json;

use crate::fees::grid::DEFAULT_PROGRAMME;
use crate::fees::{AcademicYear, School, Session, Situation};
use crate::ledger::{self, NewStudent};
use crate::money::Money;
use crate::plans::PlanKind;
use crate::requests::import::{Registration, store_all};
use crate::requests::{self, Agreement, NewRequest, RequestStatus};
use crate::store::{self, Store, audit};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub students: usize,
    pub seed: u64,
    /// The day the demo stands at: its academic year is the one holding it (turning on 1 June),
    /// and nothing is dated after it.
    pub today: NaiveDate,
    /// Academic years of history, the current one included (1: the current year alone). Past
    /// years are complete: every request decided, every installment's money in, the files imported.
    pub years: u16,
    /// Whether the office has sent its reminders (`DemoSummary::reminded_on`); without, an office
    /// that has never run them, whose first run may be dated any day.
    pub reminders: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { students: 500, seed: 2025, today: chrono::Local::now().date_naive(), years: 1, reminders: true }
    }
}

/// The most years a demo spans: the history an office keeps in practice, and a bound on its size.
pub const MAX_YEARS: u16 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The current academic year (the last of the history).
    pub academic_year: String,
    /// Every academic year filled, oldest first.
    pub academic_years: Vec<String>,
    pub students: usize,
    pub requests: usize,
    pub approved: usize,
    /// Requests the office refused (six installments at or below the threshold, a blocking check), past years.
    pub rejected: usize,
    /// Credit notes for students who left during a past year.
    pub credit_notes: usize,
    /// Refunds paid to students who paid an installment twice.
    pub refunds: usize,
    /// Bank lines imported (transfers, remittances and the account's other movements).
    pub bank_lines: usize,
    /// Payments recorded from the imported gateway export and bank statement.
    pub payments: usize,
    /// Card debits the cardholder's bank refused: the installment stays due, marked refused.
    pub refused_debits: usize,
    /// Captured payments that came back later ("Impayé").
    pub charge_backs: usize,
    /// Set when the grid had no amounts for the demo's year: the latest year's were carried over.
    pub grid_carried_from: Option<String>,
    /// The gateway export and bank statement since the last debit day, left for the newcomer to import.
    pub to_import: Vec<String>,
    /// The day of the reminders run the office made on what it had imported (the eve of the last
    /// debit day), if that day has come and there was something to remind; its letters and
    /// mail-merge file are in the `relances` folder beside the demo's files.
    pub reminded_on: Option<NaiveDate>,
    /// The letters of that run (one per student reminded, all in one PDF).
    pub reminder_letters: usize,
}

/// A small deterministic generator (SplitMix64): the same seed gives the same data everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Arnould",
    "Chevalier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Da Silva",
    "Nguyen",
    "O'Brien",
];
/// Foreign surnames.
pub const LAST_INTL: &[&str] = &[
    "Benali",
    "El Amrani",
    "Diallo",
    "Traoré",
    "Ndiaye",
    "Zhang",
    "Wang",
    "Li",
    "Nguyen Van",
    "Kouassi",
    "Mbappé",
    "Haddad",
    "Mansouri",
    "Oliveira",
    "Santos",
    "Tanaka",
    "Kim",
    "Singh",
    "Rahman",
    "Okafor",
];
/// First names the demo gives (the benchmarks draw from them too).
pub const FIRST: &[&str] = &[
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Emma",
    "Louis",
    "Manon",
    "Gabriel",
    "Inès",
    "Jules",
    "Camille",
    "Arthur",
    "Sarah",
    "Nathan",
    "Éloïse",
    "Théo",
    "Zoé",
    "Raphaël",
    "Jade",
    "Maël",
    "Lina",
    "Noah",
    "Anaïs",
    "Adam",
    "Clémence",
    "Vincent",
    "Gregory",
    "Océane",
    "Baptiste",
    "Mathilde",
];
/// Foreign first names.
pub const FIRST_INTL: &[&str] = &[
    "Amine", "Yasmine", "Mamadou", "Aïcha", "Wei", "Mei", "Minh", "Fatou", "Karim", "Salma", "Joao", "Yuki", "Ji-woo",
    "Arjun", "Chinedu", "Omar", "Nour", "Ibrahim", "Ling", "Thiago",
];

/// Amounts for the situations the grid prices per contract (demo values only).
fn contract_amount(s: Situation) -> Option<Money> {
    match s {
        Situation::GapYear => Some(Money::from_cents(15_900)),
        Situation::ContinuingEducation => Some(Money::from_cents(250_000)),
        Situation::ExtraEuContinuing => Some(Money::from_cents(450_000)),
        Situation::SpecialisedMasterCompany => Some(Money::from_cents(750_000)),
        Situation::SpecialisedMasterPersonal => Some(Money::from_cents(620_000)),
        _ => None,
    }
}

/// The session code of a year and level, as the portal writes it (`P2526_ISI_1A`).
fn session_code(year: AcademicYear, school: School, level: u8) -> String {
    let y = year.start_year() % 100;
    match school {
        School::Isima => format!("P{y:02}{:02}_ISI_{level}A", (y + 1) % 100),
        School::Polytech => format!("P{y:02}{:02}_Y{level}_{level}A", (y + 1) % 100),
    }
}

/// The full label the portal prints for a session.
fn session_label(year: AcademicYear, school: School, level: u8) -> String {
    let code = session_code(year, school, level);
    let nth = if level == 1 { "1ère".to_string() } else { format!("{level}ème") };
    match school {
        School::Isima => format!("{code} - Ingénieur ISIMA - {nth} année"),
        School::Polytech => format!("{code} - Ingénieur Polytech - spécialité Génie Civil {nth} année"),
    }
}

/// The year's registrations. With the previous year's, most students move up a level under their
/// number (the last level leaves); the others are new students numbered from this year.
fn generate(
    opts: DemoOptions,
    year: AcademicYear,
    grid: &crate::fees::grid::FeeGrid,
    previous: &[Registration],
) -> Result<Vec<Registration>> {
    let mut rng = Rng(opts.seed ^ u64::from(year.start_year()));
    let y0 = year.start_year() as i32;
    let mut regs = Vec::with_capacity(opts.students);
    for i in 0..opts.students {
        let stays = previous.get(i).filter(|p| {
            let last_level = match p.request.school {
                School::Isima => 3,
                School::Polytech => 5,
            };
            p.request.year_of_study < last_level && p.request.situation != Situation::WorkStudyContract
        });
        let stays = stays.filter(|_| rng.chance(80));
        let school = if i % 2 == 0 { School::Isima } else { School::Polytech };
        let situation = {
            let roll = rng.below(100);
            match roll {
                0..=44 => Situation::NonScholarship,
                45..=64 => Situation::Scholarship,
                65..=79 => Situation::ExtraEu,
                80..=83 => Situation::ExchangeAgreement,
                84..=87 => Situation::WorkStudyContract,
                88..=90 => Situation::GapYear,
                91..=93 => Situation::ContinuingEducation,
                94 => Situation::ExtraEuContinuing,
                95..=97 if school == School::Isima => Situation::SpecialisedMasterCompany,
                95..=97 => Situation::NonScholarship,
                _ if school == School::Isima => Situation::SpecialisedMasterPersonal,
                _ => Situation::Scholarship,
            }
        };
        let extra_eu = matches!(situation, Situation::ExtraEu | Situation::ExtraEuContinuing) || rng.chance(3);
        let (last, first) =
            if extra_eu { (*rng.pick(LAST_INTL), *rng.pick(FIRST_INTL)) } else { (*rng.pick(LAST), *rng.pick(FIRST)) };
        // A student moving up keeps who they are and where they were; only the level changes.
        let (situation, extra_eu) = match stays {
            Some(p) if situation == Situation::WorkStudyContract => {
                (p.request.situation, p.request.extra_eu.unwrap_or(false))
            }
            Some(p) => (situation, p.request.extra_eu.unwrap_or(extra_eu)),
            None => (situation, extra_eu),
        };
        let work_study_year = grid.school(school).map(|s| s.work_study_year).unwrap_or(3);
        let year_of_study: u8 = if let Some(p) = stays {
            p.request.year_of_study + 1
        } else if situation == Situation::WorkStudyContract {
            work_study_year
        } else {
            match school {
                School::Isima => 1 + rng.below(3) as u8,
                School::Polytech => 3 + rng.below(3) as u8,
            }
        };
        let session = session_code(year, school, year_of_study);
        let amount = match contract_amount(situation) {
            Some(a) => a,
            None => grid.price(year, school, DEFAULT_PROGRAMME, situation)?,
        };
        let plan = if amount.is_zero() {
            PlanKind::One
        } else if situation == Situation::ExtraEu && school == School::Isima {
            if rng.chance(80) { PlanKind::Transfer } else { PlanKind::Six }
        } else if amount > Money::from_cents(100_000) {
            *rng.pick(&[PlanKind::Six, PlanKind::Six, PlanKind::Three, PlanKind::One])
        } else {
            // Some ask for six on an amount at or below the threshold: the office rejects them.
            *rng.pick(&[PlanKind::One, PlanKind::Three, PlanKind::Three, PlanKind::Six])
        };
        let requested_on =
            (NaiveDate::from_ymd_opt(y0, 8, 25).expect("valid") + Days::new(rng.below(35))).min(opts.today);
        let number = format!("{y0}{:04}", i + 1);
        let email = format!(
            "{}.{}@etu.uca.fr",
            crate::sheets::normalize_header(first).replace('_', "-"),
            crate::sheets::normalize_header(last).replace('_', "-")
        );
        let student = match stays {
            Some(p) => p.student.clone(),
            None => NewStudent::parse(&number, &last.to_uppercase(), first, &email, school)
                .map_err(regie_rules::Error::from)?,
        };
        regs.push(Registration {
            student,
            request: NewRequest {
                academic_year: year,
                school,
                programme: DEFAULT_PROGRAMME.to_string(),
                session: Session::parse(&session)?,
                year_of_study,
                situation,
                plan,
                amount,
                amount_from_file: contract_amount(situation).is_some(),
                requested_on,
                extra_eu: Some(extra_eu),
                certificate: (situation == Situation::Scholarship).then(|| rng.chance(85)),
                first_year_here: (extra_eu && year_of_study > 1).then(|| rng.chance(30)),
                contract_signed: (situation == Situation::WorkStudyContract).then(|| rng.chance(70)),
                // The portal's optional columns, as a real export gives them: the exchange
                // students' agreement, and apprentices (who declare 01).
                exchange_agreement: (situation == Situation::ExchangeAgreement && school == School::Isima)
                    .then(|| Agreement::Under(Some(rng.pick(&["Brafitec", "Ensam", "Ensias"]).to_string()))),
                apprentice: (situation == Situation::NonScholarship && rng.chance(8)).then_some(true),
            },
        });
    }
    Ok(regs)
}

/// Fills an empty database. Refuses a database that already has students, so that the demo
/// never mixes with real data. The money arrives as it does in the office: the gateway's export
/// (card payments on the portal, debits on the 10th, refused ones, charge-backs) and the bank's
/// statement (transfers, card remittances net of commission) are written as files and imported;
/// the current year's files since the last debit day (the 10th) are left in `demo-files/` beside
/// the database, to import by hand. With `years` > 1 the past years come first, complete, each
/// with its own files: every request decided, students who left with a credit note, payments made
/// twice refunded, and the account's other movements on the statements.
pub async fn fill(store: &Store, opts: DemoOptions, actor: &str) -> Result<DemoSummary> {
    if !(1..=MAX_YEARS).contains(&opts.years) {
        return Err(Error::Invalid(format!(
            "une démonstration couvre de 1 à {MAX_YEARS} années (demandé : {})",
            opts.years
        )));
    }
    let current = AcademicYear::checked_containing(opts.today)?;
    let first = current.start_year().checked_sub(opts.years - 1).ok_or_else(|| {
        Error::Invalid(format!("année universitaire hors limites: {} ans avant {current}", opts.years))
    })?;
    // Beside the database file; for a server, in the documents folder.
    let dir = match store.path() {
        Some(path) => path.parent().map(|p| p.join("demo-files")).unwrap_or_else(|| "demo-files".into()),
        None => crate::exports_dir()?.join(format!("demo-files-{}", store.location().name())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    let mut summary = DemoSummary {
        academic_year: current.to_string(),
        academic_years: Vec::new(),
        students: 0,
        requests: 0,
        approved: 0,
        rejected: 0,
        credit_notes: 0,
        refunds: 0,
        bank_lines: 0,
        payments: 0,
        refused_debits: 0,
        charge_backs: 0,
        grid_carried_from: None,
        to_import: Vec::new(),
        reminded_on: None,
        reminder_letters: 0,
    };
    let mut previous = Vec::new();
    for start in first..=current.start_year() {
        let year = AcademicYear::starting(start)?;
        let ctx = Year {
            opts,
            year,
            back: current.start_year() - start,
            until: if start == current.start_year() {
                opts.today
            } else {
                NaiveDate::from_ymd_opt(i32::from(start) + 1, 5, 31).expect("valid")
            },
            dir: &dir,
            actor,
        };
        previous = fill_year(store, &ctx, &previous, &mut summary).await?;
        summary.academic_years.push(year.to_string());
    }
    Ok(summary)
}

/// One academic year of the demo.
struct Year<'a> {
    opts: DemoOptions,
    year: AcademicYear,
    /// How many years before the current one (0: the current year, as a one-year demo gives it).
    back: u16,
    /// Nothing is dated after this day: today for the current year, else the year's last day.
    until: NaiveDate,
    dir: &'a std::path::Path,
    actor: &'a str,
}

impl Year<'_> {
    fn past(&self) -> bool {
        self.back > 0
    }
}

/// Fills one year; returns its registrations, from which the next year's students move up.
async fn fill_year(
    store: &Store,
    y: &Year<'_>,
    previous: &[Registration],
    summary: &mut DemoSummary,
) -> Result<Vec<Registration>> {
    let (opts, year, today, actor) = (y.opts, y.year, y.until, y.actor);
    let mut tx = store.begin().await?;
    if previous.is_empty() && store::students::count(&mut tx).await? > 0 {
        return Err(Error::Invalid(
            "la base contient déjà des étudiants : les données de démonstration vont dans une base vide".into(),
        ));
    }
    let carried = carry_grid_to(&mut tx, year).await?;
    if !y.past() {
        summary.grid_carried_from = carried;
    }
    let grid = store::settings::fee_grid(&mut tx).await?;
    for school in [School::Isima, School::Polytech] {
        for level in 1..=5 {
            let label = crate::settings::SessionLabel {
                session: session_code(year, school, level),
                label: session_label(year, school, level),
            };
            store::settings::set_session_label(&mut tx, &label).await?;
        }
    }
    let regs = generate(opts, year, &grid, previous)?;
    let imported = store_all(&mut tx, &regs).await?;
    summary.students += imported.students_created;
    summary.requests += imported.requests_created;
    // The current year draws as a one-year demo always did; past years have seeds of their own.
    let mut rng = Rng(opts.seed ^ 0xD3E0 ^ (u64::from(y.back) << 32));
    let schools = store::settings::school_settings(&mut tx).await?;
    let mut flows = Flows { next: u64::from(y.back) * 10_000_000, ..Flows::default() };
    let mut twice = Vec::new();
    for view in store::requests::list(&mut tx, Some(RequestStatus::Pending)).await? {
        if view.new.academic_year != year {
            continue;
        }
        let clean = view.new.plan != PlanKind::Six || view.new.amount > Money::from_cents(100_000);
        let blocked = match schools.iter().find(|s| s.school == view.new.school) {
            Some(settings) => requests::findings_of(&view, &grid, settings).iter().any(|f| f.blocks()),
            None => true,
        };
        if y.past() {
            // A past year is closed: what the checks refuse was refused, the rest approved.
            if !clean || blocked {
                let reason = if clean {
                    "situation non justifiée à la clôture de l'année"
                } else {
                    "6 échéances réservées aux montants au-dessus du seuil"
                };
                requests::review::reject_in(&mut tx, view.id, reason, actor).await?;
                summary.rejected += 1;
                continue;
            }
        } else if !clean || view.new.amount.is_zero() || !rng.chance(40) || blocked {
            // The office approves what the checks let through; the rest stays in the queue.
            continue;
        }
        let decided = view.new.requested_on + Days::new(1 + rng.below(6));
        if decided > today {
            continue;
        }
        let Some(issued) = requests::review::approve_in(&mut tx, view.id, decided, None, actor).await?.invoice else {
            continue;
        };
        summary.approved += 1;
        let student = store::students::by_number(&mut tx, &ledger::StudentNumber::parse(&view.student_number)?)
            .await?
            .ok_or_else(|| Error::StudentNotFound(view.student_number.clone()))?;
        let rows = store::ledger::rows_of(&mut tx, student.id).await?;
        let totals = store::invoices::invoice_totals(&mut tx, &issued)
            .await?
            .ok_or_else(|| Error::InvoiceNotFound(issued.clone()))?;
        let mut due: Vec<(i64, NaiveDate, Money)> = rows
            .installments
            .iter()
            .filter(|t| t.invoice_id == totals.id && t.due_date <= today)
            .map(|t| (t.n, t.due_date, Money::from_cents(t.amount_cents)))
            .collect();
        // Past years: a few students leave during the year; what was not yet due is credited.
        if y.past() && due.len() > 2 && view.new.plan != PlanKind::Transfer && rng.chance(3) {
            let stays = 1 + rng.below(due.len() as u64 - 1) as usize;
            let left_on = due[stays].1 - Days::new(5);
            let rest = due[stays..].iter().map(|d| d.2).fold(Money::ZERO, |a, b| a + b);
            ledger::issue_credit_note(&mut tx, &totals, rest, left_on, "Démission en cours d'année", actor).await?;
            summary.credit_notes += 1;
            due.truncate(stays);
        }
        if view.new.plan == PlanKind::Transfer {
            // A few transfer payers are late after the first (never in a closed year).
            let late = !y.past() && rng.chance(25);
            for (k, (_, due_date, amount)) in due.iter().enumerate() {
                if late && k > 0 {
                    break;
                }
                let on = (*due_date + Days::new(rng.below(6))).min(today);
                let payer = if rng.chance(20) {
                    format!("M OU MME {}", view.last_name)
                } else {
                    format!("{} {}", view.last_name, view.first_name)
                };
                flows.transfer(on, *amount, &payer, &format!("{} {}+ISIMA+F.I", view.last_name, view.first_name));
            }
        } else {
            for (n, due_date, amount) in &due {
                let reference = format!("{issued}-{n}");
                let email = student.email.as_str();
                if *n == 1 {
                    flows.card(&mut rng, *due_date, &reference, *amount, email, "00000");
                    // Now and then a student pays in one go twice (two tabs on the portal).
                    if y.past() && view.new.plan == PlanKind::One && rng.chance(2) {
                        flows.card(&mut rng, *due_date, &reference, *amount, email, "00000");
                        twice.push((student.id, *due_date + Days::new(20)));
                    }
                    continue;
                }
                // The card on file is debited on the 10th; now and then the bank refuses, and
                // about half of those students pay again on the portal a few days later.
                if rng.chance(8) {
                    let code = *rng.pick(&["00151", "00154", "00105"]);
                    flows.card(&mut rng, *due_date, &reference, *amount, email, code);
                    if rng.chance(50) || y.past() {
                        let again = *due_date + Days::new(3 + rng.below(10));
                        if again <= today {
                            flows.card(&mut rng, again, &reference, *amount, email, "00000");
                        }
                    }
                    continue;
                }
                flows.card(&mut rng, *due_date, &reference, *amount, email, "00000");
                let back = *due_date + Days::new(7 + rng.below(7));
                if back <= today && rng.chance(5) {
                    flows.charge_back(&mut rng, back, &reference, *amount, email);
                    if y.past() {
                        // Charged back, then paid again on the portal before the year closed.
                        flows.card(&mut rng, back + Days::new(4), &reference, *amount, email, "00000");
                    }
                }
            }
        }
    }
    if opts.years > 1 {
        flows.other_movements(&mut rng, year, today, opts.students * 5 / 2);
    }
    audit::record(
        &mut tx,
        actor,
        "demo.fill",
        "database",
        "demo",
        None,
        json!({"seed": opts.seed, "today": today, "academic_year": year.to_string(), "approved": summary.approved}),
    )
    .await?;
    tx.commit().await?;

    // The files, as the office receives them: imported up to the last debit day (the 10th), whose
    // debits, remittances and transfers since are left to import. A past year's are all imported.
    let cut = if y.past() {
        today
    } else {
        use chrono::Datelike;
        let tenth = today.with_day(10).expect("every month has a 10th");
        let last = if tenth <= today { tenth } else { tenth - chrono::Months::new(1) };
        last - Days::new(1)
    };
    for (done, tag) in [(true, "importe"), (false, "a-importer")] {
        if y.past() && !done {
            continue;
        }
        let tag = if y.past() { year.to_string() } else { tag.to_string() };
        let keep = |d: NaiveDate| (d <= cut) == done;
        let gateway = y.dir.join(format!("paybox-{tag}.csv"));
        let bank = y.dir.join(format!("releve-{tag}.csv"));
        write_1252(&gateway, &flows.gateway_csv(keep))?;
        write_1252(&bank, &flows.statement_csv(keep))?;
        if done {
            let c = crate::card::import_file(store, &gateway, crate::card::Columns::Detect, actor).await?;
            let b = crate::bank::import_file(store, &bank, crate::bank::Columns::Detect, actor).await?;
            summary.payments += c.paid + b.auto_matched;
            summary.refused_debits += c.refused;
            summary.charge_backs += c.charged_back;
            summary.bank_lines += b.new;
        } else {
            summary.to_import.push(gateway.display().to_string());
            summary.to_import.push(bank.display().to_string());
        }
    }
    // What was paid twice is given back and paid out.
    if !twice.is_empty() {
        let mut tx = store.begin().await?;
        for (student, on) in twice {
            let spare = ledger::spare_credit(&mut tx, student).await?;
            if spare.is_positive() {
                let id = ledger::issue_refund(&mut tx, student, None, on, spare, None, actor).await?;
                ledger::pay_refund(&mut tx, id, None, on, actor).await?;
                summary.refunds += 1;
            }
        }
        tx.commit().await?;
    }
    // The office sends its reminders on the eve of the debits, once it has imported what came
    // in: the demo's last such run, so that Relances shows reminders already sent (and, two
    // weeks after it, who is due a second) beside those to send. None when it would send
    // nothing (early in the year), nor dated after the real today.
    let due = |e: &crate::dunning::Entry| e.next_level != e.level;
    if opts.reminders
        && !y.past()
        && cut <= chrono::Local::now().date_naive()
        && crate::dunning::list(store, cut).await?.iter().any(due)
    {
        let out = y.dir.join("relances");
        let run = crate::dunning::run(store, &crate::invoices::Typesetter::new(), cut, &out, true, actor).await?;
        summary.reminded_on = Some(cut);
        summary.reminder_letters = run.letters;
    }
    Ok(regs)
}

/// The demo's money as the gateway and the bank report it.
#[derive(Default)]
struct Flows {
    /// Gateway rows: (date, row text without the date).
    rows: Vec<(NaiveDate, String)>,
    /// Bank lines: (date, amount, label).
    lines: Vec<(NaiveDate, Money, String)>,
    /// Captured card debits by remittance day.
    remitted: std::collections::BTreeMap<NaiveDate, Money>,
    next: u64,
}

impl Flows {
    /// One card transaction; `code` 00000 is captured (remitted the next day), else refused.
    fn card(&mut self, rng: &mut Rng, on: NaiveDate, reference: &str, amount: Money, email: &str, code: &str) {
        self.next += 1;
        let number = 61_000_000 + self.next;
        let captured = code == "00000";
        let remit = on + Days::new(1);
        let (status, remittance) = if captured {
            *self.remitted.entry(remit).or_insert(Money::ZERO) += amount;
            ("Télécollecté", format!("{};{}", remittance_number(remit), remit.format("%d/%m/%Y")))
        } else {
            ("Refusé", ";".to_string())
        };
        let card = *rng.pick(&["CB", "CB", "VISA", "MASTERCARD"]);
        self.rows.push((
            on,
            format!(
                "{:02}:{:02}:{:02};{number};{};{reference};{};EUR;Débit;{status};{code};{card};{remittance};{email}",
                6 + rng.below(12),
                rng.below(60),
                rng.below(60),
                300_000 + self.next,
                amount.to_french_number().replace(['\u{202f}', '\u{a0}'], " ")
            ),
        ));
    }

    fn charge_back(&mut self, rng: &mut Rng, on: NaiveDate, reference: &str, amount: Money, email: &str) {
        self.next += 1;
        let number = 61_000_000 + self.next;
        self.rows.push((
            on,
            format!(
                "08:{:02}:00;{number};{};{reference};{};EUR;Impayé;Télécollecté;00141;CB;;;{email}",
                rng.below(60),
                300_000 + self.next,
                amount.to_french_number().replace(['\u{202f}', '\u{a0}'], " ")
            ),
        ));
    }

    fn transfer(&mut self, on: NaiveDate, amount: Money, payer: &str, motif: &str) {
        let label = format!("VIR SEPA RECU /DE {} /MOTIF {}", payer.to_uppercase(), motif);
        self.lines.push((on, amount, label.chars().take(80).collect()));
    }

    /// The account's other movements over the year: suppliers, charges and the school's other
    /// receipts. None names a student; most are debits, which the matcher leaves alone.
    fn other_movements(&mut self, rng: &mut Rng, year: AcademicYear, until: NaiveDate, count: usize) {
        const DEBITS: &[&str] = &[
            "PRLV SEPA EDF COLLECTIVITES",
            "PRLV SEPA URSSAF AUVERGNE",
            "VIR SEPA EMIS /A LIBRAIRIE LES VOLCANS /MOTIF FACT",
            "VIR SEPA EMIS /A SODEXO RESTAURATION /MOTIF FACT",
            "CARTE X4821 AMAZON EU",
            "FRAIS TENUE DE COMPTE",
            "COMMISSION INTERVENTION",
            "PRLV SEPA ORANGE BUSINESS",
        ];
        const CREDITS: &[&str] = &[
            "VIR SEPA RECU /DE REGION AUVERGNE RHONE ALPES /MOTIF SUBVENTION",
            "VIR SEPA RECU /DE CAISSE DES DEPOTS /MOTIF TAXE APPRENTISSAGE",
            "VIR SEPA RECU /DE UNIVERSITE CLERMONT AUVERGNE /MOTIF CONVENTION",
            "REMBOURSEMENT ASSURANCE SINISTRE",
        ];
        let start = NaiveDate::from_ymd_opt(i32::from(year.start_year()), 9, 1).expect("valid");
        let days = (until - start).num_days().max(1) as u64;
        for k in 0..count {
            let on = start + Days::new(rng.below(days));
            let cents = 1_000 + rng.below(250_000) as i64;
            let (amount, label) = if rng.chance(90) {
                (Money::from_cents(-cents), format!("{} {:06}", rng.pick(DEBITS), k))
            } else {
                (Money::from_cents(cents), format!("{} {:06}", rng.pick(CREDITS), k))
            };
            self.lines.push((on, amount, label));
        }
    }

    fn gateway_csv(&self, keep: impl Fn(NaiveDate) -> bool) -> String {
        let mut out = String::from(
            "Date;Heure;Numéro de transaction;Numéro d'appel;Référence commande;Montant;Devise;Type;Statut;Code réponse;Type de carte;Numéro de remise;Date de remise;E-mail\r\n",
        );
        let mut rows: Vec<&(NaiveDate, String)> = self.rows.iter().filter(|(d, _)| keep(*d)).collect();
        rows.sort_by_key(|(d, _)| *d);
        for (d, r) in rows {
            out.push_str(&format!("{};{r}\r\n", d.format("%d/%m/%Y")));
        }
        out
    }

    /// The bank statement: transfers, and each day's card remittance net of a 0,6 % commission.
    fn statement_csv(&self, keep: impl Fn(NaiveDate) -> bool) -> String {
        let mut lines: Vec<(NaiveDate, Money, String)> =
            self.lines.iter().filter(|(d, _, _)| keep(*d)).cloned().collect();
        for (remit, gross) in &self.remitted {
            let credited = *remit + Days::new(1);
            if keep(credited) {
                let net = *gross - Money::rounded(gross.decimal() * rust_decimal::Decimal::new(6, 3));
                let label = format!("REMISE CB {} DU {}", remittance_number(*remit), remit.format("%d/%m/%y"));
                lines.push((credited, net, label));
            }
        }
        lines.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
        let mut out = String::from(
            "Relevé de compte;Clermont Auvergne INP\r\nDate;Date de valeur;Débit;Crédit;Libellé;Solde\r\n",
        );
        for (d, amount, label) in lines {
            let d = d.format("%d/%m/%Y");
            let a = amount.abs().to_french_number().replace(['\u{202f}', '\u{a0}'], " ");
            if amount.is_positive() {
                out.push_str(&format!("{d};{d};;{a};{label};\r\n"));
            } else {
                out.push_str(&format!("{d};{d};{a};;{label};\r\n"));
            }
        }
        out
    }
}

/// The remittance of a day's captured card debits, numbered as the acquirer does (`81005` style).
fn remittance_number(day: NaiveDate) -> String {
    use chrono::Datelike;
    format!("8{:04}", day.ordinal() + 1000 * (day.year() as u32 % 10))
}

fn write_1252(path: &std::path::Path, text: &str) -> Result<()> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    std::fs::write(path, bytes).map_err(|e| Error::Io { path: path.display().to_string(), source: e })
}

/// When the grid has no amounts for `year`, copies the latest earlier year's, else (a history
/// older than the grid) the earliest later year's (demo databases only: a real office enters the
/// year's national amounts in Paramètres). Returns the year copied from.
async fn carry_grid_to(conn: &mut store::Conn, year: AcademicYear) -> Result<Option<String>> {
    let grid = store::settings::fee_grid(&mut *conn).await?;
    if grid.fees.iter().any(|f| f.academic_year == year) {
        return Ok(None);
    }
    let years = grid.fees.iter().map(|f| f.academic_year);
    let Some(latest) = years.clone().filter(|y| *y < year).max().or_else(|| years.filter(|y| *y > year).min()) else {
        return Ok(None);
    };
    for fee in grid.fees.iter().filter(|f| f.academic_year == latest) {
        let carried = crate::fees::grid::FeeEntry { academic_year: year, ..fee.clone() };
        store::settings::set_fee(&mut *conn, &carried).await?;
    }
    Ok(Some(latest.to_string()))
}
