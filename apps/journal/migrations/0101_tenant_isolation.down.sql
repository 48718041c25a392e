-- Reverses 0101_tenant_isolation.up.sql: grants, the login function,
-- policies, row-level security, and ownership back to the role running the
-- migration (the role that ran 0001).
revoke all on users, psychology_content, journal_entries, chat_sessions, conversations,
    user_analytics, migration_logs from journal_app, journal_reader;

drop function journal_login(text);

drop policy user_analytics_owner on user_analytics;
drop policy conversations_owner on conversations;
drop policy chat_sessions_owner on chat_sessions;
drop policy journal_entries_owner on journal_entries;
drop policy users_self on users;

alter table user_analytics no force row level security, disable row level security;
alter table conversations no force row level security, disable row level security;
alter table chat_sessions no force row level security, disable row level security;
alter table journal_entries no force row level security, disable row level security;
alter table users no force row level security, disable row level security;

alter table migration_logs owner to current_user;
alter table user_analytics owner to current_user;
alter table conversations owner to current_user;
alter table chat_sessions owner to current_user;
alter table journal_entries owner to current_user;
alter table psychology_content owner to current_user;
alter table users owner to current_user;
