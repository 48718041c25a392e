-- Sample data for BookedBarber V2: SQLite statements run after legacy.sql
-- on a new file, reading harness_params(scale, tenants, seed).
--
-- Deterministic: no random(), no CURRENT_TIMESTAMP, no column left to a
-- default that reads the clock; every "random" choice is a hash of row
-- numbers and the seed, so the same parameters give the same file.
--
-- Shape (an organization is a tenant). The sample's "today" is Monday
-- 2025-01-06: appointments from 2024-07-01 to 2025-01-04 are history
-- (completed, cancelled, no-shows), those of the week of 2025-01-06 are
-- upcoming (confirmed, pending), which is the week the workload books into.
--   * the first 5 % of the organizations (at least one) are multi-location
--     enterprises: 3 to 5 shops of 3 to 5 barbers, 50 x scale clients per
--     shop, 30 x scale appointments per barber; every third barber also
--     works Saturdays at the next shop of the organization;
--   * the next 25 % are studios: one shop (one in five has two), 2 or 3
--     barbers per shop, 30 x scale clients per shop, 24 x scale
--     appointments per barber;
--   * the rest are independent barbers: one shop, one barber (who owns the
--     organization), 12 x scale clients, 16 x scale appointments.
--   A barber's appointments never overlap: each takes its own one-hour cell
--   of the barber's calendar (Monday to Saturday, 09:00 to 19:00 local).
--   Payments for completed appointments (card through Stripe, or cash),
--   no-show fees, pending prepayments for a third of the upcoming ones;
--   reviews for about one completed appointment in six; monthly payouts
--   per barber; availability, memberships, Stripe Connect accounts.
--   * At the end, a fixed set of hard values (README.md, "hard values"),
--     each moving unchanged or refused by the mapping for a stated reason.
--     They hang off organization 1 (always an enterprise) and organization
--     2 (a studio when there are 6 tenants or more).
--
-- Ids are computed (prefix sums per organization), not left to SQLite, so
-- an organization's shops, staff, clients and services have consecutive ids
-- and every reference is found by arithmetic.

-- Hashes: h = (x * 2654435761) mod 2^32 for a row number x kept below 10^9
-- (the product stays inside a 64-bit integer), then mixed with xor-shifts
-- and a second multiply (SQLite has no xor: a ^ b = (a | b) - (a & b)).
create temp table b_seed as select seed % 100003 as s from harness_params;

create temp table b_n (i integer primary key);
with recursive c(i) as (
    select 1
    union all
    select i + 1 from c
    where i < max((select tenants from harness_params), 300 * (select scale from harness_params), 100)
)
insert into b_n select i from c;

-- Word lists.
create temp table b_first (i integer primary key, v text, a text);
insert into b_first (v, a) values ('Marcus', 'marcus'), ('Andre', 'andre'), ('Luis', 'luis'),
    ('Jamal', 'jamal'), ('Kevin', 'kevin'), ('Tyrone', 'tyrone'), ('Diego', 'diego'),
    ('Chloé', 'chloe'), ('Aisha', 'aisha'), ('Malik', 'malik'), ('Ethan', 'ethan'),
    ('Sofía', 'sofia'), ('Darnell', 'darnell'), ('Hiroshi', 'hiroshi'), ('Omar', 'omar'),
    ('Brandon', 'brandon'), ('Nia', 'nia'), ('Mateo', 'mateo'), ('Jasmine', 'jasmine'),
    ('Isaiah', 'isaiah'), ('Priya', 'priya'), ('Connor', 'connor'), ('Zoë', 'zoe'), ('Terrell', 'terrell');
create temp table b_last (i integer primary key, v text, a text);
insert into b_last (v, a) values ('Johnson', 'johnson'), ('Williams', 'williams'), ('García', 'garcia'),
    ('Brown', 'brown'), ('Jones', 'jones'), ('Miller', 'miller'), ('Davis', 'davis'),
    ('Rodríguez', 'rodriguez'), ('Martinez', 'martinez'), ('Washington', 'washington'),
    ('O''Connor', 'oconnor'), ('Nguyen', 'nguyen'), ('Jackson', 'jackson'), ('Thompson', 'thompson'),
    ('White', 'white'), ('López', 'lopez'), ('Harris', 'harris'), ('Clark', 'clark'),
    ('Robinson', 'robinson'), ('Walker', 'walker'), ('Patel', 'patel'), ('Kim', 'kim');
create temp table b_shopword (i integer primary key, v text, a text);
insert into b_shopword (v, a) values ('Fresh Fades', 'fresh-fades'), ('Kings Cutz', 'kings-cutz'),
    ('The Sharp Edge', 'sharp-edge'), ('Crown & Clipper', 'crown-clipper'), ('Uptown Barbers', 'uptown'),
    ('Blade Runners', 'blade-runners'), ('Gentlemen''s Quarters', 'gents-quarters'),
    ('Lineup Lounge', 'lineup-lounge'), ('Straight Razor Co.', 'straight-razor'),
    ('Taper Town', 'taper-town'), ('The Chop Shop', 'chop-shop'), ('Clean Cuts', 'clean-cuts');
create temp table b_city (i integer primary key, city text, state text, tz text, std integer,
    dst integer, lat real, lon real, zip text);
insert into b_city (city, state, tz, std, dst, lat, lon, zip) values
    ('Atlanta', 'GA', 'America/New_York', 5, 1, 33.749, -84.388, '30303'),
    ('Chicago', 'IL', 'America/Chicago', 6, 1, 41.8781, -87.6298, '60601'),
    ('Houston', 'TX', 'America/Chicago', 6, 1, 29.7604, -95.3698, '77002'),
    ('Brooklyn', 'NY', 'America/New_York', 5, 1, 40.6782, -73.9442, '11201'),
    ('Los Angeles', 'CA', 'America/Los_Angeles', 8, 1, 34.0522, -118.2437, '90012'),
    ('Phoenix', 'AZ', 'America/Phoenix', 7, 0, 33.4484, -112.074, '85004'),
    ('Denver', 'CO', 'America/Denver', 7, 1, 39.7392, -104.9903, '80202'),
    ('Miami', 'FL', 'America/New_York', 5, 1, 25.7617, -80.1918, '33130');
create temp table b_street (i integer primary key, v text);
insert into b_street (v) values ('Main St'), ('MLK Jr Blvd'), ('Peachtree St NE'), ('Broadway'),
    ('Elm Ave'), ('Sunset Blvd'), ('Colfax Ave'), ('Washington Ave'), ('Flatbush Ave'), ('5th St');
-- Services: name, category, minutes, list price (the shop multiplies it).
create temp table b_svc (i integer primary key, v text, cat text, mins integer, price real, descr text);
insert into b_svc (v, cat, mins, price, descr) values
    ('Signature Haircut', 'haircut', 45, 35.0, 'Consultation, cut, hot towel and style.'),
    ('Skin Fade', 'haircut', 45, 40.0, 'Bald fade blended to any length on top.'),
    ('Beard Trim & Lineup', 'beard', 30, 20.0, 'Shape-up with razor lineup.'),
    ('Kids Cut (12 & under)', 'kids', 30, 25.0, null),
    ('Haircut + Beard', 'combo', 60, 50.0, 'The full service: cut, beard, hot towel.'),
    ('Hot Towel Shave', 'shave', 45, 38.0, 'Straight razor shave with hot towels and balm.'),
    ('Buzz Cut', 'haircut', 30, 22.0, ''),
    ('Color / Gray Blending', 'color', 60, 55.0, 'Natural gray blending, about 20 minutes of processing.'),
    ('Design / Part', 'haircut', 30, 15.0, 'Hard part or freestyle design.'),
    ('VIP Package', 'combo', 60, 85.0, 'Cut, shave, facial and a drink.');
create temp table b_note (i integer primary key, v text);
insert into b_note (v) values
    ('Same as last time, #2 on the sides.'),
    ('Running 10 min late, please hold the chair.'),
    ('First visit; wants a low taper and a natural neckline.'),
    ('Sensitive skin: no alcohol after the shave.'),
    ('Prefers scissors on top, no clippers.'),
    ('Bring the kids'' car seat booster.'),
    ('Wedding on Saturday, needs a clean lineup.'),
    ('Allergic to the menthol aftershave.'),
    ('Wants to grow the beard out; just shape it.'),
    ('Paid deposit by phone.');
create temp table b_review (i integer primary key, v text);
insert into b_review (v) values
    ('Best fade in town, always on time.'),
    ('Great cut, a bit of a wait though.'),
    ('Friendly barbers and a clean shop.'),
    ('He listened to exactly what I wanted.'),
    ('Booked online in seconds, no double booking this time!'),
    ('Decent, but the lineup was uneven.'),
    ('My son loves coming here.'),
    ('Hot towel shave was amazing.'),
    ('Price went up again.'),
    ('Will be back in two weeks.');

-- Organizations and their sizes.
create temp table b_org0 as
select n.i as o,
    case when n.i <= max(1, p.tenants * 5 / 100) then 'enterprise'
         when n.i <= max(1, p.tenants * 5 / 100) + p.tenants * 25 / 100 then 'studio'
         else 'individual' end as tier,
    (((n.i * 7919 + (select s from b_seed) * 104729) % 1000000007) * 2654435761) % 4294967296 as h
from b_n n, harness_params p
where n.i <= p.tenants;
update b_org0 set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update b_org0 set h = (h | (h >> 16)) - (h & (h >> 16));
create temp table b_org1 as
select o, tier, h,
    case tier when 'enterprise' then 3 + h % 3 when 'studio' then case when h % 5 = 0 then 2 else 1 end else 1 end as n_loc,
    case tier when 'enterprise' then 3 + (h / 3) % 3 when 'studio' then 2 + (h / 3) % 2 else 1 end as bpl,
    case tier when 'individual' then 0 else 1 end as n_owner,
    case tier when 'enterprise' then 10 when 'studio' then 8 else 6 end as n_svc,
    1 + (h / 7) % 8 as city
from b_org0;
create temp table b_org2 as
select b.*,
    case tier when 'enterprise' then n_loc else 0 end as n_mgr,
    case tier when 'enterprise' then n_loc when 'studio' then (h / 11) % 2 else 0 end as n_rec,
    p.scale * n_loc * case tier when 'enterprise' then 50 when 'studio' then 30 else 12 end as n_cli,
    p.scale * case tier when 'enterprise' then 30 when 'studio' then 24 else 16 end as n_appt
from b_org1 b, harness_params p;
-- Where each organization's shops, people and services start: running sums.
create temp table b_org (o integer primary key, tier text, h integer, n_loc integer, bpl integer,
    n_owner integer, n_svc integer, city integer, n_mgr integer, n_rec integer, n_cli integer,
    n_appt integer, loc_base integer, user_base integer, svc_base integer);
insert into b_org
select o, tier, h, n_loc, bpl, n_owner, n_svc, city, n_mgr, n_rec, n_cli, n_appt,
    sum(n_loc) over w - n_loc,
    sum(n_owner + n_loc * bpl + n_mgr + n_rec + n_cli) over w - (n_owner + n_loc * bpl + n_mgr + n_rec + n_cli),
    sum(n_svc) over w - n_svc
from b_org2
window w as (order by o rows between unbounded preceding and current row)
order by o;

insert into organizations (id, name, slug, organization_type, billing_plan, chairs_count, timezone,
    business_hours, stripe_account_id, subscription_status, is_active, created_at, updated_at)
select o.o,
    case o.tier
        when 'individual' then (select v from b_first where i = 1 + o.h % 24) || ' ' || (select v from b_last where i = 1 + (o.h / 24) % 22) || ' Barbering'
        else (select v from b_shopword where i = 1 + o.h % 12) || case when o.o > 12 then ' ' || (select city from b_city where i = o.city) else '' end end,
    case o.tier
        when 'individual' then (select a from b_first where i = 1 + o.h % 24) || '-' || (select a from b_last where i = 1 + (o.h / 24) % 22) || '-' || o.o
        else (select a from b_shopword where i = 1 + o.h % 12) || '-' || o.o end,
    case o.tier when 'enterprise' then 'headquarters' when 'studio' then case when o.h % 7 = 0 then 'franchise' else 'independent' end else 'independent' end,
    case o.tier when 'enterprise' then 'enterprise' when 'studio' then case when o.bpl * o.n_loc > 5 then 'salon' else 'studio' end else 'individual' end,
    o.n_loc * o.bpl,
    (select tz from b_city where i = o.city),
    json_object('mon', json_array('09:00', '19:00'), 'tue', json_array('09:00', '19:00'),
                'wed', json_array('09:00', '19:00'), 'thu', json_array('09:00', '20:00'),
                'fri', json_array('09:00', '20:00'), 'sat', json_array('08:00', '17:00'), 'sun', null),
    case when o.tier <> 'individual' then 'acct_1' || upper(printf('%08x%07x', o.h, o.o)) end,
    case when o.h % 23 = 0 then 'past_due' when o.h % 17 = 0 then 'trial' else 'active' end,
    case when o.h % 97 = 0 then 0 else 1 end,
    datetime('2022-01-01', printf('+%d days', o.h % 900), printf('+%d seconds', (o.h / 900) % 86400)) || '.000000',
    datetime('2024-06-01', printf('+%d days', o.h % 200)) || '.000000'
from b_org o
order by o.o;

-- Shops.
insert into barbershop_locations (id, organization_id, name, code, address, city, state, zip_code,
    phone, timezone, latitude, longitude, business_hours, is_active, created_at)
select o.loc_base + n.i, o.o,
    case when o.n_loc = 1 then (select name from organizations where id = o.o)
         else (select v from b_street where i = 1 + (o.h + n.i) % 10) || ' Shop' end,
    upper(substr((select a from b_shopword where i = 1 + o.h % 12), 1, 3)) || '-' || n.i,
    (100 + (o.h / 13 + n.i * 37) % 8900) || ' ' || (select v from b_street where i = 1 + (o.h + n.i) % 10),
    c.city, c.state, c.zip, '+1555' || printf('%07d', (o.h + n.i * 7919) % 10000000),
    c.tz,
    round(c.lat + ((o.h / 17 + n.i * 131) % 2000 - 1000) / 10000.0, 6),
    round(c.lon + ((o.h / 19 + n.i * 173) % 2000 - 1000) / 10000.0, 6),
    null, 1,
    datetime('2022-01-01', printf('+%d days', o.h % 900 + (n.i - 1) * 60)) || '.000000'
from b_org o
join b_n n on n.i <= o.n_loc
join b_city c on c.i = o.city
order by o.o, n.i;

-- People. Per organization, in id order: the owner (not for an
-- independent barber, who owns the organization himself), the barbers
-- (shop by shop), managers, receptionists, then clients.
create temp table b_person as
select o.o, o.tier, o.h as oh, o.city, o.loc_base, o.n_loc, o.bpl, o.n_cli,
    n.i as k, o.user_base + n.i as id,
    case when n.i <= o.n_owner then 'owner'
         when n.i <= o.n_owner + o.n_loc * o.bpl then 'barber'
         when n.i <= o.n_owner + o.n_loc * o.bpl + o.n_mgr then 'manager'
         when n.i <= o.n_owner + o.n_loc * o.bpl + o.n_mgr + o.n_rec then 'receptionist'
         else 'client' end as kind,
    n.i - o.n_owner as bk,                                           -- barber number (1..) for barbers
    n.i - (o.n_owner + o.n_loc * o.bpl) as mk,                       -- manager / receptionist number
    n.i - (o.n_owner + o.n_loc * o.bpl + o.n_mgr + o.n_rec) as ck,   -- client number
    (((o.user_base + n.i) * 6151 + (select s from b_seed) * 7907) % 1000000007) * 2654435761 % 4294967296 as h
from b_org o
join b_n n on n.i <= o.n_owner + o.n_loc * o.bpl + o.n_mgr + o.n_rec + o.n_cli;
update b_person set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update b_person set h = (h | (h >> 16)) - (h & (h >> 16));
alter table b_person add column loc integer;
update b_person set loc = loc_base + case kind
    when 'barber' then 1 + (bk - 1) / bpl
    when 'manager' then 1 + (mk - 1) % n_loc
    when 'receptionist' then 1 + (mk - 1) % n_loc
    when 'client' then 1 + (ck - 1) % n_loc
    else 1 end;
create index b_person_id on b_person (id);

insert into users (id, organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, timezone, commission_rate, mfa_enabled, mfa_secret_encrypted, mfa_backup_codes,
    google_calendar_credentials, stripe_customer_id, marketing_opt_in, last_login, created_at, updated_at)
select p.id, p.o,
    case when p.kind = 'owner' and p.tier = 'enterprise' then null else p.loc end,
    (select a from b_first where i = 1 + p.h % 24) || '.' || (select a from b_last where i = 1 + (p.h / 24) % 22)
        || '.' || p.id || '@example.test',
    (select v from b_first where i = 1 + p.h % 24) || ' ' || (select v from b_last where i = 1 + (p.h / 24) % 22),
    case when p.h % 29 = 0 then '' else '+1' || (200 + p.h % 799) || printf('%07d', (p.h / 799) % 10000000) end,
    case when p.kind = 'client' and p.h % 7 = 0 then null
         else '$2b$12$' || printf('%016x%016x', p.h, p.h * 31 + p.id) || 'eQ9w0bkF1' end,
    case p.kind
        when 'owner' then case p.tier when 'enterprise' then 'enterprise_owner' else 'shop_owner' end
        when 'barber' then 'barber'
        when 'manager' then 'shop_manager'
        when 'receptionist' then 'receptionist'
        else 'client' end,
    case when p.kind = 'client' and p.h % 41 = 0 then 0 else 1 end,
    case when p.h % 6 = 0 then 0 else 1 end,
    case when p.h % 3 = 0 then (select tz from b_city where i = p.city) end,
    case when p.kind = 'barber' then case p.h % 4 when 0 then 0.5 when 1 then 0.6 when 2 then 0.65 else 0.7 end end,
    case when p.kind <> 'client' and p.h % 4 = 0 then 1 else 0 end,
    case when p.kind <> 'client' and p.h % 4 = 0
         then 'gAAAAAB' || printf('%016x', p.h * 7 + 3) || 'mfa_' || printf('%08x', p.id) || 'Q2xZ0lX9uNw=' end,
    case when p.kind <> 'client' and p.h % 4 = 0
         then json_array('$2b$10$' || printf('%012x', p.h + 1), '$2b$10$' || printf('%012x', p.h + 2),
                         '$2b$10$' || printf('%012x', p.h + 3)) end,
    case when p.kind = 'barber' and p.h % 3 = 0
         then 'gAAAAAB' || printf('%016x', p.h * 13 + 5) || 'gcal_' || printf('%08x', p.id) || 'ZmFrZQ==' end,
    case when p.kind = 'client' and p.h % 2 = 0 then 'cus_' || printf('%014x', p.h * 17 + p.id) end,
    case when p.h % 5 = 0 then 1 else 0 end,
    case when p.kind = 'client' and p.h % 4 = 0 then null
         else datetime('2024-12-01', printf('+%d seconds', (p.h / 3) % (36 * 86400))) || '.000000' end,
    datetime('2022-06-01', printf('+%d days', p.h % 900), printf('+%d seconds', (p.h / 900) % 86400)) || '.000000',
    datetime('2024-06-01', printf('+%d days', p.h % 200)) || '.000000'
from b_person p
order by p.id;

-- Staff memberships.
insert into user_organizations (user_id, organization_id, role, permissions, is_primary, joined_at)
select p.id, p.o,
    case p.kind when 'owner' then 'owner' when 'manager' then 'manager' when 'receptionist' then 'receptionist'
         else case when p.tier = 'individual' then 'owner' else 'barber' end end,
    case p.kind
        when 'owner' then '{"all": true}'
        when 'manager' then json_object('manage_staff', json('true'), 'view_analytics', json('true'), 'manage_billing', json('false'))
        when 'receptionist' then json_object('view_analytics', json('false'), 'book_for_clients', json('true'))
        else case when p.tier = 'individual' then '{"all": true}' else '{}' end end,
    1,
    datetime('2022-06-01', printf('+%d days', p.h % 900)) || '.000000'
from b_person p
where p.kind <> 'client'
order by p.id;

-- Services: ids in (organization, k) order.
insert into services (id, organization_id, location_id, name, description, category, duration_minutes,
    base_price, is_bookable_online, is_active, created_at)
select o.svc_base + n.i, o.o,
    case when o.tier = 'enterprise' and n.i = 10 then o.loc_base + 1 end,
    s.v, s.descr, s.cat, s.mins,
    s.price * (1 + (o.h / 5) % 5 * 0.1),        -- the shop's prices: list price x 1.0 .. 1.4, as a float
    case when n.i = 8 and o.h % 2 = 0 then 0 else 1 end,
    case when n.i = 9 and o.h % 3 = 0 then 0 else 1 end,
    datetime('2022-06-01', printf('+%d days', o.h % 900 + n.i)) || '.000000'
from b_org o
join b_n n on n.i <= o.n_svc
join b_svc s on s.i = n.i
order by o.o, n.i;

-- Barbers: home shop, a second shop on Saturdays for every third barber of
-- an enterprise.
create temp table b_barber as
select p.id, p.o, p.tier, p.loc as home,
    case when p.tier = 'enterprise' and p.bk % 3 = 0
         then p.loc_base + 1 + ((p.loc - p.loc_base) % p.n_loc) end as second,
    p.h, u.commission_rate as rate, (select n_appt from b_org where o = p.o) as n_appt,
    (select n_svc - case when tier = 'enterprise' then 1 else 0 end from b_org where o = p.o) as n_bk,
    (select svc_base from b_org where o = p.o) as svc_base,
    (select user_base + n_owner + n_loc * bpl + n_mgr + n_rec from b_org where o = p.o) as cli_base,
    p.n_cli,
    c.std, c.dst, u.google_calendar_credentials is not null as gcal
from b_person p
join users u on u.id = p.id
join b_city c on c.i = p.city
where p.kind = 'barber';

insert into barber_availability (organization_id, barber_id, location_id, day_of_week, start_time, end_time, is_active)
select b.o, b.id,
    case when n.i = 6 and b.second is not null then b.second else b.home end,
    n.i - 1,
    case when b.h % 3 = 0 then '10:00' else '09:00' end,
    case when n.i = 6 then '17:00' when b.h % 3 = 0 then '20:00' else '19:00' end,
    case when n.i = 6 and b.h % 5 = 0 then 0 else 1 end
from b_barber b
join b_n n on n.i <= 6
order by b.id, n.i;

-- Appointments: k-th appointment of a barber in its own one-hour cell.
-- History: 27 weeks x 6 days x 10 hours = 1,620 cells from 2024-07-01;
-- upcoming: 6 days x 10 hours = 60 cells from 2025-01-06.
create temp table b_ap as
select b.*, n.i as k,
    min(60, max(1, b.n_appt / 5)) as n_up,
    min(1620, b.n_appt - min(60, max(1, b.n_appt / 5))) as n_past,
    (((b.id * 2749 + n.i * 3571 + (select s from b_seed) * 6761) % 1000000007) * 2654435761) % 4294967296 as ah
from b_barber b
join b_n n on n.i <= min(1620, b.n_appt - min(60, max(1, b.n_appt / 5))) + min(60, max(1, b.n_appt / 5));
update b_ap set ah = ((((ah | (ah >> 13)) - (ah & (ah >> 13))) % 2147483648) * 2246822519) % 4294967296;
update b_ap set ah = (ah | (ah >> 16)) - (ah & (ah >> 16));
alter table b_ap add column cell integer;
alter table b_ap add column day text;
alter table b_ap add column hour integer;
alter table b_ap add column up integer;
update b_ap set up = k > n_past;
update b_ap set cell = case when up = 0
    then (k - 1) * (1620 / n_past) + ah % (1620 / n_past)
    else (k - n_past - 1) * (60 / n_up) + ah % (60 / n_up) end;
update b_ap set
    hour = 9 + cell % 10,
    day = case when up = 0
        then date('2024-07-01', printf('+%d days', (cell / 10) / 6 * 7 + (cell / 10) % 6))
        else date('2025-01-06', printf('+%d days', (cell / 10) % 6)) end;

insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, google_event_id, cancelled_at,
    cancellation_reason, created_at, updated_at)
select a.o,
    case when cast(strftime('%w', a.day) as integer) = 6 and a.second is not null then a.second else a.home end,
    a.cli_base + 1 + (a.ah / 7) % a.n_cli,
    a.id,
    a.svc_base + 1 + (a.ah / 3) % a.n_bk,
    a.day,
    a.st || '.000000',
    datetime(a.st, printf('+%d minutes', s.duration_minutes)) || '.000000',
    s.duration_minutes,
    a.status,
    s.base_price,
    case when a.ah % 9 = 0 then '' when a.ah % 4 = 0 then (select v from b_note where i = 1 + (a.ah / 4) % 10) end,
    case a.ah % 20 when 0 then 'google' when 1 then 'walk_in' when 2 then 'walk_in' when 3 then 'walk_in'
                   when 4 then 'phone' when 5 then 'phone' when 6 then 'phone' when 7 then 'phone' else 'online' end,
    case when a.gcal then printf('%026x', a.ah * 1000003 + a.k) end,
    case when a.status = 'cancelled' then datetime(a.st, printf('-%d hours', 2 + a.ah % 40)) || '.000000' end,
    case when a.status = 'cancelled' then case (a.ah / 5) % 4 when 0 then 'Client cancelled online'
        when 1 then 'Sick' when 2 then 'Barber unavailable' else null end end,
    case when a.up = 1 then datetime('2024-12-20', printf('+%d seconds', a.ah % (17 * 86400))) || '.000000'
         else datetime(a.st, printf('-%d seconds', 3600 + a.ah % (14 * 86400))) || '.000000' end,
    case when a.status in ('completed', 'no_show', 'cancelled')
         then datetime(a.st, printf('+%d minutes', s.duration_minutes + 5)) || '.000000' end
from (
    select x.*,
        datetime(x.day, printf('+%d hours', x.hour + x.std - case when x.dst = 1 and x.day < '2024-11-03' then 1 else 0 end)) as st,
        case when x.up = 1 then case when x.ah % 13 = 0 then 'cancelled' when x.ah % 6 = 0 then 'pending' else 'confirmed' end
             else case when x.ah % 20 in (0, 1) then 'cancelled' when x.ah % 20 = 2 then 'no_show' else 'completed' end end as status
    from b_ap x
) a
join services s on s.id = a.svc_base + 1 + (a.ah / 3) % a.n_bk
order by a.o, a.id, a.k;

-- Payments. Card payments are written by the Stripe webhook handler, which
-- stored Stripe's `created` (epoch seconds); cash is entered at the chair.
create temp table b_pay as
select a.id as aid, a.organization_id as o, a.location_id as loc, a.user_id as cli, a.barber_id as bar,
    a.price, a.status, a.start_time, a.end_time, a.created_at, u.commission_rate as rate,
    (select slug from organizations where id = a.organization_id) as slug,
    (((a.id * 4999 + (select s from b_seed) * 3041) % 1000000007) * 2654435761) % 4294967296 as h
from appointments a
join users u on u.id = a.barber_id
where a.status = 'completed'
   or (a.status = 'no_show' and a.id % 3 = 0)
   or (a.status in ('confirmed', 'pending') and a.id % 3 = 0);
update b_pay set h = ((((h | (h >> 13)) - (h & (h >> 13))) % 2147483648) * 2246822519) % 4294967296;
update b_pay set h = (h | (h >> 16)) - (h & (h >> 16));

insert into payments (organization_id, location_id, user_id, appointment_id, barber_id, amount, tip_amount,
    platform_fee, barber_amount, refund_amount, currency, status, payment_method, stripe_session_id,
    stripe_payment_intent_id, metadata, created_at, updated_at)
select o, loc, cli, aid, bar,
    amt,
    tip,
    case when card then amt * 0.029 + 0.3 else 0 end,
    case when status = 'no_show' then 0 else amt * rate + tip end,
    case when pstatus = 'refunded' then amt else 0 end,
    'usd', pstatus,
    case when card then 'card' else 'cash' end,
    case when card then 'cs_live_' || printf('%016x%010x', h, aid) end,
    case when card and pstatus <> 'pending' then 'pi_3' || upper(printf('%016x', h * 7 + aid)) end,
    case when card then json_object('appointment_id', aid, 'organization', slug,
                                    'kind', case when status = 'no_show' then 'no_show_fee'
                                                 when pstatus = 'pending' then 'prepayment' else 'checkout' end) end,
    case when pstatus = 'pending' then created_at
         when card then cast(strftime('%s', end_time) as integer) + h % 600
         else end_time end,
    case when pstatus = 'pending' then null else datetime(end_time, printf('+%d seconds', h % 900)) || '.000000' end
from (
    select b.*,
        case when b.status = 'no_show' then 15.0 else b.price end as amt,
        b.status = 'no_show' or b.status in ('confirmed', 'pending') or b.h % 10 < 7 as card,
        case when b.status = 'completed' and b.h % 10 < 7 then b.price * (0.1 + (b.h / 10) % 4 * 0.05) else 0 end as tip,
        case when b.status in ('confirmed', 'pending') then 'pending'
             when b.status = 'completed' and b.h % 10 < 7 and b.h % 50 = 7 then 'refunded'
             when b.h % 97 = 3 then 'failed'
             else 'completed' end as pstatus
    from b_pay b
)
order by aid;

-- Reviews of about one completed appointment in six.
insert into reviews (organization_id, location_id, appointment_id, user_id, barber_id, rating, comment,
    platform, external_review_id, response_text, responded_at, is_public, created_at)
select a.organization_id, a.location_id, a.id,
    case when a.id % 5 = 0 then null else a.user_id end,
    a.barber_id,
    case when a.id % 20 = 0 then 2 when a.id % 20 in (1, 2) then 3 when a.id % 20 between 3 and 7 then 4 else 5 end,
    case when a.id % 7 = 0 then null else (select v from b_review where i = 1 + (a.id / 6) % 10) end,
    case when a.id % 5 = 0 then 'google' else 'internal' end,
    case when a.id % 5 = 0 then 'ChIJ' || printf('%020x', a.id * 2654435761 % 4294967296) end,
    case when (a.id / 6) % 3 = 0 then 'Thanks for coming in, see you next time!' end,
    case when (a.id / 6) % 3 = 0 then datetime(a.end_time, '+2 days') || '.000000' end,
    case when a.id % 31 = 0 then 0 else 1 end,
    datetime(a.end_time, printf('+%d hours', 1 + a.id % 70)) || '.000000'
from appointments a
where a.status = 'completed' and a.id % 6 = 0
order by a.id;

-- Monthly payouts per barber: its share of the month's card and cash payments.
insert into payouts (organization_id, barber_id, amount, payment_count, period_start, period_end, status,
    stripe_transfer_id, paid_at, created_at)
select g.o, g.bar, g.total, g.cnt, g.ms, date(g.ms, '+1 month', '-1 day'),
    case when g.ms = '2024-12-01' then 'processing' when (g.bar + g.cnt) % 53 = 0 then 'failed' else 'paid' end,
    case when g.ms <> '2024-12-01' then 'tr_' || printf('%020x', g.bar * 1000003 + g.cnt * 7919 + length(g.ms)) end,
    case when g.ms = '2024-12-01' or (g.bar + g.cnt) % 53 = 0 then null
         else date(g.ms, '+1 month', '+2 days') || ' 15:00:00.000000' end,
    date(g.ms, '+1 month') || ' 06:00:00.000000'
from (
    select p.organization_id as o, p.barber_id as bar, substr(a.appointment_date, 1, 7) || '-01' as ms,
        sum(p.barber_amount) as total, count(*) as cnt
    from payments p
    join appointments a on a.id = p.appointment_id
    where p.status = 'completed' and a.appointment_date < '2025-01-01'
    group by p.organization_id, p.barber_id, substr(a.appointment_date, 1, 7)
) g
order by g.o, g.bar, g.ms;

-- Stripe Connect accounts: most barbers of shops and every owner of one.
insert into stripe_accounts (organization_id, user_id, stripe_account_id, charges_enabled, payouts_enabled,
    details_submitted, capabilities, created_at, updated_at)
select p.o, p.id, 'acct_1' || upper(printf('%010x%05x', p.h, p.id % 1048576)),
    case when p.h % 9 = 0 then 0 else 1 end,
    case when p.h % 9 = 0 or p.h % 11 = 0 then 0 else 1 end,
    case when p.h % 9 = 0 then 0 else 1 end,
    json_object('card_payments', case when p.h % 9 = 0 then 'inactive' else 'active' end,
                'transfers', case when p.h % 11 = 0 then 'pending' else 'active' end),
    datetime('2023-01-01', printf('+%d days', p.h % 500)) || '.000000',
    datetime('2024-06-01', printf('+%d days', p.h % 200)) || '.000000'
from b_person p
where (p.kind = 'barber' and p.h % 10 < 7) or p.kind = 'owner'
order by p.id;

-- ------------------------------------------------------------------------
-- Hard values. Each moves unchanged, or is refused by the mapping with the
-- reason README.md gives. Organization 1 is always an enterprise;
-- organization 2 exists from two tenants on.

-- Opening hours written twice for Monday by an old settings form: the last
-- key wins, as in jsonb.
update organizations
set business_hours = '{"mon": ["09:00", "18:00"], "tue": ["09:00", "19:00"], "mon": ["10:00", "19:00"], "sun": null}'
where id = 1;

-- A pop-up shop with a latitude and no longitude (a half-filled form): the
-- point cannot be made, so it is NULL and the cell is recorded; the shop moves.
insert into barbershop_locations (organization_id, name, code, address, city, state, zip_code, phone,
    timezone, latitude, longitude, business_hours, is_active, created_at)
select 1, 'Pop-up at the Stadium', 'POP-1', 'Gate C', 'Atlanta', 'GA', '30313', '', 'America/New_York',
    33.7554, null, '{"sat": ["10:00", "16:00"]}', 0, '2024-09-01 12:00:00.000000'
where exists (select 1 from organizations where id = 1);

-- Names that break naive code: Vietnamese (precomposed), a combining
-- diaeresis, apostrophes and a hyphen; a phone number longer than its
-- declared VARCHAR(20), which SQLite never checked. They move unchanged.
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1), v.email, v.name, v.phone, null,
    'client', 1, 0, v.created, null
from (select 'anh.nguyen@example.test' as email, 'Nguyễn Văn Ánh' as name, '+14045550101' as phone,
             '2024-02-02 10:00:00.000000' as created
      union all select 'zoe.b@example.test', 'Zoe' || char(776) || ' Bélanger', '+14045550102', '2024-02-03 10:00:00.000000'
      union all select 'dangelo@example.test', 'D''Angelo O''Neil-Smith', '+1 (404) 555-0103 ext. 12', '2024-02-04 10:00:00.000000') v
where exists (select 1 from organizations where id = 1);

-- The same client twice, as Marcus.Reed@ and marcus.reed@ (SQLite's UNIQUE
-- is case-sensitive). The target's unique (organization_id, lower(email))
-- refuses the later account; its appointment goes to the reject file with it.
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1), 'marcus.reed@example.test',
    'Marcus Reed', '+14045550104', '$2b$12$reedfirstaccountxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'client', 1, 1,
    '2024-03-01 09:00:00.000000', null
where exists (select 1 from organizations where id = 1);
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1), 'Marcus.Reed@Example.test',
    'Marcus Reed', '+14045550104', null, 'client', 1, 0, '2024-09-09 18:30:00.000000', null
where exists (select 1 from organizations where id = 1);
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, cancelled_at, cancellation_reason,
    created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1),
    (select id from users where email = 'Marcus.Reed@Example.test'),
    (select min(id) from users where organization_id = 1 and unified_role = 'barber'),
    (select min(id) from services where organization_id = 1), '2024-09-10',
    '2024-09-10 22:00:00.000000', '2024-09-10 22:45:00.000000', 45, 'cancelled', 35.0, null, 'phone',
    '2024-09-10 15:00:00.000000', 'Booked twice by phone', '2024-09-09 18:31:00.000000', null
where exists (select 1 from organizations where id = 1);

-- One address in two organizations, spelled differently: per-organization
-- uniqueness lets both accounts move (each shop has its own client record).
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, created_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1), 'dana.kim@example.test',
    'Dana Kim', '+14045550105', null, 'client', 1, 0, '2024-04-04 11:00:00.000000'
where exists (select 1 from organizations where id = 2);
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, created_at)
select 2, (select min(id) from barbershop_locations where organization_id = 2), 'Dana.Kim@example.test',
    'Dana Kim', '+14045550105', null, 'client', 1, 0, '2024-05-05 11:00:00.000000'
where exists (select 1 from organizations where id = 2);

-- The platform's own support account: no organization. It is not a
-- tenant's user, so it is refused (the tenant column may not be NULL);
-- platform staff work as the owner role, outside the tenants.
insert into users (organization_id, location_id, email, name, phone, hashed_password, unified_role,
    is_active, is_verified, mfa_enabled, created_at)
values (null, null, 'ops@bookedbarber.test', 'Platform Support', null,
    '$2b$12$platformsupportxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'super_admin', 1, 1, 1,
    '2022-01-01 00:00:00.000000');

-- A barber of organization 1 listed as a member of organization 2 (he
-- also cuts at a friend's shop). Under organization tenancy an account
-- lives in one organization: the membership is a cross-tenant reference
-- and is refused; the second shop invites him as its own barber.
insert into user_organizations (user_id, organization_id, role, permissions, is_primary, joined_at)
select (select min(id) from users where organization_id = 1 and unified_role = 'barber'), 2, 'barber', '{}', 0,
    '2024-08-01 09:00:00.000000'
where exists (select 1 from organizations where id = 2);

-- A double booking SQLite let through: the first barber of organization 1
-- booked twice for the same slot of the upcoming week, the second booking
-- made later from the phone. The target's exclusion constraint refuses
-- the later one (the earlier booking, in legacy id order, keeps the
-- slot); its prepayment follows it. A cancelled booking of the same slot
-- moves: cancelled appointments hold no slot.
create temp table b_slot as
select a.* from appointments a
where a.organization_id = 1 and a.status = 'confirmed'
  and a.barber_id = (select min(id) from users where organization_id = 1 and unified_role = 'barber')
order by a.id limit 1;
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, created_at)
select organization_id, location_id, (select min(id) from users where organization_id = 1 and unified_role = 'client'),
    barber_id, service_id, appointment_date, start_time, end_time, duration_minutes, 'confirmed', price, 'Booked by phone, slot looked free', 'phone',
    '2025-01-05 20:00:00.000000'
from b_slot;
insert into payments (organization_id, location_id, user_id, appointment_id, barber_id, amount, currency,
    status, payment_method, stripe_session_id, metadata, created_at)
select organization_id, location_id, (select min(id) from users where organization_id = 1 and unified_role = 'client'),
    (select max(id) from appointments), barber_id, price, 'usd',
    'pending', 'card', 'cs_live_doublebooked0001', '{"kind": "prepayment"}', '2025-01-05 20:01:00.000000'
from b_slot;
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, cancelled_at, cancellation_reason,
    created_at)
select organization_id, location_id, (select min(id) + 1 from users where organization_id = 1 and unified_role = 'client'),
    barber_id, service_id, appointment_date, start_time, end_time, duration_minutes, 'cancelled', price, '', 'online', '2025-01-04 09:00:00.000000',
    'Client cancelled online', '2025-01-03 09:00:00.000000'
from b_slot;

-- A walk-in whose end was typed before its start: no slot can be made of
-- it, so the target's CHECK refuses it.
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1),
    (select min(id) from users where organization_id = 1 and unified_role = 'client'),
    (select min(id) from users where organization_id = 1 and unified_role = 'barber'),
    (select min(id) from services where organization_id = 1), '2024-10-12',
    '2024-10-12 15:30:00.000000', '2024-10-12 14:30:00.000000', 60, 'completed', 35.0,
    'Walk-in, times typed by hand', 'walk_in', '2024-10-12 15:29:00.000000', '2024-10-12 16:40:00.000000'
where exists (select 1 from organizations where id = 1);

-- An appointment filed under organization 2 at a shop of organization 1
-- (a bad import): a cross-tenant reference, refused.
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, source, created_at)
select 2, (select min(id) from barbershop_locations where organization_id = 1),
    (select min(id) from users where organization_id = 2 and unified_role = 'client'),
    (select min(id) from users where organization_id = 2 and unified_role = 'barber'),
    (select min(id) from services where organization_id = 2), '2024-11-20',
    '2024-11-20 20:00:00.000000', '2024-11-20 20:30:00.000000', 30, 'completed', 25.0, 'online',
    '2024-11-18 10:00:00.000000'
where exists (select 1 from organizations where id = 2);

-- Text with quotes and a backslash in notes; '' next to NULL; timestamps
-- written by the JavaScript front end (T, Z, fractions) and with an offset.
insert into appointments (organization_id, location_id, user_id, barber_id, service_id, appointment_date,
    start_time, end_time, duration_minutes, status, price, notes, source, google_event_id, created_at, updated_at)
select 1, (select min(id) from barbershop_locations where organization_id = 1),
    (select id from users where email = 'anh.nguyen@example.test'),
    (select min(id) from users where organization_id = 1 and unified_role = 'barber'),
    (select min(id) from services where organization_id = 1), '2024-12-01',
    '2024-12-01T16:00:00Z', '2024-12-01T16:45:00.000Z', 45, 'completed', 35.0,
    'Client says: "same as last time" \ no lineup. Pays in 💵.', 'online', '',
    '2024-11-28T10:15:30.123456Z', '2024-12-01 06:50:00+02:00'
where exists (select 1 from organizations where id = 1);

-- Money as the app kept it, in REAL: a tip of 0.1 + 0.2, a fee of 2.675
-- (the shortest decimal SQLite prints), an amount the form sent as text
-- (the column's REAL affinity stores it as 45.0). numeric(10,2) rounds half
-- away from zero on the shortest decimal: 0.30, 2.68, 45.00.
insert into payments (organization_id, location_id, user_id, appointment_id, barber_id, amount, tip_amount,
    platform_fee, barber_amount, refund_amount, currency, status, payment_method, stripe_session_id,
    stripe_payment_intent_id, metadata, created_at, updated_at)
select 1, a.location_id, a.user_id, a.id, a.barber_id, '45.00', 0.1 + 0.2, 2.675, 31.5, 0, 'usd', 'completed',
    'card', 'cs_live_hardvalues000000001', 'pi_3HARDVALUES0000001',
    '{"appointment_id": ' || a.id || ', "note": "tip \u00e9 1e-7", "ratio": 1e-7}',
    1733071560, '2024-12-01T16:46:00Z'
from appointments a
where a.notes like 'Client says:%';

-- Reviews: emoji and Arabic; 'true' / 'no' in the 0/1 column (an import
-- from a spreadsheet); '' and 0 as "responded at" (unknown: NULL, counted).
insert into reviews (organization_id, location_id, appointment_id, user_id, barber_id, rating, comment,
    platform, external_review_id, response_text, responded_at, is_public, created_at)
select 1, a.location_id, a.id, a.user_id, a.barber_id, 5, 'Best fade in town 💈🔥 — شكراً! 10/10',
    'internal', null, 'Appreciate you!', '', 'true', '2024-12-02 09:00:00.000000'
from appointments a where a.notes like 'Client says:%';
insert into reviews (organization_id, location_id, appointment_id, user_id, barber_id, rating, comment,
    platform, external_review_id, response_text, responded_at, is_public, created_at)
select 1, a.location_id, null, null, a.barber_id, 3, '', 'yelp', 'yelp-xyz-001', null, 0, 'no',
    '2024-06-15 12:00:00.000000'
from appointments a where a.notes like 'Client says:%';
-- A comment pasted with a NUL byte: PostgreSQL text cannot hold it, and
-- dropping a client's words would change the review: refused.
insert into reviews (organization_id, location_id, appointment_id, user_id, barber_id, rating, comment,
    platform, is_public, created_at)
select 1, a.location_id, null, null, a.barber_id, 4, 'Good cut' || char(0) || ' but loud music', 'google', 1,
    '2024-07-20 12:00:00.000000'
from appointments a where a.notes like 'Client says:%';

drop table b_seed;
drop table b_n;
drop table b_first;
drop table b_last;
drop table b_shopword;
drop table b_city;
drop table b_street;
drop table b_svc;
drop table b_note;
drop table b_review;
drop table b_org0;
drop table b_org1;
drop table b_org2;
drop table b_org;
drop table b_person;
drop table b_barber;
drop table b_ap;
drop table b_pay;
drop table b_slot;
