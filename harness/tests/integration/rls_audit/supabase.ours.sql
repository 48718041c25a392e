-- A Supabase-style schema, written correctly: the caller's identity comes
-- from the JWT claims the API gateway puts in transaction-local settings,
-- read through functions in schema `auth`; tenants are organisations, a
-- user reaches an organisation's rows through the membership table, and
-- profiles are keyed by the user itself.
create role anon nologin;
create role authenticated nologin;
create role supa_owner nologin;

create schema auth authorization supa_owner;
grant usage on schema auth to anon, authenticated;

-- Both readers fail closed: no claim (never set, or '' on a pooled
-- connection) gives NULL, never a cast error.
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    auth.jwt() ->> 'sub'
  )::uuid
$$;

create table auth.users (id uuid primary key, email text not null);
alter table auth.users owner to supa_owner;
alter table auth.users enable row level security, force row level security;

create table public.orgs (id uuid primary key, name text not null);
create table public.members (
  org_id uuid not null references public.orgs (id),
  user_id uuid not null references auth.users (id),
  primary key (org_id, user_id)
);
create table public.profiles (
  user_id uuid primary key references auth.users (id),
  display_name text
);
create table public.documents (
  org_id uuid not null references public.orgs (id),
  id uuid not null default gen_random_uuid(),
  title text not null,
  primary key (org_id, id)
);
alter table public.orgs owner to supa_owner;
alter table public.members owner to supa_owner;
alter table public.profiles owner to supa_owner;
alter table public.documents owner to supa_owner;
alter table public.orgs enable row level security, force row level security;
alter table public.members enable row level security, force row level security;
alter table public.profiles enable row level security, force row level security;
alter table public.documents enable row level security, force row level security;

grant select on public.orgs, public.members to authenticated;
grant select, insert, update, delete on public.profiles, public.documents to authenticated;

-- A user sees the organisations it belongs to, and its own memberships.
create policy orgs_member on public.orgs for select to authenticated
  using (id in (select m.org_id from public.members m where m.user_id = (select auth.uid())));
create policy members_self on public.members for select to authenticated
  using (user_id = (select auth.uid()));
-- Profiles: one row per user, its own.
create policy profiles_own on public.profiles for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
-- Documents: the membership subquery, as Supabase's guides write it.
create policy documents_member on public.documents for all to authenticated
  using (org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid())))
  with check (org_id in (select m.org_id from public.members m where m.user_id = (select auth.uid())));
