-- docs/rls.md, pitfall 12: a global sequence number on a tenant table: the gap
-- between two of tenant A's rows counts tenant B's inserts.
alter table projects add column number bigint generated always as identity;
