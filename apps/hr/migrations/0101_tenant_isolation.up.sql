-- Each company sees only its own people: ownership, FORCE ROW LEVEL
-- SECURITY, fail-closed policies and least-privilege grants on every table
-- of 0001.
--
-- The tenant is the company. Every policy compares with
--     nullif(current_setting('app.company_id', true), '')::uuid
-- which the app sets transaction-locally (set_config(..., true) or SET
-- LOCAL) at the start of every transaction, from the company in the
-- user's JWT. Never set: NULL; set by an earlier transaction on the same
-- pooled connection and gone with it: '' (nullif turns it into NULL
-- instead of a cast error). `company_id = NULL` is never true, so no
-- context means no rows and no writes, without an error.
--
-- One permissive policy per table for both login roles, with an explicit
-- WITH CHECK: a write cannot carry another company's id, nor an update
-- move a row into another company (SQLSTATE 42501).

alter table companies owner to hr_owner;
alter table users owner to hr_owner;
alter table genzai owner to hr_owner;
alter table ukeoi owner to hr_owner;
alter table staff owner to hr_owner;
alter table employees owner to hr_owner;
alter table leave_requests owner to hr_owner;
alter table yukyu_usage_details owner to hr_owner;

-- FORCE: the owner is bound too, should it ever lose BYPASSRLS.
alter table companies enable row level security, force row level security;
alter table users enable row level security, force row level security;
alter table genzai enable row level security, force row level security;
alter table ukeoi enable row level security, force row level security;
alter table staff enable row level security, force row level security;
alter table employees enable row level security, force row level security;
alter table leave_requests enable row level security, force row level security;
alter table yukyu_usage_details enable row level security, force row level security;

-- companies: the row is the tenant itself. The app reads and edits its
-- own company (settings, alert thresholds); creating and closing a
-- company is a platform job done as hr_owner (no INSERT or DELETE grant).
create policy companies_self on companies for all to hr_app, hr_reader
    using (id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy users_company on users for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy genzai_company on genzai for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy ukeoi_company on ukeoi for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy staff_company on staff for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy employees_company on employees for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy leave_requests_company on leave_requests for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

create policy yukyu_usage_details_company on yukyu_usage_details for all to hr_app, hr_reader
    using (company_id = nullif(current_setting('app.company_id', true), '')::uuid)
    with check (company_id = nullif(current_setting('app.company_id', true), '')::uuid);

-- Grants: DML only, never TRUNCATE or REFERENCES. Revoke first so that a
-- re-run after a manual grant ends with exactly this set.
revoke all on companies, users, genzai, ukeoi, staff, employees, leave_requests,
    yukyu_usage_details from public, hr_app, hr_reader;
grant select, update on companies to hr_app;
grant select, insert, update, delete
    on users, genzai, ukeoi, staff, employees, leave_requests, yukyu_usage_details to hr_app;
grant select
    on companies, users, genzai, ukeoi, staff, employees, leave_requests, yukyu_usage_details
    to hr_reader;
