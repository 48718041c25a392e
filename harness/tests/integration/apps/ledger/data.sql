-- A small sample ledger (see harness/engine/src/app/sample.rs), used by the
-- prove-rls and load tests: every tenant (account) gets orders, some with
-- a parent order of the same account, two lines per order and an
-- attachment on every third order. Values derive from row numbers and the
-- seed, so the file is the same for the same parameters.
with recursive n(i) as (
    select 1 union all select i + 1 from n where i < (select tenants from harness_params)
)
insert into "Accounts" (id, "display ""name""", created, active)
select i, 'account ' || i, '2024-01-' || printf('%02d', 1 + (i % 28)) || ' 09:30:00', i % 2
from n;

with recursive n(i) as (
    select 1 union all select i + 1 from n
    where i < (select tenants * 4 * scale from harness_params)
)
insert into "order" (id, account, "parent order", total, amount, placed, due, tags, note, shipped, seq, "where")
select i,
       1 + (i % (select tenants from harness_params)),
       case when i > (select tenants from harness_params) and i % 3 = 0
            then i - (select tenants from harness_params) end,
       (i * 7 + (select seed from harness_params)) % 1000 / 4.0,
       printf('%d.%02d', i * 3 % 500, i % 100),
       '2024-02-' || printf('%02d', 1 + (i % 28)) || ' 12:00:00',
       '2024-03-' || printf('%02d', 1 + (i % 28)),
       'a,b',
       'order ' || i,
       i % 2,
       i,
       'shelf ' || (i % 5)
from n;

insert into line_items (account, "order", line, qty, sku)
select o.account, o.id, l.line, (o.id + l.line) % 9, 'sku-' || (o.id * 10 + l.line)
from "order" o cross join (select 1 as line union all select 2) l;

insert into attachments (account, "order", body, lat, lon)
select account, id, x'0102', 48.0 + id / 100.0, 2.0 + id / 100.0
from "order" where id % 3 = 0;
