-- The same Supabase-style schema with the mistakes such apps make.
create role anon nologin;
create role authenticated nologin;
create role supa_owner nologin;

create schema auth authorization supa_owner;
grant usage on schema auth to anon, authenticated;

create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
-- Flaw: the claim is cast without NULLIF, so '' left on a pooled
-- connection makes every policy that calls it raise 22P02.
create function auth.uid() returns uuid language sql stable as $$
  select current_setting('request.jwt.claim.sub', true)::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select auth.jwt() ->> 'role'
$$;
-- Flaw: IMMUTABLE, so the planner may fold the caller's org into a
-- cached plan that the next caller reuses.
create function public.current_org() returns uuid language sql immutable as $$
  select nullif(auth.jwt() ->> 'org_id', '')::uuid
$$;

create table auth.users (id uuid primary key, email text not null);
alter table auth.users owner to supa_owner;
alter table auth.users enable row level security, force row level security;

create table public.orgs (id uuid primary key, name text not null);
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
create table public.invoices (
  org_id uuid not null references public.orgs (id),
  id uuid primary key default gen_random_uuid(),
  amount numeric not null
);
-- Flaw: a tenant table nobody enabled RLS on.
create table public.comments (
  org_id uuid not null references public.orgs (id),
  id uuid primary key default gen_random_uuid(),
  body text not null
);
alter table public.orgs owner to supa_owner;
alter table public.profiles owner to supa_owner;
alter table public.documents owner to supa_owner;
alter table public.invoices owner to supa_owner;
alter table public.comments owner to supa_owner;
alter table public.orgs enable row level security, force row level security;
alter table public.profiles enable row level security, force row level security;
alter table public.documents enable row level security, force row level security;
alter table public.invoices enable row level security, force row level security;

grant select on public.orgs to authenticated;
grant select, insert, update, delete on public.profiles, public.documents, public.invoices, public.comments
  to authenticated;

create policy orgs_jwt on public.orgs for select to authenticated
  using (id = (select public.current_org()));
-- Flaw: "logged in" is not "owner": every user reads every profile.
create policy profiles_read on public.profiles for select to authenticated
  using (auth.role() = 'authenticated');
create policy profiles_write on public.profiles for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
-- Flaw: the insert policy checks nothing.
create policy documents_read on public.documents for select to authenticated
  using (org_id = (select (auth.jwt() ->> 'org_id')::uuid));
create policy documents_insert on public.documents for insert to authenticated
  with check (true);
-- Flaw: an OR that lets any caller with a claim read every invoice.
create policy invoices_read on public.invoices for select to authenticated
  using (org_id = (select public.current_org()) or auth.jwt() ->> 'org_id' is not null);
