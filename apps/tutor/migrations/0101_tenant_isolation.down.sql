-- Reverses 0101_tenant_isolation.up.sql: grants, the sign-in function,
-- policies, row-level security, and ownership back to the role running the
-- migration (the role that ran 0001).
revoke all on users, learning_profiles, learning_content, assessments, learning_sessions,
    assessment_attempts, user_progress, audit_log, schema_migrations from tutor_app, tutor_reader;

drop function tutor_login(text);

drop policy audit_log_owner on audit_log;
drop policy user_progress_owner on user_progress;
drop policy assessment_attempts_owner on assessment_attempts;
drop policy learning_sessions_owner on learning_sessions;
drop policy learning_profiles_owner on learning_profiles;
drop policy users_self on users;

alter table audit_log no force row level security, disable row level security;
alter table user_progress no force row level security, disable row level security;
alter table assessment_attempts no force row level security, disable row level security;
alter table learning_sessions no force row level security, disable row level security;
alter table learning_profiles no force row level security, disable row level security;
alter table users no force row level security, disable row level security;

alter table schema_migrations owner to current_user;
alter table audit_log owner to current_user;
alter table user_progress owner to current_user;
alter table assessment_attempts owner to current_user;
alter table learning_sessions owner to current_user;
alter table assessments owner to current_user;
alter table learning_content owner to current_user;
alter table learning_profiles owner to current_user;
alter table users owner to current_user;
