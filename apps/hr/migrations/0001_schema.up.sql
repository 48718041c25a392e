-- The paid-leave HR app's PostgreSQL schema.
--
-- Started from what `harness init --tenant-column company_id` drafted and
-- changed where the draft is unsafe or weak for this app:
--   * The company is the tenant: every table but `companies` carries
--     company_id, and `companies.id` is the tenant id (README.md says why
--     the employer, not the client site nor the person, is the tenant).
--   * Keys are uuids (the migration encodes each legacy id with its table's
--     tag; new rows get gen_random_uuid()), so no sequence shared by every
--     company tells one of them how many people the others hire or how
--     much leave they take.
--   * Tenant-scoped keys: every tenant table has unique (company_id, id)
--     and every reference between them is composite, (company_id, parent)
--     -> parent (company_id, id), so a leave request can only point at a
--     ledger row, and a usage day at a request, of its own company.
--   * Uniqueness the app relied on without SQLite enforcing it: one ledger
--     row per (company, employee number, leave year); login ids unique per
--     company case-insensitively (SQLite's UNIQUE was case-sensitive).
--   * Day counts stay double precision: the app computes them as floats
--     (half days 0.5, hours 0.125), and a numeric would round what the
--     legacy file holds. Dates are `date`, times `timestamptz`, settings
--     `jsonb`, flags `boolean`.
--   * Full-text search (the seed's phase 9): a generated `search_vector`
--     on the four employee tables, with the 'simple' configuration (names
--     and place names are not English words: no stemming, no stop words),
--     each in a GIN index that leads with company_id (btree_gin). Under
--     row-level security the planner will not use the `@@` condition as an
--     index condition (`ts_match_vq` is not leakproof), so the app searches
--     through the SECURITY DEFINER functions of 0102, which apply the
--     tenant filter themselves (README.md, "Search under row-level
--     security").
--   * CHECKs on the small vocabularies and ranges the app relies on, all
--     met by the legacy data.
-- Roles, row-level security and grants are in 0100 and 0101; the search
-- and login functions in 0102.

-- (company_id, tsvector) GIN indexes. Trusted since PostgreSQL 13, so a
-- database owner may create it.
create extension if not exists btree_gin;

create table companies (
    id                uuid primary key default gen_random_uuid(),
    code              text not null,
    name              text not null,
    name_kana         text,
    license_no        text,
    fiscal_year_start integer default 4,
    grant_rule        text default 'hire_date',
    settings          jsonb default '{}',
    plan              text default 'standard',
    is_active         boolean default true,
    created_at        timestamptz default now(),
    -- the company code typed at login names the tenant: unique across all
    -- of them by design (only hr_owner creates companies)
    constraint companies_code_key unique (code),
    constraint companies_fiscal_year_start_check check (fiscal_year_start between 1 and 12),
    constraint companies_grant_rule_check check (grant_rule in ('hire_date', 'april_1')),
    constraint companies_plan_check check (plan in ('trial', 'standard', 'enterprise'))
);

create table users (
    id            uuid primary key default gen_random_uuid(),
    company_id    uuid not null references companies (id) on delete cascade,
    login_id      text not null,
    email         text,
    password_hash text not null,
    display_name  text,
    role          text not null default 'viewer',
    is_active     boolean default true,
    failed_logins integer default 0,
    last_login    timestamptz,
    created_at    timestamptz default now(),
    constraint users_company_id_id_key unique (company_id, id),
    constraint users_role_check check (role in ('admin', 'hr', 'manager', 'viewer')),
    constraint users_failed_logins_check check (failed_logins >= 0)
);
-- login ids are per company and case-insensitive
create unique index users_company_login_key on users (company_id, lower(login_id));

create table genzai (
    id            uuid primary key default gen_random_uuid(),
    company_id    uuid not null references companies (id) on delete cascade,
    status        text,
    employee_num  text,
    dispatch_id   text,
    dispatch_name text,
    department    text,
    line          text,
    job_content   text,
    name          text,
    kana          text,
    gender        text,
    nationality   text,
    birth_date    date,
    age           integer,
    hourly_wage   integer,
    wage_revision date,
    hire_date     date,
    leave_date    date,
    last_updated  timestamptz,
    search_vector tsvector generated always as (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(kana, '') || ' '
            || coalesce(employee_num, '') || ' ' || coalesce(dispatch_name, '') || ' '
            || coalesce(department, ''))
    ) stored,
    constraint genzai_company_id_id_key unique (company_id, id),
    constraint genzai_status_check check (status in ('在職中', '退社')),
    constraint genzai_gender_check check (gender in ('男', '女')),
    constraint genzai_hourly_wage_check check (hourly_wage >= 0)
);
-- a person by number; the people at one client site
create index genzai_company_num on genzai (company_id, employee_num);
create index genzai_company_site on genzai (company_id, dispatch_id, status);
create index genzai_search_gin on genzai using gin (company_id, search_vector);

create table ukeoi (
    id                uuid primary key default gen_random_uuid(),
    company_id        uuid not null references companies (id) on delete cascade,
    status            text,
    employee_num      text,
    contract_business text,
    name              text,
    kana              text,
    gender            text,
    nationality       text,
    birth_date        date,
    age               integer,
    hourly_wage       integer,
    wage_revision     date,
    hire_date         date,
    leave_date        date,
    last_updated      timestamptz,
    search_vector     tsvector generated always as (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(kana, '') || ' '
            || coalesce(employee_num, '') || ' ' || coalesce(contract_business, ''))
    ) stored,
    constraint ukeoi_company_id_id_key unique (company_id, id),
    constraint ukeoi_status_check check (status in ('在職中', '退社')),
    constraint ukeoi_gender_check check (gender in ('男', '女')),
    constraint ukeoi_hourly_wage_check check (hourly_wage >= 0)
);
create index ukeoi_company_num on ukeoi (company_id, employee_num);
create index ukeoi_search_gin on ukeoi using gin (company_id, search_vector);

create table staff (
    id           uuid primary key default gen_random_uuid(),
    company_id   uuid not null references companies (id) on delete cascade,
    status       text,
    employee_num text,
    office       text,
    name         text,
    kana         text,
    gender       text,
    nationality  text,
    birth_date   date,
    age          integer,
    visa_expiry  date,
    visa_type    text,
    postal_code  text,
    address      text,
    hire_date    date,
    leave_date   date,
    last_updated timestamptz,
    search_vector tsvector generated always as (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(kana, '') || ' '
            || coalesce(employee_num, '') || ' ' || coalesce(office, ''))
    ) stored,
    constraint staff_company_id_id_key unique (company_id, id),
    constraint staff_status_check check (status in ('在職中', '退社')),
    constraint staff_gender_check check (gender in ('男', '女'))
);
create index staff_company_num on staff (company_id, employee_num);
-- visas running out (the HR alert)
create index staff_company_visa on staff (company_id, visa_expiry) where visa_expiry is not null;
create index staff_search_gin on staff using gin (company_id, search_vector);

create table employees (
    id            uuid primary key default gen_random_uuid(),
    company_id    uuid not null references companies (id) on delete cascade,
    employee_num  text not null,
    name          text,
    haken         text,
    employee_type text,
    year          integer not null,
    grant_date    date,
    granted       double precision,
    carried_over  double precision,
    used          double precision,
    balance       double precision,
    expired       double precision,
    usage_rate    double precision,
    last_updated  timestamptz,
    search_vector tsvector generated always as (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(haken, '') || ' ' || employee_num)
    ) stored,
    constraint employees_company_id_id_key unique (company_id, id),
    -- one ledger row per person and leave year (SQLite had no such key:
    -- an Excel import run twice made two)
    constraint employees_company_num_year_key unique (company_id, employee_num, year),
    constraint employees_type_check check (employee_type in ('genzai', 'ukeoi', 'staff')),
    constraint employees_year_check check (year between 2000 and 2100),
    constraint employees_days_check
        check (granted >= 0 and carried_over >= 0 and used >= 0 and expired >= 0)
);
-- the year's ledger: the five-day compliance list, the dashboard
create index employees_company_year on employees (company_id, year, used);
-- name search (0102's hr_search_employees)
create index employees_search_gin on employees using gin (company_id, search_vector);

create table leave_requests (
    id              uuid primary key default gen_random_uuid(),
    company_id      uuid not null references companies (id) on delete cascade,
    employee_id     uuid,
    employee_num    text not null,
    employee_name   text not null,
    start_date      date not null,
    end_date        date not null,
    days_requested  double precision not null,
    hours_requested double precision default 0,
    leave_type      text default 'full',
    reason          text,
    status          text default 'PENDING',
    requested_at    timestamptz not null default now(),
    approved_by     uuid,
    approved_at     timestamptz,
    year            integer not null,
    created_at      timestamptz not null default now(),
    constraint leave_requests_company_id_id_key unique (company_id, id),
    constraint leave_requests_employee_fkey foreign key (company_id, employee_id)
        references employees (company_id, id) on delete set null (employee_id),
    constraint leave_requests_approved_by_fkey foreign key (company_id, approved_by)
        references users (company_id, id) on delete set null (approved_by),
    constraint leave_requests_type_check
        check (leave_type in ('full', 'half_am', 'half_pm', 'hourly')),
    constraint leave_requests_status_check
        check (status in ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')),
    constraint leave_requests_dates_check check (end_date >= start_date),
    constraint leave_requests_days_check check (days_requested > 0 and hours_requested >= 0)
);
-- the approval queue
create index leave_requests_company_status on leave_requests (company_id, status, requested_at);
-- one person's requests (and the ledger foreign key's lookups)
create index leave_requests_company_employee on leave_requests (company_id, employee_id, start_date desc);
-- the approver foreign key's lookups when a login is deleted
create index leave_requests_company_approver on leave_requests (company_id, approved_by)
    where approved_by is not null;

create table yukyu_usage_details (
    id               uuid primary key default gen_random_uuid(),
    company_id       uuid not null references companies (id) on delete cascade,
    employee_id      uuid not null,
    leave_request_id uuid,
    use_date         date not null,
    days_used        double precision default 1.0,
    last_updated     timestamptz,
    constraint yukyu_usage_details_company_id_id_key unique (company_id, id),
    -- one row per ledger row and day (legacy: UNIQUE (employee_id, use_date));
    -- also serves the ledger foreign key and one person's history
    constraint yukyu_usage_details_day_key unique (company_id, employee_id, use_date),
    constraint yukyu_usage_details_employee_fkey foreign key (company_id, employee_id)
        references employees (company_id, id) on delete cascade,
    constraint yukyu_usage_details_request_fkey foreign key (company_id, leave_request_id)
        references leave_requests (company_id, id) on delete set null (leave_request_id),
    constraint yukyu_usage_details_days_check check (days_used > 0 and days_used <= 1)
);
-- leave taken per month (the replica's usage report)
create index yukyu_usage_details_company_date on yukyu_usage_details (company_id, use_date);
create index yukyu_usage_details_company_request on yukyu_usage_details (company_id, leave_request_id)
    where leave_request_id is not null;
