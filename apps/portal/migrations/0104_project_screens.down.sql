-- Reverses 0104_project_screens.up.sql, extensions included: this app's
-- schema is the only user of pg_trgm and btree_gin.
drop function search_projects(text, text[], integer, integer);
drop function filter_projects(text, text[], integer, integer);
drop index idx_projects_company_search;
drop index idx_projects_company_location_trgm;
drop index idx_projects_company_created;
drop extension if exists btree_gin;
drop extension if exists pg_trgm;
