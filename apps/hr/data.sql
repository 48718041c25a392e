-- Sample data for the paid-leave HR app: SQLite statements run after
-- legacy.sql on a new file, reading harness_params(scale, tenants, seed).
--
-- Deterministic: no random() and no column left to a CURRENT_TIMESTAMP
-- default; every "random" choice is a hash of row numbers and the seed, so
-- the same parameters give the same file. The data is as of 2025-11-30.
--
-- Shape (a company is a tenant):
--   * companies: `tenants` rows. Company c employs H(c) people today:
--     H(c) = scale * max(4, Hmax * 4 / (c * (3 + digits of c))), about
--     Hmax / c^1.1, with Hmax = min(5000, 60 * tenants): the largest of n
--     customers grows with n, as the largest of n draws from a skewed
--     size distribution does. At 200 tenants and more the largest company
--     employs 5,000 people, the second 2,500, the tenth 400, the
--     hundredth 33; at 6 tenants (CI) 360 down to 60.
--   * people: 1.6 * H(c) per company, the extra 0.6 having left (status
--     退社). 70 % dispatch employees (genzai), 20 % contract (ukeoi), 10 %
--     office staff (staff); Japanese, Vietnamese, Brazilian, Filipino,
--     Chinese and Indonesian names as the companies' sheets write them
--     (kanji, or the residence card's capitals) with a katakana reading.
--   * employees (the leave ledger): one row per person and leave year
--     from 2019 (the year the five-day rule began and the ledger with it)
--     to 2025, from the first grant six months after hiring, with the
--     statutory grant for the years of service.
--   * leave_requests: up to three per person in leave year 2025; past
--     ones mostly approved, future ones pending.
--   * yukyu_usage_details: one row per day of each approved request.
--   * users: 1 + H(c) / 100 logins per company (at most 40).
--   * At the end, a fixed set of hard values (see "hard values" below),
--     each either moving unchanged or refused by the mapping for a reason
--     README.md gives.

-- A hash per row: h = (x * 2654435761) mod 2^32 for a row number x kept
-- below 10^9 (so the product fits a 64-bit integer; an overflow would turn
-- SQLite's arithmetic into REALs), then two xor-shift rounds with a
-- second multiply below 2^31, so a 32-bit value times it stays inside 64
-- bits too (SQLite has no xor: a ^ b = (a | b) - (a & b)).
create temp table h_seed as select seed % 100003 as s from harness_params;

-- The parameters as used: a whole scale of at least 1 (a scale of 0, or a
-- fraction, would leave every company without people: no rows to prove or
-- load), at least one company.
create temp table h_p as
select max(1, cast(scale as integer)) as scale, max(1, tenants) as tenants from harness_params;

create temp table h_n (i integer primary key);
with recursive c(i) as (
    select 1
    union all
    select i + 1 from c
    where i < max((select tenants from h_p), 8000 * (select scale from h_p), 100)
)
insert into h_n select i from c;

create temp table h_year (y integer primary key);
insert into h_year values (2019), (2020), (2021), (2022), (2023), (2024), (2025);

-- Names. Japanese: kanji and reading; the others: the residence card's
-- capitals and a katakana reading.
create temp table h_jp_family (i integer primary key, v text, k text);
insert into h_jp_family (v, k) values
    ('佐藤', 'サトウ'), ('鈴木', 'スズキ'), ('高橋', 'タカハシ'), ('田中', 'タナカ'), ('伊藤', 'イトウ'),
    ('渡辺', 'ワタナベ'), ('山本', 'ヤマモト'), ('中村', 'ナカムラ'), ('小林', 'コバヤシ'), ('加藤', 'カトウ'),
    ('吉田', 'ヨシダ'), ('山田', 'ヤマダ'), ('佐々木', 'ササキ'), ('山口', 'ヤマグチ'), ('松本', 'マツモト'),
    ('井上', 'イノウエ'), ('木村', 'キムラ'), ('林', 'ハヤシ'), ('斎藤', 'サイトウ'), ('清水', 'シミズ'),
    ('山崎', 'ヤマザキ'), ('森', 'モリ'), ('池田', 'イケダ'), ('橋本', 'ハシモト'), ('阿部', 'アベ'),
    ('石川', 'イシカワ'), ('前田', 'マエダ'), ('藤田', 'フジタ'), ('小川', 'オガワ'), ('岡田', 'オカダ'),
    ('後藤', 'ゴトウ'), ('長谷川', 'ハセガワ'), ('村上', 'ムラカミ'), ('近藤', 'コンドウ'), ('石井', 'イシイ'),
    ('坂本', 'サカモト'), ('遠藤', 'エンドウ'), ('青木', 'アオキ'), ('藤井', 'フジイ'), ('西村', 'ニシムラ');
create temp table h_jp_given (i integer primary key, v text, k text);
insert into h_jp_given (v, k) values
    ('健太', 'ケンタ'), ('翔太', 'ショウタ'), ('大輔', 'ダイスケ'), ('拓也', 'タクヤ'), ('直樹', 'ナオキ'),
    ('和也', 'カズヤ'), ('達也', 'タツヤ'), ('誠', 'マコト'), ('浩二', 'コウジ'), ('隆', 'タカシ'),
    ('陽子', 'ヨウコ'), ('美咲', 'ミサキ'), ('由美', 'ユミ'), ('恵', 'メグミ'), ('直美', 'ナオミ'),
    ('智子', 'トモコ'), ('裕子', 'ユウコ'), ('真由美', 'マユミ'), ('明美', 'アケミ'), ('さくら', 'サクラ'),
    ('亮', 'リョウ'), ('悠斗', 'ユウト'), ('蓮', 'レン'), ('彩', 'アヤ'), ('愛', 'アイ'),
    ('学', 'マナブ'), ('聡', 'サトシ'), ('剛', 'ツヨシ'), ('香織', 'カオリ'), ('舞', 'マイ'),
    ('洋平', 'ヨウヘイ'), ('修', 'オサム'), ('茂', 'シゲル'), ('幸子', 'サチコ'), ('久美子', 'クミコ');
-- Foreign names: nationality, a family name (and its reading), a given name.
create temp table h_fo_family (i integer primary key, nat text, v text, k text);
insert into h_fo_family (nat, v, k) values
    ('ベトナム', 'NGUYEN', 'グエン'), ('ベトナム', 'TRAN', 'チャン'), ('ベトナム', 'LE', 'レー'),
    ('ベトナム', 'PHAM', 'ファム'), ('ベトナム', 'HOANG', 'ホアン'), ('ベトナム', 'VU', 'ヴー'),
    ('ベトナム', 'DANG', 'ダン'), ('ベトナム', 'BUI', 'ブイ'), ('ベトナム', 'DO', 'ドー'),
    ('ベトナム', 'NGO', 'ゴー'), ('ベトナム', 'DUONG', 'ズオン'), ('ベトナム', 'LY', 'リー'),
    ('ブラジル', 'SILVA', 'シルバ'), ('ブラジル', 'SANTOS', 'サントス'), ('ブラジル', 'OLIVEIRA', 'オリベイラ'),
    ('ブラジル', 'SOUZA', 'ソウザ'), ('ブラジル', 'PEREIRA', 'ペレイラ'), ('ブラジル', 'COSTA', 'コスタ'),
    ('ブラジル', 'NAKAMURA', 'ナカムラ'), ('ブラジル', 'YAMASHITA', 'ヤマシタ'), ('ブラジル', 'RODRIGUES', 'ロドリゲス'),
    ('フィリピン', 'REYES', 'レイエス'), ('フィリピン', 'CRUZ', 'クルス'), ('フィリピン', 'BAUTISTA', 'バウティスタ'),
    ('フィリピン', 'GARCIA', 'ガルシア'), ('フィリピン', 'MENDOZA', 'メンドーサ'), ('フィリピン', 'SANTOS', 'サントス'),
    ('フィリピン', 'VILLANUEVA', 'ビリャヌエバ'), ('フィリピン', 'RAMOS', 'ラモス'),
    ('中国', '王', 'ワン'), ('中国', '李', 'リ'), ('中国', '張', 'チャン'), ('中国', '劉', 'リュウ'),
    ('中国', '陳', 'チン'), ('中国', '楊', 'ヤン'),
    ('インドネシア', 'PUTRA', 'プトラ'), ('インドネシア', 'SAPUTRA', 'サプトラ'), ('インドネシア', 'WIJAYA', 'ウィジャヤ'),
    ('インドネシア', 'HIDAYAT', 'ヒダヤット'), ('インドネシア', 'SETIAWAN', 'セティアワン');
create temp table h_fo_given (i integer primary key, nat text, v text, k text);
insert into h_fo_given (nat, v, k) values
    ('ベトナム', 'VAN HUNG', 'ヴァン フン'), ('ベトナム', 'VAN TUAN', 'ヴァン トゥアン'), ('ベトナム', 'THI LAN', 'ティ ラン'),
    ('ベトナム', 'THI HOA', 'ティ ホア'), ('ベトナム', 'DUC ANH', 'ドゥック アイン'), ('ベトナム', 'MINH QUANG', 'ミン クアン'),
    ('ベトナム', 'THI THU', 'ティ トゥー'), ('ベトナム', 'VAN NAM', 'ヴァン ナム'), ('ベトナム', 'THI MAI', 'ティ マイ'),
    ('ベトナム', 'VAN LONG', 'ヴァン ロン'), ('ベトナム', 'THANH TUNG', 'タイン トゥン'), ('ベトナム', 'THI NGOC', 'ティ ゴック'),
    ('ベトナム', 'VAN DUNG', 'ヴァン ズン'), ('ベトナム', 'THI PHUONG', 'ティ フオン'), ('ベトナム', 'HOANG LONG', 'ホアン ロン'),
    ('ベトナム', 'VAN HAI', 'ヴァン ハイ'), ('ベトナム', 'THI TRANG', 'ティ チャン'), ('ベトナム', 'QUOC BAO', 'クオック バオ'),
    ('ブラジル', 'LUCAS HENRIQUE', 'ルーカス エンリケ'), ('ブラジル', 'PAULO ROBERTO', 'パウロ ロベルト'),
    ('ブラジル', 'ANA PAULA', 'アナ パウラ'), ('ブラジル', 'MARCOS', 'マルコス'), ('ブラジル', 'JULIANA', 'ジュリアナ'),
    ('ブラジル', 'RAFAEL', 'ハファエル'), ('ブラジル', 'FERNANDA', 'フェルナンダ'), ('ブラジル', 'BRUNO', 'ブルーノ'),
    ('ブラジル', 'CARLOS EDUARDO', 'カルロス エドゥアルド'), ('ブラジル', 'PATRICIA', 'パトリシア'),
    ('フィリピン', 'MARIA CRISTINA', 'マリア クリスティーナ'), ('フィリピン', 'JOHN PAUL', 'ジョン ポール'),
    ('フィリピン', 'MARK ANTHONY', 'マーク アンソニー'), ('フィリピン', 'JOSE', 'ホセ'), ('フィリピン', 'ROSALIE', 'ロザリー'),
    ('フィリピン', 'JERICHO', 'ジェリコ'), ('フィリピン', 'ANGELICA', 'アンジェリカ'), ('フィリピン', 'RONALDO', 'ロナルド'),
    ('中国', '偉', 'ウェイ'), ('中国', '芳', 'ファン'), ('中国', '静', 'ジン'), ('中国', '強', 'チャン'),
    ('中国', '磊', 'レイ'), ('中国', '娜', 'ナ'), ('中国', '洋', 'ヤン'), ('中国', '敏', 'ミン'),
    ('インドネシア', 'BUDI', 'ブディ'), ('インドネシア', 'DEWI', 'デウィ'), ('インドネシア', 'AGUS', 'アグス'),
    ('インドネシア', 'SITI', 'シティ'), ('インドネシア', 'RIZKY', 'リズキ'), ('インドネシア', 'INDAH', 'インダ');
create temp table h_nat (i integer primary key, nat text, lo integer, hi integer);
insert into h_nat (nat, lo, hi) values
    ('日本', 0, 38), ('ベトナム', 38, 63), ('ブラジル', 63, 78), ('フィリピン', 78, 88), ('中国', 88, 94), ('インドネシア', 94, 100);
-- Each nationality's names, numbered 0..n-1 within it.
create temp table h_ff (nat text, j integer, v text, k text, primary key (nat, j));
insert into h_ff select nat, row_number() over (partition by nat order by i) - 1, v, k from h_fo_family;
create temp table h_fg (nat text, j integer, v text, k text, primary key (nat, j));
insert into h_fg select nat, row_number() over (partition by nat order by i) - 1, v, k from h_fo_given;
create temp table h_fn (nat text primary key, nf integer, ng integer);
insert into h_fn select f.nat, count(distinct f.j), (select count(*) from h_fg g where g.nat = f.nat) from h_ff f group by f.nat;

-- Client sites (派遣先) and what the contract lines and offices are called.
create temp table h_client (i integer primary key, v text);
insert into h_client (v) values
    ('高雄工業'), ('ヤマダ精機'), ('東和部品'), ('中部プレス'), ('北陸食品'), ('三河オートパーツ'),
    ('浜松電装'), ('岐阜樹脂工業'), ('瀬戸内化成'), ('関東ロジスティクス'), ('豊橋金属'), ('富士精密'),
    ('大垣テキスタイル'), ('四日市ケミカル'), ('湖西製作所'), ('信州エレクトロニクス');
create temp table h_plant (i integer primary key, v text);
insert into h_plant (v) values
    ('本社工場'), ('第1工場'), ('第2工場'), ('岡山工場'), ('浜松工場'), ('豊田工場'), ('物流センター'), ('金沢工場');
create temp table h_dept (i integer primary key, v text, job text);
insert into h_dept (v, job) values
    ('製造部', 'ライン作業'), ('組立課', '部品組立'), ('検査課', '外観検査'), ('物流課', 'フォークリフト'),
    ('塗装課', '塗装'), ('溶接課', '溶接'), ('梱包課', '梱包・出荷'), ('成形課', '射出成形');
create temp table h_contract (i integer primary key, v text);
insert into h_contract (v) values
    ('構内物流請負'), ('検査業務請負'), ('食品加工請負'), ('部品組立請負'), ('清掃業務請負');
create temp table h_office (i integer primary key, v text);
insert into h_office (v) values
    ('本社'), ('名古屋営業所'), ('浜松営業所'), ('豊田営業所'), ('岡山営業所'), ('大阪営業所');
create temp table h_reason (i integer primary key, v text);
insert into h_reason (v) values
    ('私用'), ('通院のため'), ('子供の学校行事'), ('帰国のため (一時帰国)'), ('役所の手続き'),
    ('家族の看病'), ('引っ越し'), (null), ('在留カード更新'), ('冠婚葬祭');

-- Companies and their size.
create temp table h_company as
select
    n.i as c,
    p.scale * max(4, min(5000, 60 * p.tenants) * 4 / (n.i * (3 + length(n.i)))) as hc,
    (((n.i * 7919 + (select s from h_seed) * 15485863) % 1000000007) * 2654435761) % 4294967296 as h
from h_n n, h_p p
where n.i <= p.tenants;
update h_company set h = (((h | (h >> 13)) - (h & (h >> 13))) * 1597334677) % 4294967296;
update h_company set h = (h | (h >> 16)) - (h & (h >> 16));
alter table h_company add column np integer;
alter table h_company add column nsites integer;
alter table h_company add column nusers integer;
update h_company set np = hc + (hc * 3) / 5, nsites = min(30, 1 + hc / 150), nusers = min(40, 1 + hc / 100);

insert into companies (id, code, name, name_kana, license_no, fiscal_year_start, grant_rule,
    settings, plan, is_active, created_at)
select
    c,
    printf('C%05d', c),
    case c % 4 when 0 then '株式会社' || cl.v || 'スタッフ' when 1 then cl.v || 'サービス株式会社'
               when 2 then '有限会社' || cl.v || '人材' else '株式会社' || cl.v || 'ワークス' end,
    null,
    case when h % 5 = 0 then null else printf('派%02d-%06d', 1 + h % 47, 300000 + (h / 47) % 100000) end,
    case when h % 9 = 0 then 1 else 4 end,
    case when h % 6 = 0 then 'april_1' else 'hire_date' end,
    json_object('alert_days_remaining', 30 + (h % 4) * 15,
                'five_day_rule', json('true'),
                'excel_columns', json_object('employee_num', 'A', 'name', 'C', 'granted', 'K', 'used', 'L'),
                'notify', json_array('hr@' || printf('c%05d', c) || '.example.jp')),
    case when hc >= 1000 then 'enterprise' when h % 10 = 0 then 'trial' else 'standard' end,
    case when h % 97 = 0 and c > 2 then 0 else 1 end,
    datetime('2019-02-01', printf('+%d days', h % 2000), printf('+%d seconds', (h / 7) % 86400))
from h_company
join h_client cl on cl.i = 1 + (h_company.h / 3) % 16
order by c;

-- Logins: the first is the company's admin, then HR, then site managers and viewers.
insert into users (company_id, login_id, email, password_hash, display_name, role, is_active,
    failed_logins, last_login, created_at)
select
    c.c,
    case when n.i = 1 then 'admin' else printf('hr%03d', n.i) end,
    case when (c.h + n.i) % 7 = 0 then null else printf('user%d.c%05d@example.jp', n.i, c.c) end,
    '$2b$12$' || printf('%016x%016x', c.h + n.i * 7919, (c.h * 31 + n.i) % 4294967296) || 'Yq7',
    (select v from h_jp_family where i = 1 + (c.h + n.i * 7) % 40) || ' ' || (select v from h_jp_given where i = 1 + (c.h / 3 + n.i * 11) % 35),
    case when n.i = 1 then 'admin' when n.i <= 3 then 'hr' when n.i % 3 = 0 then 'viewer' else 'manager' end,
    case when n.i > 3 and (c.h + n.i) % 23 = 0 then 0 else 1 end,
    (c.h / 5 + n.i) % 3,
    case when (c.h + n.i) % 11 = 0 then null
         else strftime('%Y-%m-%dT%H:%M:%f', '2025-11-01', printf('+%d seconds', (c.h / 13 + n.i * 104729) % (29 * 86400))) end,
    datetime('2019-04-01', printf('+%d days', (c.h / 17 + n.i * 37) % 2400))
from h_company c
join h_n n on n.i <= c.nusers
order by c.c, n.i;

-- A company's logins have consecutive ids (inserted in (company, n) order).
alter table h_company add column first_user integer;
update h_company set first_user = (select min(id) from users u where u.company_id = h_company.c);

-- People. k <= hc are employed today, the rest have left.
create temp table h_person as
select
    c.c, n.i as k, c.hc, c.nsites,
    (((c.c * 104729 + n.i * 7919 + (select s from h_seed) * 611953) % 1000000007) * 2654435761) % 4294967296 as h
from h_company c
join h_n n on n.i <= c.np;
update h_person set h = (((h | (h >> 13)) - (h & (h >> 13))) * 1597334677) % 4294967296;
update h_person set h = (h | (h >> 16)) - (h & (h >> 16));
alter table h_person add column kind text;
alter table h_person add column nat text;
alter table h_person add column hire text;
alter table h_person add column leave text;
update h_person set
    kind = case when h % 10 < 7 then 'genzai' when h % 10 < 9 then 'ukeoi' else 'staff' end,
    nat = (select nat from h_nat where (h / 10) % 100 >= lo and (h / 10) % 100 < hi),
    -- hired recently more often than long ago (the smaller of two draws)
    hire = case when k <= hc
        then date('2025-11-30', printf('-%d days', min((h / 1000) % 3650, (h / 3651000) % 3650) + 1))
        else date('2017-01-01', printf('+%d days', (h / 1000) % 2800)) end;
update h_person set leave = case when k > hc
    then min('2025-11-20', date(hire, printf('+%d days', 120 + (h / 7) % 1600))) end;
alter table h_person add column name text;
alter table h_person add column kana text;
update h_person set
    name = case when nat = '日本'
        then (select v from h_jp_family where i = 1 + (h / 11) % 40) || ' ' || (select v from h_jp_given where i = 1 + (h / 17) % 35)
        else (select f.v from h_ff f, h_fn m where f.nat = h_person.nat and m.nat = h_person.nat and f.j = (h / 11) % m.nf)
             || ' ' || (select g.v from h_fg g, h_fn m where g.nat = h_person.nat and m.nat = h_person.nat and g.j = (h / 17) % m.ng) end,
    kana = case when nat = '日本'
        then (select k from h_jp_family where i = 1 + (h / 11) % 40) || ' ' || (select k from h_jp_given where i = 1 + (h / 17) % 35)
        else (select f.k from h_ff f, h_fn m where f.nat = h_person.nat and m.nat = h_person.nat and f.j = (h / 11) % m.nf)
             || ' ' || (select g.k from h_fg g, h_fn m where g.nat = h_person.nat and m.nat = h_person.nat and g.j = (h / 17) % m.ng) end;
alter table h_person add column num text;
alter table h_person add column site integer;
alter table h_person add column workplace text;
update h_person set
    num = substr(hire, 3, 2) || printf('%05d', k),
    site = (h / 23) % nsites;
update h_person set workplace = case kind
    when 'genzai' then (select v from h_client where i = 1 + (c * 5 + site * 3) % 16) || ' ' || (select v from h_plant where i = 1 + (c + site) % 8)
    when 'ukeoi' then (select v from h_contract where i = 1 + (c + site) % 5)
    else (select v from h_office where i = 1 + (h / 29) % 6) end;

-- The three employee tables, each person in the one of its kind.
insert into genzai (company_id, status, employee_num, dispatch_id, dispatch_name, department, line,
    job_content, name, kana, gender, nationality, birth_date, age, hourly_wage, wage_revision,
    hire_date, leave_date, last_updated)
select
    c,
    case when leave is null then '在職中' else '退社' end,
    num,
    printf('S%03d', site + 1),
    workplace,
    (select v from h_dept where i = 1 + (h / 31) % 8),
    printf('%d号ライン', 1 + (h / 37) % 6),
    (select job from h_dept where i = 1 + (h / 31) % 8),
    name, kana,
    case when (h / 41) % 3 = 0 then '女' else '男' end,
    nat,
    date('1965-01-01', printf('+%d days', (h / 43) % 14600)),
    cast((julianday('2025-11-30') - julianday(date('1965-01-01', printf('+%d days', (h / 43) % 14600)))) / 365.25 as integer),
    1100 + ((h / 47) % 71) * 10,
    case when (h / 53) % 3 = 0 or date(hire, printf('+%d days', 180 + (h / 59) % 700)) > '2025-11-01' then null
         else date(hire, printf('+%d days', 180 + (h / 59) % 700)) end,
    hire,
    case when leave is null then '' else leave end,
    strftime('%Y-%m-%dT%H:%M:%f', coalesce(leave, '2025-11-28'), printf('+%d seconds', 8 * 3600 + (h / 61) % 36000))
from h_person where kind = 'genzai'
order by c, k;

insert into ukeoi (company_id, status, employee_num, contract_business, name, kana, gender,
    nationality, birth_date, age, hourly_wage, wage_revision, hire_date, leave_date, last_updated)
select
    c,
    case when leave is null then '在職中' else '退社' end,
    num, workplace, name, kana,
    case when (h / 41) % 3 = 0 then '女' else '男' end,
    nat,
    date('1965-01-01', printf('+%d days', (h / 43) % 14600)),
    cast((julianday('2025-11-30') - julianday(date('1965-01-01', printf('+%d days', (h / 43) % 14600)))) / 365.25 as integer),
    1050 + ((h / 47) % 61) * 10,
    case when (h / 53) % 3 = 0 or date(hire, printf('+%d days', 180 + (h / 59) % 700)) > '2025-11-01' then null
         else date(hire, printf('+%d days', 180 + (h / 59) % 700)) end,
    hire,
    leave,
    strftime('%Y-%m-%dT%H:%M:%f', coalesce(leave, '2025-11-28'), printf('+%d seconds', 8 * 3600 + (h / 61) % 36000))
from h_person where kind = 'ukeoi'
order by c, k;

insert into staff (company_id, status, employee_num, office, name, kana, gender, nationality,
    birth_date, age, visa_expiry, visa_type, postal_code, address, hire_date, leave_date, last_updated)
select
    c,
    case when leave is null then '在職中' else '退社' end,
    num, workplace, name, kana,
    case when (h / 41) % 3 = 0 then '女' else '男' end,
    nat,
    date('1965-01-01', printf('+%d days', (h / 43) % 14600)),
    cast((julianday('2025-11-30') - julianday(date('1965-01-01', printf('+%d days', (h / 43) % 14600)))) / 365.25 as integer),
    case when nat = '日本' then null else date('2025-06-01', printf('+%d days', (h / 67) % 1100)) end,
    case when nat = '日本' then null
         else (select v from (select 1 as i, '技術・人文知識・国際業務' as v union all select 2, '永住者'
                              union all select 3, '定住者' union all select 4, '日本人の配偶者等'
                              union all select 5, '特定技能1号') where i = 1 + (h / 71) % 5) end,
    printf('%03d-%04d', 430 + (h / 73) % 70, (h / 79) % 10000),
    case (h / 83) % 4 when 0 then '静岡県浜松市中区' when 1 then '愛知県豊田市' when 2 then '岡山県岡山市北区' else '岐阜県大垣市' end
        || printf('%d-%d-%d', 1 + (h / 89) % 5, 1 + (h / 97) % 20, 1 + (h / 101) % 30),
    hire,
    leave,
    strftime('%Y-%m-%dT%H:%M:%f', coalesce(leave, '2025-11-28'), printf('+%d seconds', 8 * 3600 + (h / 61) % 36000))
from h_person where kind = 'staff'
order by c, k;

-- The leave ledger: a grant six months after hiring, then every year on
-- that day (the Labour Standards Act's table for full-time workers: 10, 11,
-- 12, 14, 16, 18, then 20 days; one in eight works part-time and gets the
-- proportional table 7, 8, 9, 10, 12, 13, 15). Rows from leave year 2019.
create temp table h_grant as
select p.c, p.k, p.h, p.num, p.name, p.workplace, p.kind, p.hire, p.leave, y.y,
    date(p.hire, '+6 months', printf('+%d years', y.y - cast(substr(date(p.hire, '+6 months'), 1, 4) as integer))) as gd,
    y.y - cast(substr(date(p.hire, '+6 months'), 1, 4) as integer) as t,
    (((p.h % 1000000007) * 2654435761 + y.y * 40503) % 4294967296) as hy
from h_person p
join h_year y
  on y.y >= cast(substr(date(p.hire, '+6 months'), 1, 4) as integer);
delete from h_grant where gd > '2025-11-30' or (leave is not null and gd >= leave);
update h_grant set hy = (((hy | (hy >> 13)) - (hy & (hy >> 13))) * 1597334677) % 4294967296;
alter table h_grant add column granted real;
alter table h_grant add column used real;
alter table h_grant add column carried real;
update h_grant set granted = case when h % 8 = 0
    then case min(t, 6) when 0 then 7 when 1 then 8 when 2 then 9 when 3 then 10 when 4 then 12 when 5 then 13 else 15 end
    else case min(t, 6) when 0 then 10 when 1 then 11 when 2 then 12 when 3 then 14 when 4 then 16 when 5 then 18 else 20 end end;
-- Days used: a past year between 2 and the grant, in half days; the
-- current one so far in proportion to the months gone. Carried over: part
-- of last year's grant (never more than it).
update h_grant set
    used = case when date(gd, '+1 year') <= '2025-11-30'
        then min(granted, 2 + ((hy % (2 * cast(granted as integer) - 3))) / 2.0)
        else min(granted, (((hy / 7) % (2 * cast(granted as integer))) / 2.0)
                          * (julianday('2025-11-30') - julianday(gd)) / 365.0) end,
    carried = case when t = 0 then 0 else ((hy / 11) % 11) / 2.0 end;
update h_grant set used = round(used * 2) / 2.0;

insert into employees (company_id, employee_num, name, haken, employee_type, year, grant_date,
    granted, carried_over, used, balance, expired, usage_rate, last_updated)
select
    c, num, name, workplace, kind, y, gd, granted, carried, used,
    granted + carried - used,
    case when t >= 2 and date(gd, '+1 year') <= '2025-11-30' then ((hy / 13) % 7) / 2.0 else 0 end,
    round(100.0 * used / granted, 1),
    strftime('%Y-%m-%dT%H:%M:%f', min('2025-11-29', date(gd, '+1 year')), printf('+%d seconds', 7 * 3600 + (hy / 17) % 40000))
from h_grant
order by c, k, y;

-- Leave requests in leave year 2025 (the rows granted in 2025), up to
-- three per person, three to six weeks apart; each one to three days, or
-- a half day, or a few hours.
create temp table h_req as
select e.id as eid, e.company_id as c, e.employee_num as num, e.name, e.grant_date as gd, e.year, n.i as j,
    (((e.id * 6151 + n.i * 8191 + (select s from h_seed) * 7907) % 1000000007) * 2654435761) % 4294967296 as h
from employees e
join h_n n on n.i <= 3
where e.year = 2025;
update h_req set h = (((h | (h >> 13)) - (h & (h >> 13))) * 1597334677) % 4294967296;
update h_req set h = (h | (h >> 16)) - (h & (h >> 16));
delete from h_req where h % 4 < j - 1;
alter table h_req add column sd text;
alter table h_req add column kind text;
alter table h_req add column days real;
update h_req set
    sd = date(gd, printf('+%d days', 20 + (j - 1) * 45 + h % 30)),
    kind = case when h % 10 < 6 then 'full' when h % 10 = 6 then 'half_am' when h % 10 = 7 then 'half_pm' else 'hourly' end;
update h_req set days = case kind when 'full' then 1 + (h / 10) % 3 when 'hourly' then 0.125 * (2 + (h / 10) % 4) else 0.5 end;
-- Future requests wait (a few were withdrawn); past ones were mostly
-- approved, by the admin or one of the first HR logins.
alter table h_req add column st text;
update h_req set st = case
    when sd > '2025-11-30' then case when h % 9 = 0 then 'CANCELLED' else 'PENDING' end
    when h % 23 = 0 then 'REJECTED'
    when h % 31 = 0 then 'CANCELLED'
    when sd > '2025-11-20' and h % 3 = 0 then 'PENDING'
    else 'APPROVED' end;

insert into leave_requests (company_id, employee_id, employee_num, employee_name, start_date,
    end_date, days_requested, hours_requested, leave_type, reason, status, requested_at,
    approved_by, approved_at, year, created_at)
select
    r.c, r.eid, r.num, r.name, r.sd,
    date(r.sd, printf('+%d days', max(0, cast(r.days as integer) - 1))),
    r.days,
    case when r.kind = 'hourly' then r.days * 8 else 0 end,
    r.kind,
    (select v from h_reason where i = 1 + (r.h / 101) % 10),
    r.st,
    min('2025-11-30T18:00:00.000', strftime('%Y-%m-%dT%H:%M:%f', r.sd, printf('-%d seconds', 3 * 86400 + (r.h / 7) % (20 * 86400)))),
    case when r.st in ('APPROVED', 'REJECTED')
         then cu.first_user + (r.h / 13) % min(3, cu.nusers) end,
    case when r.st in ('APPROVED', 'REJECTED')
         then strftime('%Y-%m-%dT%H:%M:%f', r.sd, printf('-%d seconds', 86400 + (r.h / 11) % (2 * 86400))) end,
    r.year,
    min('2025-11-30T18:00:00.000', strftime('%Y-%m-%dT%H:%M:%f', r.sd, printf('-%d seconds', 3 * 86400 + (r.h / 7) % (20 * 86400))))
from h_req r
join h_company cu on cu.c = r.c
order by r.c, r.eid, r.j;

-- One usage row per day of each approved request.
insert into yukyu_usage_details (company_id, employee_id, leave_request_id, use_date, days_used, last_updated)
select
    lr.company_id, lr.employee_id, lr.id,
    date(lr.start_date, printf('+%d days', n.i - 1)),
    case when lr.days_requested >= 1 then 1.0 else lr.days_requested end,
    strftime('%Y-%m-%dT%H:%M:%f', lr.approved_at, '+1 hours')
from leave_requests lr
join h_n n on n.i <= 3 and n.i <= max(1, cast(lr.days_requested as integer))
where lr.status = 'APPROVED'
order by lr.id, n.i;

-- Hard values. Each moves unchanged, or is refused by the mapping with the
-- reason README.md gives. They hang off company 1 (always the largest)
-- and, where a second tenant is needed, company 2.

-- A name typed with an ideographic space (U+3000), a reading in half-width
-- katakana, a Vietnamese name with its diacritics, and a reading whose
-- voiced mark is a separate combining character (カ + U+3099, as text
-- pasted from a macOS file name arrives): all move unchanged.
insert into genzai (company_id, status, employee_num, dispatch_id, dispatch_name, department, line,
    job_content, name, kana, gender, nationality, birth_date, age, hourly_wage, wage_revision,
    hire_date, leave_date, last_updated)
select 1, '在職中', '2390001', 'S001', '高雄工業 本社工場', '製造部', '1号ライン', 'ライン作業',
    '山田' || char(12288) || '花子', 'ﾔﾏﾀﾞ ﾊﾅｺ', '女', '日本', '1990-05-05', 35, 1250, null,
    '2023-04-01', '', '2025-11-28T09:15:22.123456'
where exists (select 1 from companies where id = 1);
insert into genzai (company_id, status, employee_num, dispatch_id, dispatch_name, department, line,
    job_content, name, kana, gender, nationality, birth_date, age, hourly_wage, wage_revision,
    hire_date, leave_date, last_updated)
select 1, '在職中', '2390002', 'S001', '高雄工業 本社工場', '検査課', '2号ライン', '外観検査',
    'Nguyễn Thị Thu Hà', 'ク' || char(12441) || 'エン ティ トゥー ハ', '女', 'ベトナム', '1998-02-14', 27, 1180, '2025-04-01',
    '2023-10-02', '', '2025-11-28T09:16:01'
where exists (select 1 from companies where id = 1);

-- An employee number that went through Excel as a number ('240512.0'),
-- a birth date typed with slashes as Excel shows it, and a hire date that
-- arrived as an Excel serial day number (45017 = 2023-04-01): the number
-- moves as the text it is; both dates are refused by the date rule and,
-- with on_bad = "null", become NULL with the cell recorded (the person
-- stays; HR re-enters the dates from the paper file).
insert into genzai (company_id, status, employee_num, dispatch_id, dispatch_name, department, line,
    job_content, name, kana, gender, nationality, birth_date, age, hourly_wage, wage_revision,
    hire_date, leave_date, last_updated)
select 1, '在職中', 240512.0, 'S002', 'ヤマダ精機 第1工場', '組立課', '3号ライン', '部品組立',
    'SANTOS LUCAS HENRIQUE', 'サントス ルーカス エンリケ', '男', 'ブラジル', '1988/07/21', 37, 1300, null,
    45017, '', '2025-11-27T18:02:44.5'
where exists (select 1 from companies where id = 1);

-- A ledger row whose usage rate was pasted from the sheet with its percent
-- sign ('45%'): not a number; the row moves with usage_rate NULL (it is
-- recomputed from used / granted) and the cell recorded. Its time of
-- update carries an explicit +09:00 offset, unlike the app's naive times.
insert into employees (company_id, employee_num, name, haken, employee_type, year, grant_date,
    granted, carried_over, used, balance, expired, usage_rate, last_updated)
select 1, '2390001', '山田' || char(12288) || '花子', '高雄工業 本社工場', 'genzai', 2025, '2025-10-01',
    11, 4.5, 0.1 + 0.2, 15.2 - (0.1 + 0.2), 0, '45%', '2025-11-28T09:20:00+09:00'
where exists (select 1 from companies where id = 1);

-- The same ledger row imported twice (the Excel import ran twice before
-- the app checked): SQLite has no unique key on (company, number, year),
-- the target has one. PostgreSQL refuses the later copy, and the request
-- and usage day filed against that copy are rejected with it.
insert into employees (company_id, employee_num, name, haken, employee_type, year, grant_date,
    granted, carried_over, used, balance, expired, usage_rate, last_updated)
select company_id, employee_num, name, haken, employee_type, year, grant_date, granted,
    carried_over, used, balance, expired, usage_rate, '2025-11-29T08:00:00'
from employees
where id = (select min(id) from employees where company_id = 1 and year = 2025);
insert into leave_requests (company_id, employee_id, employee_num, employee_name, start_date,
    end_date, days_requested, hours_requested, leave_type, reason, status, requested_at,
    approved_by, approved_at, year, created_at)
select 1, (select max(id) from employees), employee_num, name, '2025-11-25', '2025-11-25', 1, 0,
    'full', '私用', 'APPROVED', '2025-11-10T10:00:00', (select min(id) from users where company_id = 1),
    '2025-11-11T09:00:00', 2025, '2025-11-10T10:00:00'
from employees where id = (select max(id) from employees) and company_id = 1;
insert into yukyu_usage_details (company_id, employee_id, leave_request_id, use_date, days_used, last_updated)
select 1, (select max(id) from employees), (select max(id) from leave_requests), '2025-11-25', 1.0, '2025-11-11T10:00:00'
where exists (select 1 from leave_requests where id = (select max(id) from leave_requests) and company_id = 1);

-- A request of an employee whose ledger rows were deleted by hand years
-- ago (SQLite never enforced the key): an orphan, rejected.
insert into leave_requests (company_id, employee_id, employee_num, employee_name, start_date,
    end_date, days_requested, hours_requested, leave_type, reason, status, requested_at, year, created_at)
select 1, 99999999, '1700042', '退職者 不明', '2021-08-10', '2021-08-11', 2, 0, 'full', '', 'APPROVED',
    '2021-07-30T17:00:00', 2021, '2021-07-30T17:00:00'
where exists (select 1 from companies where id = 1);

-- A usage day filed under company 2 that points at a ledger row of
-- company 1 (a bulk edit with the wrong company selected): a cross-tenant
-- reference, rejected.
insert into yukyu_usage_details (company_id, employee_id, leave_request_id, use_date, days_used, last_updated)
select 2, (select min(id) from employees where company_id = 1 and year = 2025), null, '2025-06-30', 1.0,
    '2025-07-01T08:30:00'
where exists (select 1 from companies where id = 2);

-- A login id created twice in company 1, once in capitals (SQLite's
-- UNIQUE is case-sensitive; the target's unique index on
-- (company_id, lower(login_id)) is not): the later account is refused.
-- The earlier one's last login is an empty string (never: NULL, counted),
-- its flag a word.
insert into users (company_id, login_id, email, password_hash, display_name, role, is_active,
    failed_logins, last_login, created_at)
select 1, 'tanaka', 'tanaka.c00001@example.jp', '$2b$12$tanakafirstaccounthashxxxxxxxxxx', '田中 誠', 'hr', 'TRUE', 0, '',
    '2020-04-01 09:00:00'
where exists (select 1 from companies where id = 1);
insert into users (company_id, login_id, email, password_hash, display_name, role, is_active,
    failed_logins, last_login, created_at)
select 1, 'TANAKA', null, '$2b$12$tanakasecondaccounthashxxxxxxxxx', '田中 誠', 'viewer', 1, 0, null,
    '2022-10-01 09:00:00'
where exists (select 1 from companies where id = 1);

-- A request with an empty reason next to NULL reasons, an hourly request
-- whose day fraction only 8 bytes hold exactly (3 hours: 0.375), and a
-- reason with a NUL byte pasted from a terminal: PostgreSQL text cannot
-- hold NUL, so that request is rejected rather than its reason changed.
insert into leave_requests (company_id, employee_id, employee_num, employee_name, start_date,
    end_date, days_requested, hours_requested, leave_type, reason, status, requested_at, year, created_at)
select 1, (select min(id) from employees where company_id = 1 and year = 2025), '2390002', 'Nguyễn Thị Thu Hà',
    '2025-12-22', '2025-12-22', 0.375, 3, 'hourly', '', 'PENDING', '2025-11-29T21:45:10.999999', 2025,
    '2025-11-29T21:45:10.999999'
where exists (select 1 from companies where id = 1);
insert into leave_requests (company_id, employee_id, employee_num, employee_name, start_date,
    end_date, days_requested, hours_requested, leave_type, reason, status, requested_at, year, created_at)
select 1, (select min(id) from employees where company_id = 1 and year = 2025), '2390002', 'Nguyễn Thị Thu Hà',
    '2026-01-05', '2026-01-05', 1, 0, 'full', '帰国' || char(0) || 'のため', 'PENDING', '2025-11-30T07:00:00', 2025,
    '2025-11-30T07:00:00'
where exists (select 1 from companies where id = 1);

drop table h_seed;
drop table h_p;
drop table h_n;
drop table h_year;
drop table h_jp_family;
drop table h_jp_given;
drop table h_fo_family;
drop table h_fo_given;
drop table h_nat;
drop table h_ff;
drop table h_fg;
drop table h_fn;
drop table h_client;
drop table h_plant;
drop table h_dept;
drop table h_contract;
drop table h_office;
drop table h_reason;
drop table h_company;
drop table h_person;
drop table h_grant;
drop table h_req;
