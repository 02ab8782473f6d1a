//! Keyword flows, the minimal automation: a contact whose bot is on writes a trigger word, and
//! the flow answers with its steps, one per message the contact sends, then ends. While a
//! contact is in a flow, their messages are handled by it: they land in Flows, not the Inbox.

/// A flow as stored (the storage owns the record; this module gives it its behaviour).
pub use crate::storage::Flow;
use crate::storage::{StorageError, Tx};
use outpost_protocol::{
    Actor, ActorKind, Contact, Conversation, ConversationEvent, Direction, Entity, EventId,
    EventKind, Message, MessageId, MessageStatus, Millis, Sender, SenderKind, rules,
};

fn has_word(text: &str, word: &str) -> bool {
    let word = word.trim().to_lowercase();
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// Whether the contact is (now) in a flow as their message arrives: starts a flow on its
/// trigger word. Call before storing the message; then [`reply`] after it.
pub fn on_inbound<T: Tx>(
    tx: &mut T,
    contact: &mut Contact,
    text: &str,
) -> Result<bool, StorageError> {
    if contact.active_flow.is_some() {
        return Ok(true);
    }
    if !contact.bot_enabled {
        return Ok(false);
    }
    let Some(flow) = tx.flows()?.into_iter().find(|f| has_word(text, &f.trigger)) else {
        return Ok(false);
    };
    contact.active_flow = Some(flow.name.clone());
    tx.set_flow_run(contact.id, Some((&flow.name, 0)))?;
    tx.put(&Entity::Contact(contact.clone()))?;
    Ok(true)
}

/// The flow's next reply to a contact in it; ends the flow after its last step.
pub fn reply<T: Tx>(
    tx: &mut T,
    contact: &mut Contact,
    conversation: &mut Conversation,
    now: Millis,
) -> Result<(), StorageError> {
    let Some((name, step)) = tx.flow_run(contact.id)? else {
        return Ok(());
    };
    let Some(flow) = tx.flows()?.into_iter().find(|f| f.name == name) else {
        // The flow was removed meanwhile: the contact leaves it.
        tx.set_flow_run(contact.id, None)?;
        contact.active_flow = None;
        tx.put(&Entity::Contact(contact.clone()))?;
        return Ok(());
    };
    let actor = Actor {
        kind: ActorKind::Flow,
        agent_id: None,
        name: flow.name.clone(),
    };
    let conversation_id = conversation.id;
    let event = |tx: &mut T, kind| {
        tx.put(&Entity::Event(ConversationEvent {
            id: EventId::new(),
            conversation_id,
            at: now,
            actor: actor.clone(),
            kind,
        }))
    };
    if step == 0 {
        event(
            tx,
            EventKind::FlowStarted {
                flow: flow.name.clone(),
            },
        )?;
    }
    if let Some(text) = flow.steps.get(step as usize) {
        // A moment after the message it answers, so the timeline keeps their order.
        let at = now.max(conversation.last_message_at) + 1;
        let m = Message::new(
            MessageId::new(),
            conversation,
            Direction::Outgoing,
            Sender::named(SenderKind::Flow, &flow.name),
            text,
            MessageStatus::Pending,
            at,
        );
        rules::on_reply(conversation, &m);
        tx.put(&Entity::Message(m))?;
    }
    if step as usize + 1 >= flow.steps.len() {
        tx.set_flow_run(contact.id, None)?;
        contact.active_flow = None;
        tx.put(&Entity::Contact(contact.clone()))?;
        event(
            tx,
            EventKind::FlowEnded {
                flow: flow.name.clone(),
            },
        )?;
    } else {
        tx.set_flow_run(contact.id, Some((&flow.name, step + 1)))?;
    }
    Ok(())
}
