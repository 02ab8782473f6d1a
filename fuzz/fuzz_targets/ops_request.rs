//! The body of `POST /v1/ops` as the server reads it: decoded, then every action checked. Any
//! bytes give a clean decode error or a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_protocol::OpsRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<OpsRequest>(data) {
        for op in &request.ops {
            let _verdict = op.action.validate();
            // What an accepted action names must survive the round trip the journal makes.
            let again: OpsRequest =
                serde_json::from_str(&serde_json::to_string(&request).expect("encodes"))
                    .expect("decodes what it encoded");
            assert_eq!(again, request);
        }
    }
});
