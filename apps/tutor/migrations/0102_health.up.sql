-- The database side of the app's health check (`/api/health/database`,
-- every 30 s, "< 100 ms"): one call that returns the figures its monitor
-- judges (connection utilisation, slow queries, storage, replicas, cache
-- hit ratio), for this database only, as aggregates.
--
-- SECURITY INVOKER on purpose: it runs with the caller's rights and needs
-- none beyond them. A role sees the state, wait and start time of its own
-- backends in pg_stat_activity and only the existence of others', so
-- called as tutor_app it counts exactly the app pool's connections by
-- state: the pool's utilisation, which is what the monitor's 70 % / 90 %
-- lines are about. Replication lag is not here: pg_stat_replication shows
-- lag only to members of pg_read_all_stats, and a definer function owned
-- by one would hand figures to a caller with no tenant set, which
-- prove-rls rightly refuses for any definer function it cannot tell apart
-- from one that leaks rows. The harness's own lag gate watches the replica.
--
-- max_connections comes from pg_settings: audit-rls takes any function
-- whose body calls current_setting for a tenant-context function and flags
-- a call without missing_ok.
create function tutor_health()
returns table (
    checked_at               timestamptz,
    in_recovery              boolean,
    connections              integer,
    max_connections          integer,
    connections_pct          double precision,
    app_connections          integer,
    app_active               integer,
    app_idle_in_transaction  integer,
    app_waiting_on_locks     integer,
    app_longest_query_s      double precision,
    database_bytes           bigint,
    replicas                 integer,
    cache_hit_pct            double precision
)
language sql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
    with a as (
        select count(*)::integer as connections,
               count(*) filter (where s.usename = current_user)::integer as app_connections,
               count(*) filter (where s.usename = current_user and s.state = 'active')::integer as app_active,
               count(*) filter (where s.usename = current_user
                                  and s.state like 'idle in transaction%')::integer as app_idle_in_transaction,
               count(*) filter (where s.usename = current_user and s.wait_event_type = 'Lock')::integer
                   as app_waiting_on_locks,
               coalesce(max(extract(epoch from pg_catalog.clock_timestamp() - s.query_start))
                        filter (where s.usename = current_user and s.state = 'active'
                                  and s.pid <> pg_catalog.pg_backend_pid()), 0)::double precision
                   as app_longest_query_s
        from pg_catalog.pg_stat_activity s
        -- another role's backend_type reads NULL (as its state does): counted
        where s.datname = pg_catalog.current_database()
          and coalesce(s.backend_type, 'client backend') = 'client backend'
    ),
    m as (
        select g.setting::integer as max_connections
        from pg_catalog.pg_settings g
        where g.name = 'max_connections'
    ),
    r as (
        select count(*)::integer as replicas from pg_catalog.pg_stat_replication
    ),
    d as (
        select case when blks_hit + blks_read = 0 then null
                    else round((100.0 * blks_hit / (blks_hit + blks_read))::numeric, 2)::double precision end
                   as cache_hit_pct
        from pg_catalog.pg_stat_database
        where datname = pg_catalog.current_database()
    )
    select pg_catalog.now(),
           pg_catalog.pg_is_in_recovery(),
           a.connections, m.max_connections,
           round((100.0 * a.connections / m.max_connections)::numeric, 1)::double precision,
           a.app_connections, a.app_active, a.app_idle_in_transaction, a.app_waiting_on_locks,
           a.app_longest_query_s,
           pg_catalog.pg_database_size(pg_catalog.current_database()),
           r.replicas,
           d.cache_hit_pct
    from a, m, r, d
$$;
alter function tutor_health() owner to tutor_owner;
revoke all on function tutor_health() from public;
grant execute on function tutor_health() to tutor_app, tutor_reader;
