-- docs/rls.md, pitfall 5: a policy whose WITH CHECK does not bind written rows to the
-- tenant: tenant A can insert rows into tenant B, or move its rows there.
drop policy applications_tenant on applications;
create policy applications_tenant on applications for all to portal_app, portal_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (true);
