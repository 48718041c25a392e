-- The HR app's three roles:
--   hr_owner   owns every table and the definer functions; NOLOGIN,
--              BYPASSRLS. The migration runs as a superuser and switches to
--              it (SET ROLE) to load the data: COPY into a table with
--              row-level security is refused to any role RLS binds, and
--              the app role must stay bound.
--   hr_app     the application's pool (psycopg2, 10-20 connections): LOGIN,
--              no BYPASSRLS, owns nothing, DML only (never TRUNCATE or
--              REFERENCES, which no policy filters).
--   hr_reader  LOGIN, SELECT only, under the same policies: the read
--              replica's analytical queries and searches.
--
-- Roles are cluster-wide and several databases of one cluster may run
-- this, so each role is created only when missing (another database
-- creating it at the same moment is not an error) and its attributes are
-- corrected only when wrong. No passwords here: set them per deployment
-- (`alter role hr_app password ...`). Needs a superuser, the only role
-- that may grant BYPASSRLS.
do $$
declare
    r record;
begin
    for r in select * from (values
        ('hr_owner', false, true),
        ('hr_app', true, false),
        ('hr_reader', true, false)
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

-- Membership in hr_owner would let the app or the reader skip every policy.
do $$
begin
    if pg_catalog.pg_has_role('hr_app', 'hr_owner', 'MEMBER')
       or pg_catalog.pg_has_role('hr_reader', 'hr_owner', 'MEMBER') then
        raise exception 'hr_app or hr_reader is a member of hr_owner: revoke it (it bypasses row-level security)';
    end if;
end
$$;

-- The migrating superuser may SET ROLE hr_owner without a grant; an
-- operator who is not a superuser needs `grant hr_owner to ...`, left to
-- the deployment on purpose.
grant usage, create on schema public to hr_owner;
grant usage on schema public to hr_app, hr_reader;
