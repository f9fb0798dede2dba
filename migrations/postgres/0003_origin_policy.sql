-- Per-app origin policy (off when empty): the origins and RP IDs ceremonies may come from,
-- one per line.
alter table apps add column allowed_origins text not null default '';
alter table apps add column allowed_rp_ids text not null default '';
