-- BookedBarber's three roles:
--   barber_owner   owns every table and the functions of 0101; NOLOGIN,
--                  BYPASSRLS. The migration runs as a superuser and
--                  switches to it (SET ROLE) to load the data, since COPY
--                  into a table with row-level security is refused to a
--                  role the policies bind. Creating an organization (a new
--                  tenant) is a platform job done as this role.
--   barber_app     the API's role: LOGIN, no BYPASSRLS, owns nothing, DML
--                  only (never TRUNCATE or REFERENCES, which policies do
--                  not filter). Its pool on the primary is the seed's
--                  pool_size 20 + max_overflow 30.
--   barber_reader  LOGIN, SELECT only, bound by the same policies: the
--                  read replica's sessions (the seed's get_read_session
--                  and get_analytics_session).
--
-- Roles belong to the whole cluster and other databases of it may run this
-- too: each role is created only when missing (another database creating
-- it at the same moment is not an error), and its attributes are set again
-- only when they differ. No passwords here: each deployment sets its own
-- (`alter role barber_app password ...`). Needs a superuser (BYPASSRLS can
-- only be granted by one).
do $$
declare
    r record;
begin
    for r in select * from (values
        ('barber_owner', false, true),
        ('barber_app', true, false),
        ('barber_reader', true, false)
    ) as v (name, can_login, bypass)
    loop
        begin
            if not exists (select 1 from pg_catalog.pg_roles where rolname = r.name) then
                execute format('create role %I', r.name);
            end if;
        exception when duplicate_object or unique_violation then
            null;
        end;
        if exists (
            select 1 from pg_catalog.pg_roles
            where rolname = r.name
              and (rolsuper or rolcreaterole or rolcreatedb
                   or rolcanlogin <> r.can_login or rolbypassrls <> r.bypass)
        ) then
            execute format(
                'alter role %I nosuperuser nocreaterole nocreatedb %s %s',
                r.name,
                case when r.can_login then 'login' else 'nologin' end,
                case when r.bypass then 'bypassrls' else 'nobypassrls' end
            );
        end if;
    end loop;
end
$$;

-- The app and the reader must not be able to become the owner.
do $$
begin
    if pg_catalog.pg_has_role('barber_app', 'barber_owner', 'MEMBER')
       or pg_catalog.pg_has_role('barber_reader', 'barber_owner', 'MEMBER') then
        raise exception 'barber_app or barber_reader is a member of barber_owner: revoke it (it would bypass row-level security)';
    end if;
end
$$;

-- The migrating superuser needs no grant to SET ROLE barber_owner; a
-- non-superuser operator would (`grant barber_owner to ...`), which is
-- left to the deployment on purpose.
grant usage, create on schema public to barber_owner;
grant usage on schema public to barber_app, barber_reader;
