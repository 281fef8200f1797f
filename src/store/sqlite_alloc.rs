//! SQLite's own allocations (its page cache, records, statements) through mimalloc: an import
//! makes and frees millions of them on SQLite's worker thread. Rust's own allocations go there
//! too (the core's `#[global_allocator]`); GTK and WebKit keep the system's. The realistic
//! 50,000-line statement, three interleaved runs each way: save 472–499 ms instead of 529–535,
//! the import 926–972 ms instead of 983–1,003.

use std::ffi::{c_int, c_void};
use std::sync::Once;

unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
    // SAFETY: SQLite asks for a positive size; mimalloc returns null when out of memory.
    unsafe { libmimalloc_sys::mi_malloc(n.max(0) as usize) }
}

unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: `p` came from `malloc` or `realloc` above (SQLite frees only what it allocated).
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as `free`; SQLite asks for a positive size.
    unsafe { libmimalloc_sys::mi_realloc(p, n.max(0) as usize) }
}

unsafe extern "C" fn size(p: *mut c_void) -> c_int {
    // SAFETY: as `free`; SQLite's allocations are under 2 GiB.
    unsafe { libmimalloc_sys::mi_usable_size(p) as c_int }
}

unsafe extern "C" fn roundup(n: c_int) -> c_int {
    // SAFETY: pure arithmetic on a size.
    unsafe { libmimalloc_sys::mi_good_size(n.max(0) as usize).min(c_int::MAX as usize) as c_int }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    libsqlite3_sys::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Installs the allocator, once, before SQLite is first used in this process. If SQLite was used
/// already (it then refuses a new configuration), it keeps its own: both work.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let methods = libsqlite3_sys::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC copies the methods before returning; SQLite refuses
        // (SQLITE_MISUSE) rather than switch allocators once initialized, so nothing it allocated
        // is ever freed by the other allocator.
        unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MALLOC,
                &methods as *const libsqlite3_sys::sqlite3_mem_methods,
            );
            // Nothing reads SQLite's memory statistics; keeping them takes a mutex on each of its
            // allocations (SQLite's recommended options turn them off).
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
        }
    });
}
