-- Ceremony sessions are sealed into their tokens; a completed or refused one is recorded here
-- until it would have expired, so that it works once. The id begins with the session's expiry
-- (milliseconds, big-endian), so rows are inserted in time order and the purge is a range
-- delete on the key: no other index.
create table spent_sessions (
    id      blob primary key,
    app_id  text not null references apps (id) on delete cascade
) without rowid;

-- Tokens are found by their hash only: keep the rows in the key's own B-tree (without rowid),
-- and drop the expiry index (the periodic purge scans instead: tokens live minutes), so that
-- issuing or redeeming one changes one page instead of three.
create table tokens_by_hash (
    token_hash  blob primary key,
    app_id      text not null references apps (id) on delete cascade,
    kind        text not null,
    payload     text not null,
    expires_at  integer not null,
    created_at  integer not null
) without rowid;
insert into tokens_by_hash select token_hash, app_id, kind, payload, expires_at, created_at from tokens;
drop table tokens;
alter table tokens_by_hash rename to tokens;
