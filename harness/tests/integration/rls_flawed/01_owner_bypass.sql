-- docs/rls.md, pitfall 1: the app role owns a tenant table, and the table is not
-- FORCEd, so its owner (the app) bypasses every policy on it.
alter table applicants owner to portal_app;
alter table applicants no force row level security;
