-- Reverses 0001_schema.up.sql: children before parents, without CASCADE, so
-- an object a later migration left behind makes this fail loudly instead of
-- disappearing with the tables. btree_gin goes last; if another object of
-- this database still uses it, dropping it fails and says which.
drop table migration_logs;
drop table user_analytics;
drop table conversations;
drop table chat_sessions;
drop table journal_entries;
drop table psychology_content;
drop table users;
drop extension if exists btree_gin;
