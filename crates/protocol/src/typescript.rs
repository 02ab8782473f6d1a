//! The TypeScript declarations of every wire type, for the UI. Generated from the Rust types by
//! ts-rs; the core adds its Request/Response/Event and writes the file (see `outpost-core`).

use ts_rs::{Config, TS};

/// The ts-rs settings every generated declaration uses: 64-bit integers are plain numbers
/// (timestamps in milliseconds and sequence numbers stay far below 2^53).
pub fn config() -> Config {
    Config::new().with_large_int("number")
}

/// `export type Name = ...;` for one type.
pub fn export_decl<T: TS + ?Sized>(cfg: &Config) -> String {
    let decl = T::decl(cfg);
    let docs = T::docs().unwrap_or_default();
    format!("{docs}export {decl}\n")
}

/// The declarations of the protocol's own types, in a stable order.
pub fn protocol_declarations(cfg: &Config) -> Vec<String> {
    use crate::*;
    vec![
        export_decl::<ContactId>(cfg),
        export_decl::<ConversationId>(cfg),
        export_decl::<MessageId>(cfg),
        export_decl::<EventId>(cfg),
        export_decl::<AgentId>(cfg),
        export_decl::<TeamId>(cfg),
        export_decl::<ViewId>(cfg),
        export_decl::<OpId>(cfg),
        export_decl::<ChannelKind>(cfg),
        export_decl::<ChannelIdentity>(cfg),
        export_decl::<Contact>(cfg),
        export_decl::<ConversationState>(cfg),
        export_decl::<Direction>(cfg),
        export_decl::<Conversation>(cfg),
        export_decl::<MessageStatus>(cfg),
        export_decl::<StatusStamp>(cfg),
        export_decl::<SenderKind>(cfg),
        export_decl::<Sender>(cfg),
        export_decl::<AttachmentKind>(cfg),
        export_decl::<Attachment>(cfg),
        export_decl::<TemplateRef>(cfg),
        export_decl::<Message>(cfg),
        export_decl::<ActorKind>(cfg),
        export_decl::<Actor>(cfg),
        export_decl::<EventKind>(cfg),
        export_decl::<ConversationEvent>(cfg),
        export_decl::<Role>(cfg),
        export_decl::<Visibility>(cfg),
        export_decl::<Availability>(cfg),
        export_decl::<Agent>(cfg),
        export_decl::<Team>(cfg),
        export_decl::<ContactField>(cfg),
        export_decl::<TextOp>(cfg),
        export_decl::<Compare>(cfg),
        export_decl::<Condition>(cfg),
        export_decl::<Sharing>(cfg),
        export_decl::<CustomView>(cfg),
        export_decl::<NotifyCategory>(cfg),
        export_decl::<QuietHours>(cfg),
        export_decl::<NotifySettings>(cfg),
        export_decl::<Folder>(cfg),
        export_decl::<Entity>(cfg),
        export_decl::<EntityRef>(cfg),
        export_decl::<ChangeKind>(cfg),
        export_decl::<Change>(cfg),
        export_decl::<ChangesPage>(cfg),
        export_decl::<RecentSnapshot>(cfg),
        export_decl::<ContactEdit>(cfg),
        export_decl::<Action>(cfg),
        export_decl::<Op>(cfg),
        export_decl::<ErrorCode>(cfg),
        export_decl::<OpOutcome>(cfg),
        export_decl::<OpResult>(cfg),
        export_decl::<ErrorBody>(cfg),
        export_decl::<Presence>(cfg),
        export_decl::<StreamFrame>(cfg),
        export_decl::<ClientFrame>(cfg),
    ]
}
