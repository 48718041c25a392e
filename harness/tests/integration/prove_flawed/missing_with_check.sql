-- "order": the write policies check nothing (WITH CHECK true), so a tenant
-- may insert a row for another tenant or move its own row there
-- (docs/rls.md, pitfall 5). Reads stay confined.
drop policy order_tenant on "order";
create policy order_read on "order" for select to ledger_app, ledger_reader
    using (account = nullif(current_setting('ledger.account', true), '')::uuid);
create policy order_insert on "order" for insert to ledger_app with check (true);
create policy order_update on "order" for update to ledger_app
    using (account = nullif(current_setting('ledger.account', true), '')::uuid)
    with check (true);
create policy order_delete on "order" for delete to ledger_app
    using (account = nullif(current_setting('ledger.account', true), '')::uuid);
