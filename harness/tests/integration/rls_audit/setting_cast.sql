-- setting-cast-without-nullif: three ways to cast the setting that all
-- raise 22P02 once a pooled connection holds ''; the scalar subselect of
-- the performance idiom does not change that.
create role ledger_owner nologin bypassrls;
create role ledger_app nologin;
create table entries (org_id uuid not null, id uuid primary key default gen_random_uuid());
alter table entries owner to ledger_owner;
alter table entries enable row level security, force row level security;
grant select, update, delete on entries to ledger_app;
-- the plain form
create policy entries_select on entries for select to ledger_app
  using (org_id = current_setting('app.org_id', true)::uuid);
-- cast outside the subselect
create policy entries_update on entries for update to ledger_app
  using (org_id = (select current_setting('app.org_id', true))::uuid)
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- cast inside the subselect
create policy entries_delete on entries for delete to ledger_app
  using (org_id = (select current_setting('app.org_id', true)::uuid));
