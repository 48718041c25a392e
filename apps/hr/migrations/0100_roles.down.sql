-- Reverses 0100_roles.up.sql in this database. Roles belong to the
-- cluster: each is dropped only when no other database still holds an
-- object or a privilege of it; otherwise DROP ROLE fails with
-- dependent_objects_still_exist and the role is kept, with a notice.
revoke all on schema public from hr_owner, hr_app, hr_reader;

do $$
declare
    name text;
begin
    foreach name in array array['hr_app', 'hr_reader', 'hr_owner'] loop
        begin
            execute format('drop role if exists %I', name);
        exception when dependent_objects_still_exist then
            raise notice 'keeping role %: another database of this cluster still uses it', name;
        end;
    end loop;
end
$$;
