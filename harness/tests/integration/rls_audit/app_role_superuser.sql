-- app-role-superuser: correct policies, and an app role they never bind.
create role wiki_owner nologin bypassrls;
create role wiki_app nologin superuser;
create table pages (org_id uuid not null, id uuid primary key default gen_random_uuid());
alter table pages owner to wiki_owner;
alter table pages enable row level security, force row level security;
grant select on pages to wiki_app;
create policy pages_tenant on pages for select to wiki_app
  using (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
