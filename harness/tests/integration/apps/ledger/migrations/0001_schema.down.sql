drop table attachments;
drop table line_items;
drop table "order";
drop table "Accounts";
