-- Reverses 0100_roles.up.sql in this database. The roles are cluster-wide:
-- each is dropped only when no other database still holds an object or a
-- privilege of it (DROP ROLE then fails with dependent_objects_still_exist
-- and the role is kept on purpose, with a notice; its settings and
-- memberships are then left as they were, for the databases still using it).
revoke all on schema public from tutor_owner, tutor_app, tutor_reader;

do $$
declare
    name text;
begin
    foreach name in array array['tutor_app', 'tutor_reader', 'tutor_owner'] loop
        begin
            execute format('drop role if exists %I', name);
        exception when dependent_objects_still_exist then
            raise notice 'keeping role %: another database of this cluster still uses it', name;
        end;
    end loop;
end
$$;
