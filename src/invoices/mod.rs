//! Invoices: the documents of the ledger (invoices, credit notes) rendered to PDF with Typst,
//! from data passed as JSON, in one reusable world; credit notes issued in their own series.

pub mod world;

use std::path::Path;

use serde::Serialize;
use serde_json::json;

pub use world::{Template, Typesetter};

use crate::fees::School;
use crate::ledger::InvoiceSort;
use crate::ledger::{self, TUITION, VAT_MENTION};
use crate::money::Money;
use crate::page::{Page, PageQuery, given};
use crate::store::{self, Store};
use crate::{Error, Result};

/// One line of the invoices list.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export, rename = "Invoice")]
pub struct InvoiceItem {
    pub number: String,
    pub date: chrono::NaiveDate,
    pub student_number: String,
    pub session: String,
    pub total: Money,
    pub settled: Money,
    pub credited: Money,
    pub status: InvoiceStatus,
}

/// Where an invoice stands: credited in full, settled (nothing left on its installments), or open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum InvoiceStatus {
    Open,
    Settled,
    Credited,
}

impl InvoiceStatus {
    pub fn of(total: Money, credited: Money, left: Money) -> InvoiceStatus {
        if credited.is_positive() && credited >= total {
            InvoiceStatus::Credited
        } else if !left.is_positive() {
            InvoiceStatus::Settled
        } else {
            InvoiceStatus::Open
        }
    }
}

pub async fn list(store: &Store, session: Option<&str>) -> Result<Vec<InvoiceItem>> {
    let rows = store::invoices::list(&mut *store.read().await?, session).await?;
    Ok(rows.into_iter().map(item).collect())
}

fn item(r: store::invoices::InvoiceListRow) -> InvoiceItem {
    InvoiceItem {
        number: r.number,
        date: r.date,
        student_number: r.student_number,
        session: r.session,
        total: Money::from_cents(r.total_cents),
        settled: Money::from_cents(r.settled_cents),
        credited: Money::from_cents(r.credited_cents),
        status: InvoiceStatus::of(
            Money::from_cents(r.total_cents),
            Money::from_cents(r.credited_cents),
            Money::from_cents(r.left_cents),
        ),
    }
}

/// What Factures asks for: a window of the invoices of a session, a status (`open`, `settled`,
/// `credited`), dated between `from` and `to` (YYYY-MM-DD), whose number or student holds
/// `search`; each all when none. Sorted by `sort` (`number` by default). As typed: the core
/// checks it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct InvoiceQuery {
    pub session: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// One window of the invoices, the count of all the filter keeps, and the sessions to filter by.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct InvoicePage {
    #[serde(flatten)]
    pub page: Page<InvoiceItem>,
    pub sessions: Vec<String>,
}

/// A window of the invoices the query keeps: the database filters (by state too), searches,
/// sorts, counts and cuts the window, and totals only the window's invoices.
pub async fn page(store: &Store, q: &InvoiceQuery) -> Result<InvoicePage> {
    let window = q.page.window()?;
    let day = |v: &Option<String>, what: &str| {
        given(v)
            .map(|d| {
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| Error::Invalid(format!("date {what} illisible : « {d} » (AAAA-MM-JJ)")))
            })
            .transpose()
    };
    let status = match given(&q.status) {
        None => None,
        Some("open") => Some(InvoiceStatus::Open),
        Some("settled") => Some(InvoiceStatus::Settled),
        Some("credited") => Some(InvoiceStatus::Credited),
        Some(other) => return Err(Error::Invalid(format!("état inconnu « {other} » (open, settled, credited)"))),
    };
    let search = q.page.search();
    let filter = store::invoices::InvoiceFilter {
        session: given(&q.session),
        from: day(&q.from, "de début")?,
        to: day(&q.to, "de fin")?,
        search: search.as_ref(),
        state: status.map(|s| match s {
            InvoiceStatus::Open => store::invoices::InvoiceState::Open,
            InvoiceStatus::Settled => store::invoices::InvoiceState::Settled,
            InvoiceStatus::Credited => store::invoices::InvoiceState::Credited,
        }),
    };
    let sort: InvoiceSort = q.page.sort()?;
    let mut conn = store.read().await?;
    let total = match q.page.counted() {
        true => Some(store::invoices::count_matching(&mut conn, &filter).await?),
        false => None,
    };
    let rows =
        store::invoices::window(&mut conn, &filter, sort, q.page.descending, window.offset(), window.limit()).await?;
    let page = Page { total, offset: window.offset(), rows: rows.into_iter().map(item).collect() };
    let sessions = store::invoices::sessions(&mut conn).await?;
    Ok(InvoicePage { page, sessions })
}

fn fr_date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A percentage in basis points, French style: 0 -> "0", 550 -> "5,5".
fn percent(bp: i64) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 { whole.to_string() } else { format!("{whole},{}", format!("{frac:02}").trim_end_matches('0')) }
}

async fn school_json(conn: &mut store::Conn, school: &str) -> Result<serde_json::Value> {
    let s = store::settings::settings_for(conn, school.parse::<School>()?).await?;
    Ok(json!({
        "issuer": ledger::ISSUER, "name": s.name, "address": s.address, "iban": s.iban, "bic": s.bic,
        "holder": "Clermont Auvergne INP", "domiciliation": s.domiciliation,
    }))
}

/// The session as documents print it: its full label when the office recorded one (which the
/// portal starts with the code), the code otherwise.
fn session_text(code: &str, label: Option<&str>) -> String {
    match label {
        Some(l) if l.starts_with(code) => l.to_string(),
        Some(l) => format!("{code} - {l}"),
        None => code.to_string(),
    }
}

/// The data an invoice prints, as the template reads it. Amounts are French strings.
pub async fn invoice_data(store: &Store, number: &str) -> Result<(serde_json::Value, chrono::NaiveDate)> {
    let mut conn = store.read().await?;
    let doc = store::invoices::invoice_doc(&mut conn, number)
        .await?
        .ok_or_else(|| Error::InvoiceNotFound(number.to_string()))?;
    let lines = store::invoices::invoice_lines(&mut conn, doc.id).await?;
    let excl: Money = lines.iter().map(|l| Money::from_cents(l.excl_vat_cents)).sum();
    let vat: Money = lines.iter().map(|l| Money::from_cents(l.vat_cents)).sum();
    let data = json!({
        "school": school_json(&mut conn, &doc.school).await?,
        "number": doc.number,
        "date": fr_date(doc.date),
        "label": doc.label,
        "session": session_text(&doc.session, doc.session_label.as_deref()),
        "client": format!("{} {}", doc.last_name, doc.first_name),
        "student_number": doc.student_number,
        "lines": lines.iter().map(|l| json!({
            "designation": l.designation,
            "enrolled": format!("{} {}", doc.last_name.to_uppercase(), doc.first_name),
            "quantity": l.quantity.to_string(),
            "discount": percent(l.discount_bp),
            "vat": percent(l.vat_bp),
            "amount": Money::from_cents(l.excl_vat_cents).to_french_number(),
        })).collect::<Vec<_>>(),
        "total_excl": excl.to_french_number(),
        "total_vat": vat.to_french_number(),
        "total_incl": (excl + vat).to_french_number(),
        "vat_mention": VAT_MENTION,
    });
    Ok((data, doc.date))
}

pub async fn credit_note_data(store: &Store, number: &str) -> Result<(serde_json::Value, chrono::NaiveDate)> {
    let mut conn = store.read().await?;
    let doc = store::invoices::credit_note_doc(&mut conn, number)
        .await?
        .ok_or_else(|| Error::Invalid(format!("avoir {number} introuvable")))?;
    let data = json!({
        "school": school_json(&mut conn, &doc.school).await?,
        "number": doc.number,
        "date": fr_date(doc.date),
        "invoice_number": doc.invoice_number,
        "invoice_date": fr_date(doc.invoice_date),
        "session": session_text(&doc.session, doc.session_label.as_deref()),
        "client": format!("{} {}", doc.last_name, doc.first_name),
        "student_number": doc.student_number,
        "reason": doc.reason,
        "designation": TUITION,
        "amount": Money::from_cents(doc.amount_cents).to_french_number(),
        "vat_mention": VAT_MENTION,
    });
    Ok((data, doc.date))
}

/// The account position as the statement template prints it: every cell a French string.
pub async fn account_data(store: &Store, number: &str, date: chrono::NaiveDate) -> Result<serde_json::Value> {
    let pos = ledger::account_position(store, number).await?;
    let school = school_json(&mut *store.read().await?, pos.student.school.code()).await?;
    let e = |m: Money| m.to_french();
    let d = fr_date;
    let methods = method_label;
    let od = |o: Option<chrono::NaiveDate>| o.map(fr_date).unwrap_or_default();
    let t = &pos.totals;
    Ok(json!({
        "school": school,
        "date": d(date),
        "client": format!("{} {}", pos.student.last_name, pos.student.first_name),
        "student_number": pos.student.number,
        "orders": pos.orders.iter().map(|o| [d(o.date), o.number.clone(), od(o.settled_on), if o.blocked { "Oui" } else { "Non" }.to_string(), e(o.excl_vat), e(o.vat), e(o.incl_vat), e(o.financed), e(o.invoiced)]).collect::<Vec<_>>(),
        "orders_total": ["Total", "", "", "", e(t.orders_excl_vat), e(t.orders_vat), e(t.orders_incl_vat), e(t.orders_financed), e(t.orders_invoiced)],
        "invoices": pos.invoices.iter().map(|i| [d(i.date), i.number.clone(), od(i.settled_on), e(i.excl_vat), e(i.vat), e(i.incl_vat), e(i.credit_notes), e(i.settled), e(i.refunded)]).collect::<Vec<_>>(),
        "invoices_total": ["Total", "", "", e(t.invoices_excl_vat), e(t.invoices_vat), e(t.invoices_incl_vat), e(t.invoices_credit_notes), e(t.invoices_settled), e(t.invoices_refunded)],
        "payments": pos.payments.iter().map(|p| [d(p.date), p.reference.clone(), methods(p.method).to_string(), e(p.amount), e(p.allocated), e(p.unpaid)]).collect::<Vec<_>>(),
        "payments_total": ["Total", "", "", e(t.payments_amount), e(t.payments_allocated), e(t.payments_unpaid)],
        "credit_notes": pos.credit_notes.iter().map(|c| [d(c.date), c.number.clone(), c.invoice_number.clone(), e(c.amount), c.reason.clone()]).collect::<Vec<_>>(),
        "credit_notes_total": ["Total", "", "", e(t.credit_notes), ""],
        "refunds": pos.refunds.iter().map(|r| [d(r.date), e(r.amount), refund_status(r.status).to_string()]).collect::<Vec<_>>(),
        "refunds_total": ["Total", e(t.refunds), ""],
        "summary": {
            "debit": e(pos.summary.debit),
            "credit": e(pos.summary.credit),
            "balance": e(pos.summary.balance),
            "position": e(pos.summary.balance),
            "kind": position_kind(pos.summary.position),
        },
    }))
}

/// The account position as plain text, from the same data the PDF prints: the five tables with
/// their totals, then the summary. Columns are padded to their widest cell.
pub async fn account_text(store: &Store, number: &str, date: chrono::NaiveDate) -> Result<String> {
    let data = account_data(store, number, date).await?;
    let cells = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default()
    };
    let mut out = format!(
        "{} — {}\nPosition de compte de {} ({}) au {}\n",
        data["school"]["issuer"].as_str().unwrap_or_default(),
        data["school"]["name"].as_str().unwrap_or_default(),
        data["client"].as_str().unwrap_or_default(),
        data["student_number"].as_str().unwrap_or_default(),
        data["date"].as_str().unwrap_or_default(),
    );
    for (title, key, headers, numeric) in ACCOUNT_TABLES {
        out.push_str(&format!("\n{title}\n"));
        let rows: Vec<Vec<String>> = data[key].as_array().map(|r| r.iter().map(cells).collect()).unwrap_or_default();
        if rows.is_empty() {
            out.push_str("  Aucune ligne\n");
            continue;
        }
        let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let total = cells(&data[format!("{key}_total").as_str()]);
        out.push_str(&text_table(&header, &rows, &total, numeric));
    }
    let s = &data["summary"];
    out.push_str(&format!(
        "\nDébit {}   Crédit {}   Solde {}   Position {} ({})\n",
        s["debit"].as_str().unwrap_or_default(),
        s["credit"].as_str().unwrap_or_default(),
        s["balance"].as_str().unwrap_or_default(),
        s["position"].as_str().unwrap_or_default(),
        s["kind"].as_str().unwrap_or_default(),
    ));
    Ok(out)
}

/// The position's tables: title, data key, headers, numeric columns (right-aligned). The PDF
/// template prints the same.
const ACCOUNT_TABLES: [(&str, &str, &[&str], &[usize]); 5] = [
    (
        "Commandes",
        "orders",
        &["Date", "Numéro", "Solde", "Bloquée", "Montant HT", "TVA", "Montant TTC", "Financé", "Facturé"],
        &[4, 5, 6, 7, 8],
    ),
    (
        "Factures",
        "invoices",
        &["Date", "Numéro", "Solde", "Montant HT", "TVA", "Montant TTC", "Avoirs", "Réglé", "Remboursé"],
        &[3, 4, 5, 6, 7, 8],
    ),
    ("Règlements", "payments", &["Date", "Référence", "Mode", "Montant", "Affecté", "Impayé"], &[3, 4, 5]),
    ("Avoirs", "credit_notes", &["Date", "Numéro", "Facture", "Montant", "Motif"], &[3]),
    ("Remboursements", "refunds", &["Date", "Montant", "Statut"], &[1]),
];

fn text_table(header: &[String], rows: &[Vec<String>], total: &[String], numeric: &[usize]) -> String {
    let width = |i: usize| {
        std::iter::once(header)
            .chain(rows.iter().map(Vec::as_slice))
            .chain(std::iter::once(total))
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |r: &[String]| {
        let cells: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let c = r.get(i).map(String::as_str).unwrap_or("");
                let pad = " ".repeat(w.saturating_sub(c.chars().count()));
                if numeric.contains(&i) { format!("{pad}{c}") } else { format!("{c}{pad}") }
            })
            .collect();
        format!("  {}\n", cells.join("  ").trim_end())
    };
    let mut out = line(header);
    out.push_str(&format!("  {}\n", "-".repeat(widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1))));
    for r in rows {
        out.push_str(&line(r));
    }
    out.push_str(&line(total));
    out
}

/// The payment method as the position prints it.
pub fn method_label(m: ledger::PaymentMethod) -> &'static str {
    match m {
        ledger::PaymentMethod::Card => "Carte",
        ledger::PaymentMethod::Debit => "Prélèvement",
        ledger::PaymentMethod::Transfer => "Virement",
        ledger::PaymentMethod::Other => "Autre",
    }
}

pub fn refund_status(s: ledger::RefundStatus) -> &'static str {
    match s {
        ledger::RefundStatus::Paid => "Payé",
        ledger::RefundStatus::ToPay => "À payer",
        ledger::RefundStatus::Cancelled => "Annulé",
    }
}

pub fn position_kind(k: ledger::position::PositionKind) -> &'static str {
    match k {
        ledger::position::PositionKind::Debtor => "Débiteur",
        ledger::position::PositionKind::Creditor => "Créditeur",
        ledger::position::PositionKind::Settled => "Soldé",
    }
}

/// Renders a student's account statement (as of `date`) to PDF bytes.
pub async fn render_account(
    store: &Store,
    typesetter: &Typesetter,
    number: &str,
    date: chrono::NaiveDate,
) -> Result<Vec<u8>> {
    let data = account_data(store, number, date).await?;
    let pdf = typesetter.render(Template::Account, &data, date, &format!("position-{number}"));
    if pdf.is_err() {
        Typesetter::evict();
    }
    pdf
}

/// Several invoices in one PDF, one per page, in the order given.
pub async fn render_merged(store: &Store, typesetter: &Typesetter, numbers: &[String]) -> Result<Vec<u8>> {
    let mut all = Vec::with_capacity(numbers.len());
    let mut last = None;
    for n in numbers {
        let (data, date) = invoice_data(store, n).await?;
        last = last.max(Some(date));
        all.push(data);
    }
    let date = last.unwrap_or_else(|| chrono::Local::now().date_naive());
    let ident = format!("factures-{}-{}", numbers.first().map(String::as_str).unwrap_or(""), numbers.len());
    // Hundreds of invoices take seconds: the other tasks go on meanwhile.
    let pdf = crate::blocking(|| typesetter.render(Template::Invoices, &serde_json::Value::Array(all), date, &ident));
    Typesetter::evict();
    pdf
}

/// The schedule letter of an invoice: its installments and, for transfers, the bank details and
/// the reference the student must write ("NOM Prénom+ISIMA+F.I").
pub async fn schedule_data(store: &Store, number: &str) -> Result<(serde_json::Value, chrono::NaiveDate)> {
    let (invoice, date) = invoice_data(store, number).await?;
    let mut conn = store.read().await?;
    let plan = store::invoices::plan_of_invoice(&mut conn, number).await?;
    let doc = store::invoices::invoice_doc(&mut conn, number)
        .await?
        .ok_or_else(|| Error::InvoiceNotFound(number.to_string()))?;
    let settings = store::settings::settings_for(&mut conn, doc.school.parse::<School>()?).await?;
    drop(conn);
    // The transfers' deadline is the one of the academic year the invoice belongs to.
    let deadline = crate::plans::deadline_for(doc.date, &settings.plan_rules());
    let pos = ledger::account_position(store, &doc.student_number).await?;
    let lines: Vec<_> = pos
        .schedule
        .iter()
        .filter(|l| l.invoice_number == number && l.status != ledger::InstallmentStatus::Cancelled)
        .collect();
    let left_total: Money = lines.iter().map(|l| l.left_to_pay).sum();
    let data = json!({
        "school": invoice["school"],
        "date": fr_date(chrono::Local::now().date_naive()),
        "client": invoice["client"],
        "student_number": invoice["student_number"],
        "invoice_number": number,
        "invoice_date": invoice["date"],
        "session": invoice["session"],
        "total": invoice["total_incl"],
        "installments": lines.iter().enumerate().map(|(k, l)| json!({
            "n": (k + 1).to_string(),
            "due_date": fr_date(l.due_date),
            "amount": l.amount.to_french_number(),
            "left": l.left_to_pay.to_french_number(),
        })).collect::<Vec<_>>(),
        "left_total": left_total.to_french_number(),
        "transfer": plan.as_deref() == Some(crate::plans::PlanKind::Transfer.code()),
        "deadline": fr_date(deadline),
        "reference": format!("{} {}+{}+F.I", doc.last_name.to_uppercase(), doc.first_name, doc.school),
    });
    Ok((data, date))
}

pub async fn render_schedule(store: &Store, typesetter: &Typesetter, number: &str) -> Result<Vec<u8>> {
    let (data, date) = schedule_data(store, number).await?;
    let pdf = typesetter.render(Template::Schedule, &data, date, &format!("echeancier-{number}"));
    if pdf.is_err() {
        Typesetter::evict();
    }
    pdf
}

/// Renders an issued invoice to PDF bytes. The same invoice gives the same bytes.
pub async fn render_invoice(store: &Store, typesetter: &Typesetter, number: &str) -> Result<Vec<u8>> {
    let (data, date) = invoice_data(store, number).await?;
    let pdf = typesetter.render(Template::Invoice, &data, date, number);
    if pdf.is_err() {
        Typesetter::evict();
    }
    pdf
}

pub async fn render_credit_note(store: &Store, typesetter: &Typesetter, number: &str) -> Result<Vec<u8>> {
    let (data, date) = credit_note_data(store, number).await?;
    let pdf = typesetter.render(Template::CreditNote, &data, date, number);
    if pdf.is_err() {
        Typesetter::evict();
    }
    pdf
}

/// Renders every invoice of a session (or all) into `dir`, one file each (`F2025-00012.pdf`).
/// `progress(done, total)` after each; `cancelled()` is checked between documents. The cache is
/// evicted at the end, whatever happened.
pub async fn render_all(
    store: &Store,
    typesetter: &Typesetter,
    session: Option<&str>,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
    cancelled: &(dyn Fn() -> bool + Send + Sync),
) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    let items = list(store, session).await?;
    let mut done = 0;
    let result = async {
        for item in &items {
            if cancelled() {
                break;
            }
            let pdf = render_invoice(store, typesetter, &item.number).await?;
            let path = dir.join(format!("{}.pdf", item.number));
            std::fs::write(&path, pdf).map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
            done += 1;
            progress(done, items.len());
        }
        Ok(done)
    }
    .await;
    Typesetter::evict();
    result
}

#[derive(Debug, Clone, Serialize)]
pub struct IssuedCreditNote {
    pub number: String,
    pub amount: Money,
}

/// Issues a credit note on an invoice, with its reason, in its own gapless series. Audited.
pub async fn issue_credit_note(
    store: &Store,
    invoice: &str,
    amount: Money,
    reason: &str,
    actor: &str,
) -> Result<IssuedCreditNote> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid("un motif est obligatoire pour un avoir".into()));
    }
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    crate::users::require(&mut tx, actor, crate::users::Restricted::CreditNote).await?;
    let totals = store::invoices::invoice_totals(&mut tx, invoice)
        .await?
        .ok_or_else(|| Error::InvoiceNotFound(invoice.to_string()))?;
    let date = chrono::Local::now().date_naive();
    let number = ledger::issue_credit_note(&mut tx, &totals, amount, date, reason, actor).await?.number;
    tx.commit().await?;
    Ok(IssuedCreditNote { number, amount })
}

#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub file: String,
    pub bytes: usize,
}

/// Renders an invoice into the exports folder (`F2025-00012.pdf`).
pub async fn export_invoice(store: &Store, typesetter: &Typesetter, number: &str) -> Result<Written> {
    let pdf = render_invoice(store, typesetter, number).await?;
    write_export(&format!("{number}.pdf"), &pdf)
}

/// Renders a student's account statement into the exports folder.
pub async fn export_account(store: &Store, typesetter: &Typesetter, student: &str) -> Result<Written> {
    let today = chrono::Local::now().date_naive();
    let pdf = render_account(store, typesetter, student, today).await?;
    write_export(&format!("position-{student}-{}.pdf", today.format("%Y%m%d")), &pdf)
}

fn write_export(name: &str, pdf: &[u8]) -> Result<Written> {
    let path = crate::exports_dir()?.join(name);
    std::fs::write(&path, pdf).map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
    Ok(Written { file: path.display().to_string(), bytes: pdf.len() })
}

/// Renders a selection of invoices into a new folder of the exports folder, reporting progress
/// and stopping between documents when `cancelled()` says so.
pub async fn export_selection(
    store: &Store,
    typesetter: &Typesetter,
    numbers: &[String],
    progress: &(dyn Fn(usize, usize) + Send + Sync),
    cancelled: &(dyn Fn() -> bool + Send + Sync),
) -> Result<Written> {
    let dir = crate::exports_dir()?.join(format!("factures-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    let mut done = 0;
    let result = async {
        for number in numbers {
            if cancelled() {
                break;
            }
            let pdf = render_invoice(store, typesetter, number).await?;
            let path = dir.join(format!("{number}.pdf"));
            std::fs::write(&path, pdf).map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
            done += 1;
            progress(done, numbers.len());
        }
        Ok(Written { file: dir.display().to_string(), bytes: done })
    }
    .await;
    Typesetter::evict();
    result
}

/// Renders a selection into one merged PDF in the exports folder.
pub async fn export_merged(store: &Store, typesetter: &Typesetter, numbers: &[String]) -> Result<Written> {
    let pdf = render_merged(store, typesetter, numbers).await?;
    write_export(&format!("factures-{}.pdf", chrono::Local::now().format("%Y%m%d-%H%M%S")), &pdf)
}
