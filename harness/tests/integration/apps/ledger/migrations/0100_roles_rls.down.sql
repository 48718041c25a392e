drop policy attachments_tenant on attachments;
drop policy line_items_tenant on line_items;
drop policy order_tenant on "order";
drop policy accounts_tenant on "Accounts";
alter table attachments no force row level security, disable row level security;
alter table line_items no force row level security, disable row level security;
alter table "order" no force row level security, disable row level security;
alter table "Accounts" no force row level security, disable row level security;
