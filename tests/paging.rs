//! Long lists come a page at a time: the database filters, searches, sorts and counts, and the
//! pages put end to end are the whole list, in order, each line once.

mod common;

use regie::Store;
use regie::bank::matching::LineStatus;
use regie::bank::{self, LineQuery};
use regie::page::{Page, PageQuery};

fn query(status: Option<&str>, sort: &str, descending: bool, offset: i64, limit: i64) -> LineQuery {
    LineQuery {
        status: status.map(str::to_string),
        line: None,
        page: PageQuery { sort: Some(sort.to_string()), descending, offset, limit, ..Default::default() },
    }
}

/// Every page of a list, end to end, `limit` at a time (`ask(offset)` gives one): each page where
/// it was asked, none longer than asked, and all of them adding up to the count.
async fn end_to_end<T, Fut>(limit: i64, ask: impl Fn(i64) -> Fut) -> Vec<T>
where
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = ask(offset).await;
        let n = page.rows.len() as i64;
        assert!(n <= limit);
        assert_eq!(page.offset, offset);
        out.extend(page.rows);
        if n < limit {
            assert_eq!(Some(out.len() as i64), page.total, "the pages add up to the count");
            return out;
        }
        offset += limit;
    }
}

/// Every page of a lines query.
async fn all_pages(store: &Store, q: &LineQuery) -> Vec<bank::LineView> {
    end_to_end(q.page.limit, |offset| {
        let mut q = q.clone();
        q.page.offset = offset;
        async move { bank::line_page(store, &q).await.unwrap().page }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_bank_lines_are_the_whole_list_in_order() {
    let dir = common::temp_dir("paging");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = bank::lines(&store, None).await.unwrap();
    assert!(every.len() > 500, "a demo of two years has many lines: {}", every.len());

    // By date (the default), 37 at a time: the same lines as the whole list, same order.
    let paged = all_pages(&store, &query(None, "date", false, 0, 37)).await;
    let ids = |v: &[bank::LineView]| v.iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&every));

    // Each sort, both ways, under a filter: in order, and the lines of that status only.
    let to_review: Vec<_> = every.iter().filter(|l| l.status == LineStatus::Unmatched).map(|l| l.id).collect();
    for sort in ["date", "label", "amount", "score"] {
        for descending in [false, true] {
            let got = all_pages(&store, &query(Some("unmatched"), sort, descending, 0, 50)).await;
            let mut got_ids = ids(&got);
            let key = |l: &bank::LineView| match sort {
                "date" => l.date.to_string(),
                "label" => l.label.clone(),
                "amount" => format!("{:020}", l.amount.cents() + 10i64.pow(15)),
                _ => format!("{:08}", l.score.unwrap_or(-1) + 1),
            };
            let keys: Vec<String> = got.iter().map(key).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if descending {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "sorted by {sort}, descending {descending}");
            got_ids.sort();
            let mut want = to_review.clone();
            want.sort();
            assert_eq!(got_ids, want, "the unmatched lines, each once ({sort})");
        }
    }

    // The counts of the filter buttons, whatever page is asked.
    let page = bank::line_page(&store, &query(Some("matched"), "date", false, 40, 10)).await.unwrap();
    let count = |s: LineStatus| every.iter().filter(|l| l.status == s).count() as i64;
    assert_eq!(page.matched, count(LineStatus::Matched));
    assert_eq!(page.to_review, count(LineStatus::ToReview));
    assert_eq!(page.unmatched, count(LineStatus::Unmatched));
    assert_eq!(page.page.total, Some(count(LineStatus::Matched)));

    // A search is looked for in the label, whatever its case; `%` is a character, not a wildcard.
    let mut q = query(None, "date", false, 0, 1000);
    q.page.search = Some("remise cb".into());
    let found = all_pages(&store, &q).await;
    assert!(!found.is_empty());
    assert_eq!(found.len(), every.iter().filter(|l| l.label.to_lowercase().contains("remise cb")).count());
    q.page.search = Some("%".into());
    assert_eq!(bank::line_page(&store, &q).await.unwrap().page.total, Some(0));

    // One line alone (a check-in's conflict shown in Banque).
    let mut q = query(None, "date", false, 0, 10);
    q.line = Some(every[7].id);
    let one = bank::line_page(&store, &q).await.unwrap();
    assert_eq!((one.page.total, ids(&one.page.rows)), (Some(1), vec![every[7].id]));

    // Out of bounds: refused, with what was asked.
    for (offset, limit) in [(-1, 10), (0, 0), (0, 1001)] {
        let e = bank::line_page(&store, &query(None, "date", false, offset, limit)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{e}");
    }
    let e = bank::line_page(&store, &query(None, "payer", false, 0, 10)).await.unwrap_err();
    assert!(e.to_string().contains("payer"), "{e}");
    store.close().await;
}

fn requests_query(offset: i64, limit: i64) -> regie::requests::RequestQuery {
    regie::requests::RequestQuery { page: PageQuery { offset, limit, ..Default::default() }, ..Default::default() }
}

/// Every page of a requests query.
async fn all_request_pages(store: &Store, q: &regie::requests::RequestQuery) -> Vec<regie::requests::RequestView> {
    end_to_end(q.page.limit, |offset| {
        let mut q = q.clone();
        q.page.offset = offset;
        async move { regie::requests::page(store, &q).await.unwrap().page }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_requests_are_the_filtered_list_with_its_findings() {
    let dir = common::temp_dir("paging-requests");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = regie::requests::list(&store, None).await.unwrap();
    let ids = |v: &[regie::requests::RequestView]| v.iter().map(|r| r.id).collect::<Vec<_>>();

    // No filter, by request date (the default), 41 at a time: the whole list, same order, same findings.
    let paged = all_request_pages(&store, &requests_query(0, 41)).await;
    assert_eq!(ids(&paged), ids(&every));
    let codes = |v: &[regie::requests::RequestView]| {
        v.iter().map(|r| r.findings.iter().map(|f| f.code).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    assert_eq!(codes(&paged), codes(&every), "findings computed on the page as on the whole list");

    // Each filter as the whole list filtered by hand.
    let pending_six_isima = |r: &&regie::requests::RequestView| {
        r.status.to_string() == "pending" && r.plan.code() == "six" && r.school.to_string() == "ISIMA"
    };
    let mut q = requests_query(0, 25);
    q.status = Some("pending".into());
    q.plan = Some("six".into());
    q.school = Some("ISIMA".into());
    let want: Vec<i64> = every.iter().filter(pending_six_isima).map(|r| r.id).collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&all_request_pages(&store, &q).await), want);

    // Each finding: found by the database from the codes it keeps, as the rules give them.
    let with = |v: &[regie::requests::RequestView], code: &str| -> Vec<i64> {
        v.iter().filter(|r| r.findings.iter().any(|f| f.code == code)).map(|r| r.id).collect()
    };
    let mut seen = 0;
    for code in regie::requests::FINDING_CODES {
        let mut q = requests_query(0, 10);
        q.finding = Some(code.into());
        let want = with(&every, code);
        seen += usize::from(!want.is_empty());
        assert_eq!(ids(&all_request_pages(&store, &q).await), want, "{code}");
    }
    assert!(seen >= 3, "the demo gives {seen} kinds of findings");
    assert!(!with(&every, "six_at_or_below_threshold").is_empty());

    // The codes follow the settings: a threshold moved puts other requests under it.
    let six = |threshold: &str| {
        let set = ["--user", "fanny", "settings", "set", "--school", "ISIMA", "--six-threshold", threshold];
        assert!(common::regie(&db, &[&set[..], &["--reason", "note de service", "--json"]].concat()).ok);
    };
    assert!(common::regie(&db, &["users", "set-role", "fanny", "--role", "finance_manager"]).ok);
    let mut under = Vec::new();
    for threshold in ["5000", "1000"] {
        six(threshold);
        let now = regie::requests::list(&store, None).await.unwrap();
        let mut q = requests_query(0, 10);
        q.finding = Some("six_at_or_below_threshold".into());
        under.push(ids(&all_request_pages(&store, &q).await));
        assert_eq!(under.last().unwrap(), &with(&now, "six_at_or_below_threshold"), "{threshold}");
    }
    assert!(under[0].len() > under[1].len(), "more requests at or below 5000 than 1000: {under:?}");
    assert_eq!(regie::requests::index_findings(&store).await.unwrap(), 0, "nothing to compute again");

    // A search by name or number, whatever its case.
    let one = &every[5];
    let mut q = requests_query(0, 1000);
    q.page.search = Some(one.last_name.to_lowercase());
    let found = all_request_pages(&store, &q).await;
    assert!(found.iter().any(|r| r.id == one.id));
    assert!(found.iter().all(|r| r.last_name == one.last_name || r.first_name.contains(&one.last_name)));
    q.page.search = Some(one.student_number.clone());
    assert_eq!(
        ids(&all_request_pages(&store, &q).await),
        every.iter().filter(|r| r.student_number == one.student_number).map(|r| r.id).collect::<Vec<_>>()
    );

    // Sorted by name, then the other way.
    for descending in [false, true] {
        let mut q = requests_query(0, 1000);
        q.page.sort = Some("last_name".into());
        q.page.descending = descending;
        let got = all_request_pages(&store, &q).await;
        let names: Vec<(String, String)> = got.iter().map(|r| (r.last_name.clone(), r.first_name.clone())).collect();
        let mut sorted = names.clone();
        sorted.sort();
        if descending {
            sorted.reverse();
        }
        assert_eq!(names, sorted);
    }

    // What the core cannot read is refused, naming it.
    for (field, value) in [("finding", "nothing_like_it"), ("sort", "payer"), ("plan", "twelve")] {
        let mut q = requests_query(0, 10);
        match field {
            "finding" => q.finding = Some(value.into()),
            "sort" => q.page.sort = Some(value.into()),
            _ => q.plan = Some(value.into()),
        }
        let e = regie::requests::page(&store, &q).await.unwrap_err();
        assert!(e.to_string().contains(value), "{field}: {e}");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_invoices_are_the_filtered_list_with_their_totals() {
    let dir = common::temp_dir("paging-invoices");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    // One invoice credited in full, so that every state is there.
    let unpaid = regie::invoices::list(&store, None)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.status == regie::invoices::InvoiceStatus::Open && i.settled.is_zero())
        .expect("an invoice nothing was paid of");
    let amount = unpaid.total.to_string();
    let credit = ["credit-notes", "issue", &unpaid.number, "--amount", &amount, "--reason", "départ", "--json"];
    assert!(common::regie(&db, &["users", "set-role", "test-comptable", "--role", "finance_manager"]).ok);
    let issued = common::regie(&db, &credit);
    assert!(issued.ok, "{}", issued.stderr);
    let every = regie::invoices::list(&store, None).await.unwrap();
    let numbers = |v: &[regie::invoices::InvoiceItem]| v.iter().map(|i| i.number.clone()).collect::<Vec<_>>();
    let query = |offset, limit| regie::invoices::InvoiceQuery {
        page: PageQuery { offset, limit, ..Default::default() },
        ..Default::default()
    };
    let pages = |q: regie::invoices::InvoiceQuery| {
        let store = &store;
        end_to_end(q.page.limit, move |offset| {
            let mut q = q.clone();
            q.page.offset = offset;
            async move { regie::invoices::page(store, &q).await.unwrap().page }
        })
    };

    // In the order they were issued, with the same totals as the whole list.
    let paged = pages(query(0, 33)).await;
    assert_eq!(numbers(&paged), numbers(&every));
    let totals =
        |v: &[regie::invoices::InvoiceItem]| v.iter().map(|i| (i.total, i.settled, i.credited)).collect::<Vec<_>>();
    assert_eq!(totals(&paged), totals(&every));

    // The session filter offers every session invoiced, once each, in order (two years: several).
    let mut sessions: Vec<String> = every.iter().map(|i| i.session.clone()).collect();
    sessions.sort();
    sessions.dedup();
    assert!(sessions.len() > 2, "{sessions:?}");
    assert_eq!(regie::invoices::page(&store, &query(0, 1)).await.unwrap().sessions, sessions);

    // A session and a status (the totals' verdict, a rule): as the whole list filtered by hand.
    let session = every[0].session.clone();
    let mut q = query(0, 20);
    q.session = Some(session.clone());
    q.status = Some("settled".into());
    let want: Vec<String> = every
        .iter()
        .filter(|i| i.session == session && i.status == regie::invoices::InvoiceStatus::Settled)
        .map(|i| i.number.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(numbers(&pages(q).await), want);

    // Each state alone, found and counted by the database: the rule's verdict on every invoice.
    for (code, status) in [
        ("open", regie::invoices::InvoiceStatus::Open),
        ("settled", regie::invoices::InvoiceStatus::Settled),
        ("credited", regie::invoices::InvoiceStatus::Credited),
    ] {
        let want: Vec<String> = every.iter().filter(|i| i.status == status).map(|i| i.number.clone()).collect();
        assert!(!want.is_empty(), "the demo has {code} invoices");
        let mut q = query(0, 40);
        q.status = Some(code.into());
        assert_eq!(numbers(&pages(q.clone()).await), want, "{code}");
        assert_eq!(regie::invoices::page(&store, &q).await.unwrap().page.total, Some(want.len() as i64), "{code}");
    }

    // Dates, and a search by student number.
    let mut q = query(0, 1000);
    q.from = Some("2026-01-01".into());
    q.page.search = Some(every.last().unwrap().student_number.clone());
    let want: Vec<String> = every
        .iter()
        .filter(|i| i.date >= chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .filter(|i| i.student_number == every.last().unwrap().student_number)
        .map(|i| i.number.clone())
        .collect();
    assert_eq!(numbers(&pages(q).await), want);

    // Newest first.
    let mut q = query(0, 1000);
    q.page.sort = Some("number".into());
    q.page.descending = true;
    let mut reversed = numbers(&every);
    reversed.reverse();
    assert_eq!(numbers(&pages(q).await), reversed);

    let mut q = query(0, 10);
    q.from = Some("31/12/2025".into());
    let e = regie::invoices::page(&store, &q).await.unwrap_err();
    assert!(e.to_string().contains("31/12/2025"), "{e}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_card_transactions_are_the_filtered_list_latest_first() {
    let dir = common::temp_dir("paging-card");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = regie::card::transactions(&store, None, 1_000_000).await.unwrap();
    assert!(every.len() > 500, "two years of card payments: {}", every.len());
    let query = |offset, limit| regie::card::TransactionQuery {
        page: PageQuery { offset, limit, ..Default::default() },
        ..Default::default()
    };
    let pages = |q: regie::card::TransactionQuery| {
        let store = &store;
        end_to_end(q.page.limit, move |offset| {
            let mut q = q.clone();
            q.page.offset = offset;
            async move { regie::card::transaction_page(store, &q).await.unwrap() }
        })
    };
    let sorted_numbers = |v: &[regie::card::TransactionView]| {
        let mut n: Vec<String> = v.iter().map(|t| t.row.number.clone()).collect();
        n.sort();
        n
    };

    // Latest first, by the gateway's date and time: every transaction once.
    let mut q = query(0, 97);
    q.page.sort = Some("date".into());
    q.page.descending = true;
    let paged = pages(q).await;
    assert_eq!(sorted_numbers(&paged), sorted_numbers(&every));
    let when: Vec<(chrono::NaiveDate, Option<String>)> =
        paged.iter().map(|t| (t.row.date, t.row.time.clone())).collect();
    assert!(when.windows(2).all(|w| w[0] >= w[1]), "latest first");

    // An outcome (captured is paid), a remittance, a search: as the whole list filtered by hand.
    let mut q = query(0, 50);
    q.outcome = Some("refused".into());
    let refused: Vec<_> = every.iter().filter(|t| t.row.outcome == regie::card::Outcome::Refused).cloned().collect();
    assert!(!refused.is_empty());
    assert_eq!(sorted_numbers(&pages(q).await), sorted_numbers(&refused));
    let remittance = every.iter().find_map(|t| t.row.remittance.clone()).unwrap();
    let mut q = query(0, 1000);
    q.remittance = Some(remittance.clone());
    q.outcome = Some("captured".into());
    let want: Vec<_> = every
        .iter()
        .filter(|t| t.row.remittance.as_deref() == Some(&remittance) && t.row.outcome == regie::card::Outcome::Paid)
        .cloned()
        .collect();
    assert_eq!(sorted_numbers(&pages(q).await), sorted_numbers(&want));
    let one = &every[3];
    let mut q = query(0, 10);
    q.page.search = Some(one.row.number.clone());
    assert_eq!(sorted_numbers(&pages(q).await), vec![one.row.number.clone()]);

    // By amount, largest first.
    let mut q = query(0, 1000);
    q.page.sort = Some("amount".into());
    q.page.descending = true;
    let amounts: Vec<_> = pages(q).await.iter().map(|t| t.amount).collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]));

    // The remittances, paged as Cartes asks for them: the whole list, latest first, page by page.
    let all = regie::card::remittances(&store).await.unwrap();
    assert!(all.len() > 20, "two years of remittances: {}", all.len());
    let paged = end_to_end(7, |offset| {
        let store = &store;
        async move {
            let q = PageQuery { offset, limit: 7, ..Default::default() };
            regie::card::remittance_page(store, &q).await.unwrap()
        }
    })
    .await;
    let key = |r: &regie::card::Remittance| (r.number.clone(), r.date, r.gross, r.count, r.bank_line_id, r.flagged);
    assert_eq!(paged.iter().map(key).collect::<Vec<_>>(), all.iter().map(key).collect::<Vec<_>>());
    assert!(paged.windows(2).all(|w| w[0].date >= w[1].date));

    let mut q = query(0, 10);
    q.outcome = Some("lost".into());
    assert!(regie::card::transaction_page(&store, &q).await.unwrap_err().to_string().contains("lost"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_reminders_are_the_overdue_list_by_level() {
    let dir = common::temp_dir("paging-dunning");
    let db = common::db_at(&dir, "office");
    // An office that has never sent its reminders: the runs below start in the past year.
    let demo = ["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--no-reminders", "--json"];
    assert!(common::regie(&db, &demo).ok);
    let store = Store::open(&db).await.unwrap();
    // The levels the database computes from the cutoffs are the rule's, on several days (before
    // the first delay, in the middle of the year, after the blocks), with their counts. A run on
    // some of those days leaves levels raised then, too recent or old enough for the next one.
    let key = |e: &regie::dunning::Entry| (e.invoice.clone(), e.installment, e.level, e.reminded_on, e.next_level);
    let mut as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    // Each school's delays bound to its own parameters: Polytech's differ from ISIMA's.
    let mut poly = regie::settings::list(&store)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.school == regie::fees::School::Polytech)
        .unwrap();
    (poly.dunning_first_days, poly.dunning_second_days, poly.dunning_block_days) = (10, 30, 60);
    regie::users::set_role(&store, "fanny", regie::users::Role::FinanceManager, "admin").await.unwrap();
    regie::settings::update(&store, &poly, "fanny", Some("délais de Polytech")).await.unwrap();
    let ts = regie::invoices::Typesetter::new();
    let out = dir.join("relances");
    let (mut held, mut stepped) = (0, 0);
    for (day, run) in [
        ("2025-10-12", true),
        ("2025-10-20", false),
        ("2025-10-27", true),
        ("2025-11-15", false),
        ("2026-02-15", true),
        ("2026-03-02", false),
        ("2026-11-23", false),
        ("2027-06-30", false),
    ] {
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        let every = regie::dunning::list(&store, day).await.unwrap();
        let q = regie::dunning::DunningQuery { level: None, page: PageQuery { limit: 1000, ..Default::default() } };
        let got: Vec<_> = end_to_end(1000, |offset| {
            let mut q = q.clone();
            q.page.offset = offset;
            let store = &store;
            async move { regie::dunning::page(store, day, &q).await.unwrap().page }
        })
        .await
        .iter()
        .map(key)
        .collect();
        assert_eq!(got, every.iter().map(key).collect::<Vec<_>>(), "{day}");
        let p = regie::dunning::page(&store, day, &q).await.unwrap().counts.unwrap();
        let n = |l: regie::dunning::Level| every.iter().filter(|e| e.next_level == l).count();
        assert_eq!(
            (p.first, p.second, p.blocked),
            (n(regie::dunning::Level::First), n(regie::dunning::Level::Second), n(regie::dunning::Level::Blocked)),
            "{day}"
        );
        assert_eq!(p.raised, every.iter().filter(|e| e.next_level != e.level).count(), "{day}");
        // Levels raised by an earlier run: held back because the first reminder is too recent
        // (overdue by the second delay already), or raised one step.
        use regie::dunning::Level::{First, Second};
        let second = |e: &regie::dunning::Entry| if e.school == regie::fees::School::Polytech { 30 } else { 21 };
        held += every
            .iter()
            .filter(|e| (e.level, e.next_level) == (First, First) && (day - e.due_date).num_days() >= second(e))
            .count();
        stepped += every.iter().filter(|e| (e.level, e.next_level) == (First, Second)).count();
        if run {
            let done = regie::dunning::run(&store, &ts, day, &out, false, "claire").await.unwrap();
            assert!(done.raised > 0, "{day}: {done:?}");
        }
        if every.len() > 50 {
            as_of = day;
        }
    }
    assert!(held > 0 && stepped > 0, "levels held back: {held}, raised one step: {stepped}");
    let every = regie::dunning::list(&store, as_of).await.unwrap();
    assert!(every.len() > 50, "{as_of}: {} overdue", every.len());
    let key = |e: &regie::dunning::Entry| (e.invoice.clone(), e.installment);
    for level in [None, Some("first"), Some("blocked")] {
        let q = regie::dunning::DunningQuery {
            level: level.map(str::to_string),
            page: PageQuery { limit: 7, ..Default::default() },
        };
        let got: Vec<_> = end_to_end(q.page.limit, |offset| {
            let mut q = q.clone();
            q.page.offset = offset;
            let (store, every) = (&store, &every);
            async move {
                let p = regie::dunning::page(store, as_of, &q).await.unwrap();
                assert_eq!(p.counts.map(|c| c.overdue), Some(every.len()));
                p.page
            }
        })
        .await
        .iter()
        .map(key)
        .collect();
        let want: Vec<_> = every
            .iter()
            .filter(|e| level.is_none_or(|l| format!("{:?}", e.next_level).to_lowercase() == l))
            .map(key)
            .collect();
        assert_eq!(got, want, "{level:?}");
    }
    // A search by a name without its accents, or by an invoice number.
    let one = &every[every.len() / 2];
    for typed in [regie::page::fold(&one.last_name), one.invoice.to_lowercase()] {
        let q = regie::dunning::DunningQuery {
            level: None,
            page: PageQuery { limit: 1000, search: Some(typed.clone()), ..Default::default() },
        };
        let found = regie::dunning::page(&store, as_of, &q).await.unwrap().page.rows;
        assert!(found.iter().any(|e| key(e) == key(one)), "{typed}");
        assert!(found.len() < every.len(), "{typed}");
    }
    let q = regie::dunning::DunningQuery {
        level: Some("third".into()),
        page: PageQuery { limit: 7, ..Default::default() },
    };
    assert!(regie::dunning::page(&store, as_of, &q).await.unwrap_err().to_string().contains("third"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_the_commission_candidates_are_the_whole_list() {
    let dir = common::temp_dir("paging-exemptions");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = regie::exemptions::list(&store, None, None).await.unwrap();
    assert!(every.len() > 20);
    let q = regie::exemptions::CandidateQuery {
        session: None,
        year: None,
        page: PageQuery { limit: 9, ..Default::default() },
    };
    let got = end_to_end(9, |offset| {
        let mut q = q.clone();
        q.page.offset = offset;
        let store = &store;
        async move { regie::exemptions::page(store, &q).await.unwrap().page }
    })
    .await;
    let invoices = |v: &[regie::exemptions::Candidate]| v.iter().map(|c| c.invoice_number.clone()).collect::<Vec<_>>();
    assert_eq!(invoices(&got), invoices(&every));
    // A year's candidates: those of its requests, the years latest first.
    let mut by_year = q.clone();
    let years = regie::exemptions::page(&store, &by_year).await.unwrap().years;
    assert_eq!(years, ["2026-27", "2025-26"]);
    by_year.year = Some("2025-2026".into());
    by_year.page.limit = 1000;
    let last_year = regie::exemptions::page(&store, &by_year).await.unwrap().page;
    let expected: Vec<_> = every.iter().filter(|c| c.academic_year == "2025-26").cloned().collect();
    assert!(!expected.is_empty() && expected.len() < every.len());
    assert_eq!(last_year.total, Some(expected.len() as i64));
    assert_eq!(invoices(&last_year.rows), invoices(&expected));
    by_year.year = Some("2025-27".into());
    assert!(regie::exemptions::page(&store, &by_year).await.is_err(), "a year that is none");
    let mut q = q.clone();
    q.page.search = Some(every[0].last_name.to_lowercase());
    q.page.limit = 1000;
    let found = regie::exemptions::page(&store, &q).await.unwrap().page;
    assert!(found.rows.iter().all(|c| c.last_name == every[0].last_name || c.first_name.contains(&every[0].last_name)));
    assert_eq!(found.total, Some(every.iter().filter(|c| c.last_name == every[0].last_name).count() as i64));
    q.page.sort = Some("name".into());
    assert!(regie::exemptions::page(&store, &q).await.unwrap_err().to_string().contains("name"));
    store.close().await;
}

/// Students added before their search key was kept get it when the database is next opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_of_an_older_database_are_found_once_it_is_opened() {
    let dir = common::temp_dir("paging-keys");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "120", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = regie::requests::list(&store, None).await.unwrap();
    let blanked = common::exec(&store, "UPDATE students SET search_key = ''").await.unwrap();
    assert!(blanked > 100);
    let q = PageQuery { search: Some(every[0].last_name.clone()), limit: 1000, ..Default::default() };
    assert_eq!(regie::ledger::student_page(&store, &q).await.unwrap().total, 0, "nothing to find by");
    store.close().await;
    let store = Store::open(&db).await.unwrap();
    let found = regie::ledger::student_page(&store, &q).await.unwrap();
    let fold = regie::page::fold;
    let expected = every
        .iter()
        .filter(|r| fold(&format!("{} {}", r.last_name, r.first_name)).contains(&fold(&every[0].last_name)))
        .map(|r| r.student_number.clone())
        .collect::<std::collections::BTreeSet<_>>();
    assert!(!expected.is_empty());
    assert_eq!(found.total as usize, expected.len());
    let keys: Vec<(String, String)> = common::rows(&store, "SELECT number, search_key FROM students").await;
    for (number, key) in keys {
        assert!(key.starts_with(&format!("{number} ")), "{number}: {key}");
        assert_eq!(key, fold(&key), "folded");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_is_found_whatever_its_accents_and_case() {
    let dir = common::temp_dir("paging-accents");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let every = regie::requests::list(&store, None).await.unwrap();
    let fold = regie::page::fold;
    for typed in ["lefevre", "LEFÈVRE", "eloise", "Éloïse", "guerin", "françois"] {
        let want: Vec<i64> = every
            .iter()
            .filter(|r| fold(&format!("{} {} {}", r.last_name, r.first_name, r.last_name)).contains(&fold(typed)))
            .map(|r| r.id)
            .collect();
        assert!(!want.is_empty(), "the demo has a {typed}");
        let mut q = requests_query(0, 1000);
        q.page.search = Some(typed.to_string());
        assert_eq!(ids_of(&all_request_pages(&store, &q).await), want, "{typed}");
        let students = regie::ledger::student_page(
            &store,
            &PageQuery { search: Some(typed.into()), limit: 1000, ..Default::default() },
        )
        .await
        .unwrap();
        assert!(students.total > 0, "{typed} in Comptes");
        assert!(
            students
                .students
                .iter()
                .all(|s| fold(&format!("{} {} {}", s.last_name, s.first_name, s.last_name)).contains(&fold(typed)))
        );
    }
    store.close().await;
}

fn ids_of(v: &[regie::requests::RequestView]) -> Vec<i64> {
    v.iter().map(|r| r.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_line_is_found_whatever_the_accents_of_its_label() {
    let dir = common::temp_dir("paging-labels");
    let db = common::db_at(&dir, "office");
    let store = Store::open(&db).await.unwrap();
    let file = dir.join("releve.csv");
    std::fs::write(
        &file,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\n\
         02/10/2025;02/10/2025;;618,00;VIR SEPA RECU /DE Léa LEFÈVRE /MOTIF Scolarité ISIMA;\n\
         03/10/2025;03/10/2025;;206,00;VIR SEPA RECU /DE PAUL MARTIN /MOTIF INSCRIPTION;\n\
         04/10/2025;04/10/2025;12,50;;FRAIS TENUE DE COMPTE;\n",
    )
    .unwrap();
    bank::import_file(&store, &file, bank::Columns::Detect, "claire").await.unwrap();
    let found = |store: &Store, typed: &str| {
        let mut q = query(None, "date", false, 0, 100);
        q.page.search = Some(typed.to_string());
        let store = store.clone();
        async move { all_pages(&store, &q).await.into_iter().map(|l| l.label).collect::<Vec<_>>() }
    };
    let lea = vec!["VIR SEPA RECU /DE Léa LEFÈVRE /MOTIF Scolarité ISIMA".to_string()];
    for typed in ["lefevre", "LEFÈVRE", "Lefèvre", "scolarite", "léa lef"] {
        assert_eq!(found(&store, typed).await, lea, "{typed}");
    }
    assert_eq!(found(&store, "martin").await.len(), 1);
    assert_eq!(found(&store, "frais").await.len(), 1);

    // Lines written before the folded label was kept get theirs at the next opening.
    let blanked = common::exec(&store, "UPDATE statement_lines SET search_label = NULL").await.unwrap();
    assert_eq!(blanked, 3);
    assert!(found(&store, "lefevre").await.is_empty(), "nothing to find by");
    store.close().await;
    let store = Store::open(&db).await.unwrap();
    assert_eq!(found(&store, "lefevre").await, lea);
    store.close().await;
}

/// A search finds the same lines whether they are in the statement lines' text index or came
/// after its mark (a statement imported since): the index only narrows what is read. Terms too
/// short for its trigrams, or holding `%`, `_` or `\`, read every line, and find the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_the_same_lines_in_the_text_index_and_after_it() {
    let dir = common::temp_dir("paging-text");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let embedded = store.path().is_some();
    let after_mark = |store: &Store| {
        let store = store.clone();
        async move { regie::store::bank::lines_after_text_index(&mut store.read().await.unwrap()).await.unwrap() }
    };
    assert_eq!(after_mark(&store).await, 0, "the demo's lines are indexed on opening");
    let file = dir.join("releve.csv");
    std::fs::write(
        &file,
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\n\
         05/10/2026;05/10/2026;;100,00;VIR SEPA RECU /DE M OU MME DUPONT-LÉGER /MOTIF 50%_ACOMPTE;\n\
         06/10/2026;06/10/2026;;206,00;VIR SEPA RECU /DE Dupont Ab /MOTIF C:\\ISIMA 2026;\n\
         07/10/2026;07/10/2026;;12,00;PRLV ΩMEGA Ωmega SAS;\n",
    )
    .unwrap();
    bank::import_file(&store, &file, bank::Columns::Detect, "claire").await.unwrap();
    if embedded {
        assert_eq!(after_mark(&store).await, 3, "a small statement's lines wait after the mark");
    }
    let every = bank::lines(&store, None).await.unwrap();
    let terms = [
        "dupont",
        "Dupont-Léger",
        "léger",
        "remise cb",
        "vir",
        "mme dupont",
        "50%",
        "%_a",
        "_",
        "%",
        "ab",
        "c:\\isima",
        "Ωmega",
        "ωmega",
        "zzzz",
        "acompte",
    ];
    let expected = |term: &str| {
        let term = regie::page::fold(term.trim());
        every.iter().filter(|l| regie::page::fold(&l.label).contains(&term)).map(|l| l.id).collect::<Vec<_>>()
    };
    let found = |store: &Store, term: &str, status: Option<&str>| {
        let mut q = query(status, "date", false, 0, 37);
        q.page.search = Some(term.to_string());
        let store = store.clone();
        async move { all_pages(&store, &q).await.into_iter().map(|l| l.id).collect::<Vec<_>>() }
    };
    let check = |store: &Store| {
        let store = store.clone();
        let every = every.clone();
        async move {
            for term in terms {
                let want = expected(term);
                assert_eq!(found(&store, term, None).await, want, "{term}");
                let unmatched: Vec<i64> = want
                    .iter()
                    .copied()
                    .filter(|id| every.iter().any(|l| l.id == *id && l.status == LineStatus::Unmatched))
                    .collect();
                assert_eq!(found(&store, term, Some("unmatched")).await, unmatched, "{term}, unmatched");
            }
        }
    };
    assert!(expected("dupont").len() >= 2 && expected("Ωmega").len() == 1 && expected("ωmega").is_empty());
    assert!(expected("Dupont-Léger").len() == 1 && expected("%_a").len() == 1 && expected("c:\\isima").len() == 1);
    check(&store).await;
    store.catch_up_line_text(0).await.unwrap();
    assert_eq!(after_mark(&store).await, 0);
    check(&store).await;
    store.close().await;
}

/// A screen asks for a page's rows first and its count after: the rows asked for alone are the
/// same rows, and come without a count (nor the reminders' counts by level).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_asked_for_before_its_count_holds_the_same_rows() {
    use regie::page::Count;
    let dir = common::temp_dir("paging-later");
    let db = common::db_at(&dir, "office");
    assert!(common::regie(&db, &["demo", "--students", "300", "--years", "2", "--today", "23/11/2026", "--json"]).ok);
    let store = Store::open(&db).await.unwrap();
    let later = |mut p: PageQuery| {
        p.count = Count::Later;
        p
    };
    fn json<T: serde::Serialize>(rows: &T) -> serde_json::Value {
        serde_json::to_value(rows).unwrap()
    }
    for offset in [0, 7] {
        let page = PageQuery { limit: 7, offset, ..Default::default() };
        let searched = PageQuery { search: Some("a".into()), ..page.clone() };

        let q = regie::requests::RequestQuery {
            finding: Some("six_at_or_below_threshold".into()),
            page: page.clone(),
            ..Default::default()
        };
        let counted = regie::requests::page(&store, &q).await.unwrap().page;
        let alone = regie::requests::page(&store, &regie::requests::RequestQuery { page: later(page.clone()), ..q })
            .await
            .unwrap()
            .page;
        assert!(counted.total.is_some() && alone.total.is_none());
        assert_eq!(json(&counted.rows), json(&alone.rows), "requests from {offset}");

        for status in ["open", "settled"] {
            let q =
                regie::invoices::InvoiceQuery { status: Some(status.into()), page: page.clone(), ..Default::default() };
            let counted = regie::invoices::page(&store, &q).await.unwrap().page;
            let q = regie::invoices::InvoiceQuery { page: later(page.clone()), ..q };
            let alone = regie::invoices::page(&store, &q).await.unwrap().page;
            assert!(!counted.rows.is_empty() && counted.total.is_some() && alone.total.is_none());
            assert_eq!(json(&counted.rows), json(&alone.rows), "{status} invoices from {offset}");
        }

        let q = LineQuery { status: None, line: None, page: searched.clone() };
        let counted = bank::line_page(&store, &q).await.unwrap().page;
        let alone = bank::line_page(&store, &LineQuery { page: later(searched.clone()), ..q }).await.unwrap().page;
        assert!(!counted.rows.is_empty() && counted.total.is_some() && alone.total.is_none());
        assert_eq!(json(&counted.rows), json(&alone.rows), "lines from {offset}");

        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let q = regie::dunning::DunningQuery { level: None, page: page.clone() };
        let counted = regie::dunning::page(&store, day, &q).await.unwrap();
        let q = regie::dunning::DunningQuery { level: None, page: later(page.clone()) };
        let alone = regie::dunning::page(&store, day, &q).await.unwrap();
        assert!(counted.counts.is_some() && alone.counts.is_none() && alone.page.total.is_none());
        assert!(!counted.page.rows.is_empty());
        assert_eq!(json(&counted.page.rows), json(&alone.page.rows), "reminders from {offset}");

        let q = regie::exemptions::CandidateQuery { session: None, year: None, page: page.clone() };
        let counted = regie::exemptions::page(&store, &q).await.unwrap().page;
        let q = regie::exemptions::CandidateQuery { page: later(page.clone()), ..q };
        let alone = regie::exemptions::page(&store, &q).await.unwrap().page;
        assert!(!counted.rows.is_empty() && counted.total.is_some() && alone.total.is_none());
        assert_eq!(json(&counted.rows), json(&alone.rows), "candidates from {offset}");
    }
    store.close().await;
}
