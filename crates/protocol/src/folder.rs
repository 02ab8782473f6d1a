//! The folder model. Every message is in exactly one folder at any time, and this module holds the
//! only rule that says which: the server, the client's mirror and the UI all call [`Folder::of`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Direction, Message, MessageStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// Incoming, not handled by a flow.
    Inbox,
    /// Incoming while the contact was active in a flow.
    Flows,
    /// Incoming, archived from Inbox or Flows; restoring returns each to where it came from.
    Archived,
    /// Outgoing, not yet sent: in this desktop's queue or queued at the server.
    Outbox,
    /// Outgoing, sent by anyone of the organisation.
    Sent,
    /// Outgoing, to be sent by the server at a future time.
    Scheduled,
    /// Outgoing, could not be delivered; carries the reason.
    Failed,
}

impl Folder {
    pub const ALL: [Folder; 7] = [
        Folder::Inbox,
        Folder::Flows,
        Folder::Archived,
        Folder::Outbox,
        Folder::Sent,
        Folder::Scheduled,
        Folder::Failed,
    ];

    /// The folder a message is in. Total: a message that breaks the model's invariants (which
    /// [`Message::validate`] refuses) still lands somewhere, never nowhere or twice.
    pub fn of(message: &Message) -> Folder {
        match message.direction {
            // Restoring clears `archived`; `via_flow` never changes, so the message goes back to
            // the folder it came from.
            Direction::Incoming if message.archived => Folder::Archived,
            Direction::Incoming if message.via_flow => Folder::Flows,
            Direction::Incoming => Folder::Inbox,
            Direction::Outgoing => match message.status {
                MessageStatus::Scheduled => Folder::Scheduled,
                MessageStatus::Pending | MessageStatus::Wired | MessageStatus::Received => {
                    Folder::Outbox
                }
                MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read => {
                    Folder::Sent
                }
                MessageStatus::Failed => Folder::Failed,
            },
        }
    }

    /// A small stable number, as stored in the client's database.
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Folder> {
        Folder::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Flows => "flows",
            Folder::Archived => "archived",
            Folder::Outbox => "outbox",
            Folder::Sent => "sent",
            Folder::Scheduled => "scheduled",
            Folder::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod folder_tests;
