//! The core's demo (`cargo xtask run`): a fresh mirror, a generated workspace loaded through the
//! change feed, then the folder counts and the first page of the Mine view.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use outpost_core::generate::{Generator, Spec};
use outpost_core::store::{ListQuery, ViewRef};
use outpost_core::{Client, IndexMode, SystemClock};
use outpost_protocol::Folder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("outpost-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("mirror.db");
    let clock = Arc::new(SystemClock);
    let client = Client::open(&path, clock.clone())?;
    let mut generator = Generator::new(Spec::small(outpost_core::Clock::now(&*clock)));
    // The demo agent: an unrestricted agent with a team, so every view has something in it.
    let me = generator.agents[2].clone();
    client.set_me(&me)?;
    let started = std::time::Instant::now();
    while let Some(page) = generator.next_page(1_000) {
        client.ingest(&page, IndexMode::Deferred)?;
    }
    client.store().finish_bulk_load()?;
    println!(
        "Outpost demo: {} messages loaded into {} in {:.0?}\nSigned in as {} ({:?}, {:?})\n",
        generator.messages_made(),
        path.display(),
        started.elapsed(),
        me.name,
        me.role,
        me.visibility
    );
    let counts = client.store().counts()?;
    println!("{:<10} {:>8}", "Folder", "Messages");
    for (folder, n) in &counts.folders {
        println!("{:<10} {:>8}", format!("{folder:?}"), n);
    }
    let total: u64 = counts.folders.iter().map(|(_, n)| n).sum();
    println!("{:<10} {:>8}\n", "Total", total);
    let teams = client.store().teams()?;
    for v in &counts.views {
        let name = match v.view {
            ViewRef::Team(t) => teams
                .iter()
                .find(|x| x.id == t)
                .map_or("Team".to_owned(), |x| x.name.clone()),
            other => format!("{other:?}"),
        };
        println!(
            "{:<14} {:>6} open{}",
            name,
            v.open,
            if v.dot { "  •" } else { "" }
        );
    }
    let page = client
        .store()
        .list_conversations(&ListQuery::new(ViewRef::Mine), client.now())?;
    println!(
        "\nMine, newest message first ({} shown):",
        page.rows.len().min(15)
    );
    for row in page.rows.iter().take(15) {
        let c = &row.conversation;
        println!(
            "  {:<24} {:<9} {:>2} unread  {}  {}",
            row.contact_name,
            c.channel.as_str(),
            c.unread_count,
            if c.last_message_direction == Some(outpost_protocol::Direction::Incoming) {
                "←"
            } else {
                "→"
            },
            c.last_message_preview.chars().take(60).collect::<String>()
        );
    }
    let outbox = client.store().list_folder(Folder::Failed, None, 3)?;
    println!("\nFailed (latest {}):", outbox.rows.len());
    for r in &outbox.rows {
        println!(
            "  {} — {}",
            r.contact_name,
            r.message.failure.as_deref().unwrap_or("")
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
