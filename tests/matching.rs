//! Matching measured against the truth: statements generated with a known payer for every line
//! (realistic names with namesakes, typos, parents, fees, truncation, student numbers), imported
//! into a real database; no automatic match may be wrong, the clear lines match by themselves,
//! and a line left for review shows its payer first.

#[path = "../benches/common/mod.rs"]
mod bench;
mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use bench::payers::{self, Kind, Spread, Truth};
use regie::bank::matching::LineStatus;
use regie::bank::{self, Columns, LineView};

/// What became of the lines of one kind.
#[derive(Default, Debug)]
struct Tally {
    lines: usize,
    clear: usize,
    clear_auto: usize,
    auto_right: usize,
    auto_wrong: usize,
    review: usize,
    review_first: usize,
    /// What ERPNext's party matcher makes of the same lines, right and wrong.
    erpnext_right: usize,
    erpnext_wrong: usize,
}

/// Imports the generated statement and tallies each line against its truth.
async fn measure(spread: Spread, students: usize, lines: usize, seed: u64) -> BTreeMap<Kind, Tally> {
    let dir = common::temp_dir("matching");
    let store = regie::Store::open(&common::db_at(&dir, "r")).await.expect("open");
    let people = payers::students(students, spread, seed);
    bench::setup_students(&store, &people).await;
    let truths = payers::lines(&people, lines, seed + 1);
    let file = dir.join("releve.csv");
    std::fs::write(&file, statement(&rows(&truths))).unwrap();
    let summary = bank::import_file(&store, &file, Columns::Detect, "claire").await.expect("import");
    assert_eq!(summary.new, lines);
    // Written in several multi-row statements, each bound while the previous one ran: every
    // line stored once, each payment allocated and its installments' settled amounts raised by
    // exactly that, and the audit record naming every payment made.
    let (stored, distinct, payments): (i64, i64, i64) = common::one(
        &store,
        "SELECT COUNT(*), COUNT(DISTINCT fingerprint), (SELECT COUNT(*) FROM payments) FROM statement_lines",
    )
    .await;
    assert_eq!((stored, distinct, payments), (lines as i64, lines as i64, summary.auto_matched as i64));
    let (drifted,): (i64,) = common::one(
        &store,
        "SELECT COUNT(*) FROM installments t WHERE t.settled_cents <>
                COALESCE((SELECT CAST(SUM(a.amount_cents) AS BIGINT) FROM allocations a WHERE a.installment_id = t.id), 0)
              + COALESCE((SELECT CAST(SUM(x.amount_cents) AS BIGINT) FROM credit_allocations x WHERE x.installment_id = t.id), 0)",
    )
    .await;
    assert_eq!(drifted, 0, "installments whose settled amount is not what their allocations add up to");
    let (details,): (String,) =
        common::one(&store, "SELECT details FROM audit_log WHERE action = 'bank.import' ORDER BY id DESC LIMIT 1")
            .await;
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["auto_matched"].as_array().map(Vec::len), Some(summary.auto_matched));
    assert_eq!(details["summary"]["new"], serde_json::json!(lines));

    let mut by_label: HashMap<&str, &Truth> = HashMap::new();
    for t in &truths {
        by_label.insert(&t.label, t);
    }
    let mut out: BTreeMap<Kind, Tally> = BTreeMap::new();
    let erpnext = erpnext_parties(&people, &truths);
    for (t, picked) in truths.iter().zip(&erpnext) {
        let tally = out.entry(t.kind).or_default();
        match picked {
            Some(i) if Some(*i) == t.payer => tally.erpnext_right += 1,
            Some(_) => tally.erpnext_wrong += 1,
            None => {}
        }
    }
    let mut wrong = Vec::new();
    for l in bank::lines(&store, None).await.expect("lines") {
        let t = by_label[l.label.as_str()];
        let payer = t.payer.map(|i| people[i].number.as_str());
        let tally = out.entry(t.kind).or_default();
        tally.lines += 1;
        tally.clear += usize::from(t.clear);
        if l.status == LineStatus::Matched {
            if l.student_number.as_deref() == payer {
                tally.auto_right += 1;
                tally.clear_auto += usize::from(t.clear);
            } else {
                tally.auto_wrong += 1;
                wrong.push(describe(&l, payer));
            }
        } else if let Some(payer) = payer {
            // REGIE_SHOW_MISSES=1 prints the lines whose payer is not first (=clear: the clear ones).
            if std::env::var("REGIE_SHOW_MISSES").is_ok_and(|k| k != "clear" || t.clear)
                && l.suggestions.first().is_none_or(|s| s.student_number != payer)
            {
                println!("{:?}: {}", t.kind, describe(&l, Some(payer)));
            }
            tally.review += 1;
            tally.review_first += usize::from(l.suggestions.first().is_some_and(|s| s.student_number == payer));
        }
    }
    assert!(wrong.is_empty(), "{spread:?}: wrong automatic matches:\n{}", wrong.join("\n"));
    // Never behind ERPNext's matcher on any kind of line, on the same lines.
    for (k, x) in &out {
        assert!(
            x.auto_right >= x.erpnext_right,
            "{spread:?} {k:?}: {} matched, ERPNext {}",
            x.auto_right,
            x.erpnext_right
        );
    }
    println!("{spread:?}, {students} students, {lines} lines:\n{}", table(&out));
    out
}

/// The party ERPNext would pick for each line (`bench::erpnext::party`), each name written as a
/// party's ("Léa Durand"). Only the names sharing a word with the label are scored, and those
/// whose length alone could reach 80 (no other can: without a common word the score is at most
/// 200 × the shorter length / the sum of both); the others cannot be picked nor tie.
fn erpnext_parties(people: &[bench::Student], truths: &[Truth]) -> Vec<Option<usize>> {
    use bench::erpnext::prepare;
    let names: Vec<String> = people.iter().map(|p| prepare(&format!("{} {}", p.first, p.last))).collect();
    let joined = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").chars().count();
    let mut by_word: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        for w in n.split_whitespace() {
            by_word.entry(w).or_default().push(i);
        }
    }
    truths
        .iter()
        .map(|t| {
            let label = prepare(&t.label);
            let la = joined(&label);
            let mut candidates: Vec<usize> =
                label.split_whitespace().filter_map(|w| by_word.get(w)).flatten().copied().collect();
            candidates.extend((0..names.len()).filter(|&i| {
                let lb = joined(&names[i]);
                200 * la.min(lb) >= 80 * (la + lb)
            }));
            candidates.sort_unstable();
            candidates.dedup();
            bench::erpnext::best(&label, &names, candidates)
        })
        .collect()
}

/// Each line as a statement row (its date from its rank), without the header.
fn rows(truths: &[Truth]) -> Vec<String> {
    truths
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let date = format!("{:02}/10/2025", 1 + k % 28);
            format!("{date};{date};;{},{:02};{};", t.cents / 100, t.cents % 100, t.label)
        })
        .collect()
}

fn statement(rows: &[String]) -> String {
    let mut text = String::from("Date;Date de valeur;Débit;Crédit;Libellé;Solde\n");
    for r in rows {
        writeln!(text, "{r}").unwrap();
    }
    text
}

fn describe(l: &LineView, payer: Option<&str>) -> String {
    let ranked: Vec<String> =
        l.suggestions.iter().map(|s| format!("{} {} {}", s.student_number, s.name, s.score)).collect();
    format!("{} -> {:?} (payer {payer:?}) {:?} [{}]", l.label, l.student_number, l.reasons, ranked.join("; "))
}

/// The tally as the README shows it.
fn table(t: &BTreeMap<Kind, Tally>) -> String {
    let mut s = String::from(
        "kind          lines  clear  clear auto  auto right  auto wrong  left for review  payer first  erpnext right  erpnext wrong\n",
    );
    for (k, x) in t {
        writeln!(
            s,
            "{:<13} {:>5}  {:>5}  {:>10}  {:>10}  {:>10}  {:>15}  {:>11}  {:>13}  {:>13}",
            format!("{k:?}"),
            x.lines,
            x.clear,
            x.clear_auto,
            x.auto_right,
            x.auto_wrong,
            x.review,
            x.review_first,
            x.erpnext_right,
            x.erpnext_wrong
        )
        .unwrap();
    }
    s
}

fn sum(t: &BTreeMap<Kind, Tally>, f: impl Fn(&Tally) -> usize) -> usize {
    t.values().map(f).sum()
}

#[tokio::test]
async fn realistic_names_clear_lines_match_and_the_others_show_their_payer_first() {
    let t = measure(Spread::Realistic, 2_000, 1_500, 0x1234).await;
    let (clear, clear_auto) = (sum(&t, |x| x.clear), sum(&t, |x| x.clear_auto));
    let (review, first) = (sum(&t, |x| x.review), sum(&t, |x| x.review_first));
    assert!(clear_auto * 100 >= clear * 95, "clear lines matched automatically: {clear_auto}/{clear}");
    assert!(first * 100 >= review * 90, "payer first among the lines left for review: {first}/{review}");
    // Typos were written on purpose: each kind is there, and a typo is found, not lost.
    assert!(t[&Kind::Typo].review + t[&Kind::Typo].auto_right > 100);
    assert!(
        t[&Kind::Typo].review_first * 100 >= t[&Kind::Typo].review * 85,
        "typos with their payer first: {}/{}",
        t[&Kind::Typo].review_first,
        t[&Kind::Typo].review
    );
}

#[tokio::test]
async fn namesakes_are_never_guessed() {
    // Every full name shared by about thirty students: only a student number, or a name with
    // an amount only one of them owes, may decide.
    let t = measure(Spread::Namesakes, 1_200, 900, 0x4321).await;
    assert!(t[&Kind::Number].auto_right * 100 >= t[&Kind::Number].lines * 95, "{:?}", t[&Kind::Number]);
}

/// What each line became, in an order that does not depend on the file's.
async fn outcomes(people: &[bench::Student], rows: &[String], tag: &str) -> Vec<(String, i64, String, Option<String>)> {
    let dir = common::temp_dir(tag);
    let store = regie::Store::open(&common::db_at(&dir, "r")).await.expect("open");
    bench::setup_students(&store, people).await;
    let file = dir.join("releve.csv");
    std::fs::write(&file, statement(rows)).unwrap();
    bank::import_file(&store, &file, Columns::Detect, "claire").await.expect("import");
    let mut out: Vec<_> = bank::lines(&store, None)
        .await
        .expect("lines")
        .into_iter()
        .map(|l| (l.label, l.amount.cents(), l.status.code().to_string(), l.student_number))
        .collect();
    out.sort();
    store.close().await;
    out
}

#[test]
fn permuting_the_lines_of_a_statement_changes_no_match() {
    use proptest::prelude::*;
    // A third of the students pay twice in the statement (two installments).
    let people = payers::students(240, Spread::Realistic, 7);
    let mut truths = payers::lines(&people, 240, 8);
    truths.extend(payers::lines(&people, 80, 8));
    let rows = rows(&truths);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let in_order = rt.block_on(outcomes(&people, &rows, "permute-base"));
    assert!(in_order.iter().filter(|o| o.2 == "matched").count() > 150, "the statement matches: {in_order:?}");
    let config = ProptestConfig { cases: 5, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(shuffled in Just(rows.clone()).prop_shuffle())| {
        let permuted = rt.block_on(outcomes(&people, &shuffled, "permute"));
        prop_assert_eq!(&permuted, &in_order);
    });
}

/// The rebuilt ERPNext scorer gives rapidfuzz's own examples.
#[test]
fn the_erpnext_scorer_scores_as_rapidfuzz_does() {
    use bench::erpnext::{lcs, ratio, token_set_ratio};
    assert_eq!(token_set_ratio("fuzzy was a bear", "fuzzy fuzzy was a bear"), 100.0);
    assert_eq!(token_set_ratio("new york mets vs atlanta braves", "atlanta braves vs new york mets"), 100.0);
    let s = token_set_ratio("mariners vs angels", "los angeles angels of anaheim at seattle mariners");
    assert!((s - 90.909).abs() < 0.01, "{s}");
    assert!((ratio("this is a test", "this is a test!") - 96.552).abs() < 0.01);
    assert_eq!(token_set_ratio("", "x"), 0.0);
    let long: Vec<char> = "abcdefghij".repeat(20).chars().collect();
    assert_eq!(lcs(&long, &long), 200);
    assert_eq!(lcs(&['a', 'b', 'c', 'd'], &['a', 'c', 'x', 'd']), 3);
}

#[test]
fn the_erpnext_matcher_picks_nobody_on_a_tie() {
    use bench::erpnext::party;
    let names = vec!["lea durand".to_string(), "lea durand".to_string(), "paul martin".to_string()];
    assert_eq!(party("vir sepa recu /de lea durand", &names), None);
    assert_eq!(party("vir sepa recu /de paul martin", &names), Some(2));
    assert_eq!(party("vir sepa recu /de sci les tilleuls", &names), None);
}
