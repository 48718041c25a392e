-- The app's two ways into the data that row-level security alone cannot
-- serve well: full-text search (the seed's five search endpoints) and
-- login.
--
-- Search. Under row-level security the planner keeps any condition that
-- is not leakproof behind the policy's own condition, and `@@`
-- (ts_match_vq) is not leakproof: a plain `where search_vector @@ q` run
-- as hr_app can use no index for the words at all, only the policy's
-- company_id, and then tests every row of the company one by one. Leading
-- the GIN index with company_id does not change that (the words still
-- cannot be an index condition). So each search runs in a SECURITY
-- DEFINER function owned by hr_owner, which row-level security does not
-- bind, and which applies the tenant filter itself:
--   * the company comes from the transaction's app.company_id setting,
--     never from an argument, so a caller cannot name another company, and
--     an unset or '' setting matches no row (the same fail-closed test as
--     the policies);
--   * search_path is pinned to pg_catalog, pg_temp and every table is
--     schema-qualified, so a caller cannot put a temporary table of the
--     same name in the function's way;
--   * PL/pgSQL, so each pooled connection plans the search once and
--     reuses the plan (a SQL-language function that is not inlined plans
--     its query again on every call: about 1 ms here, as much as the
--     search itself);
--   * they return only the columns the search screens show.
--
-- Login. The app knows a company code and a login id, not a tenant id,
-- and the policies show it no users row before the tenant is set.
-- hr_login looks up that one login and returns only what a login needs.

create function hr_search_employees(p_query text, p_limit integer)
returns table (id uuid, employee_num text, name text, haken text, employee_type text,
               year integer, granted double precision, used double precision,
               balance double precision, rank real)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    return query
    select e.id, e.employee_num, e.name, e.haken, e.employee_type, e.year,
           e.granted, e.used, e.balance, ts_rank(e.search_vector, q)
    from public.employees e, plainto_tsquery('simple', p_query) as q
    where e.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and e.search_vector @@ q
    order by ts_rank(e.search_vector, q) desc, e.employee_num, e.year desc
    limit least(greatest(p_limit, 1), 100);
end
$$;

create function hr_search_genzai(p_query text, p_limit integer)
returns table (id uuid, employee_num text, name text, kana text, dispatch_name text,
               department text, status text, rank real)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    return query
    select g.id, g.employee_num, g.name, g.kana, g.dispatch_name, g.department, g.status,
           ts_rank(g.search_vector, q)
    from public.genzai g, plainto_tsquery('simple', p_query) as q
    where g.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and g.search_vector @@ q
    order by ts_rank(g.search_vector, q) desc, g.employee_num
    limit least(greatest(p_limit, 1), 100);
end
$$;

create function hr_search_ukeoi(p_query text, p_limit integer)
returns table (id uuid, employee_num text, name text, kana text, contract_business text,
               status text, rank real)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    return query
    select u.id, u.employee_num, u.name, u.kana, u.contract_business, u.status,
           ts_rank(u.search_vector, q)
    from public.ukeoi u, plainto_tsquery('simple', p_query) as q
    where u.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and u.search_vector @@ q
    order by ts_rank(u.search_vector, q) desc, u.employee_num
    limit least(greatest(p_limit, 1), 100);
end
$$;

create function hr_search_staff(p_query text, p_limit integer)
returns table (id uuid, employee_num text, name text, kana text, office text, status text,
               visa_expiry date, rank real)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    return query
    select s.id, s.employee_num, s.name, s.kana, s.office, s.status, s.visa_expiry,
           ts_rank(s.search_vector, q)
    from public.staff s, plainto_tsquery('simple', p_query) as q
    where s.company_id = nullif(current_setting('app.company_id', true), '')::uuid
      and s.search_vector @@ q
    order by ts_rank(s.search_vector, q) desc, s.employee_num
    limit least(greatest(p_limit, 1), 100);
end
$$;

-- The search box of the top bar: all four tables at once, best first.
create function hr_search_all(p_query text, p_limit integer)
returns table (kind text, id uuid, employee_num text, name text, place text, status text, rank real)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    c uuid := nullif(current_setting('app.company_id', true), '')::uuid;
    q tsquery := plainto_tsquery('simple', p_query);
begin
    return query
    select * from (
        select 'genzai'::text, g.id, g.employee_num, g.name, g.dispatch_name, g.status,
               ts_rank(g.search_vector, q)
        from public.genzai g where g.company_id = c and g.search_vector @@ q
        union all
        select 'ukeoi', u.id, u.employee_num, u.name, u.contract_business, u.status,
               ts_rank(u.search_vector, q)
        from public.ukeoi u where u.company_id = c and u.search_vector @@ q
        union all
        select 'staff', s.id, s.employee_num, s.name, s.office, s.status,
               ts_rank(s.search_vector, q)
        from public.staff s where s.company_id = c and s.search_vector @@ q
        union all
        select 'employees', e.id, e.employee_num, e.name, e.haken, e.year::text,
               ts_rank(e.search_vector, q)
        from public.employees e where e.company_id = c and e.search_vector @@ q
    ) as hits (kind, id, employee_num, name, place, status, rank)
    order by hits.rank desc, hits.employee_num, hits.kind
    limit least(greatest(p_limit, 1), 100);
end
$$;

create function hr_login(p_company_code text, p_login_id text)
returns table (company_id uuid, user_id uuid, password_hash text, role text,
               is_active boolean, failed_logins integer)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.company_id, u.id, u.password_hash, u.role, u.is_active and c.is_active, u.failed_logins
    from public.companies c
    join public.users u on u.company_id = c.id
    where c.code = p_company_code
      and lower(u.login_id) = lower(p_login_id)
$$;

alter function hr_search_employees(text, integer) owner to hr_owner;
alter function hr_search_genzai(text, integer) owner to hr_owner;
alter function hr_search_ukeoi(text, integer) owner to hr_owner;
alter function hr_search_staff(text, integer) owner to hr_owner;
alter function hr_search_all(text, integer) owner to hr_owner;
alter function hr_login(text, text) owner to hr_owner;

revoke all on function hr_search_employees(text, integer), hr_search_genzai(text, integer),
    hr_search_ukeoi(text, integer), hr_search_staff(text, integer), hr_search_all(text, integer),
    hr_login(text, text) from public;
grant execute on function hr_search_employees(text, integer), hr_search_genzai(text, integer),
    hr_search_ukeoi(text, integer), hr_search_staff(text, integer), hr_search_all(text, integer)
    to hr_app, hr_reader;
grant execute on function hr_login(text, text) to hr_app;
