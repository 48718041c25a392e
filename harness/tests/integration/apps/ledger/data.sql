-- A sample ledger for load runs (`harness load --app .../ledger`): the
-- harness runs this on a new SQLite file made from legacy.sql, with the
-- run's figures in harness_params (tenants, scale, seed). Deterministic:
-- every value comes from a row number and the seed. Account n has
-- 20 * scale * (1 + n % 3) orders, so accounts differ in size; each order
-- has two lines.
with recursive n(i) as (
    select 1 union all select i + 1 from n where i < (select tenants from harness_params))
insert into "Accounts" (id, "display ""name""", created, active)
select i, 'Account ' || i, null, null from n;

with recursive n(i) as (
    select 1 union all select i + 1 from n
    where i < (select 20 * scale * 3 * tenants from harness_params))
insert into "order" (id, account, total, note, seq, "where")
select i,
       1 + (i * 7 + (select seed from harness_params)) % (select tenants from harness_params),
       round(((i * 37) % 10000) / 100.0, 2),
       'order ' || i,
       i % 1000,
       'shelf ' || (i % 12)
from n;

-- Thin the orders so account n keeps 1 + n % 3 thirds of its share.
delete from "order"
where (id % 3) >= 1 + (account % 3);

insert into line_items (account, "order", line, qty, sku)
select account, id, 1, 1 + id % 5, 'SKU-' || (id % 97) from "order";
insert into line_items (account, "order", line, qty, sku)
select account, id, 2, 1 + id % 3, 'SKU-' || (id % 89) from "order";
