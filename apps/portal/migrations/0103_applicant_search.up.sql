-- Staff applicant search that keeps its GIN index under row-level security.
--
-- Why: as portal_app, `search_vector @@ plainto_tsquery(...)` on applicants
-- cannot be an index condition: the policy's tenant predicate must be
-- evaluated first and `@@` (ts_match_vq) is not leakproof, so the planner
-- reads every applicant of the tenant and filters. Measured at
-- `--scale 10 --tenants 200` on the largest tenant (53,204 applicants):
-- 32 ms per search transaction as portal_app against 0.43 ms through this
-- function; under 10,000 users it was most of the replica's time. `harness
-- load` flags such a query itself (rls-costs-index, with this fix).
--
-- How isolation still holds: the function runs as portal_owner, whom the
-- policies do not bind, so its body applies the tenant predicate itself,
-- read from the same transaction-local setting the policies read and never
-- from a parameter: the caller cannot name another tenant, and an unset or
-- empty context gives NULL, which matches no row (fail closed, like the
-- policies). It reads only applicants and returns only the columns the
-- search screen shows. The search_path is pinned and every name is
-- schema-qualified, so a caller cannot shadow a table or an operator.
-- plpgsql caches the statement's plan for the session; a SQL-language
-- function would be planned again on every call.
create function search_applicants(term text, max_rows integer default 20)
    returns table (id uuid, first_name text, last_name text, email text)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    select a.id, a.first_name::text, a.last_name::text, a.email::text
    from public.applicants a
    where a.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and a.search_vector @@ plainto_tsquery('english', term)
    order by a.last_name, a.id
    limit least(greatest(max_rows, 0), 100);
end
$$;

alter function search_applicants(text, integer) owner to portal_owner;
revoke all on function search_applicants(text, integer) from public;
grant execute on function search_applicants(text, integer) to portal_app, portal_reader;
