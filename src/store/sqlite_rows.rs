//! Bulk writes and reads on SQLite through its C API, inside the caller's transaction: every
//! row of an import written by one statement that reads them from a virtual table
//! (`insert_rows`, `with_rows`), or a query's rows read where SQLite keeps them (`each_row`).
//! For the largest imports, and the index they read first.
//!
//! sqlx copies every value into an argument buffer of its own before SQLite copies it again, and
//! a statement run once per row opens its cursors and seeks its place in every B-tree again for
//! each row. Here a row's texts are read where they lie, and one statement writes them all. The
//! card benchmark's import, six interleaved runs of each build: 1.08–1.34 s (median 1.20)
//! instead of 1.41–1.65 s (median 1.60) with a statement per row for the 100,000 transactions
//! and sqlx's multi-row statements for the payments, allocations and settled amounts.
//!
//! Everything runs on the caller's thread, which waits as it would for sqlx's worker.

use std::ffi::{CStr, c_char, c_int};
use std::fmt;
use std::ptr::{self, NonNull};

use chrono::{Datelike, NaiveDate};
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use sqlx::error::{DatabaseError, ErrorKind};

/// The values of one row, in the insert's column order. Texts are borrowed for `'r`, which
/// outlives the statement: SQLite reads them where they lie.
pub(crate) struct Row<'r> {
    values: Vec<Value>,
    _texts: std::marker::PhantomData<&'r str>,
}

/// A value as the virtual table hands it to SQLite.
enum Value {
    Int(i64),
    Null,
    /// A text borrowed for the whole statement (`Row`'s `'r`).
    Lent(*const u8, usize),
    /// A date of the years 0 to 9999 as `%F` writes it, made in place: an import binds a few
    /// hundred thousand, each copied by SQLite when read.
    Date([u8; 10]),
    /// A text made for the row (a date beyond those years), copied by SQLite when read.
    Made(String),
}

impl<'r> Row<'r> {
    fn push(&mut self, v: Value) -> &mut Self {
        self.values.push(v);
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.push(Value::Int(v))
    }

    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.push(v.map_or(Value::Null, Value::Int))
    }

    pub fn text(&mut self, v: &'r str) -> &mut Self {
        self.push(Value::Lent(v.as_ptr(), v.len()))
    }

    pub fn opt_text(&mut self, v: Option<&'r str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A date as sqlx writes it (`%F`), so that every query reads it alike.
    pub fn date(&mut self, d: NaiveDate) -> &mut Self {
        self.push(iso_date(d).map_or_else(|| Value::Made(d.format("%F").to_string()), Value::Date))
    }

    pub fn opt_date(&mut self, d: Option<NaiveDate>) -> &mut Self {
        match d {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    pub fn null(&mut self) -> &mut Self {
        self.push(Value::Null)
    }
}

/// A date as chrono's `%F` writes it: by hand for the years 0 to 9999 (every date an import
/// accepts), without chrono's formatting, which reads its pattern again on every call; `None`
/// beyond, for chrono's own text.
fn iso_date(d: NaiveDate) -> Option<[u8; 10]> {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return None;
    }
    let y = y as u32;
    let digits = [y / 1000, y / 100 % 10, y / 10 % 10, y % 10, 10, m / 10, m % 10, 10, day / 10, day % 10];
    Some(digits.map(|v| if v == 10 { b'-' } else { b'0' + v as u8 }))
}

/// Runs `head` (`INSERT INTO t (a, b, …)`, up to `MAX_COLUMNS` columns) over every row of
/// `rows`, `bind` giving its values in the columns' order, in one statement on the connection's
/// open transaction: `head SELECT c0, c1, … FROM regie_rows(?1)`, `regie_rows` a virtual table
/// that makes each row's values as SQLite reads it. One statement keeps its cursors on the
/// table and its indexes from one row to the next, where a statement run per row opened them
/// and sought its place from each B-tree's root again for every row (the card benchmark's
/// 100,000 transactions: see `store::card::insert_bulk`). A row SQLite refuses stops the
/// statement with its message, and none of its rows stays: the caller's transaction is then
/// rolled back whole. A panic in `bind` stops it too, and goes on once the statement is gone.
pub(crate) async fn insert_rows<'r, T>(
    conn: &mut SqliteConnection,
    head: &str,
    columns: usize,
    rows: &'r [T],
    bind: impl Fn(&mut Row<'r>, &'r T),
) -> Result<(), sqlx::Error> {
    assert!((1..=MAX_COLUMNS).contains(&columns), "{columns} columns: the virtual table has {MAX_COLUMNS}");
    let select: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    with_rows(conn, &format!("{head} SELECT {} FROM regie_rows(?1)", select.join(", ")), rows, bind).await
}

/// Runs `sql`, one statement that reads `rows` as the table `regie_rows(?1)` (columns `c0`,
/// `c1`, … in `bind`'s order): an insert (`insert_rows`), or an update `FROM` it.
pub(crate) async fn with_rows<'r, T>(
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
    let mut fill = |i: usize, values: &mut Vec<Value>| {
        let mut row = Row { values: std::mem::take(values), _texts: std::marker::PhantomData };
        row.values.clear();
        bind(&mut row, &rows[i]);
        *values = row.values;
    };
    let mut feed = Feed { len: rows.len(), fill: &mut fill, panic: None };
    // SAFETY: `db` is open and ours while locked; the module is static. Registering it again
    // replaces the one a previous call registered, which no statement uses any more.
    let rc = unsafe { ffi::sqlite3_create_module_v2(db, MODULE_NAME.as_ptr(), &MODULE, ptr::null_mut(), None) };
    if rc != ffi::SQLITE_OK {
        return Err(error(db, rc));
    }
    let stmt = prepare(db, sql)?;
    // SAFETY: the statement is live; the pointer to `feed` is read by the virtual table only
    // while the statement runs, below, and `feed` outlives it (the statement is finalized at
    // the end of this function, before `feed` drops: declared after it).
    let rc =
        unsafe { ffi::sqlite3_bind_pointer(stmt.0.as_ptr(), 1, (&raw mut feed).cast(), POINTER_TYPE.as_ptr(), None) };
    let rc = if rc == ffi::SQLITE_OK { unsafe { ffi::sqlite3_step(stmt.0.as_ptr()) } } else { rc };
    if let Some(panic) = feed.panic.take() {
        drop(stmt);
        std::panic::resume_unwind(panic);
    }
    if rc != ffi::SQLITE_DONE {
        return Err(error(db, rc));
    }
    Ok(())
}

/// The widest row `insert_rows` writes (the card transactions have 23 columns).
const MAX_COLUMNS: usize = 32;
const MODULE_NAME: &CStr = c"regie_rows";
/// The type SQLite checks a bound pointer against (`sqlite3_bind_pointer`): only a `Feed`
/// bound by `with_rows` reaches the virtual table.
const POINTER_TYPE: &CStr = c"regie_rows_feed";
/// The hidden column the feed is given through (`regie_rows(?1)`).
const FEED_COLUMN: c_int = MAX_COLUMNS as c_int;

/// What the virtual table reads: how many rows, and each row's values, made on demand.
struct Feed<'f> {
    len: usize,
    /// Puts row `i`'s values in the vector given.
    fill: &'f mut dyn FnMut(usize, &mut Vec<Value>),
    /// A panic of `fill`, caught at the C boundary and resumed once the statement is gone.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

#[repr(C)]
struct Cursor {
    base: ffi::sqlite3_vtab_cursor,
    feed: *mut Feed<'static>,
    row: usize,
    /// The current row's values, as `fill` made them.
    values: Vec<Value>,
}

static MODULE: ffi::sqlite3_module = ffi::sqlite3_module {
    iVersion: 0,
    // No xCreate: an eponymous table only, `regie_rows`, that no schema holds.
    xConnect: Some(vt_connect),
    xBestIndex: Some(vt_best_index),
    xDisconnect: Some(vt_disconnect),
    xOpen: Some(vt_open),
    xClose: Some(vt_close),
    xFilter: Some(vt_filter),
    xNext: Some(vt_next),
    xEof: Some(vt_eof),
    xColumn: Some(vt_column),
    xRowid: Some(vt_rowid),
    // SAFETY: every other member is an optional function or an integer: zero is none.
    ..unsafe { std::mem::zeroed() }
};

unsafe extern "C" fn vt_connect(
    db: *mut ffi::sqlite3,
    _aux: *mut std::ffi::c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    table: *mut *mut ffi::sqlite3_vtab,
    _err: *mut *mut c_char,
) -> c_int {
    let columns: Vec<String> = (0..MAX_COLUMNS).map(|i| format!("c{i}")).collect();
    let schema = std::ffi::CString::new(format!("CREATE TABLE x({}, feed HIDDEN)", columns.join(", ")))
        .expect("column names have no NUL");
    // SAFETY: `db` is the connecting database; the text is NUL-terminated.
    let rc = unsafe { ffi::sqlite3_declare_vtab(db, schema.as_ptr()) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    // SAFETY: a zeroed sqlite3_vtab is what SQLite expects to fill in; it owns it until
    // xDisconnect gives it back.
    unsafe { *table = Box::into_raw(Box::new(std::mem::zeroed::<ffi::sqlite3_vtab>())) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn vt_disconnect(table: *mut ffi::sqlite3_vtab) -> c_int {
    // SAFETY: made by `vt_connect`'s Box, given back once.
    drop(unsafe { Box::from_raw(table) });
    ffi::SQLITE_OK
}

/// Only a plan that hands the feed over (`feed = ?`) can read the table.
unsafe extern "C" fn vt_best_index(_table: *mut ffi::sqlite3_vtab, info: *mut ffi::sqlite3_index_info) -> c_int {
    // SAFETY: SQLite gives a valid index_info whose arrays hold nConstraint entries.
    let info = unsafe { &mut *info };
    for i in 0..info.nConstraint.max(0) as usize {
        // SAFETY: `i` is within nConstraint.
        let (c, usage) = unsafe { (&*info.aConstraint.add(i), &mut *info.aConstraintUsage.add(i)) };
        if c.iColumn == FEED_COLUMN && c.op == ffi::SQLITE_INDEX_CONSTRAINT_EQ as u8 && c.usable != 0 {
            usage.argvIndex = 1;
            usage.omit = 1;
            // Many rows, read once: an update `FROM` the table reads it in the outer loop and
            // finds each row's target by its key, rather than read it again per target row.
            info.estimatedCost = 1e6;
            info.estimatedRows = 1_000_000;
            return ffi::SQLITE_OK;
        }
    }
    ffi::SQLITE_CONSTRAINT
}

unsafe extern "C" fn vt_open(_table: *mut ffi::sqlite3_vtab, cursor: *mut *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let c = Box::new(Cursor {
        // SAFETY: SQLite fills the base in.
        base: unsafe { std::mem::zeroed() },
        feed: ptr::null_mut(),
        row: 0,
        values: Vec::new(),
    });
    // SAFETY: `Cursor` starts with its base (repr(C)); SQLite owns it until xClose.
    unsafe { *cursor = Box::into_raw(c).cast() };
    ffi::SQLITE_OK
}

unsafe extern "C" fn vt_close(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: made by `vt_open`, given back once.
    drop(unsafe { Box::from_raw(cursor.cast::<Cursor>()) });
    ffi::SQLITE_OK
}

/// Makes the current row's values; a panic is kept for `with_rows` and stops the statement.
unsafe fn load(c: &mut Cursor) -> c_int {
    // SAFETY: set by `vt_filter` from the pointer `with_rows` bound, alive while its
    // statement runs.
    let Some(feed) = (unsafe { c.feed.as_mut() }) else { return ffi::SQLITE_ERROR };
    if c.row >= feed.len {
        return ffi::SQLITE_OK;
    }
    let (row, values, fill) = (c.row, &mut c.values, &mut feed.fill);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fill(row, values))) {
        Ok(()) => ffi::SQLITE_OK,
        Err(panic) => {
            feed.panic = Some(panic);
            ffi::SQLITE_ERROR
        }
    }
}

unsafe extern "C" fn vt_filter(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    _idx_num: c_int,
    _idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) -> c_int {
    // SAFETY: `cursor` is one of ours; argv holds argc values (one: the plan asks for the feed).
    let c = unsafe { &mut *cursor.cast::<Cursor>() };
    c.row = 0;
    c.feed = if argc == 1 {
        unsafe { ffi::sqlite3_value_pointer(*argv, POINTER_TYPE.as_ptr()).cast() }
    } else {
        ptr::null_mut()
    };
    // SAFETY: as above.
    unsafe { load(c) }
}

unsafe extern "C" fn vt_next(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cursor` is one of ours.
    let c = unsafe { &mut *cursor.cast::<Cursor>() };
    c.row += 1;
    unsafe { load(c) }
}

unsafe extern "C" fn vt_eof(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cursor` is one of ours; its feed, when set, is alive.
    let c = unsafe { &*cursor.cast::<Cursor>() };
    match unsafe { c.feed.as_ref() } {
        Some(feed) => c_int::from(c.row >= feed.len),
        None => 1,
    }
}

unsafe extern "C" fn vt_column(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    ctx: *mut ffi::sqlite3_context,
    i: c_int,
) -> c_int {
    // SAFETY: `cursor` is one of ours; its values are the current row's.
    let c = unsafe { &*cursor.cast::<Cursor>() };
    let values = &c.values;
    // SAFETY (each result): `ctx` is the column's context. A lent text lives for the whole
    // statement (SQLITE_STATIC); a made one (a date) is copied (SQLITE_TRANSIENT).
    let copied = |t: &[u8]| unsafe {
        ffi::sqlite3_result_text64(
            ctx,
            t.as_ptr().cast(),
            t.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            ffi::SQLITE_UTF8 as u8,
        )
    };
    unsafe {
        match values.get(i as usize) {
            Some(Value::Int(v)) => ffi::sqlite3_result_int64(ctx, *v),
            Some(Value::Lent(p, n)) => {
                ffi::sqlite3_result_text64(ctx, p.cast(), *n as u64, None, ffi::SQLITE_UTF8 as u8)
            }
            Some(Value::Date(t)) => copied(t),
            Some(Value::Made(t)) => copied(t.as_bytes()),
            Some(Value::Null) | None => ffi::sqlite3_result_null(ctx),
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn vt_rowid(cursor: *mut ffi::sqlite3_vtab_cursor, rowid: *mut ffi::sqlite3_int64) -> c_int {
    // SAFETY: `cursor` is one of ours; `rowid` is SQLite's to write.
    unsafe { *rowid = (*cursor.cast::<Cursor>()).row as i64 };
    ffi::SQLITE_OK
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
        // SAFETY: the statement is not used after this (its function owns it); the texts it
        // may still point to outlive it.
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
        insert_rows(c, "INSERT INTO t (id, number, date, note, parent, cents)", 6, rows, |b, r| {
            b.int(r.id).text(&r.number).opt_date(r.date).opt_text(r.note.as_deref()).opt_int(r.parent).int(r.cents);
        })
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
            // None of the statement's rows stays, those before it included; the caller's rollback
            // takes back the rest of its transaction.
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 0);
            tx.rollback().await.unwrap();
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut c).await.unwrap();
            assert_eq!(n, 0);
        }
        c.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn many_rows_go_in_one_statement_in_their_order_and_a_panic_stops_it() {
        let (dir, mut c) = database().await;
        let notes: Vec<String> = (0..20_000).map(|i| format!("note {i}")).collect();
        let rows: Vec<T> = (0..20_000)
            .map(|i| T {
                id: i + 1,
                number: format!("N{i}"),
                date: None,
                note: None,
                parent: Some(1 + i % 2),
                cents: i + 1,
            })
            .collect();
        let mut tx = c.begin().await.unwrap();
        insert_rows(&mut tx, "INSERT INTO t (number, note, parent, cents)", 4, &rows, |b, r| {
            b.text(&r.number).text(&notes[r.id as usize - 1]).opt_int(r.parent).int(r.cents);
        })
        .await
        .unwrap();
        let back: Vec<(i64, String, String, i64)> =
            sqlx::query_as("SELECT id, number, note, cents FROM t ORDER BY id").fetch_all(&mut *tx).await.unwrap();
        assert_eq!(back.len(), 20_000);
        assert!(back.iter().enumerate().all(|(i, (id, number, note, cents))| *id == i as i64 + 1
            && *number == format!("N{i}")
            && *note == format!("note {i}")
            && *cents == i as i64 + 1));
        tx.rollback().await.unwrap();
        c.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_panic_while_a_row_is_made_stops_the_statement_and_goes_on() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (dir, mut c) = rt.block_on(database());
        let rows: Vec<T> = (1..=3).map(|i| t(i, &format!("P{i}"), None, None, 100)).collect();
        let mut tx = rt.block_on(c.begin()).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(insert_rows(&mut tx, "INSERT INTO t (id, number, cents)", 3, &rows, |b, r| {
                assert!(r.id < 3, "row {} cannot be made", r.id);
                b.int(r.id).text(&r.number).int(r.cents);
            }))
        }));
        let message = caught.expect_err("the panic went on").downcast::<String>().unwrap();
        assert!(message.contains("row 3 cannot be made"), "{message}");
        // The statement wrote nothing, and the connection is left usable.
        let (n,): (i64,) = rt.block_on(sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut *tx)).unwrap();
        assert_eq!(n, 0);
        rt.block_on(tx.rollback()).unwrap();
        rt.block_on(c.close()).unwrap();
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
        let sql = "SELECT id, number, note IS NULL, COALESCE(note, ''), cents * 2 FROM t ORDER BY id DESC";
        each_row(&mut c, sql, |r| {
            let note = (r.int(2)? == 0).then(|| r.text(3).map(str::to_owned)).transpose()?;
            back.push((r.int(0)?, r.text(1)?.to_owned(), note, r.int(4)?));
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
        for (y, m, d) in [(2025, 9, 5), (1, 1, 1), (9999, 12, 31), (2026, 10, 10), (0, 2, 29)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(
                iso_date(date).map(|b| String::from_utf8(b.to_vec()).unwrap()),
                Some(date.format("%F").to_string())
            );
        }
        // Beyond, chrono's text (`-0044-03-15`, `+10000-01-01`).
        for (y, m, d) in [(-44, 3, 15), (10000, 1, 1)] {
            assert_eq!(iso_date(NaiveDate::from_ymd_opt(y, m, d).unwrap()), None);
        }
    }
}
