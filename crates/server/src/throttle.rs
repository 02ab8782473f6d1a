//! Per-key token buckets: how much one agent (or one agent in one conversation) may ask of the
//! server per second, so that no one agent's flood costs the others. A bucket holds up to
//! `burst` tokens and refills at `rate` a second; taking more than it holds is refused with
//! the time until it would hold enough. Memory is bounded: past [`MAX_KEYS`] keys, the full
//! (idle) buckets are dropped, as a new key would start full anyway.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_KEYS: usize = 100_000;

pub struct Buckets<K> {
    rate: f64,
    burst: f64,
    map: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(rate: f64, burst: f64) -> Buckets<K> {
        Buckets {
            rate,
            burst,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Tokens a second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Tokens a bucket holds at most.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Takes `n` tokens from `key`'s bucket, or says how long until it holds them. A request
    /// larger than the burst is measured against a full bucket (it waits for one).
    pub fn take(&self, key: &K, n: f64) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = map.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        let need = n.min(self.burst);
        if *tokens >= need {
            *tokens -= need;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((need - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod throttle_tests;
