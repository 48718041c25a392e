-- "Accounts": the policy casts the setting without nullif, so an empty
-- context (a pooled connection after a transaction-local value) raises a
-- cast error instead of showing nothing (docs/rls.md, pitfall 3).
alter policy accounts_tenant on "Accounts"
    using (id = current_setting('ledger.account', true)::uuid)
    with check (id = current_setting('ledger.account', true)::uuid);
