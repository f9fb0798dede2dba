//! Reporting: `/reporting/credentials/periodic` and `/reporting/active-users/periodic`, fed
//! by real registrations and sign-ins spread over days with the injected clock.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{Resp, TestApp, TestServer};

const CREDENTIALS: &str = "/reporting/credentials/periodic";
const ACTIVE_USERS: &str = "/reporting/active-users/periodic";

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

async fn report(app: &TestApp<'_>, path: &str, query: &str) -> Resp {
    app.server
        .get(&format!("{path}{query}"), &[("ApiSecret", &app.secret)])
        .await
}

/// `?from=<day first>&to=<day last>`, days counted from `day0`.
fn range(day0: DateTime<Utc>, first: i64, last: i64) -> String {
    format!(
        "?from={}&to={}",
        date(day0 + Duration::days(first)),
        date(day0 + Duration::days(last))
    )
}

/// Expected credential rows from day `first` on: (users, credentials) per day.
fn credential_rows(day0: DateTime<Utc>, first: i64, rows: &[(i64, i64)]) -> Value {
    (first..)
        .zip(rows)
        .map(|(day, (users, credentials))| {
            json!({"createdAt": date(day0 + Duration::days(day)), "users": users, "credentials": credentials})
        })
        .collect()
}

/// Expected active-user rows from day `first` on: (daily, weekly, total) per day.
fn active_rows(day0: DateTime<Utc>, first: i64, rows: &[(i64, i64, i64)]) -> Value {
    (first..)
        .zip(rows)
        .map(|(day, (daily, weekly, total))| {
            json!({
                "createdAt": date(day0 + Duration::days(day)),
                "dailyActiveUsers": daily,
                "weeklyActiveUsers": weekly,
                "totalUsers": total
            })
        })
        .collect()
}

async fn sign_in_as(app: &TestApp<'_>, auth: &mut TestAuthenticator, user_id: &str) {
    let fields = json!({ "userId": user_id });
    let token = sign_in(app, auth, &fields, &Tweaks::default()).await;
    assert_eq!(app.verify(&token).await.ok()["userId"], user_id);
}

/// Twelve days of an app (day 0 is its creation day, day 11 today):
///
/// | day | registered                  | signed in        |
/// |-----|-----------------------------|------------------|
/// | 0   | alice (laptop)              |                  |
/// | 1   | bob                         | alice            |
/// | 2   | alice's second key (phone)  |                  |
/// | 4   | carol                       | alice ×2, bob    |
/// | 9   |                             | carol            |
/// | 11  |                             | carol            |
///
/// Returns the server's time on day 0.
async fn twelve_days(server: &TestServer, app: &TestApp<'_>) -> DateTime<Utc> {
    let day0 = server.clock_now();
    let next_day = || server.clock.advance(Duration::days(1));
    let mut alice_laptop = TestAuthenticator::new();
    let mut alice_phone = TestAuthenticator::new();
    let mut bob = TestAuthenticator::new();
    let mut carol = TestAuthenticator::new();

    register(app, &mut alice_laptop, "alice", &[]).await;
    next_day(); // 1
    register(app, &mut bob, "bob", &[]).await;
    sign_in_as(app, &mut alice_laptop, "alice").await;
    next_day(); // 2
    register(app, &mut alice_phone, "alice", &[]).await;
    next_day(); // 3
    next_day(); // 4
    register(app, &mut carol, "carol", &[]).await;
    // A user is counted once a day however often, and with whichever key, they sign in.
    sign_in_as(app, &mut alice_laptop, "alice").await;
    sign_in_as(app, &mut alice_phone, "alice").await;
    sign_in_as(app, &mut bob, "bob").await;
    for _ in 5..=9 {
        next_day();
    }
    sign_in_as(app, &mut carol, "carol").await;
    next_day(); // 10
    next_day(); // 11
    sign_in_as(app, &mut carol, "carol").await;
    day0
}

#[tokio::test]
async fn reports_count_per_day() {
    let server = TestServer::start().await;
    let app = server.create_app("reportapp").await;
    let day0 = twelve_days(&server, &app).await;

    // Cumulative users (with a credential) and credentials by the end of each day.
    let r = report(&app, CREDENTIALS, &range(day0, 0, 11)).await;
    let mut expected = vec![(1, 1), (2, 2), (2, 3), (2, 3), (3, 4)];
    expected.extend([(3, 4); 7]);
    assert_eq!(*r.ok(), credential_rows(day0, 0, &expected));

    // Daily, weekly (the seven days ending that day) and registered users.
    let r = report(&app, ACTIVE_USERS, &range(day0, 0, 11)).await;
    let expected = [
        (0, 0, 1), // 0
        (1, 1, 2), // 1: alice
        (0, 1, 2),
        (0, 1, 2),
        (2, 2, 3), // 4: alice, bob
        (0, 2, 3),
        (0, 2, 3),
        (0, 2, 3), // 7: days 1..=7
        (0, 2, 3), // 8: days 2..=8, still day 4's pair
        (1, 3, 3), // 9: carol joins them
        (0, 3, 3), // 10: days 4..=10
        (1, 1, 3), // 11: days 5..=11, only carol
    ];
    assert_eq!(*r.ok(), active_rows(day0, 0, &expected));

    // A later window starts from everything before it: totals carry over, and the weekly
    // count of its first day looks back before `from`.
    let r = report(&app, CREDENTIALS, &range(day0, 2, 4)).await;
    assert_eq!(*r.ok(), credential_rows(day0, 2, &[(2, 3), (2, 3), (3, 4)]));
    let r = report(&app, ACTIVE_USERS, &range(day0, 3, 3)).await;
    assert_eq!(*r.ok(), active_rows(day0, 3, &[(0, 1, 2)]));

    // Without from/to: from the app's first day up to today.
    let today = date(server.clock_now());
    for path in [CREDENTIALS, ACTIVE_USERS] {
        let r = report(&app, path, "").await;
        let rows = r.ok().as_array().expect("rows");
        assert_eq!(rows.len(), 12, "{path}");
        assert_eq!(rows[0]["createdAt"], date(day0), "{path}");
        assert_eq!(rows[11]["createdAt"], today, "{path}");
    }
}

#[tokio::test]
async fn other_apps_see_nothing_of_this_one() {
    let server = TestServer::start().await;
    let app = server.create_app("busyapp").await;
    let day0 = twelve_days(&server, &app).await;
    let other = server.create_app("quietapp").await;

    let r = report(&other, CREDENTIALS, &range(day0, 0, 11)).await;
    assert_eq!(*r.ok(), credential_rows(day0, 0, &[(0, 0); 12]));
    let r = report(&other, ACTIVE_USERS, &range(day0, 0, 11)).await;
    assert_eq!(*r.ok(), active_rows(day0, 0, &[(0, 0, 0); 12]));
    // Its default range is its own: created today, so one row.
    let r = report(&other, ACTIVE_USERS, "").await;
    assert_eq!(*r.ok(), active_rows(day0, 11, &[(0, 0, 0)]));
}

#[tokio::test]
async fn bad_ranges_are_refused() {
    let server = TestServer::start().await;
    let app = server.create_app("rangeapp").await;
    let cases = [
        ("?from=2024-02-30", "from"),
        ("?from=yesterday", "from"),
        ("?to=2024/01/01", "to"),
        ("?from=2024-01-01T00:00:00Z", "from"),
        ("?from=2024-03-02&to=2024-03-01", "from"),
        // 367 days, one more than a report covers.
        ("?from=2024-01-01&to=2025-01-01", "from"),
    ];
    for path in [CREDENTIALS, ACTIVE_USERS] {
        for (query, field) in cases {
            let r = report(&app, path, query).await;
            let problem = r.problem(400, "validation_error");
            assert!(
                problem["errors"][field].is_array(),
                "{path}{query}: {}",
                r.text
            );
        }
        // The longest range allowed: 366 days (2024 is a leap year).
        let r = report(&app, path, "?from=2024-01-01&to=2024-12-31").await;
        let rows = r.ok().as_array().expect("rows");
        assert_eq!(rows.len(), 366, "{path}");
        assert_eq!(rows[0]["createdAt"], "2024-01-01");
        assert_eq!(rows[365]["createdAt"], "2024-12-31");
    }

    // For an app older than that, the default range is the last 366 days.
    server.clock.advance(Duration::days(400));
    let r = report(&app, CREDENTIALS, "").await;
    let rows = r.ok().as_array().expect("rows");
    assert_eq!(rows.len(), 366);
    assert_eq!(rows[365]["createdAt"], date(server.clock_now()));
}
