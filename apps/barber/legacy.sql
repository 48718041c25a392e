-- BookedBarber V2's SQLite schema (the file `6fb_booking.db`), as its
-- SQLAlchemy declarative models wrote it before the move: one file for
-- every shop. SQLAlchemy on SQLite stores DateTime as text
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (naive, UTC: the app runs with timezone=utc),
-- Date as 'YYYY-MM-DD', Boolean as 0/1, JSON as text, Float as REAL (money
-- included) and String(n) as VARCHAR(n), whose length SQLite never checks.
-- Foreign keys are declared but were never enforced (the app only switched
-- PRAGMA foreign_keys on in one engine event, and not in the scripts that
-- imported data), so the data may break them. Rows written by the Stripe
-- webhook handler carry Stripe's own `created` (epoch seconds) instead of
-- the ORM's text. README.md says which tables and columns the seed document
-- names and which are inferred.

-- A business on the platform: an independent barber, a shop, or a
-- multi-location enterprise. In PostgreSQL each organization is a tenant.
CREATE TABLE organizations (
    id                  INTEGER PRIMARY KEY,
    name                VARCHAR(255) NOT NULL,
    slug                VARCHAR(100) NOT NULL UNIQUE,   -- the booking page URL
    organization_type   VARCHAR(20) DEFAULT 'independent',  -- independent | headquarters | franchise
    billing_plan        VARCHAR(20) DEFAULT 'individual',   -- individual | studio | salon | enterprise
    chairs_count        INTEGER DEFAULT 1,
    timezone            VARCHAR(50) DEFAULT 'UTC',
    business_hours      JSON,                            -- {"mon": ["09:00", "19:00"], ...}
    stripe_account_id   VARCHAR(100),                    -- Stripe Connect, organization billing
    subscription_status VARCHAR(20) DEFAULT 'trial',     -- trial | active | past_due | cancelled
    is_active           BOOLEAN DEFAULT 1,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME
);

-- The shops of an organization (BarbershopLocation).
CREATE TABLE barbershop_locations (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    name            VARCHAR(200) NOT NULL,
    code            VARCHAR(20) NOT NULL,                -- short code on receipts
    address         VARCHAR(255),
    city            VARCHAR(100),
    state           VARCHAR(50),
    zip_code        VARCHAR(20),
    phone           VARCHAR(20),
    timezone        VARCHAR(50) DEFAULT 'America/New_York',
    latitude        FLOAT,                               -- "find a shop near me"
    longitude       FLOAT,
    business_hours  JSON,
    is_active       BOOLEAN DEFAULT 1,
    created_at      DATETIME NOT NULL
);
CREATE INDEX ix_barbershop_locations_organization_id ON barbershop_locations(organization_id);

-- Everyone who signs in: clients, barbers, receptionists, managers, owners.
-- An account belongs to one organization (the shop where the client booked
-- first, or where the barber works); the platform's own staff have none.
CREATE TABLE users (
    id                          INTEGER PRIMARY KEY,
    organization_id             INTEGER REFERENCES organizations(id),
    location_id                 INTEGER REFERENCES barbershop_locations(id),  -- home shop
    email                       VARCHAR(255) NOT NULL UNIQUE,   -- case-sensitive in SQLite
    name                        VARCHAR(255) NOT NULL,
    phone                       VARCHAR(20),
    hashed_password             VARCHAR(255),                   -- bcrypt; NULL for clients booked by phone
    unified_role                VARCHAR(50) NOT NULL DEFAULT 'client',
        -- client | barber | receptionist | shop_manager | shop_owner | enterprise_owner | super_admin
    is_active                   BOOLEAN DEFAULT 1,
    is_verified                 BOOLEAN DEFAULT 0,
    timezone                    VARCHAR(50),
    commission_rate             FLOAT,                          -- barbers: their share of a service
    mfa_enabled                 BOOLEAN DEFAULT 0,
    mfa_secret_encrypted        TEXT,                           -- Fernet token of the TOTP secret
    mfa_backup_codes            JSON,                           -- list of bcrypt hashes
    google_calendar_credentials TEXT,                           -- Fernet token of the OAuth tokens
    stripe_customer_id          VARCHAR(255),
    marketing_opt_in            BOOLEAN DEFAULT 0,
    last_login                  DATETIME,
    created_at                  DATETIME NOT NULL,
    updated_at                  DATETIME
);
CREATE INDEX ix_users_location_id ON users(location_id);

-- Staff membership and permissions in an organization.
CREATE TABLE user_organizations (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    role            VARCHAR(20) NOT NULL DEFAULT 'barber',  -- owner | manager | barber | receptionist | viewer
    permissions     JSON,
    is_primary      BOOLEAN DEFAULT 0,
    joined_at       DATETIME NOT NULL
);

-- What a shop sells; location_id NULL: offered at every location.
CREATE TABLE services (
    id                 INTEGER PRIMARY KEY,
    organization_id    INTEGER NOT NULL REFERENCES organizations(id),
    location_id        INTEGER REFERENCES barbershop_locations(id),
    name               VARCHAR(100) NOT NULL,
    description        TEXT,
    category           VARCHAR(50),                      -- haircut | beard | shave | color | combo | kids
    duration_minutes   INTEGER NOT NULL,
    base_price         FLOAT NOT NULL,
    is_bookable_online BOOLEAN DEFAULT 1,
    is_active          BOOLEAN DEFAULT 1,
    created_at         DATETIME NOT NULL
);

-- When and where a barber takes bookings: one row per barber, location and
-- weekday. A barber who works at two shops has rows at both.
CREATE TABLE barber_availability (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    barber_id       INTEGER NOT NULL REFERENCES users(id),
    location_id     INTEGER NOT NULL REFERENCES barbershop_locations(id),
    day_of_week     INTEGER NOT NULL,                    -- 0 = Monday
    start_time      VARCHAR(5) NOT NULL,                 -- 'HH:MM', local time of the location
    end_time        VARCHAR(5) NOT NULL,
    is_active       BOOLEAN DEFAULT 1
);

CREATE TABLE appointments (
    id                  INTEGER PRIMARY KEY,
    organization_id     INTEGER NOT NULL REFERENCES organizations(id),
    location_id         INTEGER NOT NULL REFERENCES barbershop_locations(id),
    user_id             INTEGER NOT NULL REFERENCES users(id),      -- the client
    barber_id           INTEGER REFERENCES users(id),
    service_id          INTEGER REFERENCES services(id),
    appointment_date    DATE NOT NULL,                               -- the day, local to the location
    start_time          DATETIME NOT NULL,                           -- UTC
    end_time            DATETIME NOT NULL,
    duration_minutes    INTEGER,
    status              VARCHAR(20) DEFAULT 'pending',
        -- pending | confirmed | in_progress | completed | cancelled | no_show
    price               FLOAT,
    notes               TEXT,
    source              VARCHAR(20) DEFAULT 'online',                -- online | phone | walk_in | google
    google_event_id     VARCHAR(255),
    cancelled_at        DATETIME,
    cancellation_reason TEXT,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME
);
CREATE INDEX ix_appointments_barber_id ON appointments(barber_id);
CREATE INDEX ix_appointments_user_id ON appointments(user_id);

CREATE TABLE payments (
    id                       INTEGER PRIMARY KEY,
    organization_id          INTEGER NOT NULL REFERENCES organizations(id),
    location_id              INTEGER REFERENCES barbershop_locations(id),
    user_id                  INTEGER NOT NULL REFERENCES users(id),     -- who paid
    appointment_id           INTEGER REFERENCES appointments(id),
    barber_id                INTEGER REFERENCES users(id),
    amount                   FLOAT NOT NULL,
    tip_amount               FLOAT DEFAULT 0,
    platform_fee             FLOAT DEFAULT 0,
    barber_amount            FLOAT,
    refund_amount            FLOAT DEFAULT 0,
    currency                 VARCHAR(3) DEFAULT 'usd',
    status                   VARCHAR(20) DEFAULT 'pending',   -- pending | completed | failed | refunded
    payment_method           VARCHAR(20),                     -- card | cash | gift_card
    stripe_session_id        VARCHAR(255),                    -- Checkout session
    stripe_payment_intent_id VARCHAR(255),
    metadata                 JSON,                            -- what the app sent to Stripe
    created_at               DATETIME NOT NULL,               -- text, or Stripe's epoch seconds
    updated_at               DATETIME
);

-- What the shop pays its barbers, per month.
CREATE TABLE payouts (
    id                 INTEGER PRIMARY KEY,
    organization_id    INTEGER NOT NULL REFERENCES organizations(id),
    barber_id          INTEGER NOT NULL REFERENCES users(id),
    amount             FLOAT NOT NULL,
    payment_count      INTEGER DEFAULT 0,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    status             VARCHAR(20) DEFAULT 'pending',   -- pending | processing | paid | failed
    stripe_transfer_id VARCHAR(255),
    paid_at            DATETIME,
    created_at         DATETIME NOT NULL
);

CREATE TABLE reviews (
    id                 INTEGER PRIMARY KEY,
    organization_id    INTEGER NOT NULL REFERENCES organizations(id),
    location_id        INTEGER REFERENCES barbershop_locations(id),
    appointment_id     INTEGER REFERENCES appointments(id),
    user_id            INTEGER REFERENCES users(id),     -- the client, NULL for imported reviews
    barber_id          INTEGER REFERENCES users(id),
    rating             INTEGER NOT NULL,                  -- 1..5
    comment            TEXT,
    platform           VARCHAR(20) DEFAULT 'internal',   -- internal | google | yelp | facebook
    external_review_id VARCHAR(255),
    response_text      TEXT,
    responded_at       DATETIME,
    is_public          BOOLEAN DEFAULT 1,
    created_at         DATETIME NOT NULL
);

-- Stripe Connect accounts of barbers (and shop owners) who get paid out.
CREATE TABLE stripe_accounts (
    id                INTEGER PRIMARY KEY,
    organization_id   INTEGER NOT NULL REFERENCES organizations(id),
    user_id           INTEGER NOT NULL UNIQUE REFERENCES users(id),
    stripe_account_id VARCHAR(255) NOT NULL UNIQUE,
    charges_enabled   BOOLEAN DEFAULT 0,
    payouts_enabled   BOOLEAN DEFAULT 0,
    details_submitted BOOLEAN DEFAULT 0,
    capabilities      JSON,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME
);
