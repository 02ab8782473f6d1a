//! A page of the change feed as the desktop reads it: decoded, then checked as the mirror checks
//! it before storing anything (order, cursor, every entity valid). Any bytes give a clean error
//! or a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_protocol::ChangesPage;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<ChangesPage>(data) {
        for cursor in [0, page.cursor / 2, page.cursor] {
            let _verdict = page.check(cursor);
        }
        for change in &page.changes {
            if let outpost_protocol::ChangeKind::Upsert { entity } = &change.kind
                && entity.validate().is_ok()
            {
                // A valid entity's folder and preview are computed without panicking.
                if let outpost_protocol::Entity::Message(m) = entity {
                    let _folder = outpost_protocol::Folder::of(m);
                    let _preview = outpost_protocol::rules::message_preview(m);
                }
            }
        }
    }
});
