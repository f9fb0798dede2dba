//! Magic links (`POST /magic-links/send`): a single-use verify token of type `magic_link`,
//! e-mailed as a link built from the app's URL template.

use axum::http::StatusCode;
use chrono::Duration;

use super::events::{self, EventType};
use super::{format_time, issue_token, verified_user, Tenant, Validator};
use crate::error::{ApiError, ApiResult};
use crate::mail::{self, Mail};
use crate::store::TokenKind;
use crate::tokens;
use crate::wire::{MagicLinkRequest, VerifiedUser};
use crate::Services;

const TOKEN_PLACEHOLDER: &str = "$TOKEN";
const DEFAULT_TTL_SECONDS: i64 = 3_600;
const MAX_TTL_SECONDS: i64 = 604_800;
const QUOTA_WINDOW: Duration = Duration::days(30);

pub async fn send(s: &Services, tenant: &Tenant, req: MagicLinkRequest) -> ApiResult<()> {
    let app = &tenant.app;
    let mut v = Validator::default();
    let email = v.required("emailAddress", "EmailAddress", req.email_address.as_deref());
    if !email.is_empty() && !mail::is_valid_address(&email) {
        v.error(
            "emailAddress",
            "The EmailAddress field is not a valid e-mail address.",
        );
    }
    let template = v.required("urlTemplate", "UrlTemplate", req.url_template.as_deref());
    let host = if template.is_empty() {
        None
    } else {
        check_template(&mut v, &template)
    };
    let user_id = v.required("userId", "UserId", req.user_id.as_deref());
    let ttl = req.time_to_live.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
        v.error(
            "timeToLive",
            format!("The field TimeToLive must be between 1 and {MAX_TTL_SECONDS}."),
        );
    }
    v.finish()?;
    let host = host.unwrap_or_default();

    if !app.features.magic_links_enabled {
        return Err(magic_links_disabled());
    }
    if !s.mailer.is_configured() {
        return Err(mail_not_configured());
    }
    let reservation = reserve(s, tenant, &user_id, &email).await?;

    let now = tenant.now;
    let expires_at = now + Duration::seconds(ttl);
    let verified = VerifiedUser {
        device: Some(String::new()),
        country: Some(String::new()),
        ..verified_user("magic_link", user_id.clone(), now, expires_at)
    };
    let token = issue_token(
        s,
        tenant,
        TokenKind::Verify,
        tokens::VERIFY,
        &verified,
        expires_at,
        None,
    )
    .await?;
    let link = replace_placeholder(&template, &token);
    send_mail(s, tenant, &reservation, &email, &host, &link, expires_at).await?;
    events::note(
        s,
        tenant,
        EventType::ApiUserMagicLinkCreated,
        &user_id,
        &app.id,
        format!("Sent a magic link for user {user_id}."),
    )
    .await;
    Ok(())
}

/// The template must contain `$TOKEN` (any case) and be an absolute http(s) URL; returns the
/// link's host for the subject line.
/// Mails `link` to `email` within the app's quota (the Passage-style API's `send: true`).
pub(crate) async fn deliver(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
    email: &str,
    host: &str,
    link: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    if !tenant.app.features.magic_links_enabled {
        return Err(magic_links_disabled());
    }
    if !s.mailer.is_configured() {
        return Err(mail_not_configured());
    }
    let reservation = reserve(s, tenant, user_id, email).await?;
    send_mail(s, tenant, &reservation, email, host, link, expires_at).await?;
    events::note(
        s,
        tenant,
        EventType::ApiUserMagicLinkCreated,
        user_id,
        &tenant.app.id,
        format!("Sent a magic link for user {user_id}."),
    )
    .await;
    Ok(())
}

fn magic_links_disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "magic_links_disabled",
        "You must enable Magic Links in settings in order to use this feature.",
    )
}

fn mail_not_configured() -> ApiError {
    ApiError::bad_request(
        "mail_not_configured",
        "This passkeyd has no mail settings, so it cannot send magic links. The operator sets \
         PASSKEYD_SMTP_URL, or PASSKEYD_MAIL_FILE, or PASSKEYD_MAIL=log for development.",
    )
}

/// Sends the e-mail of a reserved magic link; a failed send gives the reservation back.
async fn send_mail(
    s: &Services,
    tenant: &Tenant,
    reservation: &str,
    email: &str,
    host: &str,
    link: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let message = Mail {
        to: email.to_owned(),
        subject: format!("Sign in to {host}"),
        text: format!(
            "Use this link to sign in to {host}:\n\n{link}\n\nThe link works once and expires at {} (UTC). If you did not ask for it, ignore this e-mail.\n",
            format_time(expires_at)
        ),
        html: format!(
            "<p>Use this link to sign in to {host}:</p>\n<p><a href=\"{href}\">Sign in</a></p>\n<p>The link works once and expires at {expires} (UTC). If you did not ask for it, ignore this e-mail.</p>\n",
            host = html_escape(host),
            href = html_escape(link),
            expires = format_time(expires_at),
        ),
    };
    if let Err(e) = s.mailer.send(&message).await {
        tracing::warn!(error = %e, app_id = %tenant.app.id, "sending a magic link failed");
        s.store.release_email(reservation).await?;
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "mail_delivery_failed",
            "The magic link e-mail could not be sent. Please try again later.",
        ));
    }
    Ok(())
}

fn check_template(v: &mut Validator, template: &str) -> Option<String> {
    if !template.to_ascii_uppercase().contains(TOKEN_PLACEHOLDER) {
        v.error(
            "urlTemplate",
            "You have provided a UrlTemplate without a $TOKEN template. Please include it like so: https://www.example.com?token=$TOKEN",
        );
        return None;
    }
    let probe = replace_placeholder(template, "token");
    match url::Url::parse(&probe) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            url.host_str().map(str::to_owned)
        }
        _ => {
            v.error(
                "urlTemplate",
                "You have provided a UrlTemplate that cannot be converted to a URL.",
            );
            None
        }
    }
}

/// Replaces every `$TOKEN`, in any case (the original's check is case-insensitive but its
/// replacement is not, which sends dead links for `$token`).
fn replace_placeholder(template: &str, token: &str) -> String {
    let upper = template.to_ascii_uppercase();
    let mut out = String::with_capacity(template.len() + token.len());
    let mut rest = 0;
    while let Some(found) = upper[rest..].find(TOKEN_PLACEHOLDER) {
        out.push_str(&template[rest..rest + found]);
        out.push_str(token);
        rest += found + TOKEN_PLACEHOLDER.len();
    }
    out.push_str(&template[rest..]);
    out
}

/// New apps may only mail their admin; every app has a monthly quota that grows with its age.
/// The e-mail is recorded against the quota atomically, so concurrent sends cannot exceed it;
/// returns the record's id.
async fn reserve(s: &Services, tenant: &Tenant, user_id: &str, email: &str) -> ApiResult<String> {
    let app = &tenant.app;
    let now = tenant.now;
    let age = now - app.created_at;
    let new_app = Duration::hours(s.magic_link_new_app_hours);
    let is_admin = app
        .admin_email
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(email));
    if age < new_app && !is_admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "magic_link_email_admin_address_only",
            format!(
                "Because your application has been created less than {} hours ago, you can only request magic links to the admin email address.",
                s.magic_link_new_app_hours
            ),
        ));
    }
    let factor = if age < Duration::days(1) {
        0.2
    } else if age < Duration::days(3) {
        0.5
    } else if age < Duration::days(30) {
        0.75
    } else {
        1.0
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let limit = (app.features.magic_link_monthly_quota as f64 * factor).floor() as i64;
    let reserved = s
        .store
        .reserve_email(&app.id, user_id, email, now, now - QUOTA_WINDOW, limit)
        .await?;
    reserved.ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "magic_link_email_quota_exceeded",
            "You have reached your monthly quota for magic link emails. Please try again later.",
        )
    })
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_any_case() {
        assert_eq!(
            replace_placeholder("https://a.example/?t=$TOKEN&again=$token", "XY"),
            "https://a.example/?t=XY&again=XY"
        );
        assert_eq!(
            replace_placeholder("https://a.example/", "XY"),
            "https://a.example/"
        );
    }

    #[test]
    fn templates() {
        let mut v = Validator::default();
        assert_eq!(
            check_template(&mut v, "https://shop.example/login?token=$TOKEN").as_deref(),
            Some("shop.example")
        );
        assert!(check_template(&mut v, "https://shop.example/login").is_none());
        assert!(check_template(&mut v, "ftp://shop.example/$TOKEN").is_none());
        assert!(check_template(&mut v, "not a url $TOKEN").is_none());
    }
}
