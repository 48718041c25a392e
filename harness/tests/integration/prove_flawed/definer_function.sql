-- A SECURITY DEFINER helper that takes the account as an argument and
-- trusts it: called with another tenant's id it returns that tenant's
-- orders (docs/rls.md, pitfall 8). Its search_path is pinned, so only the
-- leak is the flaw.
create function orders_of(acct uuid) returns setof "order"
    language sql stable security definer set search_path = public
    as $$ select * from "order" where account = acct $$;
grant execute on function orders_of(uuid) to ledger_app;
