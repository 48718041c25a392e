-- Sample data for the Learning Assistant: SQLite statements run after
-- legacy.sql on a new file, reading harness_params(scale, tenants, seed).
--
-- Deterministic: no random() and no column left to a CURRENT_TIMESTAMP
-- default; every "random" choice is a hash of the row's numbers and the
-- seed, so the same parameters give the same file.
--
-- Shape (a learner is a tenant):
--   * users: `tenants` rows. The first 5 % (at least one) study daily
--     (150 sessions x scale), the next 25 % weekly (30 x scale), the rest
--     now and then (0 to 5 x scale: one in six signed up and never
--     studied).
--   * learning_profiles: one per learner, except one light learner in ten
--     who never took the style questionnaire.
--   * learning_content: 120 rows over 6 subjects and 30 topics, and
--     assessments: a quiz for 90 of them, the style questionnaire and one
--     diagnostic per subject; the same whatever the scale (a library).
--   * learning_sessions over 2024, mostly in the learner's own subjects,
--     times in epoch milliseconds as the browser sent them.
--   * assessment_attempts for three in five completed sessions on content
--     with a quiz, numbered per learner and assessment.
--   * user_progress: one row per learner and content studied.
--   * audit_log: sign-ins and account changes, about one per three sessions.
--   * schema_migrations: the app's own 6 migration records.
--   * At the end, a fixed set of hard values (see "hard values" below),
--     each either moving unchanged or refused by the mapping for a reason
--     README.md gives.

-- A hash per row, in two steps: each generator first stores
-- h = (x * 2654435761) mod 2^32 for a row number x kept below 10^9 (so the
-- product stays inside a 64-bit integer: an overflow would turn SQLite's
-- arithmetic into REALs), then mixes the bits with xor-shifts and a second
-- multiply on 31 bits (SQLite has no xor: a ^ b = (a | b) - (a & b)).
create temp table t_seed as select seed % 100003 as s from harness_params;

create temp table t_n (i integer primary key);
with recursive c(i) as (
    select 1
    union all
    select i + 1 from c
    where i < max((select tenants from harness_params), 150 * (select scale from harness_params), 120)
)
insert into t_n select i from c;

create temp table t_first (i integer primary key, v text);
insert into t_first (v) values ('Amara'), ('Bruno'), ('Chiara'), ('Dev'), ('Elif'), ('Felix'),
    ('Grace'), ('Hiro'), ('Inès'), ('Jonas'), ('Kofi'), ('Laila'), ('Mateo'), ('Noor'),
    ('Oskar'), ('Pilar'), ('Ravi'), ('Sofía'), ('Tariq'), ('Ursula'), ('Vân'), ('Wiktor');
create temp table t_last (i integer primary key, v text);
insert into t_last (v) values ('Adeyemi'), ('Bianchi'), ('Chen'), ('Da Silva'), ('Eklund'),
    ('Fernández'), ('Gupta'), ('Hoffmann'), ('Ito'), ('Jovanović'), ('Kim'), ('Larsen'),
    ('Mbeki'), ('Novak'), ('O''Connor'), ('Petrov'), ('Quispe'), ('Rahman'), ('Sato'), ('Weiß');
create temp table t_tz (i integer primary key, v text, loc text);
insert into t_tz (v, loc) values ('UTC', 'en'), ('Europe/Madrid', 'es'), ('America/Chicago', 'en'),
    ('Asia/Kolkata', 'en'), ('Europe/Berlin', 'de'), ('America/Sao_Paulo', 'pt'),
    ('Asia/Tokyo', 'ja'), ('Africa/Lagos', 'en');
create temp table t_subject (i integer primary key, v text);
insert into t_subject (v) values ('mathematics'), ('programming'), ('languages'), ('science'),
    ('history'), ('music');
-- 30 topics, five per subject in subject order.
create temp table t_topic (i integer primary key, v text, tag text);
insert into t_topic (v, tag) values
    ('Fractions', 'fractions'), ('Linear equations', 'algebra'), ('Probability', 'probability'),
    ('Triangles and angles', 'geometry'), ('Derivatives', 'calculus'),
    ('Variables and types', 'basics'), ('Loops', 'control-flow'), ('Functions', 'functions'),
    ('Recursion', 'recursion'), ('SQL joins', 'sql'),
    ('Spanish greetings', 'spanish'), ('French verbs', 'french'), ('German cases', 'german'),
    ('Japanese kana', 'japanese'), ('English idioms', 'english'),
    ('The cell', 'biology'), ('Newton''s laws', 'physics'), ('Chemical bonds', 'chemistry'),
    ('Photosynthesis', 'biology'), ('Electric circuits', 'physics'),
    ('Ancient Rome', 'antiquity'), ('The Renaissance', 'early-modern'),
    ('The Industrial Revolution', 'modern'), ('The First World War', 'modern'), ('The Cold War', 'modern'),
    ('Reading notes', 'notation'), ('Rhythm', 'rhythm'), ('Scales', 'theory'), ('Chords', 'theory'),
    ('A short history of music', 'history');
create temp table t_level (i integer primary key, v text, kind text, styles text);
insert into t_level (i, v, kind, styles) values
    (0, 'the basics', 'lesson', 'reading,visual'),
    (1, 'worked examples', 'video', 'visual,auditory'),
    (2, 'practice', 'exercise', 'kinesthetic'),
    (3, 'going further', 'reading', 'reading');
create temp table t_device (i integer primary key, v text);
insert into t_device (v) values ('web-chrome'), ('web-safari'), ('web-firefox'), ('ios-app'), ('android-app');
create temp table t_agent (i integer primary key, v text);
insert into t_agent (v) values
    ('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36'),
    ('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15'),
    ('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'),
    ('LearningAssistant/2.3.1 (iPhone; iOS 17.4)'),
    ('LearningAssistant/2.3.0 (Android 14; Pixel 7)');

-- ------------------------------------------------------------ the library

insert into learning_content (id, title, description, subject, topic, content_type, difficulty,
    duration_minutes, styles, tags, body, media_url, prerequisites, is_published, created_at, updated_at)
select
    n.i,
    t.v || ': ' || l.v,
    case when n.i % 17 = 0 then null
         else 'A ' || l.kind || ' on ' || lower(t.v) || ' for learners at level ' || (1 + (t.i - 1) % 5 + 2 * l.i) || '.' end,
    (select v from t_subject where i = 1 + (t.i - 1) / 5),
    t.v,
    case when l.i = 1 and n.i % 3 = 0 then 'interactive' else l.kind end,
    min(10, 1 + (t.i - 1) % 5 + 2 * l.i),
    5 + (n.i * 7) % 40,
    case when l.i = 1 and n.i % 3 = 0 then 'kinesthetic,visual' else l.styles end,
    (select v from t_subject where i = 1 + (t.i - 1) / 5) || ',' || t.tag
        || case when l.i = 2 then ',practice' else '' end,
    '# ' || t.v || char(10) || char(10) || 'In this ' || l.kind || ' we look at ' || lower(t.v)
        || ', step by step, with examples you can try yourself.',
    case when l.i = 1 then 'https://cdn.learning-assistant.example/video/' || n.i || '.mp4' end,
    case when l.i = 0 then '[]' else json_array(n.i - 1) end,
    case when n.i % 37 = 0 then 0 else 1 end,
    datetime('2023-03-01', printf('+%d days', n.i * 2), printf('+%d minutes', (n.i * 53) % 600)),
    case when n.i % 4 = 0 then datetime('2023-09-01', printf('+%d days', n.i)) end
from t_n n
join t_topic t on t.i = 1 + (n.i - 1) / 4
join t_level l on l.i = (n.i - 1) % 4
where n.i <= 120
order by n.i;

-- A quiz on every piece of content past the basics (90), in content order.
insert into assessments (content_id, title, assessment_type, questions, question_count,
    passing_score, time_limit_seconds, max_attempts, is_published, created_at)
select
    c.id,
    'Check: ' || c.title,
    case when (c.id - 1) % 4 = 3 then 'final' else 'quiz' end,
    (select json_group_array(json_object(
        'id', 'q' || q.i,
        'text', 'Question ' || q.i || ' on ' || lower(c.topic),
        'options', json_array('a', 'b', 'c', 'd'),
        'answer', char(97 + (c.id * 3 + q.i) % 4),
        'points', 2))
     from t_n q where q.i <= 5),
    5,
    case when (c.id - 1) % 4 = 3 then 80.0 else 70.0 end,
    case when c.id % 5 = 0 then null else 300 + 60 * (c.id % 6) end,
    case when (c.id - 1) % 4 = 3 then 3 end,
    c.is_published,
    datetime(c.created_at, '+1 day')
from learning_content c
where (c.id - 1) % 4 > 0
order by c.id;

-- The learning-style questionnaire (VARK) and one diagnostic per subject.
insert into assessments (content_id, title, assessment_type, questions, question_count,
    passing_score, time_limit_seconds, max_attempts, is_published, created_at)
values (null, 'How do you learn best?', 'style_questionnaire',
    '[{"id":"s1","text":"When you learn a new recipe, you...","options":{"visual":"look at the photos","auditory":"ask someone to explain","reading":"read the steps","kinesthetic":"start cooking"}},'
    || '{"id":"s2","text":"Directions to a new place: you prefer...","options":{"visual":"a map","auditory":"spoken directions","reading":"written directions","kinesthetic":"walking it once"}}]',
    2, null, null, null, 1, '2023-02-20 09:00:00');
insert into assessments (content_id, title, assessment_type, questions, question_count,
    passing_score, time_limit_seconds, max_attempts, is_published, created_at)
select null, 'Where do you start in ' || s.v || '?', 'diagnostic',
    json_array(json_object('id', 'd1', 'text', 'A first question in ' || s.v, 'options', json_array('a', 'b', 'c'), 'answer', 'a', 'points', 1),
               json_object('id', 'd2', 'text', 'A harder question in ' || s.v, 'options', json_array('a', 'b', 'c'), 'answer', 'c', 'points', 2)),
    2, 0.0, 600, 1, 1, '2023-02-21 09:00:00'
from t_subject s order by s.i;

-- ------------------------------------------------------------ learners

create temp table t_user as
select n.i as u,
    case when n.i <= max(1, (select tenants from harness_params) * 5 / 100) then 'daily'
         when n.i <= max(1, (select tenants from harness_params) * 5 / 100)
                     + (select tenants from harness_params) * 25 / 100 then 'weekly'
         else 'casual' end as tier,
    (((n.i * 7919 + (select s from t_seed) * 104729) % 1000000007) * 2654435761) % 4294967296 as h
from t_n n
where n.i <= (select tenants from harness_params);
update t_user set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update t_user set h = (h | (h >> 16)) - (h & (h >> 16));
alter table t_user add column n_sessions integer;
update t_user set n_sessions = (select scale from harness_params) * case tier
    when 'daily' then 150 when 'weekly' then 30 else u % 6 end;

insert into users (id, email, name, password_hash, avatar_url, timezone, locale, preferences,
    is_active, email_verified, failed_login_attempts, last_login_at, created_at, updated_at)
select
    u,
    'learner' || u || '@example.test',
    case when h % 23 = 0 then null
         else (select v from t_first where i = 1 + h % 22) || ' ' || (select v from t_last where i = 1 + (h / 22) % 20) end,
    printf('$2b$12$%053d', h * 7 + u),
    case when h % 3 = 0 then 'https://cdn.learning-assistant.example/avatars/' || u || '.png'
         when h % 3 = 1 then null else '' end,
    (select v from t_tz where i = 1 + (h / 7) % 8),
    (select loc from t_tz where i = 1 + (h / 7) % 8),
    json_object('theme', case h % 3 when 0 then 'dark' when 1 then 'light' else 'system' end,
                'daily_reminder', json(case when h % 2 = 0 then 'true' else 'false' end),
                'reminder_time', printf('%02d:%02d', 7 + h % 14, 15 * ((h / 5) % 4)),
                'daily_goal_minutes', 10 * (1 + (h / 11) % 6)),
    case when h % 31 = 0 then 0 else 1 end,
    case when h % 10 = 0 then 0 else 1 end,
    case when h % 19 = 0 then 1 + h % 4 else 0 end,
    case when tier = 'casual' and u % 6 = 0 then null
         else (1727740800 + (h / 3) % (90 * 86400)) * 1000 + h % 1000 end,
    datetime('2023-06-01', printf('+%d days', (h / 5) % 366), printf('+%d seconds', (h / 13) % 86400)),
    datetime('2024-06-01', printf('+%d days', (h / 17) % 180), printf('+%d seconds', (h / 19) % 86400))
from t_user
order by u;

-- One profile per learner (one casual learner in ten never took the questionnaire).
create temp table t_p as
select u, tier, h, 1 + h % 20 as w1, 1 + (h / 20) % 20 as w2, 1 + (h / 400) % 20 as w3, 1 + (h / 8000) % 20 as w4
from t_user
where not (tier = 'casual' and u % 10 = 0);
insert into learning_profiles (user_id, dominant_style, style_scores, is_multimodal, confidence,
    preferred_pace, current_difficulty, goals, weekly_goal_minutes, adaptation_level,
    last_assessed_at, created_at, updated_at)
select
    p.u,
    case when w1 >= w2 and w1 >= w3 and w1 >= w4 then 'visual'
         when w2 >= w3 and w2 >= w4 then 'auditory'
         when w3 >= w4 then 'reading' else 'kinesthetic' end,
    json_object('visual', round(w1 * 1.0 / (w1 + w2 + w3 + w4), 3),
                'auditory', round(w2 * 1.0 / (w1 + w2 + w3 + w4), 3),
                'reading', round(w3 * 1.0 / (w1 + w2 + w3 + w4), 3),
                'kinesthetic', round(w4 * 1.0 / (w1 + w2 + w3 + w4), 3)),
    case when h % 5 = 0 then 1 else 0 end,
    0.5 + ((h / 7) % 50) / 100.0,
    case (h / 3) % 4 when 0 then 'slow' when 3 then 'fast' else 'moderate' end,
    case p.tier when 'daily' then 4 + h % 7 when 'weekly' then 2 + h % 6 else 1 + h % 4 end,
    case when h % 7 = 0 then null
         else (select v from t_subject where i = 1 + p.u % 6)
              || case when h % 3 = 0 then ',' || (select v from t_subject where i = 1 + (p.u + 1 + h % 5) % 6) else '' end end,
    case h % 5 when 0 then 60 when 1 then 90 when 2 then 120 when 3 then 180 end,
    20 + (h / 11) % 70,
    datetime('2024-01-01', printf('+%d days', (h / 23) % 300), printf('+%d seconds', (h / 29) % 86400)),
    datetime(u.created_at, '+1 day'),
    case when h % 4 = 0 then null else datetime('2024-01-01', printf('+%d days', (h / 23) % 300 + 1)) end
from t_p p
join users u on u.id = p.u
order by p.u;

-- ------------------------------------------------------------ sessions

create temp table t_s as
select u.u as uid, u.tier, n.i as k, u.n_sessions as cnt,
    (((u.u * 6151 + n.i * 8191 + (select s from t_seed) * 7907) % 1000000007) * 2654435761) % 4294967296 as h
from t_user u
join t_n n on n.i <= u.n_sessions;
update t_s set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update t_s set h = (h | (h >> 16)) - (h & (h >> 16));

insert into learning_sessions (user_id, content_id, started_at, ended_at, duration_seconds, status,
    items_total, items_completed, total_questions, correct_answers, score, engagement_score,
    device, adaptations, created_at)
select
    uid, cid, start_ms,
    case when status = 'completed' then start_ms + dur * 1000 + h % 1000
         when status = 'abandoned' and h % 40 = 7 then 0
         when status = 'abandoned' and h % 2 = 0 then start_ms + (dur / 3) * 1000 end,
    case when status = 'completed' then dur when status = 'abandoned' and h % 2 = 0 then dur / 3 end,
    status,
    items,
    case when status = 'completed' then items else (h / 7) % items end,
    questions,
    case when questions = 0 then 0 when status = 'completed' then (h / 11) % (questions + 1) else 0 end,
    case when questions > 0 and status = 'completed'
         then round(100.0 * ((h / 11) % (questions + 1)) / questions, 1) end,
    ((h / 13) % 1000) / 1000.0,
    (select v from t_device where i = 1 + (h / 17) % 5),
    case when h % 3 = 0 then json_array(json_object(
            'at_s', (h / 19) % dur,
            'change', case (h / 23) % 4 when 0 then 'difficulty_down' when 1 then 'difficulty_up'
                                        when 2 then 'switch_to_video' else 'slower_pace' end,
            'reason', case (h / 23) % 4 when 0 then 'three wrong answers in a row' when 1 then 'fast and accurate'
                                        when 2 then 'visual learner stuck on text' else 'long pauses' end))
         else '[]' end,
    datetime(start_ms / 1000, 'unixepoch')
from (
    select g.uid, g.k, g.h,
        -- mostly the learner's own subject (20 pieces of content each), one in four elsewhere
        case when g.h % 4 = 0 then 1 + (g.h / 4) % 120
             else 1 + (g.uid % 6) * 20 + (g.h / 4) % 20 end as cid,
        (1704067200 + (min(365, ((g.k - 1) * 366) / g.cnt + g.h % 3)) * 86400
            + 6 * 3600 + (g.h / 7) % (17 * 3600)) * 1000 + g.h % 1000 as start_ms,
        300 + (g.h / 29) % 3000 as dur,
        case when g.k = g.cnt and g.tier = 'daily' then 'active'
             when g.h % 10 in (7, 8) then 'abandoned' else 'completed' end as status,
        5 + (g.h / 31) % 16 as items,
        case when (g.h / 37) % 3 = 0 then 0 else 5 + (g.h / 41) % 6 end as questions
    from t_s g
)
order by uid, k;

-- ------------------------------------------------------------ attempts

-- Three in five completed sessions on content with a quiz end with an
-- attempt at it; attempts are numbered per learner and assessment.
create temp table t_a as
select s.id as sid, s.user_id as uid, a.id as aid, s.started_at as start_ms, s.ended_at as end_ms,
    (((s.id * 2749 + (select s from t_seed) * 6761) % 1000000007) * 2654435761) % 4294967296 as h
from learning_sessions s
join assessments a on a.content_id = s.content_id
where s.status = 'completed';
update t_a set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update t_a set h = (h | (h >> 16)) - (h & (h >> 16));
delete from t_a where h % 5 >= 3;

insert into assessment_attempts (user_id, assessment_id, session_id, attempt_number, started_at,
    submitted_at, score, max_score, passed, answers, time_spent_seconds, feedback, created_at)
select
    uid, aid, sid,
    row_number() over (partition by uid, aid order by sid),
    datetime(end_ms / 1000, 'unixepoch'),
    datetime(end_ms / 1000 + spent, 'unixepoch'),
    pts, 10.0,
    case when pts * 10 >= (select passing_score from assessments where id = aid) then 1 else 0 end,
    json_object('q1', char(97 + h % 4), 'q2', char(97 + (h / 4) % 4), 'q3', char(97 + (h / 16) % 4),
                'q4', char(97 + (h / 64) % 4), 'q5', char(97 + (h / 256) % 4)),
    spent,
    case when h % 6 = 0 then null
         when pts * 10 >= (select passing_score from assessments where id = aid) then 'Well done: ready for the next topic.'
         else 'Have another look at the worked examples, then try again.' end,
    datetime(end_ms / 1000 + spent, 'unixepoch')
from (select t.*, 2 * ((t.h / 7) % 6) as pts, 60 + (t.h / 11) % 840 as spent from t_a t)
order by uid, sid;

-- ------------------------------------------------------------ progress

insert into user_progress (user_id, content_id, status, progress_pct, mastery_level,
    time_spent_seconds, attempts, last_accessed_at, completed_at, next_review_at, updated_at)
select
    user_id, content_id,
    case when done > 0 then 'completed' else 'in_progress' end,
    case when done > 0 then 100.0 else round(best, 1) end,
    case when scored > 0 then round(avg_score / 100.0, 3) end,
    spent, n,
    datetime(last_ms / 1000, 'unixepoch'),
    case when done > 0 then datetime(first_done_ms / 1000, 'unixepoch') end,
    case when done > 0 then datetime(last_ms / 1000, 'unixepoch', printf('+%d days', 1 + (user_id * 7 + content_id) % 14)) end,
    datetime(last_ms / 1000, 'unixepoch')
from (
    select user_id, content_id, count(*) as n,
        sum(case when status = 'completed' then 1 else 0 end) as done,
        max(100.0 * items_completed / items_total) as best,
        count(score) as scored, avg(score) as avg_score,
        coalesce(sum(duration_seconds), 0) as spent,
        max(started_at) as last_ms,
        min(case when status = 'completed' then ended_at end) as first_done_ms
    from learning_sessions
    group by user_id, content_id
)
order by user_id, content_id;

-- ------------------------------------------------------------ audit trail

create temp table t_l as
select u.u as uid, n.i as k, 1 + u.n_sessions / 3 as cnt,
    (((u.u * 3307 + n.i * 4463 + (select s from t_seed) * 5237) % 1000000007) * 2654435761) % 4294967296 as h
from t_user u
join t_n n on n.i <= 1 + u.n_sessions / 3;
update t_l set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update t_l set h = (h | (h >> 16)) - (h & (h >> 16));
insert into audit_log (user_id, action, details, ip_address, user_agent, created_at)
select
    uid, action,
    case action
        when 'login' then json_object('method', case when h % 4 = 0 then 'google' else 'password' end,
                                      'success', json(case when h % 13 = 0 then 'false' else 'true' end))
        when 'profile_update' then json_object('fields', json_array('preferred_pace', 'weekly_goal_minutes'))
        when 'settings_update' then json_object('fields', json_array('theme'))
        when 'data_export' then json_object('format', 'json', 'bytes', 20000 + h % 500000)
        else '{}' end,
    case when h % 7 = 0 then printf('2001:db8:%x::%x', 1 + h % 4000, 1 + (h / 7) % 65000)
         else printf('198.51.100.%d', 1 + h % 254) end,
    (select v from t_agent where i = 1 + (h / 11) % 5),
    datetime('2024-01-01', printf('+%d days', min(365, ((k - 1) * 366) / cnt + h % 3)),
             printf('+%d seconds', 5 * 3600 + (h / 13) % (18 * 3600)))
from (
    select l.*, case when l.k = 1 then 'login'
                     else case l.h % 10 when 0 then 'profile_update' when 1 then 'settings_update'
                                        when 2 then 'logout' when 3 then 'logout'
                                        when 4 then case when l.h % 60 = 4 then 'data_export' else 'login' end
                                        when 5 then case when l.h % 50 = 5 then 'password_change' else 'login' end
                                        else 'login' end end as action
    from t_l l
)
order by uid, k;

insert into schema_migrations (version, name, checksum, applied_at, execution_ms, rolled_back) values
    ('001', 'create_users', 'sha256:8f14e45fceea167a5a36dedd4bea2543', '2023-02-01 09:00:00', 41, 0),
    ('002', 'learning_profiles', 'sha256:c9f0f895fb98ab9159f51fd0297e236d', '2023-02-01 09:00:01', 18, 0),
    ('003', 'content_and_assessments', 'sha256:45c48cce2e2d7fbdea1afc51c7c6ad26', '2023-02-20 08:30:00', 77, 0),
    ('004', 'sessions_and_progress', 'sha256:d3d9446802a44259755d38e6d163e820', '2023-03-01 08:30:00', 63, 0),
    ('005', 'audit_log', 'sha256:6512bd43d9caa6e02c990b0a82652dca', '2023-05-10 22:15:00', 12, 0),
    ('006', 'progress_review_dates', 'sha256:c20ad4d76fe97759aa27a0c99bff6710', '2023-11-02T22:15:00.250Z', 2840, 1);

-- ------------------------------------------------------------ hard values
-- Each moves unchanged, or is refused by the mapping with the reason
-- README.md gives. They hang off learner 1 (always a daily learner) and,
-- where two learners are needed, learner 2.

-- A name in several scripts with a combining accent (e + U+0301), quotes
-- and a backslash; booleans written as words; a last login that an older
-- API route stored as ISO text in the epoch-milliseconds column.
update users set name = 'Zoë "Zo" Ångström-Nuñez \ 李 ' || 'Rene' || char(769) || ' 🎓',
    is_active = 'true', email_verified = 'yes', last_login_at = '2024-11-30T21:45:10.5+01:00'
where id = 1;
-- A name whose bytes are Latin-1, not UTF-8 (an import from an old CSV):
-- PostgreSQL text cannot hold it; the learner moves with name NULL and the
-- cell is on record.
update users set name = cast(x'4dfc6c6c6572' as text), last_login_at = 0 where id = 2;

-- Learner 1's profile: a style score only 8 bytes hold, a duplicate key in
-- the JSON (the last wins, as in jsonb), a tiny number, a goal list with
-- spaces around its items.
update learning_profiles
set style_scores = '{"visual": 0.5, "auditory": 0.2, "reading": 0.2, "kinesthetic": 0.1, "visual": 0.4, "tiebreak": 1e-7}',
    confidence = 0.1 + 0.2, goals = ' mathematics , programming '
where user_id = 1;
-- A second profile for learner 1: the app INSERTed where it meant to
-- upsert, and SQLite had no unique key to stop it. The target's
-- unique (user_id) refuses it; the first (the one the app read) stays.
insert into learning_profiles (user_id, dominant_style, style_scores, is_multimodal, confidence,
    preferred_pace, current_difficulty, goals, weekly_goal_minutes, adaptation_level,
    last_assessed_at, created_at, updated_at)
select 1, 'kinesthetic', '{"visual": 0.1, "auditory": 0.1, "reading": 0.1, "kinesthetic": 0.7}', 0, 0.55,
    'fast', 7, '', 240, 80, '2024-10-05 18:00:00', '2024-10-05 18:00:00', null
where exists (select 1 from users where id = 1);

-- Sessions of learner 1: a start an early client sent in epoch seconds
-- (not milliseconds), a duration and a score sent as text, an end time 0
-- (never ended: NULL, counted as unknown).
insert into learning_sessions (user_id, content_id, started_at, ended_at, duration_seconds, status,
    items_total, items_completed, total_questions, correct_answers, score, engagement_score,
    device, adaptations, created_at)
select 1, 1, 1704186000, 1704187800, '1800', 'completed', 10, 10, 8, 7, '87.5', 1e-7,
    'web-chrome', '[{"at_s": 600, "change": "slower_pace", "reason": "long pauses — 3 of them"}]',
    '2024-01-02T09:00:00Z'
where exists (select 1 from users where id = 1);
insert into learning_sessions (user_id, content_id, started_at, ended_at, duration_seconds, status,
    items_total, items_completed, total_questions, correct_answers, score, engagement_score,
    device, adaptations, created_at)
select 1, 2, 1719828000123, 0, null, 'abandoned', 12, 3, 0, 0, null, 0.1 + 0.2,
    'ios-app', '[]', '2024-07-01 10:00:00'
where exists (select 1 from users where id = 1);

-- Attempts in learner 1's first hard-value session (assessment 1 is the
-- quiz on content 2): an answer sheet holding an escaped NUL (\u0000, which
-- jsonb cannot store: the attempt moves with answers NULL, the cell is on
-- record), then the same attempt submitted twice (the client retried the
-- POST; SQLite had no unique key): the target's
-- unique (user_id, assessment_id, attempt_number) refuses the second.
insert into assessment_attempts (user_id, assessment_id, session_id, attempt_number, started_at,
    submitted_at, score, max_score, passed, answers, time_spent_seconds, feedback, created_at)
select 1, 1, (select max(id) from learning_sessions where user_id = 1 and started_at = 1704186000), 101,
    '2024-01-02 09:30:00', '2024-01-02 09:41:07.123456', 8.0, 10.0, 1,
    '{"q1": "a", "q2": "c", "q3": "pasted\u0000text", "q4": "b", "q5": "d"}', 667, '', '2024-01-02 09:41:07'
where exists (select 1 from users where id = 1);
insert into assessment_attempts (user_id, assessment_id, session_id, attempt_number, started_at,
    submitted_at, score, max_score, passed, answers, time_spent_seconds, feedback, created_at)
select 1, 1, null, 102, '2024-01-03 19:00:00', '2024-01-03 19:08:00+02:00', 10.0, 10.0, 'true',
    '{"q1": "a", "q2": "c", "q3": "b", "q4": "b", "q5": "d"}', 480, 'Perfect score 🎉', '2024-01-03 17:08:00'
where exists (select 1 from users where id = 1);
insert into assessment_attempts (user_id, assessment_id, session_id, attempt_number, started_at,
    submitted_at, score, max_score, passed, answers, time_spent_seconds, feedback, created_at)
select 1, 1, null, 102, '2024-01-03 19:00:00', '2024-01-03 19:08:01+02:00', 10.0, 10.0, 1,
    '{"q1": "a", "q2": "c", "q3": "b", "q4": "b", "q5": "d"}', 481, 'Perfect score 🎉', '2024-01-03 17:08:01'
where exists (select 1 from users where id = 1);
-- An attempt filed under learner 2 in learner 1's session: a cross-tenant
-- reference, rejected.
insert into assessment_attempts (user_id, assessment_id, session_id, attempt_number, started_at,
    submitted_at, score, max_score, passed, answers, time_spent_seconds, created_at)
select 2, 1, (select max(id) from learning_sessions where user_id = 1 and started_at = 1704186000), 1,
    '2024-01-02 10:00:00', '2024-01-02 10:05:00', 4.0, 10.0, 0, '{}', 300, '2024-01-02 10:05:00'
where exists (select 1 from users where id = 2);

-- Progress with an unknown completion time ('' : NULL, counted).
insert into user_progress (user_id, content_id, status, progress_pct, mastery_level,
    time_spent_seconds, attempts, last_accessed_at, completed_at, next_review_at, updated_at)
select 1, 120, 'in_progress', 0.1 + 0.2, null, 0, 1, '2024-12-31 23:59:59.999999', '', null, '2024-12-31 23:59:59'
where exists (select 1 from users where id = 1)
  and not exists (select 1 from user_progress where user_id = 1 and content_id = 120);

-- Audit entries: addresses as a proxy passed them on (IPv6 in capitals,
-- an IPv4-mapped IPv6), and 'unknown' (no address could be read: the entry
-- moves with ip_address NULL, the cell is on record); an entry of an
-- account erased long ago, whose trail SQLite kept: an orphan, rejected.
insert into audit_log (user_id, action, details, ip_address, user_agent, created_at)
select 1, 'login', '{"method": "password", "success": true}', '2001:DB8::A1', null, '2024-03-03 07:00:00'
where exists (select 1 from users where id = 1);
insert into audit_log (user_id, action, details, ip_address, user_agent, created_at)
select 1, 'login', '{"method": "google", "success": true}', '::ffff:192.0.2.10', null, '2024-03-04 07:00:00'
where exists (select 1 from users where id = 1);
insert into audit_log (user_id, action, details, ip_address, user_agent, created_at)
select 1, 'data_export', '{"format": "json", "bytes": 48213}', 'unknown', '', '2024-03-05 07:00:00'
where exists (select 1 from users where id = 1);
insert into audit_log (user_id, action, details, ip_address, user_agent, created_at)
values (999999, 'account_delete', '{"requested_by": "user"}', '203.0.113.9', null, '2023-08-08 08:08:08');

-- The same person signed up twice with different capitalisation (SQLite's
-- UNIQUE is case-sensitive; the target's unique index on lower(email) is
-- not): PostgreSQL refuses the later account, and its profile, session and
-- audit entry follow it to the reject file.
insert into users (email, name, password_hash, avatar_url, timezone, locale, preferences,
    is_active, email_verified, failed_login_attempts, last_login_at, created_at, updated_at)
select 'Learner1@Example.TEST', 'Zoë (work)', '$2b$12$secondaccountsecondaccountsecondaccountsecondaccou', null,
    'UTC', 'en', '{"theme": "dark", "theme": "light"}', 1, 0, 0, 1718000000000,
    '2024-06-10 06:13:20', '2024-06-10 06:13:20'
where exists (select 1 from users where id = 1);
insert into learning_profiles (user_id, dominant_style, style_scores, confidence, preferred_pace,
    current_difficulty, goals, created_at)
select (select max(id) from users), 'reading', '{"reading": 1.0}', 0.5, 'moderate', 3, 'languages', '2024-06-10 06:20:00'
where exists (select 1 from users where id = 1);
insert into learning_sessions (user_id, content_id, started_at, status, items_total, created_at)
select (select max(id) from users), 41, 1718000400000, 'active', 8, '2024-06-10 06:20:00'
where exists (select 1 from users where id = 1);
insert into audit_log (user_id, action, details, ip_address, created_at)
select (select max(id) from users), 'login', '{"method": "password", "success": true}', '198.51.100.77', '2024-06-10 06:13:20'
where exists (select 1 from users where id = 1);

-- A library row with an empty tag list, no styles and no prerequisites.
insert into learning_content (title, description, subject, topic, content_type, difficulty,
    duration_minutes, styles, tags, body, media_url, prerequisites, is_published, created_at)
values ('Study skills: spaced repetition', '', 'study-skills', 'Spaced repetition', 'reading', 1,
    8, null, '', 'Review just before you would forget — the intervals grow each time.', null, null, 1,
    '2023-09-09 09:09:09');

drop table t_seed;
drop table t_n;
drop table t_first;
drop table t_last;
drop table t_tz;
drop table t_subject;
drop table t_topic;
drop table t_level;
drop table t_device;
drop table t_agent;
drop table t_user;
drop table t_p;
drop table t_s;
drop table t_a;
drop table t_l;
