-- docs/rls.md, pitfall 3: the policy as the portal was first specified:
-- current_setting without missing_ok (an error when the context was never
-- set) and a bare ::uuid cast (an error when a pooled connection left it
-- as '').
drop policy projects_tenant on projects;
create policy projects_tenant on projects for all to portal_app, portal_reader
    using (company_id = current_setting('app.company_id')::uuid)
    with check (company_id = current_setting('app.company_id')::uuid);
