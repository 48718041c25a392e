-- Reverses 0104_project_screens.up.sql (the extensions stay: other
-- objects may use them).
drop function search_projects(text, text[], integer, integer);
drop function filter_projects(text, text[], integer, integer);
drop index idx_projects_company_search;
drop index idx_projects_company_location_trgm;
drop index idx_projects_company_created;
