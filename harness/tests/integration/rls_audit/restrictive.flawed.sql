-- Restrictive policies that bound less than they seem to: one for SELECT
-- only (the ALL policy's writes stay open), one for another role.
create role help_owner nologin bypassrls;
create role help_app nologin;
create role help_reader nologin;
create table cases (
  org_id uuid not null,
  id uuid primary key default gen_random_uuid(),
  status text not null
);
create table replies (
  org_id uuid not null,
  id uuid primary key default gen_random_uuid(),
  body text not null
);
alter table cases owner to help_owner;
alter table replies owner to help_owner;
alter table cases enable row level security, force row level security;
alter table replies enable row level security, force row level security;
grant select, insert, update, delete on cases, replies to help_app;
grant select on replies to help_reader;
create policy cases_tenant on cases as restrictive for select to help_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy cases_visible on cases for select to help_app
  using (status <> 'deleted');
create policy cases_write on cases for all to help_app
  using (true) with check (true);
create policy replies_tenant on replies as restrictive for all to help_reader
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy replies_open on replies for select to help_app, help_reader
  using (true);
