-- Reverses 0001_schema.up.sql: children before parents, without CASCADE, so
-- an object a later migration left behind makes this fail loudly instead of
-- disappearing with the tables. The extensions go last; if another object
-- of this database still uses one, dropping it fails and says which.
drop table stripe_accounts;
drop table reviews;
drop table payouts;
drop table payments;
drop table appointments;
drop table barber_availability;
drop table services;
drop table user_organizations;
drop table users;
drop table barbershop_locations;
drop table organizations;
drop extension if exists btree_gin;
drop extension if exists btree_gist;
