-- line_items: the policy ORs in "no context at all", meant as a
-- maintenance escape hatch; with no tenant set every row is visible and
-- writable (docs/rls.md, pitfalls 3 and 6).
alter policy line_items_tenant on line_items
    using (account = nullif(current_setting('ledger.account', true), '')::uuid
           or nullif(current_setting('ledger.account', true), '') is null);
