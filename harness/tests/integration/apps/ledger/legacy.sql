-- A small invoicing app written by hand for the tests: the awkward things
-- SQLite allows and a migration must survive. Names with spaces, quotes,
-- reserved words and more than 63 bytes; a table whose key is two columns
-- (composite, so the rowid locates rows); a table without any key; a
-- reference to a row of the same table; BLOBs; money as REAL and NUMERIC;
-- dates as text and as epoch numbers; columns with no declared type,
-- which keep whatever storage class a value was written with.
CREATE TABLE "Accounts" (
    id INTEGER PRIMARY KEY,
    "display ""name""" TEXT NOT NULL,
    created DATETIME,
    active BOOLEAN
);
CREATE TABLE "order" (
    id INTEGER PRIMARY KEY,
    account INTEGER NOT NULL REFERENCES "Accounts"(id),
    "parent order" INTEGER REFERENCES "order"(id),
    total,
    amount,
    placed DATETIME,
    due DATE,
    tags TEXT,
    labels,
    meta,
    note TEXT,
    shipped,
    origin,
    seq,
    big,
    "where"
);
CREATE TABLE line_items (
    account INTEGER NOT NULL,
    "order" INTEGER NOT NULL REFERENCES "order"(id),
    line INTEGER NOT NULL,
    qty INTEGER CHECK (qty >= 0),
    sku TEXT,
    PRIMARY KEY ("order", line)
);
CREATE TABLE attachments (
    account INTEGER NOT NULL,
    "order" INTEGER REFERENCES "order"(id),
    body BLOB,
    lat REAL,
    lon REAL,
    "a column name that goes on well beyond the sixty-three bytes PostgreSQL keeps" TEXT
);
CREATE INDEX "idx order account" ON "order"(account);
