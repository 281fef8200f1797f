//! The layers point one way: the rules (`rules/`, the `regie-rules` crate) do no I/O and know no
//! database; the store (`src/store/`) knows SQL and the rules, never an action above it. Cargo
//! already keeps the rules from naming the store; these tests keep the rest from creeping in.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    assert!(!out.is_empty() || dir.ends_with("src"), "no source under {}", dir.display());
    out
}

/// The lines of `dir`'s sources that hold one of `words`, comments left out.
fn offending(dir: &str, words: &[&str], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if words.iter().any(|w| code.contains(w)) && !allowed(code) {
                out.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn the_rules_do_no_io_and_know_no_database() {
    let io =
        ["sqlx", "tokio", "std::fs", "std::net", "std::process", "std::env", "File::", "::now()", "calamine", "typst"];
    let found = offending("rules/src", &io, |_| false);
    assert!(found.is_empty(), "I/O in the rules:\n{}", found.join("\n"));

    // Their dependencies are data and arithmetic only (an XML parser reads bytes it is given).
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    let names: Vec<&str> = deps.lines().filter_map(|l| l.split(['=', '.']).next()).map(str::trim).collect();
    let allowed = [
        "serde",
        "serde_json",
        "thiserror",
        "rust_decimal",
        "chrono",
        "unicode-normalization",
        "roxmltree",
        "foldhash",
        "ts-rs",
        "",
    ];
    let extra: Vec<&&str> = names.iter().filter(|n| !allowed.contains(n)).collect();
    assert!(extra.is_empty(), "the rules depend on {extra:?}");
}

#[test]
fn the_store_never_reaches_up_to_an_action() {
    // Inside the core crate the store may name itself and the error type; anything else of the
    // crate is an action, and the rules it needs come from `regie_rules`.
    let found = offending("src/store", &["crate::"], |code| {
        code.split("crate::").skip(1).all(|rest| {
            ["store", "Result", "Error", "error", "{Error, Result}", "{Result, Error}"]
                .iter()
                .any(|ok| rest.starts_with(ok))
        })
    });
    assert!(found.is_empty(), "the store names an action:\n{}", found.join("\n"));
}

#[test]
fn only_the_store_speaks_sql() {
    // The actions and the shells reach the database through the store's functions.
    let mut found = offending("src", &["sqlx::", "query_as(", "query("], |_| false);
    found.retain(|l| !l.contains("/src/store/") && !l.contains("/src/error.rs:"));
    found.extend(offending("src-tauri/src", &["sqlx::"], |_| false));
    assert!(found.is_empty(), "SQL outside the store:\n{}", found.join("\n"));
}
