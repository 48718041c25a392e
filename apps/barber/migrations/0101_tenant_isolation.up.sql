-- Each organization's data is its own: ownership, FORCE ROW LEVEL SECURITY,
-- fail-closed policies, least-privilege grants on every table of 0001, and
-- the three lookups that must run before a tenant is known.
--
-- The tenant is the organization. Every policy compares with
--     nullif(current_setting('app.organization_id', true), '')::uuid
-- The API sets app.organization_id transaction-locally (set_config(...,
-- true) or SET LOCAL) at the start of every transaction, from the signed-in
-- account or from the booking page's slug. Never set: NULL; set earlier on
-- the same pooled connection and gone with its transaction: '' (nullif
-- makes it NULL instead of a cast error). `organization_id = NULL` is never
-- true, so no context means no rows and no writes, without an error. With
-- a pool of 50 connections shared by every shop, a session-level SET would
-- hand one shop's context to the next request on that connection.
--
-- One permissive policy per table for the two roles, with an explicit WITH
-- CHECK: a write cannot carry another organization's id, nor an update
-- move a row into another organization (SQLSTATE 42501). Which shop of the
-- organization a member of staff may see (a shop manager sees one, the
-- owner all) is the API's rule inside the tenant, not a policy: README.md,
-- "The tenant is the organization".

alter table organizations owner to barber_owner;
alter table barbershop_locations owner to barber_owner;
alter table users owner to barber_owner;
alter table user_organizations owner to barber_owner;
alter table services owner to barber_owner;
alter table barber_availability owner to barber_owner;
alter table appointments owner to barber_owner;
alter table payments owner to barber_owner;
alter table payouts owner to barber_owner;
alter table reviews owner to barber_owner;
alter table stripe_accounts owner to barber_owner;

-- FORCE: even the owner is bound should it ever lose BYPASSRLS.
alter table organizations enable row level security, force row level security;
alter table barbershop_locations enable row level security, force row level security;
alter table users enable row level security, force row level security;
alter table user_organizations enable row level security, force row level security;
alter table services enable row level security, force row level security;
alter table barber_availability enable row level security, force row level security;
alter table appointments enable row level security, force row level security;
alter table payments enable row level security, force row level security;
alter table payouts enable row level security, force row level security;
alter table reviews enable row level security, force row level security;
alter table stripe_accounts enable row level security, force row level security;

-- organizations is the tenant itself: its id is the tenant id. The API
-- reads and edits its own organization; creating or closing one is a
-- platform job done as barber_owner.
create policy organizations_tenant on organizations for all to barber_app, barber_reader
    using (id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy barbershop_locations_tenant on barbershop_locations for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy users_tenant on users for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy user_organizations_tenant on user_organizations for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy services_tenant on services for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy barber_availability_tenant on barber_availability for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy appointments_tenant on appointments for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy payments_tenant on payments for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy payouts_tenant on payouts for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy reviews_tenant on reviews for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

create policy stripe_accounts_tenant on stripe_accounts for all to barber_app, barber_reader
    using (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid)
    with check (organization_id = nullif(current_setting('app.organization_id', true), '')::uuid);

-- Three questions come before any tenant, and the policies answer none of
-- them to barber_app. Each is a SECURITY DEFINER function owned by
-- barber_owner, with a pinned search_path and schema-qualified names (a
-- caller cannot slip a temporary table of the same name in its way), that
-- answers one question for one key and returns nothing else. They are the
-- only reads across tenants; barber_app may call them, and barber_reader
-- too, since the seed sends reads to the replica.

-- A visitor opens a booking page: which organization does the slug name?
create function barber_booking_page(p_slug text)
returns table (organization_id uuid, name text, timezone text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select o.id, o.name, o.timezone
    from public.organizations o
    where o.slug = p_slug and o.is_active
$$;

-- Sign-in: the address may have an account in several organizations (one
-- per shop the person books at or works for); the API checks the password
-- against each hash and asks which shop when more than one matches.
create function barber_login(p_email text)
returns table (organization_id uuid, slug text, user_id uuid, hashed_password text,
               unified_role text, mfa_enabled boolean)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select u.organization_id, o.slug, u.id, u.hashed_password, u.unified_role, u.mfa_enabled
    from public.users u
    join public.organizations o on o.id = u.organization_id
    where lower(u.email) = lower(p_email) and u.is_active and o.is_active
$$;

-- The Stripe webhook: which organization does a Checkout session belong
-- to? Stripe's session ids are long random strings; this returns only the
-- organization's id, which the handler then sets as its tenant.
create function barber_checkout_tenant(p_session_id text)
returns uuid
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select p.organization_id
    from public.payments p
    where p.stripe_session_id = p_session_id
    limit 1
$$;

alter function barber_booking_page(text) owner to barber_owner;
alter function barber_login(text) owner to barber_owner;
alter function barber_checkout_tenant(text) owner to barber_owner;
revoke all on function barber_booking_page(text), barber_login(text), barber_checkout_tenant(text) from public;
grant execute on function barber_booking_page(text), barber_login(text), barber_checkout_tenant(text)
    to barber_app, barber_reader;

-- Grants: DML only, never TRUNCATE or REFERENCES. Revoke first so a re-run
-- after a manual grant converges on exactly this set.
revoke all on organizations, barbershop_locations, users, user_organizations, services,
    barber_availability, appointments, payments, payouts, reviews, stripe_accounts
    from public, barber_app, barber_reader;
grant select, update on organizations to barber_app;
grant select, insert, update, delete
    on barbershop_locations, users, user_organizations, services, barber_availability,
       appointments, payments, payouts, reviews, stripe_accounts
    to barber_app;
grant select
    on organizations, barbershop_locations, users, user_organizations, services,
       barber_availability, appointments, payments, payouts, reviews, stripe_accounts
    to barber_reader;
