//! The library's error type: every failure a caller can meet, each with a stable `code`.
//! The desktop shell and the CLI classify errors by that code, never by their message.

use serde::Serialize;

use crate::money::MoneyError;
use crate::plans::PlanError;
use crate::sheets::SheetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A spreadsheet or CSV that cannot be read or holds a bad cell; names file, row and column.
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("étudiant {0} introuvable")]
    StudentNotFound(String),
    #[error("demande {0} introuvable")]
    RequestNotFound(i64),
    #[error("aucun tarif pour {what} dans la grille des droits")]
    NoFee { what: String },
    #[error("{0}")]
    Invalid(String),
    /// The statement's columns could not be recognised: the UI shows `preview` for a mapping.
    #[error("{file}: colonnes du relevé non reconnues ({missing}) ; indiquez la correspondance des colonnes")]
    MappingNeeded { file: String, missing: String, preview: Vec<Vec<String>> },
    #[error("ligne de relevé {0} introuvable")]
    LineNotFound(i64),
    #[error("facture {0} introuvable")]
    InvoiceNotFound(String),
    /// Someone else (another desktop on the shared database) did it first: the line is already
    /// confirmed, the transaction already treated. Nothing was changed; reload and look.
    #[error("{0}")]
    Conflict(String),
    /// The acting user's role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// Typst could not compile or export a document.
    #[error("rendu du document impossible: {0}")]
    Render(String),
    #[error("fichier {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("base de données: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration de la base: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A value the rules refused keeps its code: the rules' errors are the core's own.
impl From<regie_rules::Error> for Error {
    fn from(e: regie_rules::Error) -> Self {
        use regie_rules::Error as Rule;
        match e {
            Rule::Money(e) => Error::Money(e),
            Rule::Plan(e) => Error::Plan(e),
            Rule::Sheet(e) => Error::Sheet(e),
            Rule::NoFee { what } => Error::NoFee { what },
            Rule::Invalid(m) => Error::Invalid(m),
            Rule::MappingNeeded { file, missing, preview } => Error::MappingNeeded { file, missing, preview },
        }
    }
}

impl Error {
    /// A stable, machine-readable classification for the UI and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Money(_) => "invalid_amount",
            Error::Plan(_) => "invalid_plan",
            Error::Sheet(_) => "bad_file",
            Error::StudentNotFound(_) => "student_not_found",
            Error::RequestNotFound(_) => "request_not_found",
            Error::NoFee { .. } => "no_fee",
            Error::Invalid(_) => "invalid_input",
            Error::MappingNeeded { .. } => "mapping_needed",
            Error::LineNotFound(_) => "line_not_found",
            Error::InvoiceNotFound(_) => "invoice_not_found",
            Error::Conflict(_) => "conflict",
            Error::Forbidden(_) => "forbidden",
            Error::Render(_) => "render",
            Error::Io { .. } => "io",
            Error::Database(_) => "database",
            Error::Migration(_) => "migration",
        }
    }
}

impl Error {
    /// What the person can do about it, in French: the window shows it under the message (which
    /// says what happened, with the file, row and column when there is one).
    pub fn hint(&self) -> &'static str {
        match self {
            Error::Money(_) => "Écrivez le montant en euros, par exemple 1 630,50.",
            Error::Plan(_) => "Choisissez un échéancier : 1 fois, 3 fois, 6 fois ou virements.",
            Error::Sheet(e) if e.row.is_some() => {
                "Corrigez la cellule indiquée dans le tableur, enregistrez le fichier, puis choisissez-le à nouveau : rien n'a été importé."
            }
            // The file as a whole: too large, unreadable, not a spreadsheet; no cell to correct.
            Error::Sheet(_) => {
                "Vérifiez que c'est le bon fichier, tel que la banque, la plateforme de paiement ou le portail l'a exporté : rien n'a été importé."
            }
            Error::StudentNotFound(_) => "Vérifiez le numéro, ou cherchez l'étudiant par son nom dans Comptes.",
            Error::RequestNotFound(_) | Error::LineNotFound(_) => {
                "La liste a changé depuis son affichage : rechargez l'écran et recommencez."
            }
            Error::NoFee { .. } => {
                "Ajoutez le montant dans Paramètres, grille des droits (responsable financier), ou donnez-le dans le fichier (colonne « montant »)."
            }
            Error::Invalid(_) => "Corrigez ce qui est indiqué, puis recommencez : rien n'a été modifié.",
            Error::MappingNeeded { .. } => "Indiquez quelle colonne du fichier est la date, le libellé et le montant.",
            Error::InvoiceNotFound(_) => "Vérifiez le numéro de la facture (par exemple F2026-00001) dans Factures.",
            Error::Conflict(_) => "Rien n'a été modifié ici : rechargez l'écran pour voir ce qui a été fait.",
            Error::Forbidden(_) => "Demandez à un responsable financier de le faire, ou de vous en donner le rôle.",
            Error::Render(_) => {
                "Le document n'a pas été produit. Réessayez ; si cela se reproduit, transmettez ce message à l'équipe qui maintient Régie."
            }
            Error::Io { .. } => {
                "Vérifiez que le fichier existe, qu'il n'est pas ouvert dans un autre logiciel, et que le dossier est accessible en écriture."
            }
            Error::Database(_) => {
                "La base n'a pas répondu (occupée par un autre poste, serveur injoignable) : rien n'a été modifié ; réessayez dans un instant. Si cela persiste, fermez et rouvrez Régie."
            }
            Error::Migration(_) => {
                "La base n'a pas pu être mise à jour : elle est restée telle quelle, et une copie est dans backups/. Installez la dernière version de Régie."
            }
        }
    }
}

/// What crosses the process boundary (Tauri IPC, `--json` errors): `{code, message, hint}`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorPayload {
    pub code: &'static str,
    pub message: String,
    /// What to do about it, in French.
    pub hint: &'static str,
}

impl From<Error> for ErrorPayload {
    fn from(e: Error) -> Self {
        ErrorPayload { code: e.code(), hint: e.hint(), message: e.to_string() }
    }
}

impl From<regie_rules::Error> for ErrorPayload {
    fn from(e: regie_rules::Error) -> Self {
        Error::from(e).into()
    }
}
