//! `cargo xtask bench core`: the mirror's figures on a generated workspace of 1,000,000
//! messages, 50,000 conversations and 20,000 contacts, printed as a table against their goals.
//!
//! Options: `--messages N` (and the rest scaled down with it) for a quick run; `--keep` keeps the
//! databases under target/bench-data.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_core::generate::{COMMON_WORD, Generator, RARE_WORD};
use outpost_core::store::{ListQuery, Sort, ViewRef};
use outpost_core::{Client, IndexMode, ManualClock};
use outpost_protocol::{Action, ConversationId, MessageId, Millis};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[path = "common/bench.rs"]
mod bench;
use bench::{percentile, spec_from_args};

#[path = "common/ceiling.rs"]
mod ceiling;
use ceiling::ceiling;

const NOW: Millis = 1_767_225_600_000; // 2026-01-01

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

struct Table(Vec<(String, String, String, Option<bool>)>);

impl Table {
    fn row(
        &mut self,
        metric: impl Into<String>,
        value: impl Into<String>,
        goal: impl Into<String>,
        ok: Option<bool>,
    ) {
        self.0.push((metric.into(), value.into(), goal.into(), ok));
    }

    fn print(&self) {
        let w0 = self
            .0
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let w1 = self
            .0
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let w2 = self
            .0
            .iter()
            .map(|r| r.2.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        println!(
            "\n| {:<w0$} | {:>w1$} | {:<w2$} |      |",
            "metric", "value", "goal"
        );
        println!(
            "|{}|{}|{}|------|",
            "-".repeat(w0 + 2),
            "-".repeat(w1 + 2),
            "-".repeat(w2 + 2)
        );
        for (m, v, g, ok) in &self.0 {
            let verdict = match ok {
                Some(true) => " ok ",
                Some(false) => "MISS",
                None => "    ",
            };
            println!("| {m:<w0$} | {v:>w1$} | {g:<w2$} | {verdict} |");
        }
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn file_mib(path: &std::path::Path) -> f64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len() as f64)
        .sum::<f64>()
        / (1024.0 * 1024.0)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let keep = args.iter().any(|a| a == "--keep");
    // Stop after loading (for profiling the ingest path alone).
    let ingest_only = args.iter().any(|a| a == "--ingest-only");
    let spec = spec_from_args(&args, NOW)?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let page_size = 1_000;
    println!(
        "Outpost core benchmark: {} messages, {} conversations, {} contacts; pages of {page_size}",
        spec.messages, spec.conversations, spec.contacts
    );
    let mut table = Table(Vec::new());

    // ---- Ingest ----
    println!("ingest through the change feed…");
    let clock = Arc::new(ManualClock::new(NOW));
    let path = dir.join("mirror.db");
    let client = Client::open(&path, clock.clone())?;
    let mut generator = Generator::new(spec.clone());
    let me = generator.agents[2].clone(); // an unrestricted agent with a team
    client.set_me(&me)?;
    let mut ingest_time = Duration::ZERO;
    let mut first_page_recent = None;
    while let Some(page) = generator.next_page(page_size) {
        let started = Instant::now();
        client.ingest(&page, IndexMode::Deferred)?;
        ingest_time += started.elapsed();
        first_page_recent.get_or_insert(ingest_time);
    }
    if ingest_only {
        let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
        println!(
            "ingest: {:.0} msg/s ({} messages in {:.1} s); WAL now {:.0} MiB",
            generator.messages_made() as f64 / ingest_time.as_secs_f64(),
            generator.messages_made(),
            ingest_time.as_secs_f64(),
            wal as f64 / 1048576.0
        );
        return Ok(());
    }
    let started = Instant::now();
    client.store().finish_bulk_load()?;
    let index_time = started.elapsed();
    let messages = generator.messages_made();
    let rate = messages as f64 / ingest_time.as_secs_f64();
    // The ceiling runs second, so that a cold cache can only understate our ratio.
    println!("ceiling: plain batched INSERT…");
    let (ceiling_messages, ceiling_time) = ceiling(&spec, &dir.join("ceiling.db"), page_size)?;
    let ceiling_rate = ceiling_messages as f64 / ceiling_time.as_secs_f64();

    let ratio = rate / ceiling_rate;
    table.row(
        "ingest, pages of 1,000 (FTS deferred)",
        format!("{rate:.0} msg/s"),
        "",
        None,
    );
    table.row(
        "ceiling: plain batched INSERT, no FTS",
        format!("{ceiling_rate:.0} msg/s"),
        "",
        None,
    );
    table.row(
        "ingest / ceiling",
        format!("{ratio:.2}"),
        ">= 0.5",
        Some(ratio >= 0.5),
    );
    table.row(
        "full-text index build after load",
        format!("{:.1} s", index_time.as_secs_f64()),
        "",
        None,
    );
    let with_index = messages as f64 / (ingest_time + index_time).as_secs_f64();
    table.row(
        "ingest including index build",
        format!("{with_index:.0} msg/s"),
        "",
        None,
    );

    // ---- Reads ----
    let store = client.store();
    let teams = store.teams()?;
    let mut views = vec![ViewRef::All, ViewRef::Mine, ViewRef::Unassigned];
    if let Some(t) = me.teams.first() {
        views.push(ViewRef::Team(*t));
    }
    let _ = teams;
    let runs = 200;
    let mut worst_list = Duration::ZERO;
    for view in &views {
        for sort in Sort::ALL {
            let mut samples = Vec::with_capacity(runs);
            let mut q = ListQuery::new(*view);
            q.sort = sort;
            for i in 0..runs {
                // Alternate the first page and a deeper one (keyset from the previous page).
                let started = Instant::now();
                let page = store.list_conversations(&q, NOW)?;
                samples.push(started.elapsed());
                q.after = if i % 4 == 3 { None } else { page.next };
            }
            let p99 = percentile(&mut samples, 0.99);
            worst_list = worst_list.max(p99);
            let name = match view {
                ViewRef::Team(_) => "Team".to_owned(),
                other => format!("{other:?}"),
            };
            table.row(
                format!("list page of 50: {name} x {sort:?}, p99"),
                ms(p99),
                "< 2 ms",
                Some(p99 < Duration::from_millis(2)),
            );
        }
    }
    let mut samples: Vec<Duration> = (0..1_000)
        .map(|_| {
            let started = Instant::now();
            let _ = store.folder_counts();
            started.elapsed()
        })
        .collect();
    let p99 = percentile(&mut samples, 0.99);
    table.row(
        "folder counts, p99",
        ms(p99),
        "< 1 ms",
        Some(p99 < Duration::from_millis(1)),
    );
    let mut samples: Vec<Duration> = (0..200)
        .map(|_| {
            let started = Instant::now();
            let _ = store.counts();
            started.elapsed()
        })
        .collect();
    table.row(
        "side bar: folder + view counts + dots, p99",
        ms(percentile(&mut samples, 0.99)),
        "",
        None,
    );

    let conversation_ids: Vec<ConversationId> = store.read(|c| {
        Ok(
            c.prepare("SELECT uuid FROM conversations ORDER BY random() LIMIT 500")?
                .query_map([], |r| r.get(0).map(ConversationId))?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        )
    })?;
    let mut samples = Vec::new();
    for id in &conversation_ids {
        let started = Instant::now();
        let t = store.open_conversation(*id, None, 50)?;
        samples.push(started.elapsed());
        assert!(!t.items.is_empty());
    }
    let p99 = percentile(&mut samples, 0.99);
    table.row(
        "open conversation (50 messages + events), p99",
        ms(p99),
        "< 5 ms",
        Some(p99 < Duration::from_millis(5)),
    );

    for (label, word) in [
        ("common word (1% of messages)", COMMON_WORD),
        ("rare word", RARE_WORD),
    ] {
        let mut samples = Vec::new();
        let mut hits = 0;
        for _ in 0..200 {
            let started = Instant::now();
            let r = store.search(word, 50)?;
            samples.push(started.elapsed());
            hits = r.messages.len();
        }
        let p99 = percentile(&mut samples, 0.99);
        table.row(
            format!("search, {label}, {hits} hits, p99"),
            ms(p99),
            "< 10 ms",
            Some(p99 < Duration::from_millis(10)),
        );
    }
    let mut samples = Vec::new();
    let mut prefix_hits = 0;
    for _ in 0..200 {
        let started = Instant::now();
        let r = store.search("pedi", 50)?;
        samples.push(started.elapsed());
        prefix_hits = r.messages.len() + r.contacts.len();
    }
    table.row(
        format!("search, prefix \"pedi\", {prefix_hits} hits, p99"),
        ms(percentile(&mut samples, 0.99)),
        "",
        None,
    );

    // ---- Acting ----
    let mut samples = Vec::new();
    for (i, id) in conversation_ids.iter().cycle().take(1_000).enumerate() {
        clock.advance(1_000);
        let action = match i % 4 {
            0 => Action::SetUnanswered {
                conversation_id: *id,
                unanswered: i % 8 == 0,
            },
            1 => Action::MarkRead {
                conversation_id: *id,
            },
            2 => Action::ScheduleMessage {
                message_id: MessageId::new(),
                conversation_id: *id,
                text: "Bom dia! Retorno amanhã com a confirmação.".into(),
                attachments: vec![],
                template: None,
                send_at: NOW + 86_400_000,
            },
            _ => Action::SetTeam {
                conversation_id: *id,
                team: me.teams.first().copied(),
            },
        };
        let started = Instant::now();
        let _ = client.act(action);
        samples.push(started.elapsed());
    }
    let p99 = percentile(&mut samples, 0.99);
    table.row(
        "apply one op (action to committed), p99",
        ms(p99),
        "< 5 ms",
        Some(p99 < Duration::from_millis(5)),
    );
    table.row(
        "apply one op, p50",
        ms(percentile(&mut samples, 0.50)),
        "",
        None,
    );

    // ---- Size ----
    store.with_writer(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))?;
    table.row(
        "database size on disk",
        format!("{:.0} MiB", file_mib(&path)),
        "",
        None,
    );
    table.row(
        "ceiling database size (no FTS)",
        format!("{:.0} MiB", file_mib(&dir.join("ceiling.db"))),
        "",
        None,
    );
    table.row(
        "peak RSS of the benchmark",
        format!("{:.0} MiB", peak_rss_mib()),
        "",
        None,
    );
    let _ = worst_list;
    let _ = first_page_recent;
    table.print();
    let total: u64 = store.folder_counts()?.iter().map(|(_, n)| n).sum();
    println!(
        "\n{total} messages in the mirror's folders; {}.",
        if keep {
            format!("databases kept in {}", dir.display())
        } else {
            "databases removed".into()
        }
    );
    drop(client);
    if !keep {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
