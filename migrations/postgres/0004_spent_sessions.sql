-- Ceremony sessions are sealed into their tokens; a completed or refused one is recorded here
-- until it would have expired, so that it works once. The id begins with the session's expiry
-- (milliseconds, big-endian), so rows are inserted in time order and the purge is a range
-- delete on the key: no other index.
create table spent_sessions (
    id      bytea primary key,
    app_id  text not null references apps (id) on delete cascade
);
