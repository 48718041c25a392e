-- Reverses 0102_health.up.sql.
drop function tutor_health();
