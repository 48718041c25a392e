-- The setting model, written correctly and in Supabase's performance
-- idiom: the tenant comes from a transaction-local setting, read once per
-- statement through a scalar subselect, NULLIF'd before the cast.
create role desk_owner nologin bypassrls;
create role desk_app nologin;

create table orgs (id uuid primary key, name text not null);
create table tickets (
  org_id uuid not null references orgs (id),
  id uuid not null default gen_random_uuid(),
  subject text not null,
  primary key (org_id, id)
);
alter table orgs owner to desk_owner;
alter table tickets owner to desk_owner;
alter table orgs enable row level security, force row level security;
alter table tickets enable row level security, force row level security;
grant select on orgs to desk_app;
grant select, insert, update, delete on tickets to desk_app;

create policy orgs_tenant on orgs for select to desk_app
  using (id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy tickets_tenant on tickets for all to desk_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
