-- Reverses 0101_tenant_isolation.up.sql: grants, the functions, policies,
-- row-level security, and ownership back to the role running the migration
-- (the role that ran 0001).
revoke all on organizations, barbershop_locations, users, user_organizations, services,
    barber_availability, appointments, payments, payouts, reviews, stripe_accounts
    from barber_app, barber_reader;

drop function barber_checkout_tenant(text);
drop function barber_login(text);
drop function barber_booking_page(text);

drop policy stripe_accounts_tenant on stripe_accounts;
drop policy reviews_tenant on reviews;
drop policy payouts_tenant on payouts;
drop policy payments_tenant on payments;
drop policy appointments_tenant on appointments;
drop policy barber_availability_tenant on barber_availability;
drop policy services_tenant on services;
drop policy user_organizations_tenant on user_organizations;
drop policy users_tenant on users;
drop policy barbershop_locations_tenant on barbershop_locations;
drop policy organizations_tenant on organizations;

alter table stripe_accounts no force row level security, disable row level security;
alter table reviews no force row level security, disable row level security;
alter table payouts no force row level security, disable row level security;
alter table payments no force row level security, disable row level security;
alter table appointments no force row level security, disable row level security;
alter table barber_availability no force row level security, disable row level security;
alter table services no force row level security, disable row level security;
alter table user_organizations no force row level security, disable row level security;
alter table users no force row level security, disable row level security;
alter table barbershop_locations no force row level security, disable row level security;
alter table organizations no force row level security, disable row level security;

alter table stripe_accounts owner to current_user;
alter table reviews owner to current_user;
alter table payouts owner to current_user;
alter table payments owner to current_user;
alter table appointments owner to current_user;
alter table barber_availability owner to current_user;
alter table services owner to current_user;
alter table user_organizations owner to current_user;
alter table users owner to current_user;
alter table barbershop_locations owner to current_user;
alter table organizations owner to current_user;
