//! The Typst world Régie renders in: the library, the embedded fonts and the templates are built
//! once and reused for every document; each render only swaps the data file (`/data.json`).

use chrono::{Datelike, NaiveDate};
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::{Error, Result};

/// The documents Régie issues, each a template in `templates/` compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Invoice,
    /// Several invoices in one PDF.
    Invoices,
    CreditNote,
    Account,
    Schedule,
    /// Reminder letters (relances), one per student, in one file.
    Reminders,
    /// Not a document: the invoice layout the two invoice templates import.
    InvoiceLayout,
    /// Not a document: the heading every document imports.
    Letterhead,
}

impl Template {
    const ALL: [Template; 8] = [
        Template::Invoice,
        Template::Invoices,
        Template::CreditNote,
        Template::Account,
        Template::Schedule,
        Template::Reminders,
        Template::InvoiceLayout,
        Template::Letterhead,
    ];

    fn path(self) -> &'static str {
        match self {
            Template::Invoice => "/invoice.typ",
            Template::CreditNote => "/credit-note.typ",
            Template::Account => "/account.typ",
            Template::Invoices => "/invoices.typ",
            Template::Schedule => "/schedule.typ",
            Template::Reminders => "/reminders.typ",
            Template::InvoiceLayout => "/invoice-layout.typ",
            Template::Letterhead => "/letterhead.typ",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Template::Invoice => include_str!("../../templates/invoice.typ"),
            Template::CreditNote => include_str!("../../templates/credit-note.typ"),
            Template::Account => include_str!("../../templates/account.typ"),
            Template::Invoices => include_str!("../../templates/invoices.typ"),
            Template::Schedule => include_str!("../../templates/schedule.typ"),
            Template::Reminders => include_str!("../../templates/reminders.typ"),
            Template::InvoiceLayout => include_str!("../../templates/invoice-layout.typ"),
            Template::Letterhead => include_str!("../../templates/letterhead.typ"),
        }
    }
}

fn file_id(path: &str) -> FileId {
    RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).expect("a valid virtual path")).intern()
}

/// Fonts, library and templates, built once. Typst interns file ids for the life of the process,
/// so the templates and the data file keep fixed ids across renders.
pub struct Typesetter {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    templates: Vec<(Template, FileId, Source)>,
    data_id: FileId,
}

impl Default for Typesetter {
    fn default() -> Self {
        Typesetter::new()
    }
}

impl Typesetter {
    /// Loads the fonts shipped inside the binary (typst-assets): no system font, no download,
    /// the same PDF on every machine.
    pub fn new() -> Typesetter {
        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        let book = FontBook::from_fonts(&fonts);
        let templates = Template::ALL
            .iter()
            .map(|t| {
                let id = file_id(t.path());
                (*t, id, Source::new(id, t.text().to_string()))
            })
            .collect();
        Typesetter {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(book),
            fonts,
            templates,
            data_id: file_id("/data.json"),
        }
    }

    /// Renders `template` with `data` (never pasted into markup: the template reads it with
    /// `json("data.json")`) into PDF bytes. The same data and date give the same bytes.
    pub fn render(
        &self,
        template: Template,
        data: &serde_json::Value,
        date: NaiveDate,
        ident: &str,
    ) -> Result<Vec<u8>> {
        let main = self.templates.iter().find(|t| t.0 == template).map(|t| t.1).expect("every template is loaded");
        let today = Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
            .ok_or_else(|| Error::Invalid(format!("date de document invalide {date}")))?;
        let job = Job { base: self, main, data: Bytes::new(data.to_string().into_bytes()), today };
        let document: PagedDocument = typst::compile(&job).output.map_err(|errors| {
            Error::Render(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; "))
        })?;
        let options = typst_pdf::PdfOptions {
            ident: Smart::Custom(ident.to_string()),
            creator: Smart::Custom(Some("Régie".to_string())),
            timestamp: Some(typst_pdf::Timestamp::new_utc(today)),
            ..typst_pdf::PdfOptions::default()
        };
        typst_pdf::pdf(&document, &options).map_err(|errors| {
            Error::Render(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; "))
        })
    }

    /// Drops Typst's memoized results: call after a batch (and after a failed render), or the
    /// cache grows with every document.
    pub fn evict() {
        comemo::evict(0);
    }
}

/// One render: the shared world plus this document's data.
struct Job<'a> {
    base: &'a Typesetter,
    main: FileId,
    data: Bytes,
    today: Datetime,
}

impl World for Job<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.base.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.base.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.base.templates.iter().find(|t| t.1 == id).map(|t| t.2.clone()).ok_or(FileError::NotSource)
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.base.data_id {
            return Ok(self.data.clone());
        }
        match self.base.templates.iter().find(|t| t.1 == id) {
            Some(t) => Ok(Bytes::from_string(t.2.clone())),
            None => Err(FileError::AccessDenied),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.base.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}
