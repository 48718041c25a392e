-- write-check-implicit: an UPDATE policy without WITH CHECK; USING is
-- reused for the new row, which confines it today and silently changes
-- with the next edit of USING.
create role notes_owner nologin bypassrls;
create role notes_app nologin;
create table notes (org_id uuid not null, id uuid primary key default gen_random_uuid());
alter table notes owner to notes_owner;
alter table notes enable row level security, force row level security;
grant select, update on notes to notes_app;
create policy notes_select on notes for select to notes_app
  using (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
create policy notes_update on notes for update to notes_app
  using (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
