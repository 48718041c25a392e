-- What the seed's SQLAlchemy engines pass in every connection's options,
-- as defaults of the app's two login roles in this database:
--   timezone = UTC           ("options": "-c timezone=utc"): date() and
--                            date_trunc() on timestamptz count UTC days,
--                            as the app's reports did;
--   statement_timeout = 30s  (a runaway report is cancelled);
--   lock_timeout = 5s        (a booking or an update waiting longer on a
--                            row lock fails instead of queueing).
-- Role-and-database defaults, so another database of the cluster is not
-- affected. They are not tenant context: no tenant setting is ever given a
-- default (docs/rls.md, pitfall 4).
do $$
declare
    r text;
begin
    foreach r in array array['barber_app', 'barber_reader'] loop
        execute format('alter role %I in database %I set timezone = %L', r, current_database(), 'UTC');
        execute format('alter role %I in database %I set statement_timeout = %L', r, current_database(), '30s');
        execute format('alter role %I in database %I set lock_timeout = %L', r, current_database(), '5s');
    end loop;
end
$$;
