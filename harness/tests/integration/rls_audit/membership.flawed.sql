-- The membership model with the mistakes it invites.
create role crm_owner nologin bypassrls;
create role crm_app nologin;

create table teams (id uuid primary key, name text not null);
-- Flaw: the table that decides membership has no RLS and the app may
-- write it: a user inserts itself into any team.
create table team_members (
  team_id uuid not null references teams (id),
  member_id uuid not null,
  primary key (team_id, member_id)
);
create table deals (
  team_id uuid not null references teams (id),
  id uuid not null default gen_random_uuid(),
  value numeric not null,
  primary key (team_id, id)
);
create table notes (
  team_id uuid not null references teams (id),
  id uuid not null default gen_random_uuid(),
  body text not null,
  primary key (team_id, id)
);
alter table teams owner to crm_owner;
alter table team_members owner to crm_owner;
alter table deals owner to crm_owner;
alter table notes owner to crm_owner;
alter table teams enable row level security, force row level security;
alter table deals enable row level security, force row level security;
alter table notes enable row level security, force row level security;

create function current_member() returns uuid language sql stable as $$
  select nullif(current_setting('app.member_id', true), '')::uuid
$$;
-- Flaw: SECURITY DEFINER without a pinned search_path.
create function is_team_member(team uuid) returns boolean
  language sql stable security definer as $$
  select exists (
    select 1 from public.team_members m
    where m.team_id = team and m.member_id = public.current_member()
  )
$$;
-- Flaw: a "membership" function that never asks who is calling.
create function team_has_members(team uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (select 1 from public.team_members m where m.team_id = team)
$$;
alter function current_member() owner to crm_owner;
alter function is_team_member(uuid) owner to crm_owner;
alter function team_has_members(uuid) owner to crm_owner;

grant select, insert on team_members to crm_app;
grant select on teams to crm_app;
grant select, insert, update, delete on deals, notes to crm_app;

create policy teams_member on teams for select to crm_app
  using (is_team_member(id));
-- Flaw: the membership subquery forgets the caller.
create policy deals_member on deals for select to crm_app
  using (team_id in (select m.team_id from team_members m));
create policy deals_member_read_own on deals for select to crm_app
  using (team_id in (select m.team_id from team_members m where m.member_id = (select current_member())));
create policy notes_member on notes for select to crm_app
  using (team_has_members(team_id));
