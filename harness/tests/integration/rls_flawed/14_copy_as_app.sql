-- docs/rls.md, pitfall 14: "COPY is refused under RLS, so give the app BYPASSRLS for
-- the bulk load" (and forget to take it back). Roles are cluster-wide: the
-- test applies this last, in its own cluster.
alter role portal_app bypassrls;
