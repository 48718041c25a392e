-- Reverses 0001_schema.up.sql: children before parents, without CASCADE, so
-- an object a later migration left behind makes this fail loudly instead of
-- disappearing with the tables.
drop table schema_migrations;
drop table audit_log;
drop table user_progress;
drop table assessment_attempts;
drop table learning_sessions;
drop table assessments;
drop table learning_content;
drop table learning_profiles;
drop table users;
