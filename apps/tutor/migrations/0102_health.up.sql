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
-- No server settings: the monitor knows max_connections and the pool size
-- from its configuration, and reading pg_settings (every setting, built on
-- each call) was the dearest part of a check.
create function tutor_health()
returns table (
    checked_at               timestamptz,
    in_recovery              boolean,
    connections              integer,
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
        -- pg_stat_get_activity and pg_stat_get_wal_senders directly: the
        -- pg_stat_activity and pg_stat_replication views join catalogs for
        -- names this check does not need, and cost it several times more.
        select count(*)::integer as connections,
               count(*) filter (where s.usesysid = me.oid)::integer as app_connections,
               count(*) filter (where s.usesysid = me.oid and s.state = 'active')::integer as app_active,
               count(*) filter (where s.usesysid = me.oid
                                  and s.state like 'idle in transaction%')::integer as app_idle_in_transaction,
               count(*) filter (where s.usesysid = me.oid and s.wait_event_type = 'Lock')::integer
                   as app_waiting_on_locks,
               coalesce(max(extract(epoch from pg_catalog.clock_timestamp() - s.query_start))
                        filter (where s.usesysid = me.oid and s.state = 'active'
                                  and s.pid <> pg_catalog.pg_backend_pid()), 0)::double precision
                   as app_longest_query_s
        from pg_catalog.pg_stat_get_activity(null::integer) s,
             (select current_user::text::pg_catalog.regrole::oid as oid) me
        -- another role's backend_type reads NULL (as its state does): counted
        where s.datid = (select b.oid from pg_catalog.pg_database b
                         where b.datname = pg_catalog.current_database())
          and coalesce(s.backend_type, 'client backend') = 'client backend'
    ),
    r as (
        select count(*)::integer as replicas from pg_catalog.pg_stat_get_wal_senders()
    ),
    d as (
        -- fetched = hit + read (pg_stat_database's blks_read is the difference)
        select case when pg_catalog.pg_stat_get_db_blocks_fetched(b.oid) = 0 then null
                    else round((100.0 * pg_catalog.pg_stat_get_db_blocks_hit(b.oid)
                                / pg_catalog.pg_stat_get_db_blocks_fetched(b.oid))::numeric, 2)::double precision end
                   as cache_hit_pct
        from pg_catalog.pg_database b
        where b.datname = pg_catalog.current_database()
    )
    select pg_catalog.now(),
           pg_catalog.pg_is_in_recovery(),
           a.connections,
           a.app_connections, a.app_active, a.app_idle_in_transaction, a.app_waiting_on_locks,
           a.app_longest_query_s,
           pg_catalog.pg_database_size(pg_catalog.current_database()),
           r.replicas,
           d.cache_hit_pct
    from a, r, d
$$;
alter function tutor_health() owner to tutor_owner;
revoke all on function tutor_health() from public;
grant execute on function tutor_health() to tutor_app, tutor_reader;
