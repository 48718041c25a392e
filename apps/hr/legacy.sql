-- The paid-leave (有給休暇, "yukyu") HR app's SQLite schema, as it was before
-- the move to PostgreSQL: one file for every customer company. Written the
-- way the app (Python, FastAPI, the sqlite3 module) kept its data: INTEGER
-- keys, dates and times as ISO text, day counts as REAL (half days and
-- hours are fractions of a day), 0/1 flags, JSON as TEXT, Japanese text as
-- it was typed or imported from the companies' Excel ledgers. SQLite never
-- enforced the foreign keys (PRAGMA foreign_keys stayed off), so they are
-- declared but the data may break them; UNIQUE is case-sensitive.
--
-- README.md says which tables and columns come from the app's own
-- description (the four searchable employee tables, leave requests and
-- usage days) and which are inferred (the companies and their logins).

-- The customer: a staffing company (派遣元) or any employer that keeps its
-- paid-leave ledger in the app. It is the tenant: every other table
-- belongs to one company.
CREATE TABLE companies (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,            -- company code typed at login
    name              TEXT NOT NULL,                   -- 株式会社...
    name_kana         TEXT,
    license_no        TEXT,                            -- worker-dispatch licence, e.g. 派13-301234
    fiscal_year_start INTEGER DEFAULT 4,               -- month the leave year starts
    grant_rule        TEXT DEFAULT 'hire_date',        -- hire_date | april_1 (one grant day for all)
    settings          TEXT DEFAULT '{}',               -- JSON: alert thresholds, Excel column map
    plan              TEXT DEFAULT 'standard',         -- trial | standard | enterprise
    is_active         INTEGER DEFAULT 1,
    created_at        TEXT DEFAULT CURRENT_TIMESTAMP
);

-- People who sign in (JWT): HR staff, site coordinators, managers.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies(id),
    login_id      TEXT NOT NULL,
    email         TEXT,
    password_hash TEXT NOT NULL,                       -- bcrypt
    display_name  TEXT,
    role          TEXT NOT NULL DEFAULT 'viewer',      -- admin | hr | manager | viewer
    is_active     INTEGER DEFAULT 1,
    failed_logins INTEGER DEFAULT 0,
    last_login    TEXT,
    created_at    TEXT DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (company_id, login_id)                      -- case-sensitive in SQLite
);

-- Dispatch employees (派遣社員, the "DBGenzaiX" sheet): people placed at a
-- client's site. The client (派遣先) is where they work, not who employs
-- them: it is a column, not a tenant.
CREATE TABLE genzai (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies(id),
    status        TEXT,                                -- 在職中 (employed) | 退社 (left)
    employee_num  TEXT,
    dispatch_id   TEXT,                                -- the client site's code
    dispatch_name TEXT,                                -- the client site
    department    TEXT,
    line          TEXT,                                -- production line
    job_content   TEXT,
    name          TEXT,
    kana          TEXT,                                -- reading in katakana
    gender        TEXT,                                -- 男 | 女
    nationality   TEXT,
    birth_date    TEXT,
    age           INTEGER,
    hourly_wage   INTEGER,                             -- yen
    wage_revision TEXT,                                -- date of the last change
    hire_date     TEXT,
    leave_date    TEXT,
    last_updated  TEXT
);
CREATE INDEX idx_genzai_company_emp ON genzai(company_id, employee_num);
CREATE INDEX idx_genzai_status ON genzai(status);

-- Contract employees (請負, the "DBUkeoiX" sheet): work the company does
-- itself under a contract, on its own lines.
CREATE TABLE ukeoi (
    id                INTEGER PRIMARY KEY,
    company_id        INTEGER NOT NULL REFERENCES companies(id),
    status            TEXT,
    employee_num      TEXT,
    contract_business TEXT,
    name              TEXT,
    kana              TEXT,
    gender            TEXT,
    nationality       TEXT,
    birth_date        TEXT,
    age               INTEGER,
    hourly_wage       INTEGER,
    wage_revision     TEXT,
    hire_date         TEXT,
    leave_date        TEXT,
    last_updated      TEXT
);
CREATE INDEX idx_ukeoi_company_emp ON ukeoi(company_id, employee_num);

-- The company's own staff (office, sales, coordinators); many hold a work
-- visa whose expiry HR watches.
CREATE TABLE staff (
    id           INTEGER PRIMARY KEY,
    company_id   INTEGER NOT NULL REFERENCES companies(id),
    status       TEXT,
    employee_num TEXT,
    office       TEXT,
    name         TEXT,
    kana         TEXT,
    gender       TEXT,
    nationality  TEXT,
    birth_date   TEXT,
    age          INTEGER,
    visa_expiry  TEXT,
    visa_type    TEXT,
    postal_code  TEXT,
    address      TEXT,
    hire_date    TEXT,
    leave_date   TEXT,
    last_updated TEXT
);
CREATE INDEX idx_staff_visa_expiry ON staff(visa_expiry);

-- The paid-leave ledger ("vacation employees"): one row per employee and
-- leave year, whichever of the three tables the person is in, kept for
-- every year since the company started using the app. Refreshed from the
-- companies' Excel ledgers and by approvals.
CREATE TABLE employees (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies(id),
    employee_num  TEXT NOT NULL,
    name          TEXT,
    haken         TEXT,                                -- where the person works
    employee_type TEXT,                                -- genzai | ukeoi | staff
    year          INTEGER NOT NULL,                    -- the leave year of the grant
    grant_date    TEXT,
    granted       REAL,                                -- days granted this year
    carried_over  REAL,                                -- days brought from last year
    used          REAL,
    balance       REAL,
    expired       REAL,                                -- days lost at the two-year limit
    usage_rate    REAL,                                -- percent, as the Excel sheet showed it
    last_updated  TEXT
);
CREATE INDEX idx_emp_company_num_year ON employees(company_id, employee_num, year);
CREATE INDEX idx_emp_year ON employees(year);

-- Leave requests (有給申請) and their approval.
CREATE TABLE leave_requests (
    id              INTEGER PRIMARY KEY,
    company_id      INTEGER NOT NULL REFERENCES companies(id),
    employee_id     INTEGER REFERENCES employees(id),  -- the ledger row the days come from
    employee_num    TEXT NOT NULL,
    employee_name   TEXT NOT NULL,
    start_date      TEXT NOT NULL,
    end_date        TEXT NOT NULL,
    days_requested  REAL NOT NULL,
    hours_requested REAL DEFAULT 0,
    leave_type      TEXT DEFAULT 'full',               -- full | half_am | half_pm | hourly
    reason          TEXT,
    status          TEXT DEFAULT 'PENDING',            -- PENDING | APPROVED | REJECTED | CANCELLED
    requested_at    TEXT NOT NULL,
    approved_by     INTEGER REFERENCES users(id),
    approved_at     TEXT,
    year            INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX idx_lr_company_status ON leave_requests(company_id, status);
CREATE INDEX idx_lr_emp ON leave_requests(employee_id);

-- Each day (or half day, or hour) of leave taken, drawn from one ledger row.
CREATE TABLE yukyu_usage_details (
    id               INTEGER PRIMARY KEY,
    company_id       INTEGER NOT NULL REFERENCES companies(id),
    employee_id      INTEGER NOT NULL REFERENCES employees(id),
    leave_request_id INTEGER REFERENCES leave_requests(id),
    use_date         TEXT NOT NULL,
    days_used        REAL DEFAULT 1.0,                 -- 1, 0.5, or 0.125 per hour
    last_updated     TEXT,
    UNIQUE (employee_id, use_date)
);
