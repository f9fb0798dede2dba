-- Events, purposes, authenticator lists, magic-link dispatches and sign-in activity.

create table events (
    id            text primary key,          -- GUID
    app_id        text not null references apps (id) on delete cascade,
    performed_at  bigint not null,
    event_type    text not null,             -- the contract's enum name
    severity      text not null,             -- Informational, Warning, Alert, Error
    message       text not null,
    performed_by  text not null,
    subject       text not null,
    api_key_id    text not null              -- last four characters of the key, or empty
);
create index events_by_app_time on events (app_id, performed_at);

-- Authentication configurations ("purposes"). The presets sign-in and step-up exist without a
-- row until they are edited or used.
create table auth_configs (
    app_id             text not null references apps (id) on delete cascade,
    purpose            text not null,
    user_verification  text not null,
    ttl_seconds        bigint not null,
    hints              text not null,          -- comma-separated hint strings
    created_by         text not null,
    created_at         bigint,
    edited_by          text,
    edited_at          bigint,
    last_used_at       bigint,
    primary key (app_id, purpose)
);

create table authenticators (
    app_id      text not null references apps (id) on delete cascade,
    aaguid      text not null,
    is_allowed  boolean not null,
    created_at  bigint not null,
    primary key (app_id, aaguid)
);

create table dispatched_emails (
    id          text primary key,
    app_id      text not null references apps (id) on delete cascade,
    user_id     text not null,
    email       text not null,
    created_at  bigint not null
);
create index dispatched_emails_by_app_time on dispatched_emails (app_id, created_at);

-- One row per user and UTC day with a successful sign-in, for the active-user report.
create table signin_days (
    app_id   text not null references apps (id) on delete cascade,
    day      bigint not null,                -- days since 1970-01-01
    user_id  text not null,
    primary key (app_id, day, user_id)
);

alter table apps add column deleted_by text;
alter table api_keys add column last_locked_at bigint;
alter table api_keys add column last_unlocked_at bigint;
