//! Bulk inserts and reads on SQLite through its C API: one statement prepared once, run once per
//! row with its values bound in place, inside the caller's transaction; or a query's rows read
//! where SQLite keeps them. For the widest rows of an import, and the index it reads first.
//!
//! sqlx copies every value into an argument buffer of its own before SQLite copies it again. Here
//! a row's texts are read where they lie, and one statement serves every row. The 100,000
//! transactions of the card benchmark's export (22 columns, mostly text), twelve imports each
//! way, interleaved: 444–546 ms (median 500) instead of 518–718 (median 630) through sqlx's
//! multi-row statements. Narrow rows gain nothing (the 87,225 payments: 177–213 ms against
//! 166–223), so they stay with sqlx.
//!
//! The rows are written on the caller's thread, which waits as it would for sqlx's worker.

use std::ffi::{CStr, c_char, c_int};
use std::fmt;
use std::ptr::{self, NonNull};

use chrono::{Datelike, NaiveDate};
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use sqlx::error::{DatabaseError, ErrorKind};

/// The values of one row, bound in the statement's order (`?1`, `?2`, …). Texts are borrowed
/// for `'r`, which outlives the statement: SQLite reads them where they lie.
pub(crate) struct Row<'r> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    next: c_int,
    rc: c_int,
    _texts: std::marker::PhantomData<&'r str>,
}

impl<'r> Row<'r> {
    fn done(&mut self, rc: c_int) -> &mut Self {
        if self.rc == ffi::SQLITE_OK {
            self.rc = rc;
        }
        self.next += 1;
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        // SAFETY: the statement is live for the whole insert; a parameter out of range is an
        // error code, not undefined behaviour.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), self.next, v) };
        self.done(rc)
    }

    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn text(&mut self, v: &'r str) -> &mut Self {
        // SAFETY (SQLITE_STATIC, no copy): `v` lives for `'r`, longer than the statement
        // (finalized before `per_row` returns).
        unsafe { self.bind_text(v, None) }
    }

    /// # Safety
    /// With `destructor` SQLITE_STATIC (`None`), `v` must outlive the statement.
    unsafe fn bind_text(&mut self, v: &str, destructor: ffi::sqlite3_destructor_type) -> &mut Self {
        // SAFETY: the statement is live; the length is given, so no NUL is needed; the caller
        // vouches for `v`'s lifetime.
        let rc = unsafe {
            ffi::sqlite3_bind_text64(
                self.stmt.as_ptr(),
                self.next,
                v.as_ptr().cast::<c_char>(),
                v.len() as u64,
                destructor,
                ffi::SQLITE_UTF8 as u8,
            )
        };
        self.done(rc)
    }

    pub fn opt_text(&mut self, v: Option<&'r str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A date as sqlx writes it (`%F`), so that every query reads it alike.
    pub fn date(&mut self, d: NaiveDate) -> &mut Self {
        let text = iso_date(d);
        // SAFETY: SQLITE_TRANSIENT: SQLite copies the text before this returns.
        unsafe { self.bind_text(&text, ffi::SQLITE_TRANSIENT()) }
    }

    pub fn opt_date(&mut self, d: Option<NaiveDate>) -> &mut Self {
        match d {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    pub fn null(&mut self) -> &mut Self {
        // SAFETY: as `int`.
        let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), self.next) };
        self.done(rc)
    }
}

/// A date as chrono's `%F` writes it: by hand for the years 0 to 9999 (every date an import
/// accepts), without chrono's formatting, which reads its pattern again on every call; chrono's
/// own text beyond.
fn iso_date(d: NaiveDate) -> String {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return d.format("%F").to_string();
    }
    let y = y as u32;
    let digits = [y / 1000, y / 100 % 10, y / 10 % 10, y % 10, 10, m / 10, m % 10, 10, day / 10, day % 10];
    digits.iter().map(|&v| if v == 10 { '-' } else { char::from(b'0' + v as u8) }).collect()
}

/// Runs `sql` (one row's INSERT or UPDATE, `?1`…) once per row of `rows`, `bind` giving its values, on the
/// connection's open transaction. Stops at the first row SQLite refuses, with its message: the
/// caller's transaction is then rolled back whole.
pub(crate) async fn per_row<'r, T>(
    conn: &mut SqliteConnection,
    sql: &str,
    rows: &'r [T],
    bind: impl Fn(&mut Row<'r>, &'r T),
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // Finalized however this ends, a panic in `bind` included.
    let stmt = prepare(db, sql)?;
    for r in rows {
        let mut row = Row { stmt: stmt.0, next: 1, rc: ffi::SQLITE_OK, _texts: std::marker::PhantomData };
        bind(&mut row, r);
        // SAFETY: the statement is live and bound; reset keeps the bindings, every one of which
        // the next row replaces.
        let rc = if row.rc != ffi::SQLITE_OK { row.rc } else { unsafe { ffi::sqlite3_step(stmt.0.as_ptr()) } };
        if rc != ffi::SQLITE_DONE {
            return Err(error(db, rc));
        }
        // SAFETY: as above.
        unsafe { ffi::sqlite3_reset(stmt.0.as_ptr()) };
    }
    Ok(())
}

/// One row of a query's result, read in place: a text borrowed from it lasts until the next row.
pub(crate) struct Columns {
    stmt: NonNull<ffi::sqlite3_stmt>,
}

impl Columns {
    /// The column's type: a value of another type than the reader expects is an error, as sqlx
    /// makes it, rather than SQLite's conversion (a NULL read as 0 or "").
    fn expect(&self, i: c_int, wanted: c_int) -> Result<(), sqlx::Error> {
        // SAFETY: the statement is live and on a row; a column out of range reads as NULL.
        match unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) } {
            t if t == wanted => Ok(()),
            ffi::SQLITE_NULL => Err(sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: Box::new(sqlx::error::UnexpectedNullError),
            }),
            t => Err(sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: format!("SQLite type {t} where {wanted} was expected").into(),
            }),
        }
    }

    pub fn int(&self, i: c_int) -> Result<i64, sqlx::Error> {
        self.expect(i, ffi::SQLITE_INTEGER)?;
        // SAFETY: the statement is live, on a row, and the column an integer.
        Ok(unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), i) })
    }

    /// The column as text, which must be UTF-8 as sqlx writes it.
    pub fn text(&self, i: c_int) -> Result<&str, sqlx::Error> {
        self.expect(i, ffi::SQLITE_TEXT)?;
        // SAFETY: the statement is live and on a text column; the pointer and length are read in
        // the order SQLite documents (text first), and stay valid until the next step, which
        // needs `&mut` access that the borrow of `self` forbids meanwhile. A null pointer for a
        // text is SQLite out of memory.
        let bytes = unsafe {
            let p = ffi::sqlite3_column_text(self.stmt.as_ptr(), i);
            if p.is_null() {
                return Err(sqlx::Error::ColumnDecode { index: i.to_string(), source: "out of memory".into() });
            }
            let n = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), i);
            std::slice::from_raw_parts(p, n.max(0) as usize)
        };
        std::str::from_utf8(bytes).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }

    pub fn opt_text(&self, i: c_int) -> Result<Option<&str>, sqlx::Error> {
        // SAFETY: as in `expect`.
        if unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) } == ffi::SQLITE_NULL {
            return Ok(None);
        }
        self.text(i).map(Some)
    }
}

/// Runs `sql` (a query without parameters) and hands each row of its result to `each`, on the
/// caller's thread: sqlx decodes every value into a row of its own on its worker and sends it
/// over, which for an index of 72,000 open installments cost more than SQLite's read. Stops at
/// `each`'s first error, or SQLite's.
pub(crate) async fn each_row(
    conn: &mut SqliteConnection,
    sql: &str,
    mut each: impl FnMut(&Columns) -> Result<(), sqlx::Error>,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let stmt = prepare(db, sql)?;
    loop {
        // SAFETY: the statement is live; its previous row is no longer borrowed.
        match unsafe { ffi::sqlite3_step(stmt.0.as_ptr()) } {
            ffi::SQLITE_ROW => each(&Columns { stmt: stmt.0 })?,
            ffi::SQLITE_DONE => return Ok(()),
            rc => return Err(error(db, rc)),
        }
    }
}

/// `sql` prepared on `db`, which must be a connection's open handle held locked (its worker
/// waits) for as long as the statement lives.
fn prepare(db: *mut ffi::sqlite3, sql: &str) -> Result<Finalized, sqlx::Error> {
    let mut stmt = ptr::null_mut();
    // SAFETY: `db` is open and ours while locked; `sql` is given with its length.
    let rc =
        unsafe { ffi::sqlite3_prepare_v3(db, sql.as_ptr().cast(), sql.len() as c_int, 0, &mut stmt, ptr::null_mut()) };
    match NonNull::new(stmt).filter(|_| rc == ffi::SQLITE_OK) {
        Some(stmt) => Ok(Finalized(stmt)),
        None => Err(error(db, rc)),
    }
}

struct Finalized(NonNull<ffi::sqlite3_stmt>);

impl Drop for Finalized {
    fn drop(&mut self) {
        // SAFETY: the statement is not used after this (`per_row` owns it); the texts it may
        // still point to outlive it.
        unsafe { ffi::sqlite3_finalize(self.0.as_ptr()) };
    }
}

/// SQLite's refusal, classified as sqlx classifies its own.
fn error(db: *mut ffi::sqlite3, rc: c_int) -> sqlx::Error {
    // SAFETY: `db` is open; the message is copied before anything else runs on it.
    let (code, message) = unsafe {
        let code = ffi::sqlite3_extended_errcode(db);
        let message = CStr::from_ptr(ffi::sqlite3_errmsg(db)).to_string_lossy().into_owned();
        (if code == ffi::SQLITE_OK { rc } else { code }, message)
    };
    sqlx::Error::Database(Box::new(RawError { code, message }))
}

#[derive(Debug)]
struct RawError {
    code: c_int,
    message: String,
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for RawError {}

impl DatabaseError for RawError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Row as _};

    async fn database() -> (std::path::PathBuf, SqliteConnection) {
        let dir = std::env::temp_dir().join(format!(
            "regie-sqlite-rows-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("t.sqlite"))
            .create_if_missing(true)
            .foreign_keys(true);
        let mut c = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query(
            "CREATE TABLE parents (id INTEGER PRIMARY KEY);
             INSERT INTO parents (id) VALUES (1), (2);
             CREATE TABLE t (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, date TEXT, note TEXT,
                             parent INTEGER REFERENCES parents (id), cents INTEGER NOT NULL CHECK (cents > 0))",
        )
        .execute(&mut c)
        .await
        .unwrap();
        (dir, c)
    }

    struct T {
        id: i64,
        number: String,
        date: Option<NaiveDate>,
        note: Option<String>,
        parent: Option<i64>,
        cents: i64,
    }

    fn t(id: i64, number: &str, note: Option<&str>, parent: Option<i64>, cents: i64) -> T {
        T {
            id,
            number: number.into(),
            date: NaiveDate::from_ymd_opt(2025, 10, id as u32),
            note: note.map(Into::into),
            parent,
            cents,
        }
    }

    async fn insert(c: &mut SqliteConnection, rows: &[T]) -> Result<(), sqlx::Error> {
        per_row(
            c,
            "INSERT INTO t (id, number, date, note, parent, cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rows,
            |b, r| {
                b.int(r.id).text(&r.number).opt_date(r.date).opt_text(r.note.as_deref()).opt_int(r.parent).int(r.cents);
            },
        )
        .await
    }

    #[tokio::test]
    async fn rows_read_back_as_written() {
        let (dir, mut c) = database().await;
        let notes = [Some("#exit() *Éloïse* [O'Brien] \\ \"x\""), Some(""), None, Some("a\0b")];
        let rows: Vec<T> = (1..=4)
            .map(|i| t(i, &format!("N{i}"), notes[i as usize - 1], [Some(1), None][i as usize % 2], 100 * i))
            .collect();
        let mut tx = c.begin().await.unwrap();
        insert(&mut tx, &rows).await.unwrap();
        let back = sqlx::query("SELECT id, number, date, note, parent, cents, typeof(date) FROM t ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(back.len(), 4);
        for (r, b) in rows.iter().zip(&back) {
            assert_eq!(b.get::<i64, _>(0), r.id);
            assert_eq!(b.get::<String, _>(1), r.number);
            // Read back through sqlx's own decoding: the same date sqlx would have written.
            assert_eq!(b.get::<Option<NaiveDate>, _>(2), r.date);
            assert_eq!(b.get::<&str, _>(6), "text");
            assert_eq!(b.get::<Option<String>, _>(3), r.note);
            assert_eq!(b.get::<Option<i64>, _>(4), r.parent);
            assert_eq!(b.get::<i64, _>(5), r.cents);
        }
        c.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_refused_row_stops_the_insert_with_sqlite_s_reason() {
        let (dir, mut c) = database().await;
        for (bad, kind, names) in [
            (t(3, "N1", None, Some(1), 300), ErrorKind::UniqueViolation, "t.number"),
            (t(3, "N3", None, Some(9), 300), ErrorKind::ForeignKeyViolation, "FOREIGN KEY"),
            (t(3, "N3", None, None, -5), ErrorKind::CheckViolation, "CHECK"),
        ] {
            let mut tx = c.begin().await.unwrap();
            let rows =
                vec![t(1, "N1", None, Some(1), 100), t(2, "N2", None, Some(2), 200), bad, t(4, "N4", None, None, 400)];
            let Err(sqlx::Error::Database(e)) = insert(&mut tx, &rows).await else { panic!("accepted") };
            assert_eq!(e.kind(), kind, "{e}");
            assert!(e.message().contains(names), "{e}");
            // The rows before it are in the transaction, the ones after are not; the caller's
            // rollback takes them all back.
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 2);
            tx.rollback().await.unwrap();
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut c).await.unwrap();
            assert_eq!(n, 0);
        }
        c.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_query_s_rows_are_read_in_place() {
        let (dir, mut c) = database().await;
        let rows: Vec<T> = vec![
            t(1, "N1", Some("#exit() *Éloïse* [O'Brien]"), Some(1), 100),
            t(2, "N2", None, None, 200),
            t(3, "N3", Some(""), Some(2), 300),
        ];
        insert(&mut c, &rows).await.unwrap();
        let mut back = Vec::new();
        each_row(&mut c, "SELECT id, number, note, cents * 2 FROM t ORDER BY id DESC", |r| {
            back.push((r.int(0)?, r.text(1)?.to_owned(), r.opt_text(2)?.map(str::to_owned), r.int(3)?));
            Ok(())
        })
        .await
        .unwrap();
        let expected: Vec<_> =
            rows.iter().rev().map(|r| (r.id, r.number.clone(), r.note.clone(), r.cents * 2)).collect();
        assert_eq!(back, expected);
        // A NULL or a value of another type where a text or an integer is read is an error, as
        // sqlx makes it, not SQLite's conversion to "" or 0.
        for (sql, read) in [
            ("SELECT note FROM t WHERE id = 2", true),
            ("SELECT parent FROM t WHERE id = 2", false),
            ("SELECT number FROM t WHERE id = 2", false),
            ("SELECT cents FROM t WHERE id = 2", true),
        ] {
            let got = each_row(&mut c, sql, |r| if read { r.text(0).map(drop) } else { r.int(0).map(drop) }).await;
            assert!(matches!(got, Err(sqlx::Error::ColumnDecode { .. })), "{sql}: {got:?}");
        }
        // A text that is not UTF-8 is an error, as sqlx's own decoding makes it; so is a query
        // SQLite refuses, and the reader's own error stops the read at its row.
        let bad = each_row(&mut c, "SELECT CAST(x'ff41' AS TEXT)", |r| r.text(0).map(drop)).await;
        assert!(matches!(bad, Err(sqlx::Error::Decode(_))), "{bad:?}");
        let Err(sqlx::Error::Database(e)) = each_row(&mut c, "SELECT nothing FROM t", |_| Ok(())).await else {
            panic!("a query on a missing column ran")
        };
        assert!(e.message().contains("nothing"), "{e}");
        let mut seen = 0;
        let stopped = each_row(&mut c, "SELECT id FROM t ORDER BY id", |r| {
            seen += 1;
            if r.int(0)? == 2 { Err(sqlx::Error::RowNotFound) } else { Ok(()) }
        })
        .await;
        assert!(matches!(stopped, Err(sqlx::Error::RowNotFound)));
        assert_eq!(seen, 2);
        c.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn dates_read_as_sqlx_writes_them() {
        for (y, m, d) in [(2025, 9, 5), (1, 1, 1), (9999, 12, 31), (2026, 10, 10), (-44, 3, 15), (10000, 1, 1)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(iso_date(date), date.format("%F").to_string());
        }
    }
}
