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
use crate::requests::{self, Agreement, NewRequest};
use crate::store::{self, Store, audit};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub students: usize,
    pub seed: u64,
    /// The day the demo stands at: its academic year is the one holding it (turning on 1 June),
    /// and nothing is dated after it.
    pub today: NaiveDate,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { students: 500, seed: 2025, today: chrono::Local::now().date_naive() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub academic_year: String,
    pub students: usize,
    pub requests: usize,
    pub approved: usize,
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
const LAST_INTL: &[&str] = &[
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
const FIRST: &[&str] = &[
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
const FIRST_INTL: &[&str] = &[
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

fn generate(opts: DemoOptions, year: AcademicYear, grid: &crate::fees::grid::FeeGrid) -> Result<Vec<Registration>> {
    let mut rng = Rng(opts.seed);
    let y0 = year.start_year() as i32;
    let mut regs = Vec::with_capacity(opts.students);
    for i in 0..opts.students {
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
        let work_study_year = grid.school(school).map(|s| s.work_study_year).unwrap_or(3);
        let year_of_study: u8 = if situation == Situation::WorkStudyContract {
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
        regs.push(Registration {
            student: NewStudent::parse(&number, &last.to_uppercase(), first, &email, school)?,
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
/// the files since the last debit day (the 10th) are left in `demo-files/` beside the database,
/// to import by hand.
pub async fn fill(store: &Store, opts: DemoOptions, actor: &str) -> Result<DemoSummary> {
    let mut tx = store.begin().await?;
    if store::students::count(&mut tx).await? > 0 {
        return Err(Error::Invalid(
            "la base contient déjà des étudiants : les données de démonstration vont dans une base vide".into(),
        ));
    }
    let year = AcademicYear::checked_containing(opts.today)?;
    let grid_carried_from = carry_grid_to(&mut tx, year).await?;
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
    let regs = generate(opts, year, &grid)?;
    let imported = store_all(&mut tx, &regs).await?;
    let mut rng = Rng(opts.seed ^ 0xD3E0);
    let today = opts.today;
    let mut summary = DemoSummary {
        academic_year: year.to_string(),
        students: imported.students_created,
        requests: imported.requests_created,
        approved: 0,
        payments: 0,
        refused_debits: 0,
        charge_backs: 0,
        grid_carried_from,
        to_import: Vec::new(),
    };
    let schools = store::settings::school_settings(&mut tx).await?;
    let mut flows = Flows::default();
    for view in store::requests::list(&mut tx, None).await? {
        let clean = view.new.plan != PlanKind::Six || view.new.amount > Money::from_cents(100_000);
        if !clean || view.new.amount.is_zero() || !rng.chance(40) {
            continue;
        }
        // The office approves what the checks let through; the rest stays in the queue.
        let Some(settings) = schools.iter().find(|s| s.school == view.new.school) else { continue };
        if requests::findings_of(&view, &grid, settings).iter().any(|f| f.blocks()) {
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
        let due: Vec<(i64, NaiveDate, Money)> = rows
            .installments
            .iter()
            .filter(|t| t.due_date <= today)
            .map(|t| (t.n, t.due_date, Money::from_cents(t.amount_cents)))
            .collect();
        if view.new.plan == PlanKind::Transfer {
            // A few transfer payers are late after the first.
            let late = rng.chance(25);
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
                    continue;
                }
                // The card on file is debited on the 10th; now and then the bank refuses, and
                // about half of those students pay again on the portal a few days later.
                if rng.chance(8) {
                    let code = *rng.pick(&["00151", "00154", "00105"]);
                    flows.card(&mut rng, *due_date, &reference, *amount, email, code);
                    if rng.chance(50) {
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
                }
            }
        }
    }
    audit::record(
        &mut tx,
        actor,
        "demo.fill",
        "database",
        "demo",
        None,
        json!({"seed": opts.seed, "today": today, "approved": summary.approved}),
    )
    .await?;
    tx.commit().await?;

    // The files, as the office receives them: imported up to the last debit day (the 10th), whose
    // debits, remittances and transfers since are left to import.
    // Beside the database file; for a server, in the documents folder.
    let dir = match store.path() {
        Some(path) => path.parent().map(|p| p.join("demo-files")).unwrap_or_else(|| "demo-files".into()),
        None => crate::exports_dir()?.join(format!("demo-files-{}", store.location().name())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    let cut = {
        use chrono::Datelike;
        let tenth = today.with_day(10).expect("every month has a 10th");
        let last = if tenth <= today { tenth } else { tenth - chrono::Months::new(1) };
        last - Days::new(1)
    };
    for (done, tag) in [(true, "importe"), (false, "a-importer")] {
        let keep = |d: NaiveDate| (d <= cut) == done;
        let gateway = dir.join(format!("paybox-{tag}.csv"));
        let bank = dir.join(format!("releve-{tag}.csv"));
        write_1252(&gateway, &flows.gateway_csv(keep))?;
        write_1252(&bank, &flows.statement_csv(keep))?;
        if done {
            let c = crate::card::import_file(store, &gateway, crate::card::Columns::Detect, actor).await?;
            let b = crate::bank::import_file(store, &bank, crate::bank::Columns::Detect, actor).await?;
            summary.payments += c.paid + b.auto_matched;
            summary.refused_debits += c.refused;
            summary.charge_backs += c.charged_back;
        } else {
            summary.to_import.push(gateway.display().to_string());
            summary.to_import.push(bank.display().to_string());
        }
    }
    Ok(summary)
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
            let a = amount.to_french_number().replace(['\u{202f}', '\u{a0}'], " ");
            out.push_str(&format!("{d};{d};;{a};{label};\r\n"));
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

/// When the grid has no amounts for `year`, copies the latest year's (demo databases only: a real
/// office enters the year's national amounts in Paramètres). Returns the year copied from.
async fn carry_grid_to(conn: &mut store::Conn, year: AcademicYear) -> Result<Option<String>> {
    let grid = store::settings::fee_grid(&mut *conn).await?;
    if grid.fees.iter().any(|f| f.academic_year == year) {
        return Ok(None);
    }
    let Some(latest) = grid.fees.iter().map(|f| f.academic_year).filter(|y| *y < year).max() else {
        return Ok(None);
    };
    for fee in grid.fees.iter().filter(|f| f.academic_year == latest) {
        let carried = crate::fees::grid::FeeEntry { academic_year: year, ..fee.clone() };
        store::settings::set_fee(&mut *conn, &carried).await?;
    }
    Ok(Some(latest.to_string()))
}
