//! Long lists come a page at a time: the database filters, searches, sorts and counts, and the
//! pages put end to end are the whole list, in order, each line once.

mod common;

use regie::Store;
use regie::bank::matching::LineStatus;
use regie::bank::{self, LineQuery};

fn query(status: Option<&str>, sort: &str, descending: bool, offset: i64, limit: i64) -> LineQuery {
    LineQuery {
        status: status.map(str::to_string),
        search: None,
        line: None,
        sort: Some(sort.to_string()),
        descending,
        offset,
        limit,
    }
}

/// Every page of a query, end to end.
async fn all_pages(store: &Store, q: &LineQuery) -> Vec<bank::LineView> {
    let mut out = Vec::new();
    let mut q = q.clone();
    loop {
        let page = bank::line_page(store, &q).await.unwrap();
        let n = page.page.rows.len() as i64;
        assert!(n <= q.limit);
        out.extend(page.page.rows);
        assert_eq!(page.page.offset, q.offset);
        if n < q.limit {
            assert_eq!(out.len() as i64, page.page.total, "the pages add up to the count");
            return out;
        }
        q.offset += q.limit;
    }
}

#[tokio::test]
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
    assert_eq!(page.page.total, count(LineStatus::Matched));

    // A search is looked for in the label, whatever its case; `%` is a character, not a wildcard.
    let mut q = query(None, "date", false, 0, 1000);
    q.search = Some("remise cb".into());
    let found = all_pages(&store, &q).await;
    assert!(!found.is_empty());
    assert_eq!(found.len(), every.iter().filter(|l| l.label.to_lowercase().contains("remise cb")).count());
    q.search = Some("%".into());
    assert_eq!(bank::line_page(&store, &q).await.unwrap().page.total, 0);

    // One line alone (a check-in's conflict shown in Banque).
    let mut q = query(None, "date", false, 0, 10);
    q.line = Some(every[7].id);
    let one = bank::line_page(&store, &q).await.unwrap();
    assert_eq!((one.page.total, ids(&one.page.rows)), (1, vec![every[7].id]));

    // Out of bounds: refused, with what was asked.
    for (offset, limit) in [(-1, 10), (0, 0), (0, 1001)] {
        let e = bank::line_page(&store, &query(None, "date", false, offset, limit)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{e}");
    }
    let e = bank::line_page(&store, &query(None, "payer", false, 0, 10)).await.unwrap_err();
    assert!(e.to_string().contains("payer"), "{e}");
    store.close().await;
}
