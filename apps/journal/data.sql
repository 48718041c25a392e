-- Sample data for the journaling companion: SQLite statements run after
-- legacy.sql on a new file, reading harness_params(scale, tenants, seed).
--
-- Deterministic: no random() and no column left to a CURRENT_TIMESTAMP
-- default; every "random" choice is a hash of the row's numbers and the
-- seed, so the same parameters give the same file.
--
-- Shape (a user is a tenant):
--   * users: `tenants` rows. The first 5 % (at least one) are heavy
--     journalers (120 entries x scale, 20 chat sessions x scale), the next
--     25 % regular (20 x scale entries, 4 x scale sessions), the rest light
--     (3 x scale entries, one session for two users in three).
--   * journal_entries spread over 2024, text built from sentences with
--     words worth searching (sleep, anxiety, gratitude, work, ...), tags as
--     JSON arrays, categories as comma lists, moods, AI analysis JSON and a
--     16-float embedding for most.
--   * chat_sessions of 2 to 12 messages each (conversations), the
--     assistant's messages citing rows of psychology_content.
--   * user_analytics: one row per user and month with entries.
--   * psychology_content: 60 rows, the same whatever the scale (a library).
--   * migration_logs: 5 rows.
--   * At the end, a fixed set of hard values (see "hard values" below),
--     each either moving unchanged or refused by the mapping for a reason
--     README.md gives.

-- A hash per row, in two steps: each generator first stores
-- h = (x * 2654435761) mod 2^32 for a row number x kept below 10^9 (so the
-- product stays inside a 64-bit integer: an overflow would turn SQLite's
-- arithmetic into REALs), then mixes the bits with xor-shifts and a second
-- multiply (SQLite has no xor: a ^ b = (a | b) - (a & b)). Without the mix,
-- consecutive users get hashes in arithmetic progression and alike values.
create temp table j_seed as select seed % 100003 as s from harness_params;

create temp table j_n (i integer primary key);
with recursive c(i) as (
    select 1
    union all
    select i + 1 from c
    where i < max((select tenants from harness_params), 120 * (select scale from harness_params), 60)
)
insert into j_n select i from c;

-- 64 little-endian float32 values; each embedding is two 32-byte slices.
create temp table j_vec as select x'2731883eaa82513f3d2cf4be4a0c32bf2bf6273f27c2063fdaac4abf9d11a5bee5f25f3ff0a7c63d4b5966bf3a230a3ea4705d3f9031b7be39d645bf8d970e3fce19213ff01638bff853e3be4260553f68b36a3e6f8164bf17b7513a5474643fd6566cbeef3855bf780be43ef5db373f736821bf5b420ebf3411463ff46cb63e68915dbfcc7f08be4b59663fcceec9bdaed85fbf39d6a53efa7e4a3f591707bf14ae27bfd34d323fbc74f33efca951bf705f87be8a1f633f05a3123d787a65bf82e2473e029a583ff38ed3be6d563dbfa3921a3f0681153fce1941bfc286c7be9fcd5a3f32772d3e8bfd65bf925c7e3df7e4613f583994befbcb4ebf6dc5fe3e' as k;

create temp table j_first (i integer primary key, v text);
insert into j_first (v) values ('Anna'), ('Ben'), ('Chloé'), ('Dmitri'), ('Eva'), ('Farah'),
    ('Gustav'), ('Hana'), ('Ibrahim'), ('José'), ('Kai'), ('Lena'), ('Mei'), ('Nils'),
    ('Olúwaseun'), ('Priya'), ('Quinn'), ('Rosa'), ('Søren'), ('Tomás'), ('Yara'), ('Zoë');
create temp table j_last (i integer primary key, v text);
insert into j_last (v) values ('Andersen'), ('Brown'), ('Costa'), ('Dubois'), ('Eriksson'),
    ('Fischer'), ('García'), ('Haddad'), ('Ivanova'), ('Jensen'), ('Kowalski'), ('Lee'),
    ('Müller'), ('Nakamura'), ('O''Brien'), ('Patel'), ('Rossi'), ('Schmidt'), ('Tanaka'), ('Wójcik');
create temp table j_tz (i integer primary key, v text);
insert into j_tz (v) values ('UTC'), ('Europe/Berlin'), ('America/New_York'), ('Asia/Tokyo'),
    ('Europe/London'), ('America/Los_Angeles'), ('Australia/Sydney'), ('Asia/Kolkata');

create temp table j_mood (i integer primary key, v text, score integer);
insert into j_mood (v, score) values ('happy', 8), ('calm', 7), ('grateful', 8), ('hopeful', 7),
    ('neutral', 5), ('tired', 4), ('anxious', 3), ('sad', 3), ('frustrated', 3), ('overwhelmed', 2);
create temp table j_tag (i integer primary key, v text);
insert into j_tag (v) values ('work'), ('sleep'), ('family'), ('anxiety'), ('gratitude'),
    ('exercise'), ('therapy'), ('friends'), ('health'), ('meditation'), ('goals'),
    ('relationships'), ('stress'), ('nature'), ('creativity');
create temp table j_cat (i integer primary key, v text);
insert into j_cat (v) values ('reflection'), ('gratitude'), ('goal_setting'),
    ('emotional_processing'), ('daily_log'), ('dream'), ('thought_record');

create temp table j_sentence (i integer primary key, v text);
insert into j_sentence (v) values
    ('Woke up at 5 again and could not get back to sleep.'),
    ('The meeting at work went better than I feared.'),
    ('I felt a wave of anxiety on the train this morning.'),
    ('Three things I am grateful for: coffee, sunlight, and my sister''s call.'),
    ('Went for a long run by the river; my head feels clearer.'),
    ('Therapy today was hard but useful: we talked about my father.'),
    ('I keep putting off the tax forms and the guilt is building.'),
    ('Dinner with friends reminded me how much I missed laughing.'),
    ('Tried the breathing exercise before bed: four in, seven hold, eight out.'),
    ('My manager praised the report, and I still doubted it was good enough.'),
    ('Ten minutes of meditation, mostly noticing how restless I was.'),
    ('The kids were loud and I snapped at them; I want to apologise tomorrow.'),
    ('Walked in the park and watched the leaves turning; it calmed me down.'),
    ('Deadline stress all day, skipped lunch, headache by four.'),
    ('I wrote down the catastrophic thought and the evidence against it.'),
    ('Slept eight hours for the first time in weeks.'),
    ('Called mum; we argued about the holidays again.'),
    ('I finished the painting I started in spring, and I am proud of it.'),
    ('Felt lonely in the evening and scrolled my phone for too long.'),
    ('The doctor said my blood pressure is fine, which is a relief.'),
    ('Set three small goals for the week and already met one.'),
    ('A panic attack at the supermarket; grounding with five things I can see helped.'),
    ('Cooked a real meal instead of ordering in.'),
    ('I noticed I was comparing myself to colleagues again.'),
    ('Yoga class, then tea on the balcony. A good, quiet day.'),
    ('Could not focus at work; my mind kept replaying the conversation.'),
    ('Journaling every night is becoming a habit I look forward to.'),
    ('Nightmare about missing an exam, woke up with my heart racing.'),
    ('My partner and I finally talked about moving; it went well.'),
    ('Grateful for small things today: a kind barista and a dry bus stop.');

create temp table j_ask (i integer primary key, v text);
insert into j_ask (v) values
    ('I can''t sleep and my thoughts keep racing. What can I do right now?'),
    ('Why do I feel anxious before every meeting?'),
    ('Can you help me look at the entry I wrote yesterday?'),
    ('How do I stop comparing myself to other people?'),
    ('I snapped at my kids again. How do I repair that?'),
    ('What is a thought record and how do I fill one in?'),
    ('I feel lonely in the evenings. Any ideas?'),
    ('Is it normal to feel worse after therapy sometimes?'),
    ('Help me plan three small goals for this week.'),
    ('I had a panic attack today. What happened in my body?'),
    ('How can I make journaling a habit?'),
    ('Thanks, that helped. Can we continue tomorrow?');
create temp table j_reply (i integer primary key, v text);
insert into j_reply (v) values
    ('That sounds exhausting. One thing that often helps is a short wind-down routine: dim lights, no screens, and writing the worries down so they wait until morning.'),
    ('Anticipatory anxiety is very common. Could we look at what you predict will happen in the meeting, and what usually happens?'),
    ('Of course. In that entry you mentioned feeling doubted at work; what was the first thought you noticed?'),
    ('Comparison tends to pick someone else''s best moments against our ordinary ones. Let''s try naming one thing you did well today.'),
    ('Repair matters more than never slipping. A calm apology and naming the feeling teaches them a lot.'),
    ('A thought record has columns: situation, feeling, automatic thought, evidence for, evidence against, and a balanced thought.'),
    ('Evenings can amplify loneliness. Would a short walk or a message to one friend be possible tonight?'),
    ('Yes, it can happen when difficult topics come up. It is worth telling your therapist about it.'),
    ('Great. Let''s make them small and concrete: what, when, and how you will know it is done.'),
    ('During panic the body releases adrenaline: heart racing, short breath. It peaks and passes, usually within minutes.'),
    ('Linking it to something you already do every night, like brushing your teeth, makes it easier.'),
    ('I''m glad. I''ll be here whenever you want to continue.');

create temp table j_topic (i integer primary key, v text, cat text);
insert into j_topic (v, cat) values
    ('Cognitive restructuring', 'cbt'), ('Thought records', 'cbt'), ('Behavioural activation', 'behavioral_activation'),
    ('Body scan meditation', 'mindfulness'), ('Mindful breathing', 'mindfulness'), ('Sleep hygiene', 'sleep'),
    ('Stimulus control for insomnia', 'sleep'), ('Progressive muscle relaxation', 'stress'),
    ('Self-compassion breaks', 'self_compassion'), ('Active listening in couples', 'relationships'),
    ('Grounding for panic', 'stress'), ('Continuing bonds in grief', 'grief');
create temp table j_aspect (i integer primary key, v text);
insert into j_aspect (v) values ('an introduction'), ('what the evidence says'), ('a guided exercise'),
    ('common mistakes'), ('for busy days');
create temp table j_evidence (i integer primary key, v text);
insert into j_evidence (v) values ('meta_analysis'), ('rct'), ('cohort'), ('expert_opinion');

-- The library first: the assistant's messages cite it.
insert into psychology_content (title, summary, body, category, tags, evidence_level, authors,
    source, publication_year, doi, embedding, is_published, created_at, updated_at)
select
    t.v || ': ' || a.v,
    'A short guide to ' || lower(t.v) || ' (' || a.v || ').',
    t.v || ' is a technique used in ' || replace(t.cat, '_', ' ') || ' work. This article covers '
        || a.v || ', with steps you can try today and what research has found about it.',
    t.cat,
    t.cat || ',' || (select v from j_tag where i = 1 + (n.i * 7) % 15) || ',' || (select v from j_tag where i = 1 + (n.i * 11) % 15),
    (select v from j_evidence where i = 1 + n.i % 4),
    json_array((select v from j_first where i = 1 + (n.i * 5) % 22) || ' ' || (select v from j_last where i = 1 + (n.i * 3) % 20),
               (select v from j_first where i = 1 + (n.i * 13) % 22) || ' ' || (select v from j_last where i = 1 + (n.i * 7) % 20)),
    case n.i % 3 when 0 then 'Journal of Anxiety Disorders' when 1 then 'Behaviour Research and Therapy' else 'Sleep Medicine Reviews' end,
    1995 + n.i % 29,
    case when n.i % 4 = 0 then null else '10.1016/j.example.' || (2000 + n.i) end,
    cast(substr((select k from j_vec), 1 + 4 * ((n.i * 5) % 56), 32) || substr((select k from j_vec), 1 + 4 * ((n.i * 3) % 56), 32) as blob),
    case when n.i % 15 = 0 then 0 else 1 end,
    datetime('2023-01-01', printf('+%d days', n.i * 5)),
    case when n.i % 2 = 0 then datetime('2023-06-01', printf('+%d days', n.i)) end
from j_n n
join j_topic t on t.i = 1 + (n.i - 1) % 12
join j_aspect a on a.i = 1 + ((n.i - 1) / 12) % 5
where n.i <= 60
order by n.i;

-- Users and their tier: heavy, regular or light.
create temp table j_user as
select
    n.i as u,
    case
        when n.i <= max(1, p.tenants / 20) then 'heavy'
        when n.i <= max(2, (p.tenants * 3) / 10) then 'regular'
        else 'light'
    end as tier,
    (((n.i * 7919 + (select s from j_seed) * 15485863) % 1000000007) * 2654435761) % 4294967296 as h
from j_n n, harness_params p
where n.i <= p.tenants;
update j_user set h = (((h | (h >> 13)) - (h & (h >> 13))) * 2246822519) % 4294967296;
update j_user set h = (h | (h >> 16)) - (h & (h >> 16));
alter table j_user add column n_entries integer;
alter table j_user add column n_sessions integer;
update j_user set
    n_entries = (select scale from harness_params) * case tier when 'heavy' then 120 when 'regular' then 20 else 3 end,
    n_sessions = (select scale from harness_params) * case tier when 'heavy' then 20 when 'regular' then 4 else (case when u % 3 = 0 then 0 else 1 end) end;

insert into users (id, email, username, password_hash, display_name, timezone, privacy_level,
    privacy_settings, preferences, ai_consent, data_retention_days, is_active, is_verified,
    failed_login_attempts, last_login, created_at, updated_at)
select
    u.u,
    'user' || u.u || '@example.test',
    lower((select v from j_first where i = 1 + u.h % 22)) || '_' || u.u,
    '$2b$12$' || printf('%016x%016x', u.h, u.h * 31 + 7) || 'Jx9',
    (select v from j_first where i = 1 + u.h % 22) || ' ' || (select v from j_last where i = 1 + (u.h / 22) % 20),
    (select v from j_tz where i = 1 + (u.h / 7) % 8),
    case (u.h / 13) % 10 when 0 then 'anonymized_research' when 1 then 'shared_with_therapist' else 'private' end,
    json_object('share_with_therapist', json(case when (u.h / 13) % 10 = 1 then 'true' else 'false' end),
                'allow_ai_analysis', json(case when u.h % 5 = 0 then 'false' else 'true' end),
                'export_format', 'pdf'),
    json_object('theme', case u.h % 3 when 0 then 'dark' when 1 then 'light' else 'system' end,
                'reminder_time', printf('%02d:%02d', 18 + u.h % 5, (u.h / 5) % 4 * 15),
                'ai_persona', case (u.h / 3) % 3 when 0 then 'gentle' when 1 then 'direct' else 'socratic' end,
                'language', 'en'),
    case when u.h % 5 = 0 then 0 else 1 end,
    case when u.h % 7 = 0 then 365 end,
    case when u.h % 50 = 0 then 0 else 1 end,
    case when u.h % 9 = 0 then 0 else 1 end,
    (u.h / 17) % 3,
    case when u.tier = 'light' and u.h % 4 = 0 then null
         else datetime('2024-12-01', printf('+%d seconds', (u.h / 3) % (30 * 86400))) end,
    datetime('2023-01-01', printf('+%d days', u.h % 365), printf('+%d seconds', (u.h / 365) % 86400)),
    datetime('2024-06-01', printf('+%d days', u.h % 180))
from j_user u
order by u.u;

-- Journal entries: ids in (user, n) order. A user without AI consent has
-- no analysis and no embedding.
create temp table j_e as
select u.u as uid, n.i as k, u.n_entries as cnt, u.h % 5 = 0 as no_ai,
    (((u.u * 7919 + n.i * 104729 + (select s from j_seed) * 15485863) % 1000000007) * 2654435761) % 4294967296 as h
from j_user u
join j_n n on n.i <= u.n_entries;
update j_e set h = (((h | (h >> 13)) - (h & (h >> 13))) * 2246822519) % 4294967296;
update j_e set h = (h | (h >> 16)) - (h & (h >> 16));
insert into journal_entries (user_id, title, content, mood, mood_score, energy_level, tags,
    categories, word_count, sentiment_score, ai_analysis, embedding, embedding_model, is_favorite,
    is_draft, entry_date, created_at, updated_at, deleted_at)
select
    uid,
    case when h % 17 = 0 then '' when h % 23 = 0 then null
         else (select v from j_cat where i = 1 + h % 7) || ' — ' || strftime('%d %m', ts) end,
    content,
    case when h % 19 = 0 then null else m.v end,
    case when h % 19 = 0 then null else max(1, min(10, m.score + (h / 19) % 3 - 1)) end,
    1 + (h / 29) % 5,
    case when h % 31 = 0 then '[]'
         when h % 37 = 0 then null
         else json_array((select v from j_tag where i = 1 + (h / 3) % 15),
                         (select v from j_tag where i = 1 + ((h / 3) % 15 + 1 + (h / 5) % 14) % 15)) end,
    case when h % 43 = 0 then ''
         else (select v from j_cat where i = 1 + h % 7) || case when h % 2 = 0 then ',' || (select v from j_cat where i = 1 + (h % 7 + 1 + (h / 2) % 6) % 7) else '' end end,
    length(content) - length(replace(content, ' ', '')) + 1,
    ((h / 7) % 2001 - 1000) / 1000.0,
    case when h % 11 = 0 or no_ai then null
         else json_object('primary_emotion', m.v,
                          'emotions', json_array(m.v, (select v from j_mood where i = 1 + (m.i + (h / 11) % 9) % 10)),
                          'themes', json_array((select v from j_tag where i = 1 + (h / 3) % 15)),
                          'cognitive_distortions', case when m.score <= 3 then json_array('catastrophizing') else json_array() end,
                          'confidence', ((h / 13) % 100) / 100.0,
                          'model', 'gpt-4o-mini') end,
    case when h % 11 = 0 or no_ai then null
         else cast(substr((select k from j_vec), 1 + 4 * ((h / 17) % 56), 32) || substr((select k from j_vec), 1 + 4 * ((h / 19) % 56), 32) as blob) end,
    case when h % 11 = 0 or no_ai then null else 'text-embedding-3-small@16' end,
    case when h % 9 = 0 then 1 else 0 end,
    case when h % 61 = 0 then 1 else 0 end,
    case when h % 5 = 0 then date(ts, '-1 day') else date(ts) end,
    case when h % 41 = 0 then strftime('%Y-%m-%dT%H:%M:%SZ', ts) else ts end,
    case when h % 3 = 0 then datetime(ts, printf('+%d minutes', 5 + h % 600)) end,
    case when h % 97 = 0 then datetime(ts, '+30 days') end
from (
    select
        g.uid, g.k, g.h, g.no_ai,
        datetime('2024-01-01',
                 printf('+%d days', min(365, ((g.k - 1) * 366) / g.cnt + g.h % 3)),
                 printf('+%d seconds', 6 * 3600 + (g.h / 11) % (17 * 3600))) as ts,
        (select v from j_sentence where i = 1 + g.h % 30) || ' '
            || (select v from j_sentence where i = 1 + (g.h / 30) % 30) || ' '
            || (select v from j_sentence where i = 1 + (g.h / 900) % 30) as content
    from j_e g
) e
join j_mood m on m.i = 1 + (e.h / 23) % 10
order by uid, k;

-- Chat sessions, a third of them opened from one of the user's entries.
create temp table j_s as
select u.u as uid, u.tier, n.i as k, u.n_sessions as cnt, u.n_entries as cnt_entries,
    (((u.u * 6151 + n.i * 8191 + (select s from j_seed) * 7907) % 1000000007) * 2654435761) % 4294967296 as h
from j_user u
join j_n n on n.i <= u.n_sessions;
update j_s set h = (((h | (h >> 13)) - (h & (h >> 13))) * 2246822519) % 4294967296;
update j_s set h = (h | (h >> 16)) - (h & (h >> 16));
insert into chat_sessions (user_id, entry_id, title, session_type, ai_model, ai_config, status,
    message_count, started_at, last_message_at, ended_at)
select
    uid,
    -- a user's entries have consecutive ids (inserted in (user, n) order)
    case when h % 3 = 0 and cnt_entries > 0
         then (select min(id) from journal_entries e where e.user_id = uid) + (h / 3) % cnt_entries end,
    case when h % 13 = 0 then null else (select v from j_ask where i = 1 + (h / 7) % 12) end,
    case h % 8 when 0 then 'reflection' when 1 then 'cbt_exercise' when 2 then 'reflection' else 'general' end,
    case when h % 4 = 0 then 'gpt-4o' else 'gpt-4o-mini' end,
    json_object('temperature', case when h % 2 = 0 then 0.7 else 0.3 end,
                'persona', case (h / 3) % 3 when 0 then 'gentle' when 1 then 'direct' else 'socratic' end,
                'prompt_version', 'v' || (1 + h % 4),
                'max_tokens', 800,
                'retrieval', json_object('top_k', 3, 'min_score', 0.72)),
    case when h % 4 = 0 then 'archived' else 'active' end,
    m,
    started,
    (cast(strftime('%s', started) as integer) + m * 45) * 1000 + h % 1000,
    case when h % 4 = 0 then datetime(started, printf('+%d seconds', m * 45 + 60)) end
from (
    select g.*, 2 + g.h % case when g.tier = 'heavy' then 11 else 6 end as m,
        datetime('2024-01-01', printf('+%d days', min(365, ((g.k - 1) * 366) / g.cnt + g.h % 5)),
                 printf('+%d seconds', 7 * 3600 + (g.h / 7) % (16 * 3600))) as started
    from j_s g
)
order by uid, k;

-- Messages: the user and the assistant take turns.
create temp table j_m as
select s.id as sid, s.user_id as uid, s.ai_model as model, s.started_at as started, n.i as k,
    (((s.id * 2749 + n.i * 3571 + (select s from j_seed) * 6761) % 1000000007) * 2654435761) % 4294967296 as h
from chat_sessions s
join j_n n on n.i <= s.message_count;
update j_m set h = (((h | (h >> 13)) - (h & (h >> 13))) * 2246822519) % 4294967296;
update j_m set h = (h | (h >> 16)) - (h & (h >> 16));
insert into conversations (session_id, user_id, role, content, model, prompt_tokens,
    completion_tokens, response_time_ms, metrics, citations, flagged, created_at)
select
    sid, uid,
    case when k % 2 = 1 then 'user' else 'assistant' end,
    case when k % 2 = 1 then (select v from j_ask where i = 1 + (h / 3) % 12)
         else (select v from j_reply where i = 1 + (h / 3) % 12) end,
    case when k % 2 = 0 then model end,
    case when k % 2 = 0 then 200 + h % 1800 end,
    case when k % 2 = 0 then 40 + (h / 7) % 400 end,
    case when k % 2 = 0 then 250 + (h / 11) % 4000 + ((h / 13) % 10) / 10.0 end,
    case when k % 2 = 0 then json_object('retrieval_ms', 5 + h % 60, 'llm_ms', 200 + (h / 11) % 3900,
                                          'safety_ms', 2 + h % 9, 'cache_hit', json(case when h % 6 = 0 then 'true' else 'false' end)) end,
    case when k % 2 = 0 and h % 3 <> 0 then
        json_array(json_object('content_id', 1 + (h / 5) % 60,
                               'title', (select title from psychology_content where id = 1 + (h / 5) % 60),
                               'score', 0.72 + ((h / 17) % 28) / 100.0))
         when k % 2 = 0 then '[]' end,
    case when h % 200 = 0 then 1 else 0 end,
    datetime(started, printf('+%d seconds', k * 45))
from j_m
order by sid, k;

-- Each message answers the one before it in its session.
update conversations set parent_id = (
    select max(p.id) from conversations p where p.session_id = conversations.session_id and p.id < conversations.id
);

-- Dashboard figures per user and month. The users' chat messages per
-- month are counted once here (conversations has no index by user).
create temp table j_cm as
select user_id, substr(created_at, 1, 7) as month, count(*) as n
from conversations
where role = 'user'
group by user_id, substr(created_at, 1, 7);
create unique index j_cm_key on j_cm (user_id, month);
insert into user_analytics (user_id, period, period_start, entry_count, word_count, avg_mood,
    mood_distribution, top_tags, streak_days, chat_message_count, insights, computed_at)
select
    g.user_id, 'month', g.ms, g.cnt, g.words, g.avg_mood,
    (select json_group_object(mood, c) from (
        select mood, count(*) as c from journal_entries e
        where e.user_id = g.user_id and substr(e.created_at, 1, 7) = substr(g.ms, 1, 7) and mood is not null
        group by mood order by mood)),
    (select json_group_array(tag) from (
        select j.value as tag, count(*) as c from journal_entries e, json_each(e.tags) j
        where e.user_id = g.user_id and substr(e.created_at, 1, 7) = substr(g.ms, 1, 7) and e.tags is not null
        group by j.value order by c desc, tag limit 3)),
    min(g.cnt, 1 + (g.user_id * 7 + g.cnt) % 14),
    coalesce((select cm.n from j_cm cm where cm.user_id = g.user_id and cm.month = substr(g.ms, 1, 7)), 0),
    json_object('trend', case when g.avg_mood >= 6 then 'improving' when g.avg_mood >= 4 then 'stable' else 'declining' end,
                'most_active_hour', 6 + (g.user_id + g.cnt) % 17,
                'suggestion', case when g.avg_mood < 4 then 'Consider a grounding exercise' else 'Keep the evening routine' end),
    date(g.ms, '+1 month') || ' 03:00:00'
from (
    select user_id, substr(created_at, 1, 7) || '-01' as ms, count(*) as cnt,
        sum(word_count) as words, round(avg(mood_score), 2) as avg_mood
    from journal_entries
    group by user_id, substr(created_at, 1, 7)
) g
order by g.user_id, g.ms;

insert into migration_logs (migration_name, source, status, records_total, records_migrated,
    records_failed, details, error_message, started_at, completed_at) values
    ('import_users_json', 'data/users.json', 'completed', 1204, 1204, 0,
     '{"batch_size": 500, "duration_s": 3.2}', null, '2023-01-05 02:00:00', '2023-01-05 02:00:04'),
    ('import_entries_json', 'data/entries/*.json', 'failed', 48211, 47900, 311,
     '{"batch_size": 1000, "bad_files": ["entries/u17.json", "entries/u203.json"]}',
     'JSONDecodeError: Expecting '','' delimiter: line 1 column 8812 (char 8811) in "u17.json"',
     '2023-01-05 02:01:00', '2023-01-05 02:09:41'),
    ('import_entries_json', 'data/entries/*.json', 'completed', 48211, 48211, 0,
     '{"batch_size": 1000, "retry_of": 2}', null, '2023-01-06 02:00:00', '2023-01-06 02:08:55'),
    ('import_chat_json', 'data/chats/*.json', 'completed', 90112, 90112, 0,
     '{"batch_size": 2000}', null, '2023-01-06 03:00:00', '2023-01-06T03:04:12.5Z'),
    ('backfill_embeddings', 'openai', 'started', null, null, null, '{}', null, '2024-11-30 01:00:00', '');

-- Hard values. Each moves unchanged, or is refused by the mapping with the
-- reason README.md gives. They hang off user 1 (always a heavy user) and,
-- where two tenants are needed, user 2.

-- Text that breaks naive code: emoji, a right-to-left script, a combining
-- accent (e + U+0301), quotes and a backslash; a category list with spaces
-- around its items (trimmed by the list rule: equal after conversion).
insert into journal_entries (user_id, title, content, mood, mood_score, energy_level, tags,
    categories, word_count, sentiment_score, ai_analysis, embedding, embedding_model, is_favorite,
    is_draft, entry_date, created_at, updated_at)
select 1, 'Ünïcödé 🌧️ → ☀️',
    'It''s "fine", she said. أشعر بالامتنان اليوم. Caf' || char(101, 769) || ' au lait. Path C:\temp\new. 😴💤',
    'grateful', 8, 3, '["família","😴 sleep"]', ' gratitude , reflection ', 12,
    0.1 + 0.2, '{"primary_emotion":"grateful","notes":"quoted \"word\" and \\ backslash"}',
    x'', 'text-embedding-3-small@16', 'true', 'no', '2024-03-10',
    '2024-03-10T08:15:30.123456Z', '2024-03-10 08:15:30+02:00'
where exists (select 1 from users where id = 1);

-- Empty strings next to NULLs: an empty title, an empty body, an empty tag
-- list; unknown update time ('' means unknown: NULL, counted).
insert into journal_entries (user_id, title, content, mood, mood_score, tags, categories,
    ai_analysis, embedding, entry_date, created_at, updated_at)
select 1, '', '', null, null, '', null, null, null, '2024-04-01', '2024-04-01 21:00:00', ''
where exists (select 1 from users where id = 1);

-- An analysis the job cut off half-way (not JSON) and a mood score an old
-- client sent as 'n/a': both cells become NULL and are recorded, the entry moves.
insert into journal_entries (user_id, title, content, mood, mood_score, tags, ai_analysis, created_at)
select 1, 'Half-written analysis', 'The analysis job crashed while writing this one. Anxiety about work again.',
    'anxious', 'n/a', '["work"]', '{"primary_emotion": "anx', '2024-05-02 07:30:00'
where exists (select 1 from users where id = 1);

-- An entry of an account deleted long ago (SQLite never enforced the
-- foreign key): an orphan, rejected.
insert into journal_entries (user_id, title, content, created_at)
values (999999, 'Left behind', 'This user no longer exists.', '2023-02-02 10:00:00');

-- A session whose last message time was never written (0: unknown, NULL).
insert into chat_sessions (user_id, title, session_type, ai_model, ai_config, status,
    message_count, started_at, last_message_at)
select 1, 'Late night', 'general', 'gpt-4o-mini', '{"temperature": 0.7}', 'active', 3,
    '2024-12-30 23:50:00', 0
where exists (select 1 from users where id = 1);

-- Its messages: a NUL byte pasted from a terminal (PostgreSQL text cannot
-- hold it: rejected), a float that only 8 bytes hold, and a message filed
-- under user 2 in user 1's session (a cross-tenant reference: rejected).
insert into conversations (session_id, user_id, role, content, model, response_time_ms, metrics,
    citations, created_at)
select (select max(id) from chat_sessions where user_id = 1), 1, 'user',
    'I pasted this from my terminal: ' || char(0) || ' oops', null, null, null, null, '2024-12-30 23:50:45'
where exists (select 1 from users where id = 1);
insert into conversations (session_id, user_id, role, content, model, response_time_ms, metrics,
    citations, created_at)
select (select max(id) from chat_sessions where user_id = 1), 1, 'assistant',
    'Let''s slow down together. 🌙', 'gpt-4o-mini', 0.1 + 0.2,
    '{"llm_ms": 1e-7, "retrieval_ms": 12}', '[]', '2024-12-30 23:51:30'
where exists (select 1 from users where id = 1);
insert into conversations (session_id, user_id, role, content, created_at)
select (select max(id) from chat_sessions where user_id = 1), 2, 'user',
    'This row says user 2 but sits in user 1''s session.', '2024-12-30 23:52:15'
where exists (select 1 from users where id = 2);

-- The same person signed up twice with different capitalisation (SQLite's
-- UNIQUE is case-sensitive; the target's per-address unique index on
-- lower(email) is not): PostgreSQL refuses the later account, and its
-- entries and session follow it to the reject file. Its JSON has a
-- duplicate key (the last wins, as in jsonb).
insert into users (email, username, password_hash, display_name, privacy_settings, preferences,
    ai_consent, is_active, is_verified, created_at, updated_at)
select 'User1@Example.TEST', '', '$2b$12$duplicateaccounthashxxxxxxxxxxxxxx', null,
    '{"allow_ai_analysis": true, "allow_ai_analysis": false}', '{"theme": "dark", "greeting": "こんにちは"}',
    0, 1, 'false', '2024-02-14 12:00:00', '2024-02-14 12:00:00'
where exists (select 1 from users where id = 1);
insert into journal_entries (user_id, title, content, created_at)
select (select max(id) from users), 'Second account', 'Trying the app again with my work e-mail.', '2024-02-14 12:05:00'
where exists (select 1 from users where id = 1);
insert into chat_sessions (user_id, title, started_at, last_message_at, message_count)
select (select max(id) from users), 'Hello again', '2024-02-14 12:06:00', 1707912360000, 0
where exists (select 1 from users where id = 1);

-- A library row with an empty tag list and no authors.
insert into psychology_content (title, summary, body, category, tags, evidence_level, authors, created_at)
values ('"Name it to tame it": labelling emotions', '', 'Putting feelings into words — even one word — can lower their intensity.',
    'self_compassion', '', 'expert_opinion', null, '2023-09-09 09:09:09');

drop table j_seed;
drop table j_n;
drop table j_vec;
drop table j_first;
drop table j_last;
drop table j_tz;
drop table j_mood;
drop table j_tag;
drop table j_cat;
drop table j_sentence;
drop table j_ask;
drop table j_reply;
drop table j_topic;
drop table j_aspect;
drop table j_evidence;
drop table j_user;
drop table j_e;
drop table j_s;
drop table j_m;
drop table j_cm;
