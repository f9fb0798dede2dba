-- Admin console sign-ins. Only the SHA-256 of the cookie's token is kept, so a copy of the
-- database cannot be used to sign in, and deleting the row ends the session everywhere.
create table console_sessions (
    token_hash  blob primary key,
    csrf        text not null,      -- the per-session token every console form carries
    created_at  integer not null,
    expires_at  integer not null
);
create index console_sessions_by_expiry on console_sessions (expires_at);
