CREATE TABLE IF NOT EXISTS accounts (id serial primary key, name text not null, balance_cents bigint not null default 0);
INSERT INTO accounts (name, balance_cents) VALUES ('cash', 100000), ('revenue', 0), ('expenses', 0);
