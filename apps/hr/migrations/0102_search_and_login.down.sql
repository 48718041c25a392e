-- Reverses 0102_search_and_login.up.sql.
drop function hr_login(text, text);
drop function hr_search_all(text, integer);
drop function hr_search_staff(text, integer);
drop function hr_search_ukeoi(text, integer);
drop function hr_search_genzai(text, integer);
drop function hr_search_employees(text, integer);
