//! `POST /magic-links/send`: the mail on the wire (through a real SMTP sink), the token in its
//! link, validation, the feature switch, the new-app rule, the monthly quota and mail failures.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};
use serde_json::{json, Value};

use crate::support::server::{Resp, TestApp, TestServer};
use crate::support::smtp::{ReceivedMail, SmtpSink};

/// The address the harness gives every app as its admin.
const ADMIN: &str = "ops@example.com";
const SENDER: &str = "signin@passkeyd.test";
const LINK: &str = "https://shop.example/login?token=";
const TEMPLATE: &str = "https://shop.example/login?token=$TOKEN";
const MAIL_WAIT: StdDuration = StdDuration::from_secs(10);

/// A server that delivers mail to an in-process SMTP sink.
async fn server_with_sink() -> (TestServer, SmtpSink) {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(&[
        ("PASSKEYD_SMTP_URL", &sink.url()),
        ("PASSKEYD_MAIL_FROM", SENDER),
    ])
    .await;
    (server, sink)
}

/// Everything the sink has received so far. passkeyd answers only after the SMTP transaction
/// (and the sink records a mail before it acknowledges DATA), so this is exact, not racy.
async fn inbox(sink: &SmtpSink) -> Vec<ReceivedMail> {
    sink.wait_for(0, StdDuration::ZERO).await
}

fn link_to(email: &str) -> Value {
    json!({"emailAddress": email, "urlTemplate": TEMPLATE, "userId": "user-1"})
}

async fn send(app: &TestApp<'_>, body: &Value) -> Resp {
    app.backend("/magic-links/send", body).await
}

#[track_caller]
fn assert_no_content(r: &Resp) {
    assert_eq!(r.status, 204, "expected 204; body: {}", r.text);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
}

/// Sets the management-controlled features; the endpoint replaces all five.
async fn set_quota(server: &TestServer, app: &TestApp<'_>, quota: i64) {
    let r = server
        .admin(
            reqwest::Method::POST,
            &format!("/admin/apps/{}/features", app.app_id),
            Some(&json!({"magicLinkEmailMonthlyQuota": quota})),
        )
        .await;
    assert!(r.status < 300, "set features: {} {}", r.status, r.text);
}

/// A header of the mail's top-level header block.
fn mail_header<'a>(mail: &'a ReceivedMail, name: &str) -> Option<&'a str> {
    mail.data
        .split("\r\n")
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

/// The token in the mail's link `<prefix><token>`; the plain-text part shows it verbatim.
#[track_caller]
fn token_in(mail: &ReceivedMail, prefix: &str) -> String {
    let start = mail
        .data
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix}… in the mail:\n{}", mail.data))
        + prefix.len();
    let token: String = mail.data[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    assert!(token.starts_with("verify_"), "link token: {token}");
    token
}

/// Sends to the admin until the quota refuses one; returns how many were accepted.
async fn sends_until_refused(app: &TestApp<'_>) -> usize {
    for accepted in 0..20 {
        let r = send(app, &link_to(ADMIN)).await;
        if r.status == 429 {
            assert_eq!(
                r.problem(429, "magic_link_email_quota_exceeded")["title"],
                "You have reached your monthly quota for magic link emails. Please try again later."
            );
            return accepted;
        }
        assert_no_content(&r);
    }
    panic!("the quota never refused a send");
}

fn time(v: &Value, key: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(v[key].as_str().expect(key)).expect("RFC 3339")
}

#[track_caller]
fn assert_lifetime(v: &Value, seconds: i64) {
    assert_eq!(
        (time(v, "expiresAt") - time(v, "timestamp")).num_seconds(),
        seconds
    );
}

#[tokio::test]
async fn mailed_link_verifies_once() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("mailapp").await;
    assert_no_content(&send(&app, &link_to(ADMIN)).await);

    let mails = sink.wait_for(1, MAIL_WAIT).await;
    assert_eq!(mails.len(), 1, "exactly one mail per send");
    let mail = &mails[0];
    assert_eq!(mail.to, vec![ADMIN.to_owned()]);
    assert_eq!(mail.from, SENDER);
    // The subject names the host of the template, not passkeyd's.
    assert_eq!(
        mail_header(mail, "Subject"),
        Some("Sign in to shop.example")
    );
    let token = token_in(mail, LINK);

    let v = app.verify(&token).await;
    let body = v.ok();
    assert_eq!(body["success"], true);
    assert_eq!(body["type"], "magic_link");
    assert_eq!(body["userId"], "user-1");
    // A magic link is no WebAuthn ceremony: these are present and null.
    for key in ["rpId", "origin", "purpose"] {
        assert_eq!(body.get(key), Some(&Value::Null), "{key}: {body}");
    }
    assert_lifetime(body, 3600);

    // Single use.
    app.verify(&token).await.problem(400, "invalid_token");
}

#[tokio::test]
async fn time_to_live_is_honoured_and_links_expire() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("ttlapp").await;
    let short =
        json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE, "userId": "u", "timeToLive": 600});
    assert_no_content(&send(&app, &short).await);
    assert_no_content(&send(&app, &short).await);
    // The longest lifetime allowed (7 days) is accepted.
    let week = json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE, "userId": "u", "timeToLive": 604_800});
    assert_no_content(&send(&app, &week).await);
    let mails = sink.wait_for(3, MAIL_WAIT).await;
    let (first, second, third) = (
        token_in(&mails[0], LINK),
        token_in(&mails[1], LINK),
        token_in(&mails[2], LINK),
    );

    // A second before expiry the token works; a second after, it does not.
    server.clock.advance(Duration::seconds(599));
    assert_lifetime(app.verify(&first).await.ok(), 600);
    server.clock.advance(Duration::seconds(2));
    assert_lifetime(app.verify(&third).await.ok(), 604_800);
    let r = app.verify(&second).await;
    assert_eq!(
        r.problem(403, "expired_token")["title"],
        "The token expired 1 second ago."
    );
}

#[tokio::test]
async fn lower_case_placeholder_is_substituted() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("caseapp").await;
    let body = json!({"emailAddress": ADMIN, "urlTemplate": "https://shop.example/in/$token", "userId": "lc"});
    assert_no_content(&send(&app, &body).await);
    let mails = sink.wait_for(1, MAIL_WAIT).await;
    assert!(
        !mails[0].data.to_ascii_uppercase().contains("$TOKEN"),
        "placeholder left in the mail:\n{}",
        mails[0].data
    );
    let token = token_in(&mails[0], "https://shop.example/in/");
    assert_eq!(app.verify(&token).await.ok()["userId"], "lc");
}

#[tokio::test]
async fn invalid_requests_are_refused_and_nothing_is_sent() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("badapp").await;
    let no_token = "You have provided a UrlTemplate without a $TOKEN template. Please include it like so: https://www.example.com?token=$TOKEN";
    let not_url = "You have provided a UrlTemplate that cannot be converted to a URL.";
    let ttl = "The field TimeToLive must be between 1 and 604800.";
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"urlTemplate": TEMPLATE, "userId": "u"}),
            "emailAddress",
            Some("The EmailAddress field is required."),
        ),
        (
            json!({"emailAddress": "not-an-address", "urlTemplate": TEMPLATE, "userId": "u"}),
            "emailAddress",
            Some("The EmailAddress field is not a valid e-mail address."),
        ),
        (
            json!({"emailAddress": "two@at@example.com", "urlTemplate": TEMPLATE, "userId": "u"}),
            "emailAddress",
            None,
        ),
        (
            json!({"emailAddress": ADMIN, "userId": "u"}),
            "urlTemplate",
            Some("The UrlTemplate field is required."),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": "https://shop.example/login", "userId": "u"}),
            "urlTemplate",
            Some(no_token),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": "ftp://shop.example/$TOKEN", "userId": "u"}),
            "urlTemplate",
            Some(not_url),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": "/login?token=$TOKEN", "userId": "u"}),
            "urlTemplate",
            Some(not_url),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE}),
            "userId",
            Some("The UserId field is required."),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE, "userId": ""}),
            "userId",
            Some("The UserId field is required."),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE, "userId": "u", "timeToLive": 0}),
            "timeToLive",
            Some(ttl),
        ),
        (
            json!({"emailAddress": ADMIN, "urlTemplate": TEMPLATE, "userId": "u", "timeToLive": 604_801}),
            "timeToLive",
            Some(ttl),
        ),
    ];
    for (body, field, message) in &cases {
        let r = send(&app, body).await;
        let problem = r.problem(400, "validation_error");
        let errors = &problem["errors"][field];
        assert!(errors.is_array(), "errors.{field} for {body}: {}", r.text);
        if let Some(message) = message {
            assert_eq!(errors[0], *message, "for {body}");
        }
    }
    assert!(inbox(&sink).await.is_empty(), "a refused request sent mail");
}

#[tokio::test]
async fn disabled_feature_is_refused() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("offapp").await;
    let off = app
        .backend("/apps/features", &json!({"enableMagicLinks": false}))
        .await;
    assert_eq!(off.status, 204, "{}", off.text);
    let r = send(&app, &link_to(ADMIN)).await;
    assert_eq!(
        r.problem(403, "magic_links_disabled")["title"],
        "You must enable Magic Links in settings in order to use this feature."
    );
    assert!(inbox(&sink).await.is_empty());

    // Switching it back on restores sending.
    let on = app
        .backend("/apps/features", &json!({"enableMagicLinks": true}))
        .await;
    assert_eq!(on.status, 204, "{}", on.text);
    assert_no_content(&send(&app, &link_to(ADMIN)).await);
    assert_eq!(sink.wait_for(1, MAIL_WAIT).await.len(), 1);
}

#[tokio::test]
async fn new_app_may_only_mail_its_admin() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("newapp").await;
    let r = send(&app, &link_to("someone@example.org")).await;
    assert_eq!(
        r.problem(403, "magic_link_email_admin_address_only")["title"],
        "Because your application has been created less than 24 hours ago, you can only request magic links to the admin email address."
    );
    assert!(inbox(&sink).await.is_empty());
    // The admin address is compared without regard to case.
    assert_no_content(&send(&app, &link_to("OPS@Example.com")).await);

    server.clock.advance(Duration::hours(25));
    assert_no_content(&send(&app, &link_to("someone@example.org")).await);
    let mails = sink.wait_for(2, MAIL_WAIT).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].to, vec!["someone@example.org".to_owned()]);
}

#[tokio::test]
async fn new_app_rule_can_be_switched_off() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(&[
        ("PASSKEYD_SMTP_URL", &sink.url()),
        ("PASSKEYD_MAGIC_LINK_NEW_APP_HOURS", "0"),
    ])
    .await;
    let app = server.create_app("selfhost").await;
    assert_no_content(&send(&app, &link_to("someone@example.org")).await);
    assert_eq!(sink.wait_for(1, MAIL_WAIT).await.len(), 1);
}

#[tokio::test]
async fn monthly_quota_is_enforced_over_thirty_days() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("quotaapp").await;
    set_quota(&server, &app, 5).await;
    // Past 30 days old, an app gets its whole quota (age factor 1).
    server
        .clock
        .advance(Duration::days(30) + Duration::hours(1));
    assert_eq!(sends_until_refused(&app).await, 5);
    assert_eq!(
        sink.wait_for(5, MAIL_WAIT).await.len(),
        5,
        "refused mail sent"
    );

    // The window slides: once those sends are older than 30 days they no longer count.
    server.clock.advance(Duration::days(31));
    assert_no_content(&send(&app, &link_to(ADMIN)).await);
}

#[tokio::test]
async fn quota_grows_with_app_age() {
    let (server, _sink) = server_with_sink().await;
    let app = server.create_app("ageapp").await;
    set_quota(&server, &app, 5).await;
    // Younger than a day: floor(5 × 0.2) = 1.
    assert_eq!(sends_until_refused(&app).await, 1);
    // 1 to 3 days: floor(5 × 0.5) = 2, one of them used.
    server.clock.advance(Duration::hours(25));
    assert_eq!(sends_until_refused(&app).await, 1);
    // 3 to 30 days: floor(5 × 0.75) = 3, two used.
    server.clock.advance(Duration::days(2));
    assert_eq!(sends_until_refused(&app).await, 1);
    // 30 days + 1 hour: all 5, and the first send (at hour 0) has left the window, so 3 more.
    server.clock.advance(Duration::days(27));
    assert_eq!(sends_until_refused(&app).await, 3);
}

#[tokio::test]
async fn unreachable_mail_server_is_a_bad_gateway_and_not_counted() {
    // A loopback port nobody listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("smtp://{}", closed.local_addr().expect("address"));
    drop(closed);
    let server = TestServer::start_with(&[("PASSKEYD_SMTP_URL", &url)]).await;
    let app = server.create_app("downapp").await;
    // A fresh app with quota 5 may send exactly one: if a failed send were counted, the second
    // attempt would be refused with 429 instead of trying the mail server again.
    set_quota(&server, &app, 5).await;
    for _ in 0..2 {
        let r = send(&app, &link_to(ADMIN)).await;
        r.problem(502, "mail_delivery_failed");
        assert!(
            !r.text.contains("127.0.0.1"),
            "the mail server's address is not for clients: {}",
            r.text
        );
    }
}

/// Without mail settings nothing is sent and no sign-in link is written anywhere: the call is
/// refused up front. Writing links to the log has to be chosen (`PASSKEYD_MAIL=log`).
#[tokio::test]
async fn without_mail_settings_links_are_refused_and_log_mode_is_explicit() {
    let server = TestServer::start().await;
    let app = server.create_app("nomailapp").await;
    let r = send(&app, &link_to(ADMIN)).await;
    let body = r.problem(400, "mail_not_configured");
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .contains("PASSKEYD_MAIL=log"),
        "the title says how to turn mail on: {body}"
    );
    let server = TestServer::start_with(&[("PASSKEYD_MAIL", "log")]).await;
    let app = server.create_app("logapp").await;
    assert_no_content(&send(&app, &link_to(ADMIN)).await);
}

/// Concurrent sends cannot exceed the quota: each send is recorded against it atomically
/// before the mail goes out.
#[tokio::test]
async fn concurrent_sends_respect_the_quota() {
    let (server, sink) = server_with_sink().await;
    let app = server.create_app("raceapp").await;
    // A fresh app with quota 5 may send one link.
    set_quota(&server, &app, 5).await;
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = server
            .http
            .post(format!("{}/magic-links/send", server.base))
            .header("ApiSecret", &app.secret)
            .json(&link_to(ADMIN));
        sends.spawn(async move { request.send().await.expect("HTTP request").status() });
    }
    let accepted = sends
        .join_all()
        .await
        .iter()
        .filter(|status| status.as_u16() == 204)
        .count();
    assert_eq!(accepted, 1, "sends accepted against a limit of 1");
    assert_eq!(
        inbox(&sink).await.len(),
        1,
        "mails sent against a limit of 1"
    );
}
