-- The Learning Assistant's three roles:
--   tutor_owner   owns every table and both functions (sign-in, health); NOLOGIN,
--                 BYPASSRLS. The migration runs as a superuser and switches
--                 to it (SET ROLE) to load the data: COPY into a table with
--                 row-level security is refused to a role RLS binds, and
--                 the app role must stay bound.
--   tutor_app     the application's pool: LOGIN, no BYPASSRLS, owns
--                 nothing, DML only (never TRUNCATE or REFERENCES, which
--                 RLS does not filter). Its statements time out after 30 s,
--                 the app's own query timeout.
--   tutor_reader  LOGIN, SELECT only, bound by the same policies: reads on
--                 the streaming replica (history, progress, analytics).
--
-- Roles belong to the cluster and several databases of one cluster may run
-- this, so each role is created only when missing (a concurrent creator in
-- another database is not an error), and its attributes are re-asserted
-- only when they are wrong. No passwords: set them per deployment
-- (`alter role tutor_app password ...`). Needs a superuser (only one can
-- grant BYPASSRLS).
do $$
declare
    r record;
begin
    for r in select * from (values
        ('tutor_owner', false, true),
        ('tutor_app', true, false),
        ('tutor_reader', true, false)
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
    if pg_catalog.pg_has_role('tutor_app', 'tutor_owner', 'MEMBER')
       or pg_catalog.pg_has_role('tutor_reader', 'tutor_owner', 'MEMBER') then
        raise exception 'tutor_app or tutor_reader is a member of tutor_owner: revoke it (it would bypass row-level security)';
    end if;
end
$$;

-- The app's query timeout (30 s in the app's pool settings), held by the
-- server too, so a statement the client gave up on does not run on.
-- Per role, so it holds on every database of the cluster the role uses.
alter role tutor_app set statement_timeout = '30s';
alter role tutor_reader set statement_timeout = '30s';

-- The migrating superuser needs no grant to SET ROLE tutor_owner; a
-- non-superuser operator would (`grant tutor_owner to ...`), which is
-- left to the deployment on purpose.
grant usage, create on schema public to tutor_owner;
grant usage on schema public to tutor_app, tutor_reader;
