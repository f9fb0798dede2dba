-- passkeyd schema, version 1. Never edit an applied migration: add a new one.
-- Times are epoch milliseconds (UTC). Ids and hashes are text or byteas as noted.

create table instance_secrets (
    name        text primary key,
    value       bytea not null,
    created_at  bigint not null
);

create table apps (
    id                            text primary key,
    admin_email                   text,
    created_at                    bigint not null,
    frozen                        boolean not null default false,
    event_logging_enabled         boolean not null default false,
    event_logging_retention_days  bigint not null default 365,
    magic_link_monthly_quota      bigint not null default 0,
    max_users                     bigint,
    allow_attestation             boolean not null default false,
    generate_token_enabled        boolean not null default true,
    magic_links_enabled           boolean not null default true,
    delete_at                     bigint
);

create table api_keys (
    app_id       text not null references apps (id) on delete cascade,
    key_id       text not null,            -- last four characters of the key
    kind         text not null,            -- 'public' or 'secret'
    key_value    text not null,            -- public: the key; secret: keyed hash (hex)
    scopes       text not null,            -- comma-separated
    locked       boolean not null default false,
    created_at   bigint not null,
    primary key (app_id, key_id)
);

create table credentials (
    app_id           text not null references apps (id) on delete cascade,
    credential_id    bytea not null,
    user_id          text not null,
    user_handle      bytea not null,
    public_key       bytea not null,        -- COSE_Key
    sign_count       bigint not null,
    attestation_fmt  text not null,
    aaguid           text,
    rp_id            text not null,
    origin           text not null,
    country          text,
    device           text,
    nickname         text,
    backup_state     boolean,
    backup_eligible  boolean,
    discoverable     boolean,
    webauthn         text not null,        -- the WebAuthn library's record, versioned JSON
    created_at       bigint not null,
    last_used_at     bigint not null,
    primary key (app_id, credential_id)
);
create index credentials_by_user on credentials (app_id, user_id);

create table aliases (
    app_id      text not null references apps (id) on delete cascade,
    alias_hash  text not null,             -- base64(sha256(appId + alias))
    user_id     text not null,
    plaintext   text,
    created_at  bigint not null,
    primary key (app_id, alias_hash)
);
create index aliases_by_user on aliases (app_id, user_id);

-- Register tokens, ceremony sessions and verify tokens. Clients hold a random string; only its
-- SHA-256 is stored, so reading the database does not yield usable tokens.
create table tokens (
    token_hash  bytea primary key,
    app_id      text not null references apps (id) on delete cascade,
    kind        text not null,
    payload     text not null,
    expires_at  bigint not null,
    created_at  bigint not null
);
create index tokens_by_expiry on tokens (expires_at);
