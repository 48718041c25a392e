-- docs/rls.md, pitfall 2: a tenant table added later without row-level security.
create table project_notes (
    id         uuid primary key default gen_random_uuid(),
    company_id uuid not null references companies (id),
    note       text not null
);
alter table project_notes owner to portal_owner;
grant select, insert on project_notes to portal_app;
insert into project_notes (company_id, note) select id, 'note of ' || name from companies;
