//! Reporting: registered users and credentials per day, and active users per day.
//! Computed from the credentials and a per-day sign-in record, so there is no daily job.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Tenant;
use crate::error::{ApiError, ApiResult};
use crate::wire::{ActiveUserReportItem, CredentialReportItem, PeriodQuery};
use crate::Services;

/// A report covers at most this many days.
const MAX_DAYS: i64 = 366;

/// Days since 1970-01-01 of a time, in UTC.
#[must_use]
pub fn day_number(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

fn date_of(day: i64) -> String {
    (NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days(day))
        .format("%Y-%m-%d")
        .to_string()
}

/// The inclusive day range of a request: defaults are the app's first day and today.
fn period(tenant: &Tenant, q: &PeriodQuery) -> ApiResult<(i64, i64)> {
    let parse = |field: &str, text: &Option<String>| -> ApiResult<Option<i64>> {
        match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| {
                    Some(day_number(
                        d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                    ))
                })
                .map_err(|_| {
                    ApiError::validation(
                        field,
                        format!("The value '{t}' is not a date (YYYY-MM-DD)."),
                    )
                }),
        }
    };
    let today = day_number(tenant.now);
    let to = parse("to", &q.to)?.unwrap_or(today);
    let from = parse("from", &q.from)?
        .unwrap_or_else(|| day_number(tenant.app.created_at).max(to - (MAX_DAYS - 1)));
    if from > to {
        return Err(ApiError::validation(
            "from",
            "The date 'from' must not be after 'to'.",
        ));
    }
    if to - from >= MAX_DAYS {
        return Err(ApiError::validation(
            "from",
            format!("A report covers at most {MAX_DAYS} days."),
        ));
    }
    Ok((from, to))
}

/// For each day: users with a credential and credentials, as registered by the end of that day.
pub async fn credentials(
    s: &Services,
    tenant: &Tenant,
    q: PeriodQuery,
) -> ApiResult<Vec<CredentialReportItem>> {
    let (from, to) = period(tenant, &q)?;
    let created = s.store.credential_creations(&tenant.app.id).await?;
    let (new_credentials, new_users) = per_day(&created);
    // Everything registered before the period counts towards its first day.
    let mut credentials: i64 = new_credentials.range(..from).map(|(_, n)| n).sum();
    let mut users: i64 = new_users.range(..from).map(|(_, n)| n).sum();
    let mut report = Vec::new();
    for day in from..=to {
        credentials += new_credentials.get(&day).copied().unwrap_or(0);
        users += new_users.get(&day).copied().unwrap_or(0);
        report.push(CredentialReportItem {
            created_at: date_of(day),
            users,
            credentials,
        });
    }
    Ok(report)
}

/// New credentials per day, and new users (by their first credential) per day.
fn per_day(created: &[(String, DateTime<Utc>)]) -> (BTreeMap<i64, i64>, BTreeMap<i64, i64>) {
    let mut credentials = BTreeMap::new();
    let mut first: HashMap<&str, i64> = HashMap::new();
    for (user, at) in created {
        let day = day_number(*at);
        *credentials.entry(day).or_insert(0) += 1;
        first
            .entry(user.as_str())
            .and_modify(|d| *d = (*d).min(day))
            .or_insert(day);
    }
    let mut users = BTreeMap::new();
    for day in first.into_values() {
        *users.entry(day).or_insert(0) += 1;
    }
    (credentials, users)
}

/// For each day: users who signed in that day, in the seven days ending that day, and users
/// registered by then.
pub async fn active_users(
    s: &Services,
    tenant: &Tenant,
    q: PeriodQuery,
) -> ApiResult<Vec<ActiveUserReportItem>> {
    let (from, to) = period(tenant, &q)?;
    let app_id = &tenant.app.id;
    let signins = s.store.signin_days(app_id, from - 6, to).await?;
    let mut by_day: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    for (day, user) in &signins {
        by_day.entry(*day).or_default().insert(user.as_str());
    }
    let created = s.store.credential_creations(app_id).await?;
    let (_, new_users) = per_day(&created);
    let mut total: i64 = new_users.range(..from).map(|(_, n)| n).sum();
    let mut report = Vec::new();
    for day in from..=to {
        total += new_users.get(&day).copied().unwrap_or(0);
        let daily = by_day.get(&day).map_or(0, BTreeSet::len);
        let weekly: BTreeSet<&str> = by_day
            .range(day - 6..=day)
            .flat_map(|(_, users)| users.iter().copied())
            .collect();
        report.push(ActiveUserReportItem {
            created_at: date_of(day),
            daily_active_users: i64::try_from(daily).unwrap_or(i64::MAX),
            weekly_active_users: i64::try_from(weekly.len()).unwrap_or(i64::MAX),
            total_users: total,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(date_of(0), "1970-01-01");
        let t = DateTime::parse_from_rfc3339("2026-11-22T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_of(day_number(t)), "2026-11-22");
    }
}
