-- A restrictive tenant policy bounding wide permissive ones: rows pass
-- when every restrictive and at least one permissive policy accept them,
-- so the permissive policies below only choose among the tenant's rows.
create role help_owner nologin bypassrls;
create role help_app nologin;
create table cases (
  org_id uuid not null,
  id uuid primary key default gen_random_uuid(),
  status text not null
);
alter table cases owner to help_owner;
alter table cases enable row level security, force row level security;
grant select, insert, update, delete on cases to help_app;
create policy cases_tenant on cases as restrictive for all to help_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy cases_visible on cases for select to help_app
  using (status <> 'deleted');
create policy cases_staff on cases for select to help_app
  using (current_setting('app.staff', true) = 'on');
create policy cases_write on cases for all to help_app
  using (true) with check (true);
