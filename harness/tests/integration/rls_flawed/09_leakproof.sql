-- docs/rls.md, pitfall 9: the same helper wrongly marked LEAKPROOF (and cheap), so the
-- planner may run it before the policy's qual: a division by zero on another
-- tenant's hidden row tells the caller that such a row exists.
create function units_ratio(n integer) returns integer
    language plpgsql immutable leakproof cost 0.001
as $$ begin return 100 / (n - 13); end $$;
grant execute on function units_ratio(integer) to portal_app;
