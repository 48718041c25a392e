-- Flaw: the project location filter (SECURITY DEFINER, so the policies do
-- not bind its body) takes the tenant from the row's own column instead of
-- the context: every tenant's projects match.
create or replace function filter_projects(
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
    where p.company_id = p.company_id
      and p.location ilike '%' || location_part || '%'
      and p.status = any (statuses)
    order by p.created_at desc, p.id
    limit least(greatest(max_rows, 0), 100)
    offset greatest(skip_rows, 0);
end
$$;
