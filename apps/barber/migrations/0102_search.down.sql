-- Reverses 0102_search.up.sql.
drop function barber_search_clients(text, integer);
drop function barber_search_notes(text, integer);
