//! The mirror as the protocol's [`Workspace`]: the effect of each action is
//! `outpost_protocol::apply`, the implementation the server runs too, and the mirror's write
//! transaction is what it applies to. Also the journal's side of the agent's actions: retrying
//! or discarding a refused send rewrites the journal instead of asking the server.

use outpost_protocol::apply::{Glance, Workspace};
pub(crate) use outpost_protocol::apply::{Mode, created_message};
use outpost_protocol::{Action, ContactId, Entity, EntityRef, Op, TemplateRef};

use super::{OpState, Tx};
use crate::error::{Error, Result};

impl Workspace for Tx<'_> {
    type Error = Error;

    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        self.get_entity(r)
    }

    /// The mirror holds only what its agent may see, so what it holds is all that exists for it.
    fn exists(&self, r: EntityRef) -> Result<bool> {
        Ok(self.get_entity(r)?.is_some())
    }

    fn conversations_of(&self, contact: ContactId) -> Result<Vec<Glance>> {
        self.conversations_of_contact(contact)
    }

    /// Writing first to a number or an email the mirror knows continues with its contact, as
    /// the server does (other channels' addresses live only in the server's identities).
    fn contact_with_identity(
        &self,
        channel: outpost_protocol::ChannelKind,
        address: &str,
    ) -> Result<Option<outpost_protocol::Contact>> {
        self.contact_reached_at(channel, address)
    }

    fn put(&mut self, e: &Entity) -> Result<()> {
        self.put_entity(e)
    }

    fn delete(&mut self, r: EntityRef) -> Result<()> {
        self.delete_entity(r)
    }

    fn not_found(what: &str) -> Error {
        Error::NotFound(what.to_owned())
    }
}

/// Applies `op` to the mirror (the op's own time judges the rules).
pub(crate) fn apply(tx: &mut Tx, op: &Op, mode: Mode) -> Result<()> {
    let me = tx.me().cloned().ok_or(Error::NoAgent)?;
    outpost_protocol::apply::apply(tx, &me, op, op.at, mode)
}

/// Takes an action for the agent; says whether it was queued for the server. Retrying (editing)
/// or discarding (aborting) a message the server has not seen yet — still queued, or refused —
/// rewrites the journal instead of asking the server. Once a send is in flight it is the
/// server's to answer, and these go to the server like any other action.
pub(crate) fn act(tx: &mut Tx, op: &Op) -> Result<bool> {
    match &op.action {
        Action::DiscardMessage { message_id } => {
            if let Some((seq, _, _)) = tx.unsent_op_for(*message_id)? {
                tx.remove_op(seq)?;
                return Ok(false);
            }
        }
        Action::RetryMessage {
            message_id,
            text,
            template,
        } => {
            if let Some((seq, old, state)) = tx.unsent_op_for(*message_id)? {
                let action = edited(old.action, text, template);
                action.validate()?;
                if state == OpState::Pending {
                    // Still waiting: edited where it stands in the queue.
                    tx.edit_queued_op(seq, action)?;
                    return Ok(false);
                }
                tx.remove_op(seq)?;
                let new = Op {
                    op_id: op.op_id,
                    at: op.at,
                    action,
                };
                tx.append_op(&new)?;
                return Ok(true);
            }
        }
        _ => {}
    }
    tx.append_op(op)?;
    Ok(true)
}

/// The send of a refused op, with the agent's edits.
fn edited(action: Action, new_text: &str, new_template: &Option<TemplateRef>) -> Action {
    match action {
        Action::SendMessage {
            message_id,
            conversation_id,
            attachments,
            reply_to,
            ..
        } => Action::SendMessage {
            message_id,
            conversation_id,
            text: new_text.to_owned(),
            attachments,
            template: new_template.clone(),
            reply_to,
        },
        Action::ScheduleMessage {
            message_id,
            conversation_id,
            attachments,
            send_at,
            ..
        } => Action::ScheduleMessage {
            message_id,
            conversation_id,
            text: new_text.to_owned(),
            attachments,
            template: new_template.clone(),
            send_at,
        },
        Action::WriteFirst {
            conversation_id,
            contact_id,
            message_id,
            channel,
            address,
            ..
        } => Action::WriteFirst {
            conversation_id,
            contact_id,
            message_id,
            channel,
            address,
            text: new_text.to_owned(),
            template: new_template.clone(),
        },
        other => other,
    }
}
