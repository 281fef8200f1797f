//! Who may do what, enforced by the core for the CLI and the window alike: every action the
//! roles table reserves to finance managers is refused to an accountant and to an unknown name.

mod common;

use common::{AMINE_BENALI, regie};
use regie::users::{self, Role};

fn forbidden(out: &common::CliOutput) -> bool {
    !out.ok && out.stderr.contains("[forbidden]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accountant_is_refused_every_finance_manager_action() {
    let (s, _) = common::approved("roles", &[AMINE_BENALI]).await;
    let db = common::db_of(&s);
    // The database's first finance manager is named by anyone; after that, only by one.
    users::set_role(&s, "Fanny", Role::FinanceManager, "installateur").await.unwrap();
    users::set_role(&s, "Paul", Role::Accountant, "Fanny").await.unwrap();
    let e = users::set_role(&s, "Paul", Role::FinanceManager, "Paul").await.unwrap_err();
    assert_eq!(e.code(), "forbidden");

    let invoice = regie::invoices::list(&s, None).await.unwrap()[0].number.clone();
    let as_paul = |args: &[&str]| {
        let mut all = vec!["--user", "Paul"];
        all.extend_from_slice(args);
        regie(&db, &all)
    };
    let attempts: [&[&str]; 7] = [
        &["settings", "set", "--school", "ISIMA", "--six-threshold", "5000", "--reason", "essai"],
        &["settings", "fee-tolerance", "10", "--reason", "essai"],
        &[
            "fees",
            "set",
            "--year",
            "2025-26",
            "--school",
            "ISIMA",
            "--situation",
            "05",
            "--amount",
            "1",
            "--reason",
            "essai",
        ],
        &["credit-notes", "issue", &invoice, "--amount", "10", "--reason", "essai"],
        &["exemptions", "decide", "25000003", "--outcome", "full", "--ref", "CE-1"],
        &["exemptions", "pay-refund", "1"],
        &["users", "set-role", "Paul", "--role", "finance_manager"],
    ];
    for args in attempts {
        let out = as_paul(args);
        assert!(forbidden(&out), "{args:?}: {}", out.stderr);
        let unknown = regie(&db, &[&["--user", "Personne"][..], args].concat());
        assert!(forbidden(&unknown), "{args:?} by an unknown name: {}", unknown.stderr);
    }
    // Nothing changed, and the same actions go through for the finance manager.
    assert!(regie::ledger::account_position(&s, "25000003").await.unwrap().credit_notes.is_empty());
    let ok = regie(&db, &["--user", "Fanny", "credit-notes", "issue", &invoice, "--amount", "10", "--reason", "geste"]);
    assert!(ok.ok, "{}", ok.stderr);
    let ok = regie(&db, &["--user", "Fanny", "settings", "fee-tolerance", "10", "--reason", "frais SEPA"]);
    assert!(ok.ok, "{}", ok.stderr);
    // A settings change needs its reason, recorded in the audit log.
    let no_reason = regie(&db, &["--user", "Fanny", "settings", "set", "--school", "ISIMA", "--six-threshold", "5000"]);
    assert!(!no_reason.ok && no_reason.stderr.contains("motif"), "{}", no_reason.stderr);
    let mut conn = s.read().await.unwrap();
    let audit = regie::store::audit::list(&mut conn, None).await.unwrap();
    let tolerance = audit.iter().find(|a| a.action == "settings.fee_tolerance").unwrap();
    assert_eq!((tolerance.actor.as_str(), tolerance.reason.as_deref()), ("Fanny", Some("frais SEPA")));
    assert!(audit.iter().any(|a| a.action == "user.role" && a.entity_id == "Paul" && a.actor == "Fanny"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_profile_signed_in_is_the_finance_manager() {
    let s = common::fresh_store("roles-first").await;
    assert_eq!(users::sign_in(&s, "Fanny").await.unwrap().role, Role::FinanceManager);
    assert_eq!(users::sign_in(&s, "Paul").await.unwrap().role, Role::Accountant);
    assert_eq!(
        users::sign_in(&s, "Fanny").await.unwrap().role,
        Role::FinanceManager,
        "signing in again changes nothing"
    );
    let mut conn = s.read().await.unwrap();
    let created: Vec<String> = regie::store::audit::list(&mut conn, Some("user"))
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "user.create")
        .map(|a| a.entity_id)
        .collect();
    assert_eq!(created, vec!["Fanny", "Paul"], "each profile's creation is audited once");
}

/// A refused action holds no lock: another desk (here the CLI) writes at once after it. One thread:
/// nothing else may roll the transaction back while the CLI runs.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_action_leaves_the_database_to_the_others() {
    let s = common::fresh_store("roles-lock").await;
    let db = common::db_of(&s);
    users::set_role(&s, "Fanny", Role::FinanceManager, "installateur").await.unwrap();
    let refused = users::set_role(&s, "Paul", Role::FinanceManager, "Paul").await.unwrap_err();
    assert_eq!(refused.code(), "forbidden");
    let args = ["--user", "Fanny", "settings", "fee-tolerance", "10", "--reason", "frais SEPA"];
    // On a file the rollback runs on sqlx's own thread, so the CLI runs while this (single-thread)
    // runtime waits for it; on the server the rollback is this runtime's to send.
    let out = if s.path().is_some() {
        regie(&db, &args)
    } else {
        tokio::task::spawn_blocking(move || regie(&db, &args)).await.unwrap()
    };
    assert!(out.ok, "{}", out.stderr);
}
