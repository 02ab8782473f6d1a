//! Providers' failures as the interface says them: the provider's own code and words, and the
//! reason (`reasons.<key>` in the interface's translations). A leaf: the channel layer's test
//! provider and the real providers both say failures this way.

use outpost_protocol::Reason;

/// WhatsApp error codes the interface explains in its own words (`reasons.whatsapp_<code>`);
/// any other is said as WhatsApp's code and words (`provider_error`).
pub const WHATSAPP_EXPLAINED: &[i64] = &[
    190, 130429, 131026, 131047, 131048, 131049, 131051, 131056, 131030, 131031, 132000, 132001,
    133010,
];

/// A WhatsApp error: "(#code) title: details", and its reason.
pub fn whatsapp(code: i64, title: &str, details: &str) -> (String, Reason) {
    let mut text = format!("(#{code}) {}", title.trim());
    if !details.trim().is_empty() && details.trim() != title.trim() {
        text.push_str(": ");
        text.push_str(details.trim());
    }
    let code_s = code.to_string();
    let mut reason;
    if WHATSAPP_EXPLAINED.contains(&code) {
        reason = Reason::new(&format!("whatsapp_{code}"));
        reason.params.insert("code".into(), code_s);
    } else {
        let detail = if details.trim().is_empty() {
            title
        } else {
            details
        };
        reason = Reason::new("provider_error");
        reason.params.insert("provider".into(), "WhatsApp".into());
        reason.params.insert("code".into(), code_s);
        reason.params.insert("detail".into(), detail.trim().into());
    }
    (text, reason)
}
