//! Read-mostly rows kept in memory: API keys with their app, and purposes. Every request
//! needs them and they rarely change.
//!
//! A change made through this process's store drops the app's entries at once. A change made
//! by another replica (or process) on the same database is seen when the entry is older than
//! [`BOUND`]: then it is read again. So a locked key or a frozen app stops working everywhere
//! within that bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{ApiKeyRecord, AppRecord, AuthConfigRecord};

/// How long another replica's change can go unseen.
pub const BOUND: Duration = Duration::from_secs(1);
/// Entries per map; past it the map starts over, so that unknown names cannot grow it.
const MAX_ENTRIES: usize = 10_000;

type Entries<T> = Mutex<HashMap<(String, String), (Instant, T)>>;

/// How long a sample of credential-list shapes is used; it only shapes stand-ins.
pub const SHAPES_BOUND: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Cache {
    keys: Entries<(ApiKeyRecord, AppRecord)>,
    purposes: Entries<Option<AuthConfigRecord>>,
    /// Id lengths of users' credential lists, per app (the name is empty).
    shapes: Entries<Vec<Vec<u16>>>,
}

fn get<T: Clone>(map: &Entries<T>, app_id: &str, name: &str, bound: Duration) -> Option<T> {
    let map = map.lock().ok()?;
    let (at, value) = map.get(&(app_id.to_owned(), name.to_owned()))?;
    (at.elapsed() < bound).then(|| value.clone())
}

fn put<T>(map: &Entries<T>, app_id: &str, name: &str, value: T, read_at: Instant) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((app_id.to_owned(), name.to_owned()), (read_at, value));
    }
}

impl Cache {
    pub fn key(&self, app_id: &str, key_id: &str) -> Option<(ApiKeyRecord, AppRecord)> {
        get(&self.keys, app_id, key_id, BOUND)
    }

    /// `read_at` is taken before the read, so that an entry never looks fresher than it is.
    pub fn put_key(&self, key: &(ApiKeyRecord, AppRecord), read_at: Instant) {
        put(
            &self.keys,
            &key.0.app_id,
            &key.0.key_id,
            key.clone(),
            read_at,
        );
    }

    /// `Some(None)`: known not to exist.
    pub fn purpose(&self, app_id: &str, purpose: &str) -> Option<Option<AuthConfigRecord>> {
        get(&self.purposes, app_id, purpose, BOUND)
    }

    pub fn put_purpose(
        &self,
        app_id: &str,
        purpose: &str,
        value: Option<AuthConfigRecord>,
        read_at: Instant,
    ) {
        put(&self.purposes, app_id, purpose, value, read_at);
    }

    pub fn shapes(&self, app_id: &str) -> Option<Vec<Vec<u16>>> {
        get(&self.shapes, app_id, "", SHAPES_BOUND)
    }

    pub fn put_shapes(&self, app_id: &str, shapes: Vec<Vec<u16>>, read_at: Instant) {
        put(&self.shapes, app_id, "", shapes, read_at);
    }

    /// Forgets everything about an app after a change to it.
    pub fn forget(&self, app_id: &str) {
        if let Ok(mut m) = self.keys.lock() {
            m.retain(|(app, _), _| app != app_id);
        }
        if let Ok(mut m) = self.purposes.lock() {
            m.retain(|(app, _), _| app != app_id);
        }
    }
}
