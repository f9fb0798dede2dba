//! The ceremony steps: each is everything one request reads or writes, in one transaction,
//! written once for both engines (see `exec`).

use chrono::{DateTime, TimeZone, Utc};

use super::db::P;
use super::exec::{Exec, Row, Step};
use super::{
    AliasRecord, Conflict, CredentialRecord, EventRecord, Refusal, SigninCompletion, StoreError,
    StoreResult, TokenKind, TokenRecord,
};

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// passkeyd writes times from valid `DateTime`s: one out of range is a damaged row, not 1970.
pub(super) fn time(ms: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Other(format!("stored time {ms} is out of range")))
}

pub const CREDENTIAL_COLUMNS: &str = "app_id, credential_id, user_id, user_handle, public_key, \
    sign_count, attestation_fmt, aaguid, rp_id, origin, country, device, nickname, backup_state, \
    backup_eligible, discoverable, webauthn, created_at, last_used_at, usage_count, attachment";

fn credential(mut r: Row) -> StoreResult<CredentialRecord> {
    Ok(CredentialRecord {
        app_id: r.text(),
        credential_id: r.bytes(),
        user_id: r.text(),
        user_handle: r.bytes(),
        public_key: r.bytes(),
        sign_count: u32::try_from(r.int()).unwrap_or(u32::MAX),
        attestation_fmt: r.text(),
        aaguid: r.opt_text(),
        rp_id: r.text(),
        origin: r.text(),
        country: r.opt_text(),
        device: r.opt_text(),
        nickname: r.opt_text(),
        backup_state: r.opt_bool(),
        backup_eligible: r.opt_bool(),
        discoverable: r.opt_bool(),
        webauthn: r.text(),
        created_at: time(r.int())?,
        last_used_at: time(r.int())?,
        usage_count: r.int(),
        attachment: r.opt_text(),
    })
}

/// Makes sure the user has a profile row, and answers whether they may use passkeys (a
/// deactivated user may not). Inside a ceremony's transaction, so a deactivation is seen.
/// `signed_in` also counts a sign-in.
async fn active_user<E: Exec>(
    e: &mut E,
    app_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
    signed_in: bool,
) -> StoreResult<()> {
    let at = millis(now);
    let (count, last) = if signed_in { (1, Some(at)) } else { (0, None) };
    let mut r = e
        .row(
            "insert into users (app_id, user_id, created_at, updated_at, login_count, \
             last_login_at) values ($1, $2, $3, $3, $4, $5) \
             on conflict (app_id, user_id) do update set \
             login_count = users.login_count + $4, \
             last_login_at = coalesce($5, users.last_login_at) \
             returning status",
            &[
                app_id.into(),
                user_id.into(),
                at.into(),
                count.into(),
                last.into(),
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Other("upsert returned no row".to_owned()))?;
    if super::UserStatus::parse(&r.text())? == super::UserStatus::Active {
        Ok(())
    } else {
        Err(StoreError::Refused(Refusal::UserInactive))
    }
}

async fn insert_event<E: Exec>(e: &mut E, ev: &EventRecord) -> StoreResult<()> {
    e.execute(
        "insert into events (id, app_id, performed_at, event_type, severity, message, \
         performed_by, subject, api_key_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            (&ev.id).into(),
            (&ev.app_id).into(),
            millis(ev.performed_at).into(),
            (&ev.event_type).into(),
            (&ev.severity).into(),
            (&ev.message).into(),
            (&ev.performed_by).into(),
            (&ev.subject).into(),
            (&ev.api_key_id).into(),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_token<E: Exec>(e: &mut E, t: &TokenRecord, now: DateTime<Utc>) -> StoreResult<()> {
    e.execute(
        "insert into tokens (token_hash, app_id, kind, payload, expires_at, created_at) \
         values ($1, $2, $3, $4, $5, $6)",
        &[
            (&t.hash).into(),
            (&t.app_id).into(),
            t.kind.as_str().into(),
            (&t.payload).into(),
            millis(t.expires_at).into(),
            millis(now).into(),
        ],
    )
    .await
    .map_err(|e| e.or(Conflict::Token))?;
    Ok(())
}

/// Replaces a user's aliases. A hash held by another user is a conflict.
async fn write_aliases<E: Exec>(
    e: &mut E,
    app_id: &str,
    user_id: &str,
    aliases: &[AliasRecord],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    e.execute(
        "delete from aliases where app_id = $1 and user_id = $2",
        &[app_id.into(), user_id.into()],
    )
    .await?;
    for alias in aliases {
        e.execute(
            "insert into aliases (app_id, alias_hash, user_id, plaintext, created_at) \
             values ($1, $2, $3, $4, $5)",
            &[
                app_id.into(),
                (&alias.hash).into(),
                user_id.into(),
                (&alias.plaintext).into(),
                millis(now).into(),
            ],
        )
        .await
        .map_err(|e| e.or(Conflict::Alias))?;
    }
    Ok(())
}

/// All of a user's aliases replaced (`/alias`).
pub struct ReplaceAliases {
    pub app_id: String,
    pub user_id: String,
    pub aliases: Vec<AliasRecord>,
    pub now: DateTime<Utc>,
}

impl Step for ReplaceAliases {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        // A user known by an alias alone has a profile too (deactivated or not, aliases may
        // still be changed).
        e.execute(
            "insert into users (app_id, user_id, created_at, updated_at) values ($1, $2, $3, $3) \
             on conflict do nothing",
            &[
                (&self.app_id).into(),
                (&self.user_id).into(),
                millis(self.now).into(),
            ],
        )
        .await?;
        write_aliases(e, &self.app_id, &self.user_id, &self.aliases, self.now).await
    }
}

/// Marks a ceremony session used. A session is sealed into its token (nothing is stored at
/// begin); this row is what makes it single-use, and it goes when the session would expire.
async fn spend_session<E: Exec>(e: &mut E, app_id: &str, id: &[u8]) -> StoreResult<()> {
    e.execute(
        "insert into spent_sessions (id, app_id) values ($1, $2)",
        &[id.into(), app_id.into()],
    )
    .await
    .map_err(|e| match e.or(Conflict::Token) {
        StoreError::Conflict(Conflict::Token) => StoreError::Refused(Refusal::SessionUsed),
        other => other,
    })?;
    Ok(())
}

/// One event on its own (management calls, failed authentications).
pub struct InsertEvent(pub EventRecord);

impl Step for InsertEvent {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        insert_event(e, &self.0).await
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// A token and the event of its issue.
pub struct InsertToken {
    pub token: TokenRecord,
    pub event: Option<EventRecord>,
    pub now: DateTime<Utc>,
}

impl Step for InsertToken {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        if let Some(ev) = &self.event {
            insert_event(e, ev).await?;
        }
        insert_token(e, &self.token, self.now).await
    }
}

/// Uses up a session whose ceremony was refused, so that it cannot be tried again.
pub struct SpendSession {
    pub app_id: String,
    pub id: Vec<u8>,
}

impl Step for SpendSession {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        spend_session(e, &self.app_id, &self.id).await
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// Whom a sign-in names.
#[derive(Debug, Clone)]
pub enum Named {
    User(String),
    /// An alias, by its hash.
    Alias(String),
}

/// `/signin/begin`: the named user (empty when an alias is unknown) and their credential ids.
pub struct SigninCandidates {
    pub app_id: String,
    pub named: Named,
}

impl Step for SigninCandidates {
    type Out = (String, Vec<Vec<u8>>);
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<Self::Out> {
        match self.named {
            Named::User(user_id) => {
                let ids = e
                    .rows(
                        "select credential_id from credentials where app_id = $1 \
                         and user_id = $2 and not exists (select 1 from users where \
                         users.app_id = $1 and users.user_id = $2 and users.status <> 'active') \
                         order by created_at",
                        &[(&self.app_id).into(), (&user_id).into()],
                    )
                    .await?
                    .into_iter()
                    .map(|mut r| r.bytes())
                    .collect();
                Ok((user_id, ids))
            }
            Named::Alias(hash) => {
                // The owner and their credentials in one statement; one row with a null id
                // when the owner has none, no row when the alias is unknown.
                let rows = e
                    .rows(
                        "select aliases.user_id, credentials.credential_id from aliases \
                         left join credentials on credentials.app_id = aliases.app_id \
                         and credentials.user_id = aliases.user_id \
                         and not exists (select 1 from users where users.app_id = $1 \
                         and users.user_id = aliases.user_id and users.status <> 'active') \
                         where aliases.app_id = $1 and aliases.alias_hash = $2 \
                         order by credentials.created_at",
                        &[(&self.app_id).into(), (&hash).into()],
                    )
                    .await?;
                let mut user_id = String::new();
                let mut ids = Vec::new();
                for mut r in rows {
                    user_id = r.text();
                    let id = r.bytes();
                    if !id.is_empty() {
                        ids.push(id);
                    }
                }
                Ok((user_id, ids))
            }
        }
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// Id lengths of up to 64 users' credential lists, by user id (a stable sample).
pub struct CredentialShapes {
    pub app_id: String,
}

impl Step for CredentialShapes {
    type Out = Vec<Vec<u16>>;
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<Self::Out> {
        let rows = e
            .rows(
                "select user_id, length(credential_id) from credentials where app_id = $1 \
                 and user_id in (select distinct user_id from credentials where app_id = $1 \
                 order by user_id limit 64) order by user_id, created_at",
                &[(&self.app_id).into()],
            )
            .await?;
        let mut shapes: Vec<Vec<u16>> = Vec::new();
        let mut last: Option<String> = None;
        for mut r in rows {
            let user = r.text();
            let len = u16::try_from(r.int()).unwrap_or(u16::MAX);
            if last.as_deref() == Some(user.as_str()) {
                if let Some(shape) = shapes.last_mut() {
                    shape.push(len);
                }
            } else {
                shapes.push(vec![len]);
                last = Some(user);
            }
        }
        Ok(shapes)
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// One credential, for `/signin/complete`.
pub struct FindCredential {
    pub app_id: String,
    pub credential_id: Vec<u8>,
}

impl Step for FindCredential {
    type Out = Option<CredentialRecord>;
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<Self::Out> {
        e.row(
            &format!(
                "select {CREDENTIAL_COLUMNS} from credentials \
                 where app_id = $1 and credential_id = $2"
            ),
            &[(&self.app_id).into(), (&self.credential_id).into()],
        )
        .await?
        .map(credential)
        .transpose()
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// `/signin/complete`, all or nothing.
pub struct CompleteSignin(pub SigninCompletion);

impl Step for CompleteSignin {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        let c = self.0;
        let app_id = c.app_id.as_str();
        if e.is_postgres() {
            return complete_signin_postgres(e, c).await;
        }
        spend_session(e, app_id, &c.session_id).await?;
        // The counter only moves forward; 0 stays allowed while the stored counter is 0 too
        // (authenticators without a counter, such as synced passkeys, always send 0).
        let advanced = e
            .execute(
                "update credentials set sign_count = $1, device = $2, country = $3, \
                 last_used_at = $4, backup_state = $7, webauthn = coalesce($8, webauthn), \
                 usage_count = usage_count + 1 where app_id = $5 and credential_id = $6 \
                 and (sign_count < $1 or (sign_count = 0 and $1 = 0))",
                &[
                    i64::from(c.new_count).into(),
                    (&c.device).into(),
                    (&c.country).into(),
                    millis(c.now).into(),
                    app_id.into(),
                    (&c.credential_id).into(),
                    c.backup_state.into(),
                    c.record.as_deref().into(),
                ],
            )
            .await?;
        if advanced != 1 {
            return Err(StoreError::Refused(Refusal::CounterBehind));
        }
        active_user(e, app_id, &c.user_id, c.now, true).await?;
        e.execute(
            "insert into signin_days (app_id, day, user_id) values ($1, $2, $3) \
             on conflict do nothing",
            &[app_id.into(), c.day.into(), (&c.user_id).into()],
        )
        .await?;
        finish_signin(e, &c).await?;
        insert_token(e, &c.verify, c.now).await
    }
}

/// PostgreSQL: the session, the counter, the day and the verify token in one statement (each
/// statement is a network round trip there). Data-modifying CTEs all run; the counter's
/// compare-and-swap gates the day and the token, and a used session fails the statement.
async fn complete_signin_postgres<E: Exec>(e: &mut E, c: SigninCompletion) -> StoreResult<()> {
    let app_id = c.app_id.as_str();
    let mut row = e
        .row(
            "with spent as (insert into spent_sessions (id, app_id) values ($1, $2) returning 1), \
             moved as (update credentials set sign_count = $3, device = $4, country = $5, \
               last_used_at = $6, backup_state = $13, webauthn = coalesce($14, webauthn), \
               usage_count = usage_count + 1 where app_id = $2 and credential_id = $7 \
               and (sign_count < $3 or (sign_count = 0 and $3 = 0)) \
               and exists (select 1 from spent) returning user_id), \
             day as (insert into signin_days (app_id, day, user_id) \
               select $2, $8, user_id from moved on conflict do nothing), \
             token as (insert into tokens (token_hash, app_id, kind, payload, expires_at, \
               created_at) select $9, $2, $10, $11, $12, $6 from moved), \
             usr as (insert into users (app_id, user_id, created_at, updated_at, login_count, \
               last_login_at) select $2, user_id, $6, $6, 1, $6 from moved \
               on conflict (app_id, user_id) do update set \
               login_count = users.login_count + 1, last_login_at = $6 returning status) \
             select (select count(*) from moved), \
               coalesce((select status from usr), 'active')",
            &[
                (&c.session_id).into(),
                app_id.into(),
                i64::from(c.new_count).into(),
                (&c.device).into(),
                (&c.country).into(),
                millis(c.now).into(),
                (&c.credential_id).into(),
                c.day.into(),
                (&c.verify.hash).into(),
                c.verify.kind.as_str().into(),
                (&c.verify.payload).into(),
                millis(c.verify.expires_at).into(),
                c.backup_state.into(),
                c.record.as_deref().into(),
            ],
        )
        .await
        .map_err(|e| match e.or(Conflict::Token) {
            StoreError::Conflict(Conflict::Token) => StoreError::Refused(Refusal::SessionUsed),
            other => other,
        })?
        .ok_or_else(|| StoreError::Other("count returned no row".to_owned()))?;
    if row.int() != 1 {
        return Err(StoreError::Refused(Refusal::CounterBehind));
    }
    // The statement wrote everything; a deactivated user's sign-in is undone by the rollback.
    if super::UserStatus::parse(&row.text())? != super::UserStatus::Active {
        return Err(StoreError::Refused(Refusal::UserInactive));
    }
    finish_signin(e, &c).await
}

/// The optional writes of a completed sign-in: the purpose's last use and the event.
async fn finish_signin<E: Exec>(e: &mut E, c: &SigninCompletion) -> StoreResult<()> {
    let app_id = c.app_id.as_str();
    {
        if let Some(touch) = &c.touch_purpose {
            if let Some(preset) = &touch.preset {
                // A preset has defaults: the first use records them, later uses only the time.
                e.execute(
                    "insert into auth_configs (app_id, purpose, user_verification, ttl_seconds, \
                     hints, created_by, created_at, last_used_at) \
                     values ($1, $2, $3, $4, '', 'System', $5, $5) \
                     on conflict (app_id, purpose) do update set last_used_at = $5",
                    &[
                        app_id.into(),
                        (&touch.purpose).into(),
                        (&preset.user_verification).into(),
                        preset.ttl_seconds.into(),
                        millis(c.now).into(),
                    ],
                )
                .await?;
            } else {
                // Only the time: a purpose deleted or edited meanwhile stays as the admin left it.
                e.execute(
                    "update auth_configs set last_used_at = $1 where app_id = $2 and purpose = $3",
                    &[millis(c.now).into(), app_id.into(), (&touch.purpose).into()],
                )
                .await?;
            }
        }
        if let Some(ev) = &c.event {
            insert_event(e, ev).await?;
        }
    }
    Ok(())
}

/// Builds the event a redemption records from the token, inside its transaction.
pub type EventFromToken = Box<dyn FnOnce(&TokenRecord) -> Option<EventRecord> + Send>;

/// Takes a token (single use) and records the event it causes, together.
pub struct RedeemToken {
    pub app_id: String,
    pub kind: TokenKind,
    pub hash: Vec<u8>,
    /// Builds the event from the token's payload; `None` records nothing.
    pub event: Option<EventFromToken>,
}

impl Step for RedeemToken {
    type Out = Option<TokenRecord>;
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<Self::Out> {
        let Some(mut r) = e
            .row(
                "delete from tokens where token_hash = $1 and app_id = $2 and kind = $3 \
                 returning token_hash, app_id, payload, expires_at",
                &[
                    (&self.hash).into(),
                    (&self.app_id).into(),
                    self.kind.as_str().into(),
                ],
            )
            .await?
        else {
            return Ok(None);
        };
        let token = TokenRecord {
            hash: r.bytes(),
            app_id: r.text(),
            kind: self.kind,
            payload: r.text(),
            expires_at: time(r.int())?,
        };
        if let Some(event) = self.event.and_then(|f| f(&token)) {
            insert_event(e, &event).await?;
        }
        Ok(Some(token))
    }

    fn single_statement(&self) -> bool {
        // Without an event to record, the delete is all there is.
        self.event.is_none()
    }
}

/// `/register/complete`, all or nothing.
pub struct CompleteRegistration {
    pub session_id: Vec<u8>,
    pub credential: CredentialRecord,
    /// Replaces the user's aliases when given.
    pub aliases: Option<Vec<AliasRecord>>,
    pub max_users: Option<i64>,
    pub event: Option<EventRecord>,
    pub verify: TokenRecord,
    pub now: DateTime<Utc>,
}

impl Step for CompleteRegistration {
    type Out = ();
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<()> {
        let c = &self.credential;
        let app_id = c.app_id.as_str();
        if e.is_postgres() {
            // Serialises registrations of one app, so the user limit cannot be overrun.
            e.execute(
                "select id from apps where id = $1 for update",
                &[app_id.into()],
            )
            .await?;
        }
        spend_session(e, app_id, &self.session_id).await?;
        active_user(e, app_id, &c.user_id, self.now, false).await?;
        if let Some(max) = self.max_users {
            let mut r = e
                .row(
                    "select count(distinct user_id), \
                     count(case when user_id = $2 then 1 end) from credentials where app_id = $1",
                    &[app_id.into(), (&c.user_id).into()],
                )
                .await?
                .ok_or_else(|| StoreError::Other("count returned no row".to_owned()))?;
            let (users, own) = (r.int(), r.int());
            if own == 0 && users >= max {
                return Err(StoreError::Refused(Refusal::UserLimit));
            }
        }
        let params: [P<'_>; 21] = [
            (&c.app_id).into(),
            (&c.credential_id).into(),
            (&c.user_id).into(),
            (&c.user_handle).into(),
            (&c.public_key).into(),
            i64::from(c.sign_count).into(),
            (&c.attestation_fmt).into(),
            (&c.aaguid).into(),
            (&c.rp_id).into(),
            (&c.origin).into(),
            (&c.country).into(),
            (&c.device).into(),
            (&c.nickname).into(),
            c.backup_state.into(),
            c.backup_eligible.into(),
            c.discoverable.into(),
            (&c.webauthn).into(),
            millis(c.created_at).into(),
            millis(c.last_used_at).into(),
            c.usage_count.into(),
            (&c.attachment).into(),
        ];
        e.execute(
            &format!(
                "insert into credentials ({CREDENTIAL_COLUMNS}) values ($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
            ),
            &params,
        )
        .await
        .map_err(|e| e.or(Conflict::Credential))?;
        if let Some(aliases) = &self.aliases {
            write_aliases(e, app_id, &c.user_id, aliases, self.now).await?;
        }
        if let Some(ev) = &self.event {
            insert_event(e, ev).await?;
        }
        insert_token(e, &self.verify, self.now).await
    }
}
