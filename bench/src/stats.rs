//! Latency samples and error counts.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Every latency of one kind, in microseconds. A 30-second phase at a few thousand sign-ins/s
/// is a few hundred thousand samples: keeping them all is cheaper than getting a histogram's
/// bucketing right, and the percentiles are exact.
#[derive(Default, Clone)]
pub struct Samples(Vec<u32>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn summary(&self) -> Summary {
        let mut v = self.0.clone();
        v.sort_unstable();
        // Nearest rank: the smallest sample with at least p of all samples at or below it.
        let pct = |p: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            f64::from(v[rank - 1]) / 1000.0
        };
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64 / 1000.0
        };
        Summary {
            count: v.len(),
            mean_ms: mean,
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
            max_ms: v.last().map_or(0.0, |&x| f64::from(x) / 1000.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Failed calls by `"<call>: <status> <errorCode>"`.
#[derive(Default, Clone)]
pub struct Errors(pub BTreeMap<String, u64>);

impl Errors {
    pub fn add(&mut self, call: &str, label: &str) {
        *self.0.entry(format!("{call}: {label}")).or_default() += 1;
    }

    pub fn merge(&mut self, other: Errors) {
        for (k, n) in other.0 {
            *self.0.entry(k).or_default() += n;
        }
    }
}
