-- docs/rls.md, pitfall 10: a plain foreign key (tenant A's application can point at
-- tenant B's project) and a global unique e-mail (a duplicate-key error
-- tells tenant A that tenant B has that address).
alter table applications drop constraint applications_project_fkey;
alter table applications add constraint applications_project_fkey
    foreign key (project_id) references projects (id) on delete cascade;
create unique index users_email_global on users (lower(email));
