//! The local effect of each agent action: the same conversation rules the server applies
//! (`outpost_protocol::rules`), applied to the mirror at once. Effects are deterministic given the
//! op (its time, its ids), so replaying an op over fresh server state gives the same result as
//! the first time, and the timeline events it adds have ids derived from the op id.

use outpost_protocol::{
    Action, Actor, ActorKind, Agent, ChannelIdentity, ChannelKind, Contact, ContactId,
    Conversation, ConversationEvent, ConversationId, ConversationState, Direction, ErrorCode,
    EventId, EventKind, Message, MessageId, MessageStatus, Op, Sender, SenderKind, StatusStamp,
    TemplateRef, rules, rules::refuse,
};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::Tx;

/// How an op is being applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The agent just took the action: every rule is checked, a refusal reaches the agent.
    Fresh,
    /// Replayed over fresh server state: an effect already there (the server's own version of
    /// a sent message) is left as the server says.
    Replay,
    /// A refused send, replayed so that its message shows in Failed with the reason.
    Wedged { reason: String },
}

/// The message an op creates, if it creates one.
pub(crate) fn created_message(op: &Op) -> Option<MessageId> {
    match &op.action {
        Action::SendMessage { message_id, .. }
        | Action::ScheduleMessage { message_id, .. }
        | Action::WriteFirst { message_id, .. } => Some(*message_id),
        _ => None,
    }
}

/// Takes an action for the agent; says whether it was queued for the server. Retrying or
/// discarding a message that only exists here (its send was refused) rewrites the journal
/// instead of asking the server.
pub(crate) fn act(tx: &mut Tx, op: &Op) -> Result<bool> {
    match &op.action {
        Action::DiscardMessage { message_id } => {
            if let Some((seq, _)) = tx.wedged_op_for(*message_id)? {
                tx.remove_op(seq)?;
                return Ok(false);
            }
        }
        Action::RetryMessage {
            message_id,
            text,
            template,
        } => {
            if let Some((seq, old)) = tx.wedged_op_for(*message_id)? {
                let action = edited(old.action, text, template);
                tx.remove_op(seq)?;
                let new = Op {
                    op_id: op.op_id,
                    at: op.at,
                    action,
                };
                new.action.validate()?;
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

/// Timeline events an op adds, with ids derived from the op id.
struct Timeline<'a> {
    op: &'a Op,
    actor: Actor,
    n: u128,
}

impl Timeline<'_> {
    fn record(
        &mut self,
        tx: &mut Tx,
        conversation: ConversationId,
        kinds: Vec<EventKind>,
    ) -> Result<()> {
        for kind in kinds {
            self.n += 1;
            let event = ConversationEvent {
                id: EventId(Uuid::from_u128(self.op.op_id.0.as_u128() ^ self.n)),
                conversation_id: conversation,
                at: self.op.at,
                actor: self.actor.clone(),
                kind,
            };
            tx.put_event(&event)?;
        }
        Ok(())
    }
}

fn conversation(tx: &Tx, id: ConversationId) -> Result<Conversation> {
    tx.get_conversation(id)?
        .ok_or_else(|| Error::NotFound("That conversation".into()))
}

fn message(tx: &Tx, id: MessageId) -> Result<Message> {
    tx.get_message(id)?
        .ok_or_else(|| Error::NotFound("That message".into()))
}

fn contact(tx: &Tx, id: ContactId) -> Result<Contact> {
    tx.get_contact(id)?
        .ok_or_else(|| Error::NotFound("That contact".into()))
}

fn outgoing(
    me: &Agent,
    id: MessageId,
    conversation: &Conversation,
    text: &str,
    template: &Option<TemplateRef>,
    status: MessageStatus,
    at: i64,
) -> Message {
    Message {
        id,
        conversation_id: conversation.id,
        direction: Direction::Outgoing,
        channel: conversation.channel,
        text: text.to_owned(),
        attachments: Vec::new(),
        template: template.clone(),
        sender: Sender {
            kind: SenderKind::Agent,
            agent_id: Some(me.id),
            name: me.name.clone(),
        },
        status,
        history: vec![StatusStamp { status, at }],
        failure: None,
        via_flow: false,
        archived: false,
        send_at: None,
        reply_to: None,
        created_at: at,
    }
}

/// Applies `op` to the mirror through `tx` (which records its undo log).
pub(crate) fn apply(tx: &mut Tx, op: &Op, mode: Mode) -> Result<()> {
    let me = tx.me().cloned().ok_or(Error::NoAgent)?;
    let at = op.at;
    let mut timeline = Timeline {
        op,
        actor: Actor {
            kind: ActorKind::Agent,
            agent_id: Some(me.id),
            name: me.name.clone(),
        },
        n: 0,
    };
    let check_window = !matches!(mode, Mode::Wedged { .. });
    match &op.action {
        Action::SendMessage {
            message_id,
            conversation_id,
            text,
            attachments,
            template,
            reply_to,
        } => {
            if tx.get_message(*message_id)?.is_some() {
                return already_there(&mode);
            }
            let mut c = conversation(tx, *conversation_id)?;
            if check_window && template.is_none() && !rules::window_open(&c, at) {
                return Err(rules::window_closed(&c).into());
            }
            let mut m = outgoing(
                &me,
                *message_id,
                &c,
                text,
                template,
                MessageStatus::Pending,
                at,
            );
            m.attachments = attachments.clone();
            m.reply_to = *reply_to;
            tx.put_message(&m)?;
            let events = rules::on_reply(&mut c, &m);
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, events)?;
        }
        Action::ScheduleMessage {
            message_id,
            conversation_id,
            text,
            attachments,
            template,
            send_at,
        } => {
            if tx.get_message(*message_id)?.is_some() {
                return already_there(&mode);
            }
            if *send_at <= at {
                return Err(refuse(
                    ErrorCode::InvalidInput,
                    "Choose a time in the future to send it.",
                )
                .into());
            }
            let c = conversation(tx, *conversation_id)?;
            let mut m = outgoing(
                &me,
                *message_id,
                &c,
                text,
                template,
                MessageStatus::Scheduled,
                at,
            );
            m.attachments = attachments.clone();
            m.send_at = Some(*send_at);
            tx.put_message(&m)?;
        }
        Action::EditScheduled {
            message_id,
            text,
            send_at,
        } => {
            let mut m = message(tx, *message_id)?;
            if m.status != MessageStatus::Scheduled {
                return Err(refuse(
                    ErrorCode::WrongState,
                    "This message is no longer scheduled: it was sent or cancelled.",
                )
                .into());
            }
            if *send_at <= at {
                return Err(refuse(
                    ErrorCode::InvalidInput,
                    "Choose a time in the future to send it.",
                )
                .into());
            }
            m.text = text.clone();
            m.send_at = Some(*send_at);
            tx.put_message(&m)?;
        }
        Action::CancelScheduled { message_id } => {
            let m = message(tx, *message_id)?;
            if m.status != MessageStatus::Scheduled {
                return Err(refuse(
                    ErrorCode::WrongState,
                    "This message is no longer scheduled: it was sent or cancelled.",
                )
                .into());
            }
            tx.delete_message(m.id)?;
        }
        Action::RetryMessage {
            message_id,
            text,
            template,
        } => {
            let mut m = message(tx, *message_id)?;
            if m.status != MessageStatus::Failed {
                return already_there_or(&mode, "Only a failed message can be retried.");
            }
            let c = conversation(tx, m.conversation_id)?;
            if check_window && template.is_none() && !rules::window_open(&c, at) {
                return Err(rules::window_closed(&c).into());
            }
            m.text = text.clone();
            m.template = template.clone();
            m.status = MessageStatus::Pending;
            m.failure = None;
            m.history.push(StatusStamp {
                status: MessageStatus::Pending,
                at,
            });
            tx.put_message(&m)?;
        }
        Action::DiscardMessage { message_id } => {
            let m = message(tx, *message_id)?;
            if m.status != MessageStatus::Failed {
                return already_there_or(&mode, "Only a failed message can be discarded.");
            }
            tx.delete_message(m.id)?;
        }
        Action::WriteFirst {
            conversation_id,
            contact_id,
            message_id,
            channel,
            address,
            text,
            template,
        } => {
            if tx.get_conversation(*conversation_id)?.is_some() {
                return already_there(&mode);
            }
            let phone_channel = matches!(channel, ChannelKind::Whatsapp | ChannelKind::Sms);
            let contact = match tx.get_contact(*contact_id)? {
                Some(c) => c,
                None => Contact {
                    id: *contact_id,
                    name: address.clone(),
                    phone: if phone_channel {
                        address.clone()
                    } else {
                        String::new()
                    },
                    email: if *channel == ChannelKind::Email {
                        address.clone()
                    } else {
                        String::new()
                    },
                    country: String::new(),
                    language: String::new(),
                    avatar_url: String::new(),
                    identities: vec![ChannelIdentity {
                        channel: *channel,
                        address: address.clone(),
                    }],
                    tags: Vec::new(),
                    fields: Default::default(),
                    private_comment: String::new(),
                    bot_enabled: false,
                    active_flow: None,
                    created_at: at,
                },
            };
            let mut c = Conversation {
                id: *conversation_id,
                contact_id: contact.id,
                channel: *channel,
                state: ConversationState::Open,
                snoozed_until: None,
                assignee: Some(me.id),
                team: None,
                unanswered: false,
                unread_count: 0,
                opened_at: at,
                last_message_at: at,
                last_message_direction: None,
                last_message_preview: String::new(),
                last_incoming_at: None,
                closing_note: String::new(),
                closing_category: String::new(),
                created_at: at,
            };
            if check_window && template.is_none() && !rules::window_open(&c, at) {
                return Err(refuse(
                    ErrorCode::WindowClosed,
                    format!(
                        "On {} a conversation can only be started with an approved template.",
                        channel.as_str()
                    ),
                )
                .into());
            }
            tx.put_contact(&contact)?;
            let m = outgoing(
                &me,
                *message_id,
                &c,
                text,
                template,
                MessageStatus::Pending,
                at,
            );
            tx.put_message(&m)?;
            rules::on_reply(&mut c, &m);
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, vec![EventKind::Opened])?;
        }
        Action::Archive { message_ids } => {
            for id in message_ids {
                let mut m = message(tx, *id)?;
                if m.direction != Direction::Incoming {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        "Only incoming messages can be archived.",
                    )
                    .into());
                }
                if !m.archived {
                    m.archived = true;
                    tx.put_message(&m)?;
                }
            }
        }
        Action::Restore { message_ids } => {
            for id in message_ids {
                let mut m = message(tx, *id)?;
                if m.archived {
                    m.archived = false;
                    tx.put_message(&m)?;
                }
            }
        }
        Action::DeleteArchived { message_ids } => {
            for id in message_ids {
                let m = message(tx, *id)?;
                if !m.archived {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        "Only archived messages can be deleted: archive it first.",
                    )
                    .into());
                }
                tx.delete_message(m.id)?;
            }
        }
        Action::Assign {
            conversation_id,
            assignee,
        } => {
            let mut c = conversation(tx, *conversation_id)?;
            let agent = match assignee {
                Some(id) => Some(
                    tx.get_agent(*id)?
                        .ok_or_else(|| Error::NotFound("That agent".into()))?,
                ),
                None => None,
            };
            let events = rules::assign(&mut c, agent.as_ref())?;
            tx.put_conversation(&c)?;
            if tx.get_conversation(c.id)?.is_some() {
                timeline.record(tx, c.id, events)?;
            }
        }
        Action::SetTeam {
            conversation_id,
            team,
        } => {
            let mut c = conversation(tx, *conversation_id)?;
            if c.team != *team {
                c.team = *team;
                tx.put_conversation(&c)?;
                if tx.get_conversation(c.id)?.is_some() {
                    timeline.record(tx, c.id, vec![EventKind::TeamChanged { team: *team }])?;
                }
            }
        }
        Action::Close {
            conversation_id,
            note,
            category,
        } => {
            let mut c = conversation(tx, *conversation_id)?;
            let events = rules::close(&mut c, note, category)?;
            tx.put_conversation(&c)?;
            if tx.get_conversation(c.id)?.is_some() {
                timeline.record(tx, c.id, events)?;
            }
        }
        Action::Reopen { conversation_id } => {
            let mut c = conversation(tx, *conversation_id)?;
            let events = rules::reopen(&mut c, at)?;
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, events)?;
        }
        Action::Snooze {
            conversation_id,
            until,
        } => {
            let mut c = conversation(tx, *conversation_id)?;
            let events = rules::snooze(&mut c, *until, at)?;
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, events)?;
        }
        Action::Unsnooze { conversation_id } => {
            let mut c = conversation(tx, *conversation_id)?;
            let events = rules::unsnooze(&mut c)?;
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, events)?;
        }
        Action::SetUnanswered {
            conversation_id,
            unanswered,
        } => {
            let mut c = conversation(tx, *conversation_id)?;
            let events = rules::set_unanswered(&mut c, *unanswered);
            tx.put_conversation(&c)?;
            timeline.record(tx, c.id, events)?;
        }
        Action::MarkRead { conversation_id } => {
            let mut c = conversation(tx, *conversation_id)?;
            if c.unread_count != 0 {
                c.unread_count = 0;
                tx.put_conversation(&c)?;
            }
        }
        Action::DeleteConversation { conversation_id } => {
            if !rules::may_delete_conversation(&me) {
                return Err(refuse(
                    ErrorCode::NotAllowed,
                    "Only the owner or an admin can delete a conversation.",
                )
                .into());
            }
            conversation(tx, *conversation_id)?;
            tx.delete_conversation(*conversation_id)?;
        }
        Action::EditContact { contact_id, edit } => {
            let c = contact(tx, *contact_id)?;
            let edited = edit.applied_to(&c)?;
            tx.put_contact(&edited)?;
        }
        Action::SetBot {
            contact_id,
            enabled,
        } => {
            let mut c = contact(tx, *contact_id)?;
            c.bot_enabled = *enabled;
            tx.put_contact(&c)?;
        }
        Action::SaveView { view } => {
            let existing = tx.get_view(view.id)?;
            let owner = existing.as_ref().map_or(view.owner, |v| v.owner);
            if owner != me.id || view.owner != me.id {
                return Err(refuse(
                    ErrorCode::NotAllowed,
                    "Only the creator of a view can change it.",
                )
                .into());
            }
            tx.put_view(view)?;
        }
        Action::DeleteView { view_id } => {
            let v = tx
                .get_view(*view_id)?
                .ok_or_else(|| Error::NotFound("That view".into()))?;
            if v.owner != me.id {
                return Err(refuse(
                    ErrorCode::NotAllowed,
                    "Only the creator of a view can delete it.",
                )
                .into());
            }
            tx.delete_entity(outpost_protocol::EntityRef::View(v.id))?;
        }
        Action::SetAvailability { availability } => {
            let mut agent = tx.get_agent(me.id)?.unwrap_or_else(|| me.clone());
            agent.availability = *availability;
            tx.put_agent(&agent)?;
        }
    }
    if let Mode::Wedged { reason } = mode
        && let Some(id) = created_message(op)
        && let Some(mut m) = tx.get_message(id)?
    {
        m.status = MessageStatus::Failed;
        m.failure = Some(reason);
        m.history.push(StatusStamp {
            status: MessageStatus::Failed,
            at,
        });
        tx.put_message(&m)?;
    }
    Ok(())
}

/// Replaying an op whose effect the server already shows is a no-op; taking it fresh is a clash.
fn already_there(mode: &Mode) -> Result<()> {
    match mode {
        Mode::Fresh => Err(refuse(ErrorCode::Conflict, "This was already done.").into()),
        _ => Ok(()),
    }
}

fn already_there_or(mode: &Mode, reason: &str) -> Result<()> {
    match mode {
        Mode::Fresh => Err(refuse(ErrorCode::WrongState, reason).into()),
        _ => Ok(()),
    }
}
