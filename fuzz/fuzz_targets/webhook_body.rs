//! A channel's inbound webhook body (`POST /v1/channels/<id>/inbound`) as the server reads it:
//! decoded, then checked as it is before anything is stored, for every kind of channel. Any
//! bytes give a clean error or a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_protocol::ChannelKind;
use outpost_server::workspace::{Inbound, check_inbound};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = serde_json::from_slice::<Inbound>(data) {
        for kind in ChannelKind::ALL {
            let _verdict = check_inbound(kind, &message);
        }
        for file in &message.attachments {
            let _name = outpost_protocol::limits::file_name(&file.name);
        }
    }
});
