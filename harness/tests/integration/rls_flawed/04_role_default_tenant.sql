-- docs/rls.md, pitfall 4: a tenant context that outlives the transaction. Here it is
-- a per-role default (every new connection of the app starts as the first
-- tenant); the test's second flawed variant is app code that sets the
-- context with a session-level SET instead of SET LOCAL.
do $$
begin
    execute format(
        'alter role portal_app in database %I set app.company_id = %L',
        current_database(),
        (select id::text from companies order by company_key limit 1)
    );
end
$$;
