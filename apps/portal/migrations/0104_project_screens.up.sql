-- The project screens at production size: an index for newest-first pages,
-- and the two project searches through functions that may use their
-- indexes under row-level security.
--
-- Why: `harness load --scale 10 --tenants 200` (1M rows) with 10,000 users
-- failed with the replica CPU-bound; its report put three project queries
-- at 98 % of the replica's statement time: the dashboard's newest projects
-- with statistics (21 ms a call, 41 %), the location filter (8.9 ms, 32 %)
-- and the project search (5.8 ms, 25 %). On the largest tenant (6,385
-- projects):
--   * the dashboard sorted every project of the tenant to keep 25: with
--     (company_id, created_at desc, id) it reads 25 (24 ms -> 2.6 ms);
--   * the location filter is a substring match (ILIKE '%...%') on nearly
--     unique locations, so it read the whole tenant for one match. A
--     trigram index could serve it, but ILIKE is not leakproof: under RLS
--     the policy's predicate runs first and the match cannot be an index
--     condition. Same for `@@` and the search's GIN index;
--   * so both searches move into SECURITY DEFINER functions, as the
--     applicant search did in 0103 (24 ms -> 3.0 ms and 6.0 ms -> 3.9 ms
--     per transaction with pgbench, one client; most of the search's time
--     is ranking every match).
--
-- Isolation holds as in 0103: each function runs as portal_owner, applies
-- the tenant predicate itself from the transaction-local app.company_id
-- (never from a parameter; unset or empty gives NULL, which matches
-- nothing), reads only projects, returns only the screen's columns, and
-- pins its search_path. The GIN indexes lead with company_id (btree_gin),
-- so one index scan finds the tenant's matches instead of every tenant's.
-- pg_trgm and btree_gin are trusted extensions shipped with PostgreSQL;
-- the down migration drops them again.

create extension if not exists pg_trgm;
create extension if not exists btree_gin;

create index idx_projects_company_created on projects (company_id, created_at desc, id);
create index idx_projects_company_location_trgm
    on projects using gin (company_id, location gin_trgm_ops);
create index idx_projects_company_search on projects using gin (company_id, search_vector);
create function filter_projects(
    location_part text,
    statuses text[],
    max_rows integer default 20,
    skip_rows integer default 0
)
    returns table (id uuid, name text, location text, status text, application_deadline date)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    select p.id, p.name::text, p.location::text, p.status::text, p.application_deadline
    from public.projects p
    where p.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and p.location ilike '%' || location_part || '%'
      and p.status = any (statuses)
    order by p.created_at desc, p.id
    limit least(greatest(max_rows, 0), 100)
    offset greatest(skip_rows, 0);
end
$$;

create function search_projects(
    term text,
    statuses text[],
    max_rows integer default 20,
    skip_rows integer default 0
)
    returns table (id uuid, name text, location text, status text, rank real)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    select p.id, p.name::text, p.location::text, p.status::text,
           ts_rank(p.search_vector, q) as rank
    from public.projects p, plainto_tsquery('english', term) q
    where p.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and p.search_vector @@ q
      and p.status = any (statuses)
    order by rank desc, p.id
    limit least(greatest(max_rows, 0), 100)
    offset greatest(skip_rows, 0);
end
$$;
alter function filter_projects(text, text[], integer, integer) owner to portal_owner;
alter function search_projects(text, text[], integer, integer) owner to portal_owner;
revoke all on function filter_projects(text, text[], integer, integer) from public;
revoke all on function search_projects(text, text[], integer, integer) from public;
grant execute on function filter_projects(text, text[], integer, integer) to portal_app, portal_reader;
grant execute on function search_projects(text, text[], integer, integer) to portal_app, portal_reader;
