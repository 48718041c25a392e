-- Reverses 0103_applicant_search.up.sql.
drop function search_applicants(text, integer);
