-- A per-role default for this database: every new connection of the app
-- role starts as the first account, and falls back to it after each
-- transaction-local context ends (docs/rls.md, pitfall 4).
do $$
begin
    execute format('alter role ledger_app in database %I set ledger.account = %L',
                   current_database(), (select id::text from "Accounts" order by id limit 1));
end
$$;
