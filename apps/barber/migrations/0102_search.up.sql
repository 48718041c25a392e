-- The two full-text searches of the seed's index list, kept on their GIN
-- indexes under row-level security.
--
-- Why: as barber_app, `notes_search @@ websearch_to_tsquery(...)` cannot be
-- an index condition. The policy's predicate must run before any condition
-- that could leak a row through an error, only leakproof operators may run
-- earlier, and `@@` (ts_match_vq) is not leakproof; so the planner reads
-- every appointment of the organization and filters them. `harness load`
-- flagged it (rls-costs-index) on the CI sample's largest organization:
-- 0.37 ms as barber_app against 0.04 ms unbound, 10x, growing with the
-- organization (an enterprise with years of history has tens of thousands
-- of appointments). The client search by name is the same case.
--
-- How isolation still holds: each function runs as barber_owner, whom the
-- policies do not bind, so its body applies the organization predicate
-- itself, read from the same transaction-local setting the policies read,
-- never from a parameter: a caller cannot name another organization, and an
-- unset or empty setting gives NULL, which matches no row (fail closed, as
-- the policies). Each reads one table and returns only what its screen
-- shows. The search_path is pinned and names are schema-qualified, so a
-- caller cannot put a table or an operator of its own in the way. plpgsql
-- keeps the statement's plan for the session.
create function barber_search_notes(p_query text, p_limit integer default 20)
    returns table (id uuid, appointment_date date, notes text)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    select a.id, a.appointment_date, a.notes
    from public.appointments a
    where a.organization_id = nullif(current_setting('app.organization_id', true), '')::uuid
      and a.notes_search @@ websearch_to_tsquery('english', p_query)
    order by a.appointment_date desc, a.id
    limit least(greatest(p_limit, 0), 100);
end
$$;

create function barber_search_clients(p_query text, p_limit integer default 20)
    returns table (id uuid, name text, email text, phone text, last_login timestamptz)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
begin
    return query
    select u.id, u.name, u.email, u.phone, u.last_login
    from public.users u
    where u.organization_id = nullif(current_setting('app.organization_id', true), '')::uuid
      and u.unified_role = 'client'
      and u.name_search @@ plainto_tsquery('simple', p_query)
    order by u.name, u.id
    limit least(greatest(p_limit, 0), 100);
end
$$;

alter function barber_search_notes(text, integer) owner to barber_owner;
alter function barber_search_clients(text, integer) owner to barber_owner;
revoke all on function barber_search_notes(text, integer), barber_search_clients(text, integer) from public;
grant execute on function barber_search_notes(text, integer), barber_search_clients(text, integer)
    to barber_app, barber_reader;
