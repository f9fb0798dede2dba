-- Users as a stored entity (the Passage-style API reads and edits them), devices' usage, and
-- per-app session signing keys.

create table users (
    app_id             text not null references apps (id) on delete cascade,
    user_id            text not null,
    status             text not null default 'active',   -- 'active' or 'inactive'
    email              text,
    email_verified     boolean not null default false,
    phone              text,
    phone_verified     boolean not null default false,
    metadata           text,                             -- a JSON object, or null
    created_at         bigint not null,
    updated_at         bigint not null,
    last_login_at      bigint,
    login_count        bigint not null default 0,
    -- Sign-in tokens issued before this time no longer become sessions.
    tokens_revoked_at  bigint,
    primary key (app_id, user_id)
);
create index users_by_created on users (app_id, created_at);

-- Every user that has a passkey or an alias gets a row.
insert into users (app_id, user_id, created_at, updated_at)
    select app_id, user_id, min(created_at), min(created_at) from credentials
    group by app_id, user_id;
insert into users (app_id, user_id, created_at, updated_at)
    select app_id, user_id, min(created_at), min(created_at) from aliases where true
    group by app_id, user_id
    on conflict do nothing;

alter table credentials add column usage_count bigint not null default 0;
-- 'platform' or 'cross-platform', as the browser reported it at registration; null if unknown.
alter table credentials add column attachment text;

-- RS256 keys that sign an app's session JWTs. The newest unretired key signs; a retired key
-- stays published until the tokens it signed have expired.
create table session_keys (
    app_id          text not null references apps (id) on delete cascade,
    kid             text not null,             -- RFC 7638 thumbprint of the public key
    private_key     bytea not null,            -- PKCS#8 DER
    public_jwk      text not null,             -- the JWK as served
    created_at      bigint not null,
    retired_at      bigint,
    published_until bigint,
    primary key (app_id, kid)
);

alter table apps add column session_lifetime_seconds bigint not null default 3600;
