-- Each user's journal is private: ownership, FORCE ROW LEVEL SECURITY,
-- fail-closed policies and least-privilege grants on every table of 0001.
--
-- The tenant is the user. Every policy compares with
--     nullif(current_setting('app.user_id', true), '')::uuid
-- The app sets app.user_id transaction-locally (set_config(..., true) or
-- SET LOCAL) at the start of every transaction. Never set: NULL; set
-- earlier on the same pooled connection and gone with its transaction: ''
-- (nullif makes it NULL instead of a cast error). `user_id = NULL` is
-- never true, so no context means no rows and no writes, without an error.
--
-- Each per-user table has exactly one permissive policy for its roles, with
-- an explicit WITH CHECK: a write cannot carry another user's id, nor an
-- update move a row to another user (SQLSTATE 42501).

alter table users owner to journal_owner;
alter table psychology_content owner to journal_owner;
alter table journal_entries owner to journal_owner;
alter table chat_sessions owner to journal_owner;
alter table conversations owner to journal_owner;
alter table user_analytics owner to journal_owner;
alter table migration_logs owner to journal_owner;

-- FORCE: even the owner is bound should it ever lose BYPASSRLS.
alter table users enable row level security, force row level security;
alter table journal_entries enable row level security, force row level security;
alter table chat_sessions enable row level security, force row level security;
alter table conversations enable row level security, force row level security;
alter table user_analytics enable row level security, force row level security;

-- users: a row is the person; the app reads and edits only its own row.
-- Sign-up sets app.user_id to the new id first and inserts that row (the
-- check passes for it alone); account erasure deletes it, and the foreign
-- keys' cascades delete everything of theirs.
create policy users_self on users for all to journal_app, journal_reader
    using (id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy journal_entries_owner on journal_entries for all to journal_app, journal_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy chat_sessions_owner on chat_sessions for all to journal_app, journal_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy conversations_owner on conversations for all to journal_app, journal_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

create policy user_analytics_owner on user_analytics for all to journal_app, journal_reader
    using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

-- Login comes before any tenant: the app knows an address, not a user id,
-- and RLS shows it no users row yet. This function looks one address up as
-- its owner and returns only what a login needs, for that address alone.
-- SECURITY DEFINER with a pinned search_path and schema-qualified names,
-- so a caller cannot slip a temporary `users` in its way.
create function journal_login(p_email text)
returns table (user_id uuid, password_hash text, is_active boolean, failed_login_attempts integer)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.id, u.password_hash, u.is_active, u.failed_login_attempts
    from public.users u
    where lower(u.email) = lower(p_email)
$$;
alter function journal_login(text) owner to journal_owner;
revoke all on function journal_login(text) from public;
grant execute on function journal_login(text) to journal_app;

-- Grants: DML only, never TRUNCATE or REFERENCES. Revoke first so a re-run
-- after a manual grant converges on exactly this set.
revoke all on users, psychology_content, journal_entries, chat_sessions, conversations,
    user_analytics, migration_logs from public, journal_app, journal_reader;
grant select, insert, update, delete
    on users, journal_entries, chat_sessions, conversations, user_analytics to journal_app;
grant select
    on users, journal_entries, chat_sessions, conversations, user_analytics to journal_reader;
-- The library: read-only for everyone; the content team writes as journal_owner.
grant select on psychology_content to journal_app, journal_reader;
-- Operations' own table: no access for the app; the reader may report on it.
grant select on migration_logs to journal_reader;
