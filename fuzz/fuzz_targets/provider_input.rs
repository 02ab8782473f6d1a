//! What the providers bring, as the server reads it: a WhatsApp webhook's body (messages,
//! statuses, calls), a Telegram
//! update, an email (MIME, charsets, HTML, a bounce) and a reply's quoted history. Any bytes give
//! a clean error or a reading, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_server::providers::{email, telegram, whatsapp};

fuzz_target!(|data: &[u8]| {
    if let Ok(delivery) = whatsapp::parse(data, "106540352242922") {
        for s in &delivery.statuses {
            let _status = whatsapp::status_of(s, 0);
        }
        for (call, name, errors) in &delivery.calls {
            if let Ok(report) = whatsapp::call_report(call, name, errors, 0)
                && let Some(end) = &report.end
            {
                assert!(end.duration_secs.is_none() || end.outcome == outpost_protocol::CallOutcome::Answered);
            }
        }
    }
    let _update = telegram::parse(data);
    let _email = email::read(data, "loja@loja.test");
    if let Ok(text) = std::str::from_utf8(data) {
        let _folded = email::fold_quoted(text);
    }
});
