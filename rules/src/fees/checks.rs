//! The checks the office makes before validating a declared situation (DOMAIN.md, "Checks").
//! Each returns an explained finding; none decides anything by itself.

use serde::Serialize;

use super::grid::FeeGrid;
use super::{School, Situation};

/// What a registration declares, as far as the checks need it.
#[derive(Debug, Clone)]
pub struct Declaration<'a> {
    pub school: School,
    pub programme: &'a str,
    pub year_of_study: u8,
    pub situation: Situation,
    /// `None` when the file does not say.
    pub extra_eu: Option<bool>,
    pub certificate: Option<bool>,
    pub first_year_here: Option<bool>,
    pub contract_signed: Option<bool>,
    /// Under an exchange agreement (Brafitec, Ensam, Ensias).
    pub exchange_agreement: Option<bool>,
    pub apprentice: Option<bool>,
}

/// Whether a finding stops an approval. The seeds say which: "ne sera pas validée".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum Severity {
    /// The request is not approved unless the accountant overrides it, with a reason.
    Blocking,
    /// Worth a look; does not stop anything.
    Warning,
}

/// One explained finding: a stable code for filters, a sentence for the accountant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
    pub severity: Severity,
}

impl Finding {
    pub fn new(code: &'static str, message: impl Into<String>) -> Finding {
        Finding { code, message: message.into(), severity: Severity::Warning }
    }

    pub fn blocking(code: &'static str, message: impl Into<String>) -> Finding {
        Finding { code, message: message.into(), severity: Severity::Blocking }
    }

    pub fn blocks(&self) -> bool {
        self.severity == Severity::Blocking
    }
}

pub fn check(grid: &FeeGrid, d: &Declaration<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !grid.allows(d.school, d.programme, d.situation) {
        out.push(Finding::blocking(
            "situation_not_allowed",
            format!("La situation {} n'est pas autorisée pour cette formation ({}).", d.situation, d.school),
        ));
    }
    if d.situation == Situation::Scholarship && d.certificate != Some(true) {
        out.push(Finding::blocking(
            "scholarship_certificate_missing",
            "Boursier (02) sans attestation de bourse au dossier : déclaration non validable.",
        ));
    }
    let extra_eu = d.extra_eu == Some(true);
    if extra_eu && d.year_of_study == 1 && d.situation != Situation::ExtraEu {
        out.push(Finding::blocking(
            "extra_eu_first_year_not_05",
            format!(
                "Étudiant extra-communautaire entrant en 1re année déclaré en {} au lieu de 05 : déclaration non validable.",
                d.situation
            ),
        ));
    }
    if extra_eu && d.year_of_study > 1 && d.first_year_here == Some(true) && d.situation == Situation::ExtraEu {
        out.push(Finding::new(
            "extra_eu_continuing_pays_as_french",
            "Étudiant extra-communautaire ayant fait sa 1re année à l'école et passé en année supérieure : il relève du tarif 01/02, pas de 05.",
        ));
    }
    if d.situation == Situation::WorkStudyContract {
        let expected = grid.school(d.school).map(|s| s.work_study_year);
        if let Some(year) = expected.filter(|y| *y != d.year_of_study) {
            out.push(Finding::new(
                "work_study_wrong_year",
                format!("Contrat de professionnalisation (08) déclaré en {}e année ; il concerne la {year}e année dans cette école.", d.year_of_study),
            ));
        }
        if d.contract_signed != Some(true) {
            out.push(Finding::blocking(
                "work_study_contract_unsigned",
                "Contrat de professionnalisation (08) non signé ou non reçu : la situation est incertaine, aucun paiement avant signature.",
            ));
        }
    }
    // "Si vous êtes un étudiant en convention avec l'ISIMA (accord Brafitec, Ensam, Ensias), vous
    // cochez la case 07 Exonérations."
    if d.exchange_agreement == Some(true) && d.situation != Situation::ExchangeAgreement {
        out.push(Finding::blocking(
            "exchange_agreement_not_07",
            format!(
                "Étudiant sous convention d'échange déclaré en {} : la situation attendue est 07 (exonération).",
                d.situation
            ),
        ));
    }
    // 07 costs nothing: declared while the file says there is no agreement, the fee is lost.
    if d.exchange_agreement == Some(false) && d.situation == Situation::ExchangeAgreement {
        out.push(Finding::blocking(
            "exemption_07_without_agreement",
            "Exonération (07) déclarée sans convention d'échange au dossier : déclaration non validable.",
        ));
    }
    // "Les étudiants en apprentissage doivent sélectionner le code 01 « Etudiant non boursier »."
    if d.apprentice == Some(true) && d.situation != Situation::NonScholarship {
        out.push(Finding::blocking(
            "apprentice_not_01",
            format!("Apprenti déclaré en {} : les apprentis choisissent 01 (étudiant non boursier).", d.situation),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::grid::DEFAULT_PROGRAMME;

    fn decl(situation: Situation, year: u8) -> Declaration<'static> {
        Declaration {
            school: School::Isima,
            programme: DEFAULT_PROGRAMME,
            year_of_study: year,
            situation,
            extra_eu: Some(false),
            certificate: None,
            first_year_here: None,
            contract_signed: None,
            exchange_agreement: None,
            apprentice: None,
        }
    }

    fn codes(d: &Declaration<'_>) -> Vec<&'static str> {
        check(&FeeGrid::shipped(), d).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn scholarship_needs_a_certificate() {
        assert_eq!(codes(&decl(Situation::Scholarship, 2)), vec!["scholarship_certificate_missing"]);
        let with = Declaration { certificate: Some(true), ..decl(Situation::Scholarship, 2) };
        assert!(codes(&with).is_empty());
    }

    #[test]
    fn extra_eu_first_year_must_declare_05() {
        let d = Declaration { extra_eu: Some(true), ..decl(Situation::NonScholarship, 1) };
        assert_eq!(codes(&d), vec!["extra_eu_first_year_not_05"]);
        let ok = Declaration { extra_eu: Some(true), ..decl(Situation::ExtraEu, 1) };
        assert!(codes(&ok).is_empty());
    }

    #[test]
    fn extra_eu_moved_up_pays_as_french() {
        let d = Declaration { extra_eu: Some(true), first_year_here: Some(true), ..decl(Situation::ExtraEu, 2) };
        assert_eq!(codes(&d), vec!["extra_eu_continuing_pays_as_french"]);
        let came_later =
            Declaration { extra_eu: Some(true), first_year_here: Some(false), ..decl(Situation::ExtraEu, 2) };
        assert!(codes(&came_later).is_empty());
    }

    #[test]
    fn work_study_year_is_per_school_and_contract_must_be_signed() {
        assert_eq!(codes(&decl(Situation::WorkStudyContract, 3)), vec!["work_study_contract_unsigned"]);
        let signed = Declaration { contract_signed: Some(true), ..decl(Situation::WorkStudyContract, 3) };
        assert!(codes(&signed).is_empty());
        let polytech = Declaration {
            school: School::Polytech,
            contract_signed: Some(true),
            ..decl(Situation::WorkStudyContract, 3)
        };
        assert_eq!(codes(&polytech), vec!["work_study_wrong_year"]);
    }

    #[test]
    fn what_the_seeds_say_will_not_be_validated_blocks() {
        // "un étudiant boursier ... sans attestation ... ne sera pas validée"
        let scholar = check(&FeeGrid::shipped(), &decl(Situation::Scholarship, 2));
        assert!(scholar.iter().all(Finding::blocks));
        // The moved-up extra-EU student is a correction to suggest, not a refusal.
        let d = Declaration { extra_eu: Some(true), first_year_here: Some(true), ..decl(Situation::ExtraEu, 2) };
        assert!(!check(&FeeGrid::shipped(), &d)[0].blocks());
    }

    #[test]
    fn students_under_an_exchange_agreement_tick_07() {
        // "étudiant en convention avec l'ISIMA (accord Brafitec, Ensam, Ensias), vous cochez la case 07"
        let d = Declaration { exchange_agreement: Some(true), ..decl(Situation::NonScholarship, 2) };
        assert_eq!(codes(&d), vec!["exchange_agreement_not_07"]);
        let ok = Declaration { exchange_agreement: Some(true), ..decl(Situation::ExchangeAgreement, 2) };
        assert!(codes(&ok).is_empty());
        let no_agreement = Declaration { exchange_agreement: Some(false), ..decl(Situation::ExchangeAgreement, 2) };
        assert_eq!(codes(&no_agreement), vec!["exemption_07_without_agreement"]);
        // A file that does not say leaves 07 alone.
        assert!(codes(&decl(Situation::ExchangeAgreement, 2)).is_empty());
    }

    #[test]
    fn apprentices_choose_01() {
        // "Les étudiants en apprentissage doivent sélectionner le code 01 « Etudiant non boursier »."
        let d = Declaration { apprentice: Some(true), certificate: Some(true), ..decl(Situation::Scholarship, 3) };
        assert_eq!(codes(&d), vec!["apprentice_not_01"]);
        assert!(check(&FeeGrid::shipped(), &d)[0].blocks());
        let ok = Declaration { apprentice: Some(true), ..decl(Situation::NonScholarship, 3) };
        assert!(codes(&ok).is_empty());
    }

    #[test]
    fn situation_outside_the_programme() {
        let d = Declaration { school: School::Polytech, ..decl(Situation::SpecialisedMasterCompany, 4) };
        assert_eq!(codes(&d), vec!["situation_not_allowed"]);
    }
}
