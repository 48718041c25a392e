-- The membership model, written correctly: a user (named by a
-- transaction-local setting) sees a team's rows when it is a member; the
-- policies ask a SECURITY DEFINER function with a pinned search_path, the
-- membership table has its own RLS (a user sees its own memberships), and
-- the definer function reads it as an owner RLS does not bind.
create role crm_owner nologin bypassrls;
create role crm_app nologin;

create table teams (id uuid primary key, name text not null);
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
alter table teams owner to crm_owner;
alter table team_members owner to crm_owner;
alter table deals owner to crm_owner;
alter table teams enable row level security, force row level security;
alter table team_members enable row level security, force row level security;
alter table deals enable row level security, force row level security;

create function current_member() returns uuid language sql stable as $$
  select nullif(current_setting('app.member_id', true), '')::uuid
$$;
create function is_team_member(team uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (
    select 1 from public.team_members m
    where m.team_id = team and m.member_id = public.current_member()
  )
$$;
alter function current_member() owner to crm_owner;
alter function is_team_member(uuid) owner to crm_owner;

grant select on teams, team_members to crm_app;
grant select, insert, update, delete on deals to crm_app;

create policy teams_member on teams for select to crm_app
  using (is_team_member(id));
create policy team_members_own on team_members for select to crm_app
  using (member_id = (select current_member()));
create policy deals_member on deals for all to crm_app
  using (is_team_member(team_id))
  with check (is_team_member(team_id));
