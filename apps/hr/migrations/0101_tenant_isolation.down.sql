-- Reverses 0101_tenant_isolation.up.sql: grants, policies, row-level
-- security, and ownership back to the role running the migration (the
-- role that ran 0001).
revoke all on companies, users, genzai, ukeoi, staff, employees, leave_requests,
    yukyu_usage_details from hr_app, hr_reader;

drop policy yukyu_usage_details_company on yukyu_usage_details;
drop policy leave_requests_company on leave_requests;
drop policy employees_company on employees;
drop policy staff_company on staff;
drop policy ukeoi_company on ukeoi;
drop policy genzai_company on genzai;
drop policy users_company on users;
drop policy companies_self on companies;

alter table yukyu_usage_details no force row level security, disable row level security;
alter table leave_requests no force row level security, disable row level security;
alter table employees no force row level security, disable row level security;
alter table staff no force row level security, disable row level security;
alter table ukeoi no force row level security, disable row level security;
alter table genzai no force row level security, disable row level security;
alter table users no force row level security, disable row level security;
alter table companies no force row level security, disable row level security;

alter table yukyu_usage_details owner to current_user;
alter table leave_requests owner to current_user;
alter table employees owner to current_user;
alter table staff owner to current_user;
alter table ukeoi owner to current_user;
alter table genzai owner to current_user;
alter table users owner to current_user;
alter table companies owner to current_user;
