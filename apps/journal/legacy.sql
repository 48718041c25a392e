-- The journaling companion's SQLite schema, as the app kept it before the
-- move: one file for every user. Written the way a Python app on SQLite
-- writes things: INTEGER keys, JSON as TEXT, lists as JSON text or comma
-- lists, timestamps as ISO text (CURRENT_TIMESTAMP is UTC), booleans as
-- 0/1, the embedding vectors as BLOBs of little-endian float32. SQLite did
-- not enforce the foreign keys (PRAGMA foreign_keys was never switched on),
-- so they are declared but the data may break them. README.md says which
-- tables and columns come from the app's own description and which are
-- inferred.

-- One row per person: the person is the tenant (each journal is private).
CREATE TABLE users (
    id                    INTEGER PRIMARY KEY,
    email                 TEXT NOT NULL UNIQUE,          -- case-sensitive in SQLite
    username              TEXT,
    password_hash         TEXT NOT NULL,                 -- bcrypt
    display_name          TEXT,
    timezone              TEXT DEFAULT 'UTC',
    privacy_level         TEXT DEFAULT 'private',        -- private | anonymized_research | shared_with_therapist
    privacy_settings      TEXT DEFAULT '{}',             -- JSON
    preferences           TEXT DEFAULT '{}',             -- JSON: theme, reminders, ai persona
    ai_consent            INTEGER DEFAULT 0,             -- 0/1
    data_retention_days   INTEGER,                       -- NULL: keep forever
    is_active             INTEGER DEFAULT 1,
    is_verified           BOOLEAN DEFAULT 0,
    failed_login_attempts INTEGER DEFAULT 0,
    last_login            TEXT,
    created_at            TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at            TEXT DEFAULT CURRENT_TIMESTAMP
);

-- The evidence-based content library the AI cites: shared by everyone,
-- written by the content team, not by users.
CREATE TABLE psychology_content (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    summary          TEXT,
    body             TEXT NOT NULL,
    category         TEXT NOT NULL,                      -- cbt | mindfulness | sleep | ...
    tags             TEXT,                               -- comma list
    evidence_level   TEXT,                               -- meta_analysis | rct | cohort | expert_opinion
    authors          TEXT,                               -- JSON array of names
    source           TEXT,
    publication_year INTEGER,
    doi              TEXT,
    embedding        BLOB,
    is_published     INTEGER DEFAULT 1,
    created_at       TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT
);

CREATE TABLE journal_entries (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    title           TEXT,
    content         TEXT NOT NULL,
    mood            TEXT,                                -- a word: calm, anxious, ...
    mood_score      INTEGER,                             -- 1..10
    energy_level    INTEGER,                             -- 1..5
    tags            TEXT,                                -- JSON array text
    categories      TEXT,                                -- comma list
    word_count      INTEGER,
    sentiment_score REAL,                                -- -1..1
    ai_analysis     TEXT,                                -- JSON from the analysis job
    embedding       BLOB,
    embedding_model TEXT,
    is_favorite     INTEGER DEFAULT 0,
    is_draft        BOOLEAN DEFAULT 0,
    entry_date      TEXT,                                -- YYYY-MM-DD, the day written about
    created_at      TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at      TEXT,
    deleted_at      TEXT                                 -- soft delete
);
CREATE INDEX idx_entries_user_created ON journal_entries(user_id, created_at);

CREATE TABLE chat_sessions (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    entry_id        INTEGER REFERENCES journal_entries(id),   -- "talk about this entry"
    title           TEXT,
    session_type    TEXT DEFAULT 'general',              -- general | reflection | cbt_exercise | crisis_support
    ai_model        TEXT,
    ai_config       TEXT,                                -- JSON: temperature, persona, system prompt version
    status          TEXT DEFAULT 'active',               -- active | archived
    message_count   INTEGER DEFAULT 0,
    started_at      TEXT DEFAULT CURRENT_TIMESTAMP,
    last_message_at INTEGER,                             -- epoch milliseconds, written by the JS client
    ended_at        TEXT
);
CREATE INDEX idx_sessions_user ON chat_sessions(user_id, last_message_at);

-- One row per message of a chat session.
CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES chat_sessions(id),
    user_id           INTEGER NOT NULL REFERENCES users(id),
    parent_id         INTEGER REFERENCES conversations(id),    -- the message this one answers
    role              TEXT NOT NULL,                     -- user | assistant | system
    content           TEXT NOT NULL,
    model             TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    response_time_ms  REAL,
    metrics           TEXT,                              -- JSON: retrieval and safety timings
    citations         TEXT,                              -- JSON array of {content_id, title, score}
    flagged           INTEGER DEFAULT 0,                 -- the safety filter fired
    created_at        TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_conversations_session ON conversations(session_id, created_at);

-- Dashboard figures, recomputed nightly per user and period.
CREATE TABLE user_analytics (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users(id),
    period             TEXT NOT NULL,                    -- week | month
    period_start       TEXT NOT NULL,                    -- YYYY-MM-DD
    entry_count        INTEGER DEFAULT 0,
    word_count         INTEGER DEFAULT 0,
    avg_mood           REAL,
    mood_distribution  TEXT,                             -- JSON {"calm": 3, ...}
    top_tags           TEXT,                             -- JSON array text
    streak_days        INTEGER DEFAULT 0,
    chat_message_count INTEGER DEFAULT 0,
    insights           TEXT,                             -- JSON from the analysis job
    computed_at        TEXT,
    UNIQUE (user_id, period, period_start)
);

-- The app's own record of the JSON-file -> SQLite imports it ran.
CREATE TABLE migration_logs (
    id                INTEGER PRIMARY KEY,
    migration_name    TEXT NOT NULL,
    source            TEXT,
    status            TEXT NOT NULL,                     -- started | completed | failed | rolled_back
    records_total     INTEGER,
    records_migrated  INTEGER,
    records_failed    INTEGER,
    details           TEXT,                              -- JSON
    error_message     TEXT,
    started_at        TEXT,
    completed_at      TEXT
);
