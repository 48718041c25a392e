-- docs/rls.md, pitfall 9, done right: an app helper that can raise an error is not
-- LEAKPROOF, so the planner evaluates it only on rows the policy let through.
create function units_ratio(n integer) returns integer
    language plpgsql immutable
as $$ begin return 100 / (n - 13); end $$;
grant execute on function units_ratio(integer) to portal_app;
