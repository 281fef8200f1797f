//! Fees: schools, situation codes, academic years and sessions, and the fee grid that prices them.
//! The grid is data (`data/fee-grid.json`, then the database); the declaration checks live in `checks`.

pub mod checks;
pub mod grid;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The two schools of the group. What differs between them is a setting, never a branch here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum School {
    Isima,
    Polytech,
}

impl School {
    pub const ALL: [School; 2] = [School::Isima, School::Polytech];

    pub fn code(self) -> &'static str {
        match self {
            School::Isima => "ISIMA",
            School::Polytech => "POLYTECH",
        }
    }
}

impl fmt::Display for School {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for School {
    type Err = Error;
    fn from_str(s: &str) -> Result<School> {
        // The names as the database and the files write them, without making a text each (an
        // import reads 20,000 students' schools).
        let s = s.trim();
        if s.eq_ignore_ascii_case("ISIMA") {
            return Ok(School::Isima);
        }
        if s.eq_ignore_ascii_case("POLYTECH") {
            return Ok(School::Polytech);
        }
        let up = s.to_uppercase();
        match up.as_str() {
            "ISIMA" => Ok(School::Isima),
            "POLYTECH" | "POLYTECH CLERMONT" | "POLYTECH CLERMONT-FERRAND" => Ok(School::Polytech),
            _ => Err(Error::Invalid(format!("école inconnue « {} » (ISIMA ou POLYTECH)", s.trim()))),
        }
    }
}

/// A fee situation ("Frais d'inscription (type apprenant)"): one per student and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ts_rs::TS)]
#[ts(type = "string")]
pub enum Situation {
    NonScholarship,
    Scholarship,
    ExtraEu,
    ExchangeAgreement,
    WorkStudyContract,
    GapYear,
    ContinuingEducation,
    ExtraEuContinuing,
    SpecialisedMasterCompany,
    SpecialisedMasterPersonal,
}

impl Situation {
    pub const ALL: [Situation; 10] = [
        Situation::NonScholarship,
        Situation::Scholarship,
        Situation::ExtraEu,
        Situation::ExchangeAgreement,
        Situation::WorkStudyContract,
        Situation::GapYear,
        Situation::ContinuingEducation,
        Situation::ExtraEuContinuing,
        Situation::SpecialisedMasterCompany,
        Situation::SpecialisedMasterPersonal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Situation::NonScholarship => "01",
            Situation::Scholarship => "02",
            Situation::ExtraEu => "05",
            Situation::ExchangeAgreement => "07",
            Situation::WorkStudyContract => "08",
            Situation::GapYear => "14",
            Situation::ContinuingEducation => "20",
            Situation::ExtraEuContinuing => "25",
            Situation::SpecialisedMasterCompany => "42",
            Situation::SpecialisedMasterPersonal => "43",
        }
    }

    /// The portal's own wording.
    pub fn label(self) -> &'static str {
        match self {
            Situation::NonScholarship => "Etudiant non boursier",
            Situation::Scholarship => "Etudiant Boursier",
            Situation::ExtraEu => "Etudiants internationaux extra-communautaires en formation diplômante",
            Situation::ExchangeAgreement => "Exonérations : exemple Mobilité entrante sous convention",
            Situation::WorkStudyContract => "Etudiants de 3ème Année ayant signé un contrat de professionnalisation",
            Situation::GapYear => "Tarif réduit Césure",
            Situation::ContinuingEducation => "Formation continue",
            Situation::ExtraEuContinuing => "Etudiants internationaux extra-communautaires en formation Continue",
            Situation::SpecialisedMasterCompany => "Mastère spécialisé - Financement entreprise dont contrats pros",
            Situation::SpecialisedMasterPersonal => "Mastère spécialisé - Financement personnel",
        }
    }
}

impl fmt::Display for Situation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Situation {
    type Err = Error;
    /// Accepts `05`, `5`, or the code followed by its label (`05 Etudiants ...`).
    fn from_str(s: &str) -> Result<Situation> {
        let digits: String = s.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: u32 = digits.parse().map_err(|_| Error::Invalid(format!("situation inconnue « {} »", s.trim())))?;
        Situation::ALL
            .into_iter()
            .find(|sit| sit.code().parse::<u32>() == Ok(n))
            .ok_or_else(|| Error::Invalid(format!("situation inconnue « {} » (codes 01 à 43)", s.trim())))
    }
}

impl Serialize for Situation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Situation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An academic year, named by the calendar year it starts in: 2025 is "2025-26".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcademicYear(u16);

impl AcademicYear {
    pub fn starting(year: u16) -> Result<AcademicYear> {
        if (2000..=2099).contains(&year) {
            Ok(AcademicYear(year))
        } else {
            Err(Error::Invalid(format!("année universitaire hors limites: {year}")))
        }
    }

    pub fn start_year(self) -> u16 {
        self.0
    }

    /// The academic year a date falls in. It turns on 1 June: registrations and their first
    /// payments (the portal's example: 24/06/2022 for P2223) belong to the year that follows.
    pub fn containing(date: chrono::NaiveDate) -> AcademicYear {
        use chrono::Datelike;
        let y = date.year() as u16;
        AcademicYear(if date.month() >= 6 { y } else { y - 1 })
    }

    /// `containing`, refused when the year falls outside the years `starting` accepts: a date
    /// typed as 2205 must be refused where it is read, or the stored year fails every later load.
    pub fn checked_containing(date: chrono::NaiveDate) -> Result<AcademicYear> {
        use chrono::Datelike;
        let start = if date.month() >= 6 { date.year() } else { date.year() - 1 };
        let start =
            u16::try_from(start).map_err(|_| Error::Invalid(format!("année universitaire hors limites: {start}")))?;
        AcademicYear::starting(start)
    }

    /// The portal's session codes start with `P` and the two years' last digits: `P2223_...`.
    pub fn from_session(session: &str) -> Option<AcademicYear> {
        let digits = session.strip_prefix('P')?.get(0..4)?;
        let a: u16 = digits.get(0..2)?.parse().ok()?;
        let b: u16 = digits.get(2..4)?.parse().ok()?;
        ((a + 1) % 100 == b).then_some(AcademicYear(2000 + a))
    }
}

impl fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0, (self.0 + 1) % 100)
    }
}

impl FromStr for AcademicYear {
    type Err = Error;
    /// `2025-26`, `2025-2026` or `2025`.
    fn from_str(s: &str) -> Result<AcademicYear> {
        let bad = || Error::Invalid(format!("année universitaire illisible « {} » (ex. 2025-26)", s.trim()));
        let s = s.trim();
        let (start, end) = match s.split_once(['-', '/']) {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let start: u16 = start.parse().map_err(|_| bad())?;
        if let Some(end) = end {
            let end: u16 = end.parse().map_err(|_| bad())?;
            if end % 100 != (start + 1) % 100 {
                return Err(bad());
            }
        }
        AcademicYear::starting(start)
    }
}

impl Serialize for AcademicYear {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AcademicYear {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A portal session (promotion), e.g. `P2223_Y3_3A`: non-empty, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Session(String);

impl Session {
    pub fn parse(s: &str) -> Result<Session> {
        let s = s.trim();
        if s.is_empty() || s.chars().any(char::is_whitespace) || s.len() > 64 {
            return Err(Error::Invalid(format!("session illisible « {s} » (ex. P2223_Y3_3A)")));
        }
        Ok(Session(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn situations_round_trip_their_codes() {
        for s in Situation::ALL {
            assert_eq!(s.code().parse::<Situation>().unwrap(), s);
        }
        assert_eq!("5".parse::<Situation>().unwrap(), Situation::ExtraEu);
        assert_eq!("05 Etudiants internationaux".parse::<Situation>().unwrap(), Situation::ExtraEu);
        assert!("03".parse::<Situation>().is_err());
        assert!("x".parse::<Situation>().is_err());
    }

    #[test]
    fn academic_years() {
        assert_eq!("2025-26".parse::<AcademicYear>().unwrap().to_string(), "2025-26");
        assert_eq!("2022-2023".parse::<AcademicYear>().unwrap().to_string(), "2022-23");
        assert!("2022-24".parse::<AcademicYear>().is_err());
        assert_eq!(AcademicYear::from_session("P2223_Y3_3A").unwrap().to_string(), "2022-23");
        assert_eq!(AcademicYear::from_session("ISIMA_1A"), None);
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        assert_eq!(AcademicYear::containing(d).to_string(), "2025-26");
        assert_eq!(AcademicYear::checked_containing(d).unwrap().to_string(), "2025-26");
        let far = chrono::NaiveDate::from_ymd_opt(2205, 9, 5).unwrap();
        assert!(AcademicYear::checked_containing(far).is_err());
        let early = chrono::NaiveDate::from_ymd_opt(2000, 1, 5).unwrap();
        assert!(AcademicYear::checked_containing(early).is_err(), "1999-00 is outside the app's years");
    }

    #[test]
    fn schools_parse() {
        assert_eq!("isima".parse::<School>().unwrap(), School::Isima);
        assert_eq!("Polytech Clermont".parse::<School>().unwrap(), School::Polytech);
        assert!("ENSAM".parse::<School>().is_err());
    }
}
