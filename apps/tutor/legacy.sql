-- The Learning Assistant's SQLite schema, as the app kept it before the
-- move: one file (better-sqlite3 in a Next.js / TypeScript server) for
-- every learner. Written the way such an app writes things: INTEGER keys,
-- JSON as TEXT, lists as comma text, booleans as 0/1, most times as ISO
-- text from SQLite's own defaults (UTC) but the times the browser sends as
-- epoch milliseconds (`Date.now()`). SQLite never enforced the foreign
-- keys (PRAGMA foreign_keys was never switched on), so they are declared
-- but the data may break them. README.md says which tables and columns
-- come from the app's own description and which are inferred.

-- One row per learner: the learner is the tenant (everything they study,
-- every score and every profile is theirs alone).
CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    email                 TEXT NOT NULL UNIQUE,            -- case-sensitive in SQLite
    name                  TEXT,
    password_hash         TEXT NOT NULL,                   -- bcrypt
    avatar_url            TEXT,
    timezone              TEXT DEFAULT 'UTC',
    locale                TEXT DEFAULT 'en',
    preferences           TEXT DEFAULT '{}',               -- JSON: theme, reminders, daily goal
    is_active             INTEGER DEFAULT 1,
    email_verified        BOOLEAN DEFAULT 0,
    failed_login_attempts INTEGER DEFAULT 0,
    last_login_at         INTEGER,                         -- epoch ms, set by the API route
    created_at            TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at            TEXT DEFAULT CURRENT_TIMESTAMP
);

-- The learner's learning profile: the style the questionnaire and the
-- app's observations found (VARK), the pace and the level the adaptive
-- engine has settled on. Meant to be one per learner, but nothing in
-- SQLite said so: the profile is written with INSERT, not an upsert.
CREATE TABLE learning_profiles (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    dominant_style      TEXT,                              -- visual | auditory | reading | kinesthetic
    style_scores        TEXT,                              -- JSON {"visual": 0.41, ...}
    is_multimodal       INTEGER DEFAULT 0,
    confidence          REAL,                              -- 0..1
    preferred_pace      TEXT DEFAULT 'moderate',           -- slow | moderate | fast
    current_difficulty  INTEGER DEFAULT 3,                 -- 1..10
    goals               TEXT,                              -- comma list of subjects
    weekly_goal_minutes INTEGER,
    adaptation_level    INTEGER DEFAULT 50,                -- 0..100: how much the engine adapts
    last_assessed_at    TEXT,
    created_at          TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at          TEXT
);
CREATE INDEX idx_profiles_user ON learning_profiles(user_id);

-- The content library: lessons, videos, exercises. Shared by every
-- learner, written by the content team.
CREATE TABLE learning_content (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            TEXT NOT NULL,
    description      TEXT,
    subject          TEXT NOT NULL,                        -- mathematics | programming | ...
    topic            TEXT,
    content_type     TEXT NOT NULL,                        -- lesson | video | exercise | reading | interactive
    difficulty       INTEGER NOT NULL,                     -- 1..10
    duration_minutes INTEGER,
    styles           TEXT,                                 -- comma list: the learning styles it suits
    tags             TEXT,                                 -- comma list
    body             TEXT,                                 -- markdown
    media_url        TEXT,
    prerequisites    TEXT,                                 -- JSON array of learning_content ids
    is_published     INTEGER DEFAULT 1,
    created_at       TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT
);
CREATE INDEX idx_content_subject ON learning_content(subject, difficulty);

-- Assessment definitions: quizzes on a piece of content, the learning-style
-- questionnaire, diagnostics. Shared, like the content.
CREATE TABLE assessments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    content_id         INTEGER REFERENCES learning_content(id),
    title              TEXT NOT NULL,
    assessment_type    TEXT NOT NULL,                      -- quiz | style_questionnaire | diagnostic | final
    questions          TEXT NOT NULL,                      -- JSON array of questions with options
    question_count     INTEGER,
    passing_score      REAL,                               -- percent
    time_limit_seconds INTEGER,
    max_attempts       INTEGER,
    is_published       INTEGER DEFAULT 1,
    created_at         TEXT DEFAULT CURRENT_TIMESTAMP
);

-- One row per study session: the learner opened a piece of content and
-- worked on it. The browser reports the start and end times.
CREATE TABLE learning_sessions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    content_id       INTEGER REFERENCES learning_content(id),
    started_at       INTEGER NOT NULL,                     -- epoch ms (Date.now() in the browser)
    ended_at         INTEGER,                              -- epoch ms; 0 or NULL: never ended
    duration_seconds INTEGER,
    status           TEXT DEFAULT 'active',                -- active | completed | abandoned
    items_total      INTEGER,
    items_completed  INTEGER DEFAULT 0,
    total_questions  INTEGER DEFAULT 0,
    correct_answers  INTEGER DEFAULT 0,
    score            REAL,                                 -- percent, 0..100
    engagement_score REAL,                                 -- 0..1, from the adaptive engine
    device           TEXT,
    adaptations      TEXT,                                 -- JSON array of {at, change, reason}
    created_at       TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_sessions_user ON learning_sessions(user_id, started_at);

-- A learner's attempt at an assessment, with the answers given.
CREATE TABLE assessment_attempts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users(id),
    assessment_id      INTEGER NOT NULL REFERENCES assessments(id),
    session_id         INTEGER REFERENCES learning_sessions(id),  -- the session it was taken in
    attempt_number     INTEGER NOT NULL DEFAULT 1,
    started_at         TEXT,
    submitted_at       TEXT,
    score              REAL,                               -- points
    max_score          REAL,
    passed             INTEGER,
    answers            TEXT,                               -- JSON {"q1": "b", ...}
    time_spent_seconds INTEGER,
    feedback           TEXT,
    created_at         TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_attempts_user ON assessment_attempts(user_id, assessment_id);

-- Where each learner stands on each piece of content (upserted by the
-- session and attempt handlers; the spaced-repetition scheduler sets
-- next_review_at).
CREATE TABLE user_progress (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users(id),
    content_id         INTEGER NOT NULL REFERENCES learning_content(id),
    status             TEXT DEFAULT 'not_started',         -- not_started | in_progress | completed
    progress_pct       REAL DEFAULT 0,
    mastery_level      REAL,                               -- 0..1
    time_spent_seconds INTEGER DEFAULT 0,
    attempts           INTEGER DEFAULT 0,
    last_accessed_at   TEXT,
    completed_at       TEXT,
    next_review_at     TEXT,
    updated_at         TEXT,
    UNIQUE (user_id, content_id)
);

-- The audit trail: sign-ins, profile changes, data exports, per learner.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    action     TEXT NOT NULL,                              -- login | logout | profile_update | ...
    details    TEXT,                                       -- JSON
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_audit_user ON audit_log(user_id, created_at);

-- The app's own schema versioning: one row per migration script it ran.
CREATE TABLE schema_migrations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    version      TEXT NOT NULL UNIQUE,                     -- '001', '002', ...
    name         TEXT NOT NULL,
    checksum     TEXT,                                     -- sha256 of the script
    applied_at   TEXT,
    execution_ms INTEGER,
    rolled_back  INTEGER DEFAULT 0
);
