-- Roles (cluster-wide: created only when missing) and fail-closed
-- policies: no tenant context, no rows.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'ledger_owner') then
        create role ledger_owner nologin bypassrls;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'ledger_app') then
        create role ledger_app login;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'ledger_reader') then
        create role ledger_reader login;
    end if;
end
$$;
grant ledger_owner to current_user;
grant usage, create on schema public to ledger_owner;
grant usage on schema public to ledger_app, ledger_reader;
alter table "Accounts" owner to ledger_owner;
alter table "order" owner to ledger_owner;
alter table line_items owner to ledger_owner;
alter table attachments owner to ledger_owner;
alter table "Accounts" enable row level security, force row level security;
alter table "order" enable row level security, force row level security;
alter table line_items enable row level security, force row level security;
alter table attachments enable row level security, force row level security;
create policy accounts_tenant on "Accounts" for all to ledger_app, ledger_reader
    using (id = nullif(current_setting('ledger.account', true), '')::uuid)
    with check (id = nullif(current_setting('ledger.account', true), '')::uuid);
create policy order_tenant on "order" for all to ledger_app, ledger_reader
    using (account = nullif(current_setting('ledger.account', true), '')::uuid)
    with check (account = nullif(current_setting('ledger.account', true), '')::uuid);
create policy line_items_tenant on line_items for all to ledger_app, ledger_reader
    using (account = nullif(current_setting('ledger.account', true), '')::uuid)
    with check (account = nullif(current_setting('ledger.account', true), '')::uuid);
create policy attachments_tenant on attachments for all to ledger_app, ledger_reader
    using (account = nullif(current_setting('ledger.account', true), '')::uuid)
    with check (account = nullif(current_setting('ledger.account', true), '')::uuid);
grant select, insert, update, delete on "Accounts", "order", line_items, attachments to ledger_app;
grant select on "Accounts", "order", line_items, attachments to ledger_reader;
