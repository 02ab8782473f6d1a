//! What the server keeps of uploaded files beyond their bytes: their type, read from the bytes
//! (never the uploader's claim), and how much an agent may upload.

use outpost_protocol::Millis;

/// Bytes one agent may upload within [`QUOTA_WINDOW`].
pub const DAILY_QUOTA: u64 = 2 * 1024 * 1024 * 1024;
pub const QUOTA_WINDOW: Millis = 24 * 60 * 60 * 1000;
/// An upload no message names is removed after this long.
pub const UNCLAIMED_FOR: Millis = 24 * 60 * 60 * 1000;

/// Text types kept as claimed when the bytes are text; any other text is `text/plain`.
const PLAIN_TEXTS: &[&str] = &[
    "text/plain",
    "text/csv",
    "text/calendar",
    "text/vcard",
    "text/x-vcard",
    "application/json",
];

/// The media type of a file, from its bytes: what its signature says (images, documents,
/// archives, audio, video); text, when it is UTF-8 without NULs (the claimed type only if it is
/// a plain one: no HTML, no SVG); else `application/octet-stream`.
pub fn sniff(bytes: &[u8], claimed: &str) -> String {
    // Its text matchers (HTML, XML, scripts) say "markup": that is text here, never a page.
    if let Some(kind) = infer::get(bytes)
        && kind.matcher_type() != infer::MatcherType::Text
    {
        return kind.mime_type().to_owned();
    }
    let head = &bytes[..bytes.len().min(8_192)];
    let text = !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            // Cut in the middle of a character by the 8 KiB window: still text.
            Err(e) => e.error_len().is_none(),
        };
    if text {
        if PLAIN_TEXTS.contains(&claimed) {
            claimed.to_owned()
        } else {
            "text/plain".to_owned()
        }
    } else {
        "application/octet-stream".to_owned()
    }
}

#[cfg(test)]
mod files_tests;
