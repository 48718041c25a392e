-- Reverses 0001_schema.up.sql: children before parents and no CASCADE, so
-- anything a later migration left behind makes this fail and say what,
-- instead of vanishing with the tables. btree_gin goes last; when another
-- object of this database still uses it, dropping it fails and names it.
drop table yukyu_usage_details;
drop table leave_requests;
drop table employees;
drop table staff;
drop table ukeoi;
drop table genzai;
drop table users;
drop table companies;
drop extension if exists btree_gin;
