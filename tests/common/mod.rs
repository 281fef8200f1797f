//! Shared helpers for the integration tests: a fresh database file per test, the real `regie`
//! binary, and registration files written the way the portal and Excel write them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use regie::Store;
use regie::store::Pool;

static NEXT: AtomicU32 = AtomicU32::new(0);
static SWEPT: std::sync::Once = std::sync::Once::new();

/// A new empty folder for one test: `<temp>/regie-tests/<process>-<tag>-<n>`, unique to this
/// test process and call. The first call of a process removes the folders of test processes
/// that have ended more than an hour ago: a failed test's files stay for inspection, and the
/// folders no longer pile up (13,000 of them had filled a machine's disk).
pub fn temp_dir(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join("regie-tests");
    SWEPT.call_once(|| {
        sweep(&root, "");
        // Where earlier builds put theirs.
        sweep(&std::env::temp_dir(), "regie-test-");
    });
    let dir = root.join(format!("{}-{}-{}", std::process::id(), tag, NEXT.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Removes the folders in `parent` named `<prefix><process>-…` whose process has ended and that
/// nothing changed for an hour. Only where a process's liveness can be read (`/proc/<id>` on
/// Linux); elsewhere they stay.
fn sweep(parent: &Path, prefix: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
        let Some(process) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let idle = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|e| e > std::time::Duration::from_secs(3600)));
        if idle && process != std::process::id() && !Path::new(&format!("/proc/{process}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Where a test's database lives: the SQLite file `dir/NAME.sqlite`; or, when the test command
/// started a PostgreSQL server and named it in `REGIE_TEST_POSTGRES` (`postgres://user:pw@host:port`),
/// a new empty database on it, named after `dir` and `name`. Every integration test runs once
/// on each engine this way.
pub fn db_at(dir: &Path, name: &str) -> PathBuf {
    let Some(server) = std::env::var("REGIE_TEST_POSTGRES").ok().filter(|s| !s.is_empty()) else {
        return dir.join(format!("{name}.sqlite"));
    };
    let base = dir.file_name().unwrap().to_string_lossy().replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let mut db = format!("{base}_{name}").to_ascii_lowercase();
    if db.len() > 60 {
        // PostgreSQL keeps 63 bytes of a name: keep the unique tail (process id and counter).
        db = db[db.len() - 60..].to_string();
    }
    let db = format!("t{db}");
    let server = server.trim_end_matches('/');
    let out = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-q", "-c", &format!("CREATE DATABASE {db}")])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "create database {db}: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(format!("{server}/{db}"))
}

/// What `--db` takes for a store's database.
pub fn db_of(store: &Store) -> PathBuf {
    store.location().as_arg()
}

/// The rows a read-only query gives, on whichever engine the store runs (the SQL must suit both).
pub async fn rows<T>(store: &Store, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    T: Send + Unpin,
{
    let rows = match store.pool() {
        Pool::Sqlite(p) => sqlx::query_as(sql).fetch_all(&mut *p.acquire().await.unwrap()).await,
        Pool::Postgres(p) => sqlx::query_as(sql).fetch_all(&mut *p.acquire().await.unwrap()).await,
    };
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The one row a query gives.
pub async fn one<T>(store: &Store, sql: &'static str) -> T
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    T: Send + Unpin,
{
    let mut all = rows(store, sql).await;
    assert_eq!(all.len(), 1, "{sql}: one row expected");
    all.remove(0)
}

/// Runs a statement outside the application, as a hand-written one would be: how many rows it
/// changed, or the database's refusal.
pub async fn exec(store: &Store, sql: &'static str) -> Result<u64, sqlx::Error> {
    match store.pool() {
        Pool::Sqlite(p) => sqlx::query(sql).execute(&mut *p.acquire().await?).await.map(|r| r.rows_affected()),
        Pool::Postgres(p) => sqlx::query(sql).execute(&mut *p.acquire().await?).await.map(|r| r.rows_affected()),
    }
}

/// A fresh database, migrated and seeded.
pub async fn fresh_store(tag: &str) -> Store {
    let dir = temp_dir(tag);
    Store::open(&db_at(&dir, "regie")).await.expect("open store")
}

pub struct CliOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn json(&self) -> serde_json::Value {
        assert!(self.ok, "command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the real `regie` binary on `db`, as `test-comptable` unless `args` name a `--user`.
pub fn regie(db: &Path, args: &[&str]) -> CliOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regie"));
    cmd.arg("--db").arg(db);
    if !args.contains(&"--user") {
        cmd.args(["--user", "test-comptable"]);
    }
    let out = cmd.args(args).output().expect("run regie");
    CliOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub const HEADER_FR: [&str; 14] = [
    "Numéro",
    "Nom",
    "Prénom",
    "Email",
    "Ecole",
    "Formation",
    "Année",
    "Situation",
    "Echéancier",
    "Date demande",
    "Montant",
    "Extra UE",
    "Attestation de bourse",
    "Première année ici",
];

/// Registration rows (as text cells) for a small, varied promotion.
pub fn registration_rows() -> Vec<[&'static str; 14]> {
    vec![
        [
            "22001001",
            "Durand",
            "Léa",
            "lea.durand@etu.uca.fr",
            "ISIMA",
            "P2526_ISI_1A",
            "1",
            "01",
            "3",
            "05/09/2025",
            "",
            "non",
            "",
            "",
        ],
        [
            "22001002",
            "Benali",
            "Amine",
            "amine.benali@etu.uca.fr",
            "ISIMA",
            "P2526_ISI_1A",
            "1",
            "05",
            "virement",
            "2025-09-02",
            "",
            "oui",
            "",
            "",
        ],
        [
            "22001003",
            "O'Brien",
            "*Éloïse* [x]",
            "eloise@etu.uca.fr",
            "POLYTECH",
            "P2223_Y3_3A",
            "3",
            "05",
            "6",
            "01/09/2022",
            "3 770,00",
            "oui",
            "",
            "non",
        ],
        [
            "22001004",
            "Petit",
            "Hugo",
            "hugo.petit@etu.uca.fr",
            "POLYTECH",
            "P2526_Y4_4A",
            "4",
            "02",
            "1",
            "03/09/2025",
            "",
            "non",
            "non",
            "",
        ],
        [
            "22001005",
            "Moreau",
            "Chloé",
            "chloe.moreau@etu.uca.fr",
            "POLYTECH",
            "P2526_Y3_3A",
            "3",
            "01",
            "six",
            "04/09/2025",
            "",
            "",
            "",
            "",
        ],
    ]
}

/// Writes the rows as a `;` CSV in Windows-1252, the way Excel saves it on a French Windows.
pub fn write_csv_1252(path: &Path, rows: &[[&str; 14]]) {
    let mut text = HEADER_FR.join(";");
    text.push_str("\r\n");
    for r in rows {
        text.push_str(&r.join(";"));
        text.push_str("\r\n");
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    std::fs::write(path, bytes).expect("write csv");
}

/// Writes the rows as a real xlsx workbook, with the dates as spreadsheet dates and the
/// student numbers as numbers, as the portal's export does.
pub fn write_xlsx(path: &Path, rows: &[[&str; 14]]) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in HEADER_FR.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            if c == 0 {
                ws.write_number(r, c, v.parse::<f64>().unwrap()).unwrap();
            } else if c == 9 {
                let d = regie::sheets::parse_date(v).unwrap();
                let dt = ExcelDateTime::from_ymd(
                    d.format("%Y").to_string().parse().unwrap(),
                    d.format("%m").to_string().parse().unwrap(),
                    d.format("%d").to_string().parse().unwrap(),
                )
                .unwrap();
                ws.write_datetime_with_format(r, c, &dt, &date_format).unwrap();
            } else if !v.is_empty() {
                ws.write_string(r, c, *v).unwrap();
            }
        }
    }
    wb.save(path).expect("save xlsx");
}

/// Writes a minimal OpenDocument spreadsheet, as LibreOffice saves one: `rows` of cells, where a
/// cell starting with `=` is written as a number (`=1630.5`), `@` as a date (`@2025-09-08`) and
/// `~` as a time (`~14:02:11`).
pub fn write_ods(path: &Path, rows: &[Vec<&str>]) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut table = String::new();
    for r in rows {
        table.push_str("<table:table-row>");
        for c in r {
            if let Some(n) = c.strip_prefix('=') {
                table.push_str(&format!(r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{n}</text:p></table:table-cell>"#));
            } else if let Some(d) = c.strip_prefix('@') {
                table.push_str(&format!(r#"<table:table-cell office:value-type="date" office:date-value="{d}"><text:p>{d}</text:p></table:table-cell>"#));
            } else if let Some(t) = c.strip_prefix('~') {
                let hms: Vec<&str> = t.split(':').collect();
                let iso = format!("PT{}H{}M{}S", hms[0], hms[1], hms[2]);
                table.push_str(&format!(r#"<table:table-cell office:value-type="time" office:time-value="{iso}"><text:p>{t}</text:p></table:table-cell>"#));
            } else if c.is_empty() {
                table.push_str("<table:table-cell/>");
            } else {
                table.push_str(&format!(
                    r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
                    esc(c)
                ));
            }
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Relevé">{table}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    zip.start_file("content.xml", stored).unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
}

/// Writes text as Windows-1252 bytes.
pub fn write_1252(path: &Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable, "text not representable in Windows-1252");
    std::fs::write(path, bytes).unwrap();
}

/// A registration row in the portal's column order (see `HEADER_FR`).
pub type Row = [&'static str; 14];

#[rustfmt::skip]
pub const LEA_DURAND: Row = ["25000001", "Durand", "Léa", "lea@etu.uca.fr", "ISIMA", "P2526_ISI_1A", "1", "05", "virement", "01/09/2025", "", "oui", "", ""];
#[rustfmt::skip]
pub const PAUL_DURAND: Row = ["25000002", "Durand", "Paul", "paul@etu.uca.fr", "POLYTECH", "P2526_Y3_3A", "3", "01", "3", "01/09/2025", "", "non", "", ""];
#[rustfmt::skip]
pub const AMINE_BENALI: Row = ["25000003", "Benali", "Amine", "amine@etu.uca.fr", "ISIMA", "P2526_ISI_1A", "1", "05", "virement", "01/09/2025", "", "oui", "", ""];
/// 3879 in six, Polytech 2025-26.
#[rustfmt::skip]
pub const CHLOE_MOREAU: Row = ["25000004", "Moreau", "Chloé", "chloe@etu.uca.fr", "POLYTECH", "P2526_Y3_3A", "3", "05", "6", "01/09/2025", "", "oui", "", ""];
/// 3770 in six, Polytech 2022-23: DOMAIN.md's worked example.
#[rustfmt::skip]
pub const CHLOE_MOREAU_2022: Row = ["22000004", "Moreau", "Chloé", "chloe@etu.uca.fr", "POLYTECH", "P2223_Y3_3A", "3", "05", "6", "01/09/2022", "", "oui", "", ""];

/// Imports `rows` into a fresh database and approves every request, on 5 September of its
/// academic year, as `paul`. Returns the store and the test's folder.
pub async fn approved(tag: &str, rows: &[Row]) -> (Store, PathBuf) {
    let dir = temp_dir(tag);
    let file = dir.join("inscriptions.csv");
    write_csv_1252(&file, rows);
    let store = Store::open(&db_at(&dir, "r")).await.expect("open store");
    regie::requests::import::import_file(&store, &file, "test").await.expect("import");
    for r in regie::requests::list(&store, Some(regie::requests::RequestStatus::Pending)).await.expect("list") {
        let year = regie::fees::AcademicYear::from_session(&r.session).map(|y| y.start_year() as i32).unwrap_or(2025);
        let date = chrono::NaiveDate::from_ymd_opt(year, 9, 5).expect("valid");
        regie::requests::review::approve(&store, r.id, date, "paul").await.expect("approve");
    }
    (store, dir)
}

/// Records a payment from a student through the ledger, in its own transaction, as the card
/// channel or a confirmed transfer would.
pub async fn pay(
    store: &Store,
    number: &str,
    date: chrono::NaiveDate,
    amount: regie::Money,
    method: regie::ledger::PaymentMethod,
) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let student =
        regie::store::students::by_number(&mut tx, &regie::ledger::StudentNumber::parse(number).expect("number"))
            .await
            .expect("read")
            .expect("student exists");
    let id = regie::ledger::record_payment(&mut tx, &student, date, amount, method, "PAIEMENT", "paul")
        .await
        .expect("payment");
    tx.commit().await.expect("commit");
    id
}

/// Writes `rows` as a real xlsx workbook with the `write_ods` conventions: `=1630.5` is a number,
/// `@2025-09-08` a spreadsheet date, `~14:02:11` a time, anything else text.
pub fn write_xlsx_rows(path: &Path, rows: &[Vec<&str>]) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    let time_format = Format::new().set_num_format("hh:mm:ss");
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if let Some(n) = v.strip_prefix('=') {
                ws.write_number(r, c, n.parse::<f64>().expect("a number")).unwrap();
            } else if let Some(d) = v.strip_prefix('@') {
                let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("an ISO date");
                let dt = ExcelDateTime::from_ymd(
                    d.format("%Y").to_string().parse().unwrap(),
                    d.format("%m").to_string().parse().unwrap(),
                    d.format("%d").to_string().parse().unwrap(),
                )
                .unwrap();
                ws.write_datetime_with_format(r, c, &dt, &date_format).unwrap();
            } else if let Some(t) = v.strip_prefix('~') {
                let hms: Vec<u8> = t.split(':').map(|x| x.parse().expect("a time")).collect();
                let time = ExcelDateTime::from_hms(hms[0].into(), hms[1], hms[2]).unwrap();
                ws.write_datetime_with_format(r, c, &time, &time_format).unwrap();
            } else if let Some(t) = v.strip_prefix('~') {
                let hms: Vec<u8> = t.split(':').map(|x| x.parse().expect("a time")).collect();
                let time = ExcelDateTime::from_hms(hms[0].into(), hms[1], hms[2]).unwrap();
                ws.write_datetime_with_format(r, c, &time, &time_format).unwrap();
            } else if !v.is_empty() {
                ws.write_string(r, c, *v).unwrap();
            }
        }
    }
    wb.save(path).expect("save xlsx");
}
