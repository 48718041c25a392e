//! The price of RLS per query (`harness::rls::price`), on a real server: a
//! full-text search that loses its GIN index under a policy is flagged with
//! the index, the operator and the setting; a key lookup is not; and once
//! the operator's function is marked leakproof the same search keeps its
//! index, which shows the reason given is the cause. A claim's measurement
//! (`speedup`: the same call with some indexes dropped, rolled back) sees
//! what the index is worth to the app role, which under RLS may be nothing.

use harness::rls::price::{measure, speedup, ActingAs, PricedQuery};
use sqlx::Connection;

use crate::support;

const SCHEMA: &str = "
create table docs (
    id bigint primary key,
    tenant bigint not null,
    body text not null,
    tsv tsvector generated always as (to_tsvector('simple', body)) stored
);
create index docs_tenant on docs (tenant);
create index docs_tsv on docs using gin (tsv);
insert into docs (id, tenant, body)
select i, 1 + (i % 4 = 0)::int, 'word' || (i % 5000) || ' filler text number ' || i
from generate_series(1, 40000) i;
analyze docs;
alter table docs enable row level security;
alter table docs force row level security;
create policy docs_tenant on docs for all to price_app
    using (tenant = nullif(current_setting('price.tenant', true), '')::bigint)
    with check (tenant = nullif(current_setting('price.tenant', true), '')::bigint);
grant select, insert, update, delete on docs to price_app;
";

#[tokio::test]
async fn a_search_that_loses_its_index_under_rls_is_flagged_and_a_key_lookup_is_not() {
    let c = support::native().await;
    let ep = support::fresh_db(&c, "rls_price").await;
    let mut conn = ep.connect().await.unwrap();
    sqlx::raw_sql("drop role if exists price_app; create role price_app")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
    let who = ActingAs {
        role: "price_app".into(),
        settings: vec![("price.tenant".into(), "1".into())],
    };
    let queries = vec![
        PricedQuery {
            name: "search".into(),
            sql: "select id from docs where tenant = $1 and tsv @@ plainto_tsquery('simple', $2)"
                .into(),
            args: vec![Some("1".into()), Some("word42".into())],
        },
        PricedQuery {
            name: "by_key".into(),
            sql: "select body from docs where tenant = $1 and id = $2".into(),
            args: vec![Some("1".into()), Some("17".into())],
        },
        PricedQuery {
            name: "insert".into(),
            sql: "insert into docs (id, tenant, body) values ($1, $2, $3)".into(),
            args: vec![Some("900001".into()), Some("1".into()), Some("new".into())],
        },
    ];
    let prices = measure(&mut conn, &who, &queries, 3).await.unwrap();
    let search = &prices[0];
    assert_eq!(search.error, None);
    assert_eq!(
        search.flag.as_deref(),
        Some("rls-costs-index"),
        "{search:?}"
    );
    assert!(search.unbound_indexes.contains(&"docs_tsv".to_string()));
    assert!(!search.app_indexes.contains(&"docs_tsv".to_string()));
    assert_eq!(search.lost[0].index, "docs_tsv");
    assert_eq!(search.lost[0].table, "docs");
    assert_eq!(search.lost[0].not_leakproof, ["@@ (ts_match_vq)"]);
    assert_eq!(
        search.app_rows, search.unbound_rows,
        "same answer both ways"
    );
    assert!(search.fix.as_deref().unwrap().contains("price.tenant"));
    let by_key = &prices[1];
    assert_eq!(by_key.error, None);
    assert_eq!(by_key.flag, None, "{by_key:?}");
    assert_eq!(by_key.app_rows, 1.0);
    assert_eq!(prices[2].error, None, "writes are measured too");
    assert_eq!(prices[2].app_rows, 0.0, "an insert returns no rows");

    // The writes were rolled back, and the settings did not outlive the run.
    let n: i64 = sqlx::query_scalar("select count(*) from docs where id = 900001")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let t: Option<String> = sqlx::query_scalar("select current_setting('price.tenant', true)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(t.unwrap_or_default().is_empty());

    // A claim's baseline (`[[claim]]`): the same search as the app role
    // with the GIN index dropped. Under RLS the index does not serve the
    // search at all, so dropping it changes no plan.
    let drop_gin = vec!["public.docs_tsv".to_string()];
    let s = speedup(&mut conn, &who, &queries[0], &drop_gin, 2)
        .await
        .unwrap();
    assert!(!s.with_indexes.contains(&"docs_tsv".to_string()), "{s:?}");
    assert!(
        !s.without_indexes.contains(&"docs_tsv".to_string()),
        "{s:?}"
    );

    // The cause: with the operator's function leakproof, the index is kept.
    sqlx::raw_sql("alter function ts_match_vq(tsvector, tsquery) leakproof")
        .execute(&mut conn)
        .await
        .unwrap();
    let again = measure(&mut conn, &who, &queries[..1], 2).await.unwrap();
    assert!(again[0].lost.is_empty(), "{:?}", again[0]);
    assert_ne!(again[0].flag.as_deref(), Some("rls-costs-index"));

    // Now the index serves the app role, and the claim's measurement sees
    // what it is worth: the tenant's 30,000 rows scanned without it.
    let s = speedup(&mut conn, &who, &queries[0], &drop_gin, 2)
        .await
        .unwrap();
    assert!(s.with_indexes.contains(&"docs_tsv".to_string()), "{s:?}");
    assert!(
        !s.without_indexes.contains(&"docs_tsv".to_string()),
        "{s:?}"
    );
    assert!(
        s.ratio() > 3.0,
        "the GIN index is worth more than 3x here: {s:?}"
    );
    // The drop was rolled back; an index that backs a constraint, or one
    // that does not exist, is an error, not a silent no-op.
    let kept: bool = sqlx::query_scalar("select to_regclass('docs_tsv') is not null")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(kept, "the index is still there");
    for bad in ["docs_pkey", "no_such_index"] {
        let e = speedup(&mut conn, &who, &queries[0], &[bad.to_string()], 1).await;
        assert!(e.is_err(), "dropping {bad} must fail: {e:?}");
    }
    conn.close().await.unwrap();
    drop(c);
}
