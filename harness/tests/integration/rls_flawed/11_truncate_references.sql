-- docs/rls.md, pitfall 11: TRUNCATE and REFERENCES granted to the app; RLS covers
-- neither.
grant truncate, references on users to portal_app;
