-- docs/rls.md, pitfall 6: an "admin" policy added next to the tenant policy.
-- Permissive policies OR together: every admin now reads every tenant.
create policy projects_admin on projects for select to portal_app
    using (current_setting('app.user_role', true) = 'admin');
