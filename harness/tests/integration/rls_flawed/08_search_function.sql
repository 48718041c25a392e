-- Flaw: the applicant search function (SECURITY DEFINER, so the policies
-- do not bind its body) forgets the tenant predicate; its search_path is
-- still pinned, so only the probe of what it returns can catch it.
create or replace function search_applicants(term text, max_rows integer default 20)
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
    where a.search_vector @@ plainto_tsquery('english', term)
    order by a.last_name, a.id
    limit least(greatest(max_rows, 0), 100);
end
$$;
