-- Each learner's data is their own: ownership, FORCE ROW LEVEL SECURITY,
-- fail-closed policies and least-privilege grants on every table of 0001.
--
-- The tenant is the learner. Every policy compares with
--     nullif(current_setting('app.user_id', true), '')::uuid
-- The app sets app.user_id transaction-locally (set_config(..., true) or
-- SET LOCAL) at the start of every transaction. Never set: NULL; set
-- earlier on the same pooled connection and gone with its transaction: ''
-- (nullif makes it NULL instead of a cast error). `user_id = NULL` is
-- never true, so no context means no rows and no writes, without an error.
--
-- Each per-learner table has exactly one permissive policy for its roles,
-- with an explicit WITH CHECK: a write cannot carry another learner's id,
-- nor an update move a row to another learner (SQLSTATE 42501).

alter table users owner to tutor_owner;
alter table learning_profiles owner to tutor_owner;
alter table learning_content owner to tutor_owner;
alter table assessments owner to tutor_owner;
alter table learning_sessions owner to tutor_owner;
alter table assessment_attempts owner to tutor_owner;
alter table user_progress owner to tutor_owner;
alter table audit_log owner to tutor_owner;
alter table schema_migrations owner to tutor_owner;

-- FORCE: even the owner is bound should it ever lose BYPASSRLS.
alter table users enable row level security, force row level security;
alter table learning_profiles enable row level security, force row level security;
alter table learning_sessions enable row level security, force row level security;
alter table assessment_attempts enable row level security, force row level security;
alter table user_progress enable row level security, force row level security;
alter table audit_log enable row level security, force row level security;

-- users: a row is the learner; the app reads and edits only its own row.
-- Sign-up sets app.user_id to the new id first and inserts that row (the
-- check passes for it alone); account deletion deletes it, and the
-- foreign keys' cascades delete everything of theirs.
create policy users_self on users for all to tutor_app, tutor_reader
    using (id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy learning_profiles_owner on learning_profiles for all to tutor_app, tutor_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy learning_sessions_owner on learning_sessions for all to tutor_app, tutor_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy assessment_attempts_owner on assessment_attempts for all to tutor_app, tutor_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy user_progress_owner on user_progress for all to tutor_app, tutor_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

-- The audit trail: the app may add to its learner's trail and read it,
-- never change or remove an entry (no UPDATE or DELETE grant below).
create policy audit_log_owner on audit_log for all to tutor_app, tutor_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

-- Sign-in comes before any tenant: the app knows an address, not a user
-- id, and RLS shows it no users row yet. This function looks one address
-- up as its owner and returns only what a sign-in needs, for that address
-- alone. SECURITY DEFINER with a pinned search_path and schema-qualified
-- names, so a caller cannot slip a temporary `users` in its way.
create function tutor_login(p_email text)
returns table (user_id uuid, password_hash text, is_active boolean, failed_login_attempts integer)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.id, u.password_hash, u.is_active, u.failed_login_attempts
    from public.users u
    where lower(u.email) = lower(p_email)
$$;
alter function tutor_login(text) owner to tutor_owner;
revoke all on function tutor_login(text) from public;
grant execute on function tutor_login(text) to tutor_app;

-- Grants: DML only, never TRUNCATE or REFERENCES. Revoke first so a re-run
-- after a manual grant converges on exactly this set.
revoke all on users, learning_profiles, learning_content, assessments, learning_sessions,
    assessment_attempts, user_progress, audit_log, schema_migrations
    from public, tutor_app, tutor_reader;
grant select, insert, update, delete
    on users, learning_profiles, learning_sessions, assessment_attempts, user_progress to tutor_app;
-- The audit trail is append-only for the app.
grant select, insert on audit_log to tutor_app;
grant select
    on users, learning_profiles, learning_sessions, assessment_attempts, user_progress, audit_log
    to tutor_reader;
-- The library: read-only for everyone; the content team writes it as tutor_owner.
grant select on learning_content, assessments to tutor_app, tutor_reader;
-- The app's own migration records: no access for the app; the reader may report on them.
grant select on schema_migrations to tutor_reader;
