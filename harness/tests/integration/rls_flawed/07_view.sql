-- docs/rls.md, pitfall 7: the same view without security_invoker runs as its owner
-- (portal_owner, BYPASSRLS): every caller reads every tenant through it.
create view project_overview as
    select id, company_id, name, status from projects;
alter view project_overview owner to portal_owner;
grant select on project_overview to portal_app, portal_reader;
