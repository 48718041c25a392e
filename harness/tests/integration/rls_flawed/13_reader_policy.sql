-- docs/rls.md, pitfall 13: a reporting policy for the replica reader that forgets the
-- tenant; it replicates like every policy, and leaks on the replica.
create policy projects_reader_all on projects for select to portal_reader
    using (true);
