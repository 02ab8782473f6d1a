//! What the server counts, in Prometheus' text format (`GET /metrics`, answered only to a client
//! on this machine: it says how busy the business is). Counters are atomics bumped where things
//! happen; gauges are read when scraped.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use outpost_protocol::ChannelKind;

/// HTTP status classes counted apart.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
pub struct Metrics {
    /// Requests answered, by status class.
    requests: [AtomicU64; 5],
    /// Agents' ops applied and refused.
    ops_applied: AtomicU64,
    ops_refused: AtomicU64,
    /// Stream (WebSocket) clients connected now.
    stream_clients: AtomicU64,
    /// Messages a provider refused, by channel kind (index in `ChannelKind::ALL`).
    provider_errors: [AtomicU64; 7],
}

/// What is read at scrape time.
pub struct Gauges {
    pub feed_head: u64,
    pub outgoing_queue: u64,
}

/// Keeps a stream counted while it lives.
pub struct StreamGuard<'m>(&'m Metrics);

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        self.0.stream_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn request(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(1).min(4);
        self.requests[class].fetch_add(1, Ordering::Relaxed);
    }

    pub fn ops(&self, applied: u64, refused: u64) {
        self.ops_applied.fetch_add(applied, Ordering::Relaxed);
        self.ops_refused.fetch_add(refused, Ordering::Relaxed);
    }

    pub fn stream_opened(&self) -> StreamGuard<'_> {
        self.stream_clients.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self)
    }

    pub fn provider_error(&self, kind: ChannelKind) {
        if let Some(i) = ChannelKind::ALL.iter().position(|k| *k == kind) {
            self.provider_errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The text exposition format, version 0.0.4.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            // Writing to a String cannot fail.
            let _fmt = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _fmt = writeln!(out, "{name}{labels} {v}");
            }
        };
        let requests: Vec<(String, u64)> = CLASSES
            .iter()
            .zip(&self.requests)
            .map(|(c, n)| (format!("{{class=\"{c}\"}}"), n.load(Ordering::Relaxed)))
            .collect();
        metric(
            "outpost_http_requests_total",
            "counter",
            "HTTP requests answered, by status class.",
            &requests,
        );
        metric(
            "outpost_ops_total",
            "counter",
            "Agents' ops judged, by result.",
            &[
                (
                    "{result=\"applied\"}".into(),
                    self.ops_applied.load(Ordering::Relaxed),
                ),
                (
                    "{result=\"refused\"}".into(),
                    self.ops_refused.load(Ordering::Relaxed),
                ),
            ],
        );
        metric(
            "outpost_feed_head",
            "gauge",
            "The last sequence number of the change feed.",
            &[(String::new(), gauges.feed_head)],
        );
        metric(
            "outpost_stream_clients",
            "gauge",
            "Desktop clients connected to the realtime stream.",
            &[(String::new(), self.stream_clients.load(Ordering::Relaxed))],
        );
        metric(
            "outpost_outgoing_queue",
            "gauge",
            "Outgoing messages the server holds that no provider has taken yet.",
            &[(String::new(), gauges.outgoing_queue)],
        );
        let errors: Vec<(String, u64)> = ChannelKind::ALL
            .iter()
            .zip(&self.provider_errors)
            .map(|(k, n)| {
                (
                    format!("{{kind=\"{}\"}}", k.as_str()),
                    n.load(Ordering::Relaxed),
                )
            })
            .collect();
        metric(
            "outpost_provider_errors_total",
            "counter",
            "Outgoing messages a channel's provider refused, by channel kind.",
            &errors,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_its_values() {
        let m = Metrics::default();
        m.request(200);
        m.request(204);
        m.request(503);
        m.ops(3, 1);
        let guard = m.stream_opened();
        m.provider_error(ChannelKind::Whatsapp);
        let text = m.render(&Gauges {
            feed_head: 42,
            outgoing_queue: 7,
        });
        assert!(
            text.contains("outpost_http_requests_total{class=\"2xx\"} 2"),
            "{text}"
        );
        assert!(text.contains("outpost_http_requests_total{class=\"5xx\"} 1"));
        assert!(text.contains("outpost_ops_total{result=\"refused\"} 1"));
        assert!(text.contains("outpost_feed_head 42"));
        assert!(text.contains("outpost_stream_clients 1"));
        assert!(text.contains("outpost_outgoing_queue 7"));
        assert!(text.contains("outpost_provider_errors_total{kind=\"whatsapp\"} 1"));
        drop(guard);
        assert!(
            m.render(&Gauges {
                feed_head: 0,
                outgoing_queue: 0
            })
            .contains("outpost_stream_clients 0")
        );
    }
}
