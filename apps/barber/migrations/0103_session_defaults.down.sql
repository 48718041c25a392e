-- Reverses 0103_session_defaults.up.sql.
do $$
declare
    r text;
begin
    foreach r in array array['barber_app', 'barber_reader'] loop
        execute format('alter role %I in database %I reset all', r, current_database());
    end loop;
end
$$;
