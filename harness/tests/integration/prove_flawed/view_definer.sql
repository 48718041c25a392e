-- A reporting view without security_invoker, owned by the superuser that
-- ran the migration: it reads "order" with its owner's rights and shows
-- every tenant's orders (docs/rls.md, pitfall 7).
create view order_totals as select id, account, total from "order";
grant select on order_totals to ledger_app;
