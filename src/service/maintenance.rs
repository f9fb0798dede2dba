//! Periodic clean-up, run by every replica (each statement is idempotent).

use chrono::Duration;

use crate::Services;

/// Expired tokens are kept a day so that late callers learn "expired" rather than "unknown".
const EXPIRED_TOKEN_GRACE: Duration = Duration::days(1);
/// Dispatched magic-link e-mails are kept for the quota window and a margin.
const EMAIL_RETENTION: Duration = Duration::days(50);

/// Deletes expired tokens, events past each app's retention, old e-mail records and session
/// keys no longer published.
pub async fn run_once(s: &Services) {
    let now = s.clock.now();
    match s.store.purge_tokens(now - EXPIRED_TOKEN_GRACE).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(purged = n, "expired tokens purged"),
        Err(e) => tracing::warn!(error = %e, "purging expired tokens failed"),
    }
    super::events::purge(s, now).await;
    match s.store.purge_emails(now - EMAIL_RETENTION).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(purged = n, "old e-mail records purged"),
        Err(e) => tracing::warn!(error = %e, "purging e-mail records failed"),
    }
    match s.store.purge_session_keys(now).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(purged = n, "retired session keys purged"),
        Err(e) => tracing::warn!(error = %e, "purging retired session keys failed"),
    }
}
