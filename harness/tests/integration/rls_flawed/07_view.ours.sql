-- docs/rls.md, pitfall 7, done right: a view that runs as its caller.
create view project_overview with (security_invoker = true) as
    select id, company_id, name, status from projects;
alter view project_overview owner to portal_owner;
grant select on project_overview to portal_app, portal_reader;
