-- permissive-policies-or: two permissive SELECT policies for one role,
-- each confined to the tenant, ORed; the wider one decides.
create role tasks_owner nologin bypassrls;
create role tasks_app nologin;
create table tasks (org_id uuid not null, id uuid primary key default gen_random_uuid(), done boolean not null);
alter table tasks owner to tasks_owner;
alter table tasks enable row level security, force row level security;
grant select on tasks to tasks_app;
create policy tasks_open on tasks for select to tasks_app
  using (org_id = nullif(current_setting('app.org_id', true), '')::uuid and not done);
create policy tasks_all on tasks for select to tasks_app
  using (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
