-- The ledger's target schema, written by hand: quoted names everywhere,
-- keys kept as bigint except the tenants' (UUIDs), composite foreign keys
-- that pair every reference with the tenant.
create table "Accounts" (
    id uuid primary key,
    "display ""name""" varchar(40) not null,
    created timestamptz,
    active boolean
);

create table "order" (
    id bigint primary key,
    account uuid not null references "Accounts"(id),
    "parent order" bigint,
    total double precision,
    amount numeric(12,2),
    placed timestamptz,
    due date,
    tags text[],
    labels text[],
    meta jsonb,
    note text,
    shipped boolean,
    origin inet,
    seq integer,
    big bigint,
    "where" text,
    unique (account, id),
    foreign key (account, "parent order") references "order"(account, id)
);
create index "idx order account" on "order"(account);

create table line_items (
    legacy_rowid bigint primary key,
    account uuid not null references "Accounts"(id),
    "order" bigint not null,
    line integer not null,
    qty integer check (qty >= 0),
    sku text,
    unique ("order", line),
    foreign key (account, "order") references "order"(account, id)
);

create table attachments (
    legacy_rowid bigint primary key,
    account uuid not null references "Accounts"(id),
    "order" bigint,
    body bytea,
    place point,
    "a column name that goes on well beyond the sixty-three bytes P" text,
    foreign key (account, "order") references "order"(account, id)
);
