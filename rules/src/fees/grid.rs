//! The fee grid: what each situation pays, per academic year, school and programme.
//! Shipped as `data/fee-grid.json`, copied into the database on first start, edited in Settings.

use serde::{Deserialize, Serialize};

use super::{AcademicYear, School, Situation};
use crate::money::Money;
use crate::{Error, Result};

/// The grid file shipped with the application.
pub const DEFAULT_GRID_JSON: &str = include_str!("../../../data/fee-grid.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GridFile {
    pub schools: Vec<SchoolProfile>,
    pub fees: Vec<FeeEntry>,
}

/// A school's programmes and the school-specific facts the checks need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchoolProfile {
    pub code: School,
    pub name: String,
    pub programmes: Vec<Programme>,
    /// The year of study in which a work-study contract (situation 08) is signed: 3 at ISIMA, 5 at Polytech.
    pub work_study_year: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Programme {
    pub code: String,
    pub label: String,
    /// The situations a student of this programme may declare.
    pub situations: Vec<Situation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeEntry {
    pub academic_year: AcademicYear,
    pub school: School,
    pub programme: String,
    pub situation: Situation,
    pub amount: Money,
}

/// The grid in memory, for pricing many registrations without a query each.
#[derive(Debug, Clone)]
pub struct FeeGrid {
    pub schools: Vec<SchoolProfile>,
    pub fees: Vec<FeeEntry>,
}

/// The programme every session belongs to until sessions carry their own: the engineering cycle.
pub const DEFAULT_PROGRAMME: &str = "ING";

impl FeeGrid {
    pub fn parse(json: &str) -> Result<FeeGrid> {
        let file: GridFile =
            serde_json::from_str(json).map_err(|e| Error::Invalid(format!("grille des droits illisible: {e}")))?;
        for fee in &file.fees {
            if fee.amount.is_negative() {
                return Err(Error::Invalid(format!(
                    "grille des droits: montant négatif pour {} {} {}",
                    fee.academic_year, fee.school, fee.situation
                )));
            }
        }
        Ok(FeeGrid { schools: file.schools, fees: file.fees })
    }

    pub fn shipped() -> FeeGrid {
        FeeGrid::parse(DEFAULT_GRID_JSON).expect("the shipped fee grid is valid")
    }

    pub fn school(&self, school: School) -> Option<&SchoolProfile> {
        self.schools.iter().find(|s| s.code == school)
    }

    pub fn amount(&self, year: AcademicYear, school: School, programme: &str, situation: Situation) -> Option<Money> {
        self.fees
            .iter()
            .find(|f| {
                f.academic_year == year && f.school == school && f.programme == programme && f.situation == situation
            })
            .map(|f| f.amount)
    }

    /// The standard tuition ("droits de scolarité", situation 01): the fixed first installment of
    /// a 6-plan and the first ISIMA transfer.
    pub fn standard_fee(&self, year: AcademicYear, school: School, programme: &str) -> Option<Money> {
        self.amount(year, school, programme, Situation::NonScholarship)
    }

    /// The amount a registration owes, or a `NoFee` error naming what is missing.
    pub fn price(&self, year: AcademicYear, school: School, programme: &str, situation: Situation) -> Result<Money> {
        self.amount(year, school, programme, situation)
            .ok_or_else(|| Error::NoFee { what: format!("{year} {school} {programme} situation {situation}") })
    }

    pub fn allows(&self, school: School, programme: &str, situation: Situation) -> bool {
        self.school(school)
            .and_then(|s| s.programmes.iter().find(|p| p.code == programme))
            .is_some_and(|p| p.situations.contains(&situation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_grid_has_the_amounts_of_the_sources() {
        let g = FeeGrid::shipped();
        let y22: AcademicYear = "2022-23".parse().unwrap();
        let y25: AcademicYear = "2025-26".parse().unwrap();
        let p = DEFAULT_PROGRAMME;
        assert_eq!(g.standard_fee(y22, School::Polytech, p), Some(Money::from_cents(60100)));
        assert_eq!(g.standard_fee(y25, School::Isima, p), Some(Money::from_cents(61800)));
        assert_eq!(g.amount(y22, School::Polytech, p, Situation::ExtraEu), Some(Money::from_cents(377000)));
        assert_eq!(g.amount(y25, School::Isima, p, Situation::ExtraEu), Some(Money::from_cents(387900)));
        assert!(matches!(g.price(y25, School::Isima, p, Situation::ContinuingEducation), Err(Error::NoFee { .. })));
    }

    #[test]
    fn allowed_situations_differ_by_school() {
        let g = FeeGrid::shipped();
        assert!(g.allows(School::Isima, DEFAULT_PROGRAMME, Situation::SpecialisedMasterPersonal));
        assert!(!g.allows(School::Isima, DEFAULT_PROGRAMME, Situation::ExtraEuContinuing));
        assert!(!g.allows(School::Polytech, DEFAULT_PROGRAMME, Situation::SpecialisedMasterPersonal));
        assert_eq!(g.school(School::Polytech).unwrap().programmes[0].situations.len(), 7);
        assert_eq!(g.school(School::Isima).unwrap().programmes[0].situations.len(), 9);
    }
}

/// One line of the fee grid as Settings shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FeeRow {
    pub academic_year: AcademicYear,
    pub school: School,
    pub programme: String,
    pub situation: Situation,
    pub situation_label: &'static str,
    pub amount: Money,
}
