//! Storage of the per-school settings, the programmes and the fee grid.

use super::Conn;
use crate::{Error, Result};
use regie_rules::fees::grid::{FeeEntry, FeeGrid, Programme, SchoolProfile};
use regie_rules::fees::{School, Situation};
use regie_rules::money::Money;
use regie_rules::settings::SchoolSettings;

/// On a new database, copies the shipped fee grid and the default settings in.
/// Whether the database has no school settings yet (a new one).
pub async fn is_empty(conn: &mut Conn) -> Result<bool> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM school_settings").fetch_one(c).await)?;
    Ok(n == 0)
}

pub async fn seed_if_empty(conn: &mut Conn) -> Result<()> {
    let (n,): (i64,) = on!(conn, |c| sqlx::query_as("SELECT COUNT(*) FROM school_settings").fetch_one(c).await)?;
    if n > 0 {
        return Ok(());
    }
    let grid = FeeGrid::shipped();
    for profile in &grid.schools {
        let s = SchoolSettings::default_for(profile.code, &profile.name, profile.work_study_year);
        save_school_settings(conn, &s).await?;
        for p in &profile.programmes {
            let codes: Vec<&str> = p.situations.iter().map(|s| s.code()).collect();
            on!(conn, |c| sqlx::query(
                "INSERT INTO programmes (school, code, label, situations) VALUES ($1, $2, $3, $4)"
            )
            .bind(profile.code.code())
            .bind(&p.code)
            .bind(&p.label)
            .bind(codes.join(","))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
    }
    for fee in &grid.fees {
        set_fee(conn, fee).await?;
    }
    Ok(())
}

pub async fn save_school_settings(conn: &mut Conn, s: &SchoolSettings) -> Result<()> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO school_settings (school, name, six_threshold_cents, rounding, debit_day, deadline_month,
            deadline_day, work_study_year, address, iban, bic, differentiated_by_transfer, domiciliation, dunning_first_days, dunning_second_days,
            dunning_block_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (school) DO UPDATE SET name = excluded.name, six_threshold_cents = excluded.six_threshold_cents,
            rounding = excluded.rounding, debit_day = excluded.debit_day, deadline_month = excluded.deadline_month,
            deadline_day = excluded.deadline_day, work_study_year = excluded.work_study_year,
            address = excluded.address, iban = excluded.iban, bic = excluded.bic,
            differentiated_by_transfer = excluded.differentiated_by_transfer, domiciliation = excluded.domiciliation,
            dunning_first_days = excluded.dunning_first_days, dunning_second_days = excluded.dunning_second_days,
            dunning_block_days = excluded.dunning_block_days",
    )
    .bind(s.school.code())
    .bind(&s.name)
    .bind(s.six_threshold.cents())
    .bind(s.rounding.to_string())
    .bind(s.debit_day as i64)
    .bind(s.deadline_month as i64)
    .bind(s.deadline_day as i64)
    .bind(s.work_study_year as i64)
    .bind(&s.address)
    .bind(&s.iban)
    .bind(&s.bic)
    .bind(s.differentiated_by_transfer)
    .bind(&s.domiciliation)
    .bind(s.dunning_first_days as i64)
    .bind(s.dunning_second_days as i64)
    .bind(s.dunning_block_days as i64)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    school: String,
    name: String,
    six_threshold_cents: i64,
    rounding: String,
    debit_day: i64,
    deadline_month: i64,
    deadline_day: i64,
    work_study_year: i64,
    address: String,
    iban: String,
    bic: String,
    differentiated_by_transfer: bool,
    domiciliation: String,
    dunning_first_days: i64,
    dunning_second_days: i64,
    dunning_block_days: i64,
}

impl TryFrom<SettingsRow> for SchoolSettings {
    type Error = Error;
    fn try_from(r: SettingsRow) -> Result<SchoolSettings> {
        Ok(SchoolSettings {
            school: r.school.parse()?,
            name: r.name,
            six_threshold: Money::from_cents(r.six_threshold_cents),
            rounding: r.rounding.parse()?,
            debit_day: r.debit_day as u32,
            deadline_month: r.deadline_month as u32,
            deadline_day: r.deadline_day as u32,
            work_study_year: r.work_study_year as u8,
            address: r.address,
            iban: r.iban,
            bic: r.bic,
            differentiated_by_transfer: r.differentiated_by_transfer,
            domiciliation: r.domiciliation,
            dunning_first_days: r.dunning_first_days as u32,
            dunning_second_days: r.dunning_second_days as u32,
            dunning_block_days: r.dunning_block_days as u32,
        })
    }
}

pub async fn school_settings(conn: &mut Conn) -> Result<Vec<SchoolSettings>> {
    let rows: Vec<SettingsRow> =
        on!(conn, |c| sqlx::query_as("SELECT * FROM school_settings ORDER BY school").fetch_all(c).await)?;
    rows.into_iter().map(SchoolSettings::try_from).collect()
}

pub async fn settings_for(conn: &mut Conn, school: School) -> Result<SchoolSettings> {
    let row: SettingsRow = on!(conn, |c| sqlx::query_as("SELECT * FROM school_settings WHERE school = $1")
        .bind(school.code())
        .fetch_one(c)
        .await)?;
    row.try_into()
}

pub async fn set_fee(conn: &mut Conn, fee: &FeeEntry) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO fee_grid (academic_year, school, programme, situation, amount_cents) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (academic_year, school, programme, situation) DO UPDATE SET amount_cents = excluded.amount_cents",
    )
    .bind(fee.academic_year.to_string())
    .bind(fee.school.code())
    .bind(&fee.programme)
    .bind(fee.situation.code())
    .bind(fee.amount.cents())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The grid as the database holds it now (Settings may have changed the shipped one).
pub async fn fee_grid(conn: &mut Conn) -> Result<FeeGrid> {
    let settings = school_settings(&mut *conn).await?;
    let programmes: Vec<(String, String, String, String)> =
        on!(conn, |c| sqlx::query_as("SELECT school, code, label, situations FROM programmes ORDER BY school, code")
            .fetch_all(c)
            .await)?;
    let mut schools = Vec::new();
    for s in settings {
        let mut progs = Vec::new();
        for (school, code, label, situations) in programmes.iter().filter(|p| p.0 == s.school.code()) {
            debug_assert_eq!(school, s.school.code());
            let situations = situations
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| c.parse::<Situation>())
                .collect::<regie_rules::Result<Vec<_>>>()?;
            progs.push(Programme { code: code.clone(), label: label.clone(), situations });
        }
        schools.push(SchoolProfile {
            code: s.school,
            name: s.name,
            programmes: progs,
            work_study_year: s.work_study_year,
        });
    }
    let rows: Vec<(String, String, String, String, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT academic_year, school, programme, situation, amount_cents FROM fee_grid
         ORDER BY academic_year, school, programme, situation",
    )
    .fetch_all(c)
    .await)?;
    let fees = rows
        .into_iter()
        .map(|(y, school, programme, situation, cents)| {
            Ok(FeeEntry {
                academic_year: y.parse()?,
                school: school.parse()?,
                programme,
                situation: situation.parse()?,
                amount: Money::from_cents(cents),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FeeGrid { schools, fees })
}

pub async fn session_labels(conn: &mut Conn) -> Result<Vec<regie_rules::settings::SessionLabel>> {
    let rows: Vec<(String, String)> =
        on!(conn, |c| sqlx::query_as("SELECT session, label FROM session_labels ORDER BY session").fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(session, label)| regie_rules::settings::SessionLabel { session, label }).collect())
}

pub async fn session_label(conn: &mut Conn, session: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = on!(conn, |c| sqlx::query_as("SELECT label FROM session_labels WHERE session = $1")
        .bind(session)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|(l,)| l))
}

pub async fn set_session_label(conn: &mut Conn, l: &regie_rules::settings::SessionLabel) -> Result<()> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO session_labels (session, label) VALUES ($1, $2)
         ON CONFLICT (session) DO UPDATE SET label = excluded.label",
    )
    .bind(&l.session)
    .bind(&l.label)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
