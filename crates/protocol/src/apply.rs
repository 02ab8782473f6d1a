//! The effect of each agent action on a workspace, by the product's rules. The one
//! implementation both sides run: the client applies it to its mirror at once (optimistic), the
//! server applies it to the workspace when the op arrives, so the two agree by construction.
//!
//! Effects are deterministic given the op (its time, its ids): replaying an op over fresh
//! server state gives the same result as the first time, and the timeline events it adds have
//! ids derived from the op id.

use crate::{
    Action, Actor, ActorKind, Agent, ChannelKind, Contact, ContactId, Conversation,
    ConversationEvent, ConversationId, ConversationState, Direction, Entity, EntityRef, ErrorCode,
    EventId, EventKind, Message, MessageId, MessageStatus, Millis, Op, Sender, StatusStamp,
    TemplateRef, ValidationError,
    rules::{self, RuleError, refuse},
};
use uuid::Uuid;

/// Where actions take effect: the client's mirror, or the server's store.
pub trait Workspace {
    type Error: From<RuleError> + From<ValidationError>;
    /// The entity, if it exists and the acting agent may see it.
    fn get(&self, r: EntityRef) -> Result<Option<Entity>, Self::Error>;
    /// Whether anything in the workspace has this id, whether or not the acting agent may see
    /// it (an id that was ever used counts, deleted or not: ids are never reused). "Not
    /// visible" is not "absent": a new entity's id must not exist anywhere.
    fn exists(&self, r: EntityRef) -> Result<bool, Self::Error>;
    /// A glance at every conversation of the contact, visible to the acting agent or not
    /// (`get` says which they may see): enough to find the one still open and the contact's
    /// messaging window, nothing of their content. A mirror knows only those it holds.
    fn conversations_of(&self, contact: ContactId) -> Result<Vec<Glance>, Self::Error>;
    fn put(&mut self, e: &Entity) -> Result<(), Self::Error>;
    /// Deletes the entity; a conversation goes with its messages and events.
    fn delete(&mut self, r: EntityRef) -> Result<(), Self::Error>;
    /// The error for something that is not there (or not visible).
    fn not_found(what: &str) -> Self::Error;
    /// The contact this address belongs to on this channel, if the workspace knows it. A mirror
    /// may not know every contact: by default, none.
    fn contact_with_identity(
        &self,
        _channel: ChannelKind,
        _address: &str,
    ) -> Result<Option<Contact>, Self::Error> {
        Ok(None)
    }
}

/// What an action may know of a contact's conversation that its agent may not see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Glance {
    pub id: ConversationId,
    pub state: ConversationState,
    pub channel: ChannelKind,
    pub last_message_at: Millis,
    pub last_incoming_at: Option<Millis>,
}

impl Glance {
    pub fn of(c: &Conversation) -> Glance {
        Glance {
            id: c.id,
            state: c.state,
            channel: c.channel,
            last_message_at: c.last_message_at,
            last_incoming_at: c.last_incoming_at,
        }
    }
}

/// How an op is being applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The agent just took the action: every rule is checked, a refusal reaches the agent.
    Fresh,
    /// Replayed over fresh server state: an effect already there (the server's own version of
    /// a sent message) is left as the server says.
    Replay,
    /// A refused send, replayed so that its message shows in Failed with the reason.
    Wedged { reason: String },
}

/// The message an op creates, if it creates one.
pub fn created_message(op: &Op) -> Option<MessageId> {
    match &op.action {
        Action::SendMessage { message_id, .. }
        | Action::ScheduleMessage { message_id, .. }
        | Action::WriteFirst { message_id, .. } => Some(*message_id),
        _ => None,
    }
}

/// Timeline events an op adds, with ids derived from the op id and its agent (two agents' ops
/// never derive the same ids, whatever op ids they choose).
struct Timeline<'a> {
    op: &'a Op,
    actor: Actor,
    n: u128,
    mode: &'a Mode,
}

impl Timeline<'_> {
    fn record<W: Workspace>(
        &mut self,
        w: &mut W,
        conversation: ConversationId,
        kinds: Vec<EventKind>,
    ) -> Result<(), W::Error> {
        let agent = self
            .actor
            .agent_id
            .map_or(0, |a| a.0.as_u128().rotate_left(64));
        for kind in kinds {
            self.n += 1;
            let id = EventId(Uuid::from_u128(self.op.op_id.0.as_u128() ^ agent ^ self.n));
            // An op id chosen to derive an existing event's id takes nothing over.
            if !is_new(w, EntityRef::Event(id), self.mode)? {
                continue;
            }
            let event = ConversationEvent {
                id,
                conversation_id: conversation,
                at: self.op.at,
                actor: self.actor.clone(),
                kind,
            };
            w.put(&Entity::Event(event))?;
        }
        Ok(())
    }
}

/// The refusal for a new entity whose id is in use: the same words whoever holds it and whatever
/// it is, so that the answer says nothing about that entity.
fn id_taken() -> RuleError {
    refuse(
        ErrorCode::Conflict,
        "id_taken",
        "That id is already in use: nothing was changed.",
    )
}

/// Whether an op may create `r`: its id must be new to the whole workspace, visible to the agent
/// or not. Taken fresh on an id in use, the action is refused; replayed over a state that already
/// holds its effect, it leaves that effect as it is (`false`).
fn is_new<W: Workspace>(w: &W, r: EntityRef, mode: &Mode) -> Result<bool, W::Error> {
    if !w.exists(r)? {
        return Ok(true);
    }
    match mode {
        Mode::Fresh => Err(id_taken().into()),
        Mode::Replay | Mode::Wedged { .. } => Ok(false),
    }
}

/// The files a message carries, their names as both sides keep them (no folder part, no
/// direction marks).
fn named(attachments: &[crate::Attachment]) -> Vec<crate::Attachment> {
    attachments
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.name = match crate::limits::file_name(&a.name) {
                name if name.is_empty() => "file".to_owned(),
                name => name,
            };
            a
        })
        .collect()
}

/// Outgoing text within what the channel carries.
fn check_text_for(channel: ChannelKind, text: &str) -> Result<(), ValidationError> {
    let max = crate::limits::max_outgoing_chars(channel);
    if text.len() > max && text.chars().count() > max {
        return Err(ValidationError {
            field: "text",
            problem: format!(
                "longer than the {max} characters {} carries",
                channel.as_str()
            ),
        });
    }
    Ok(())
}

/// When the contact of `c` last wrote on its channel, in `c` or any of their `conversations`:
/// the start of the messaging window.
pub fn contact_window(c: &Conversation, conversations: &[Glance]) -> Option<Millis> {
    let elsewhere = conversations
        .iter()
        .filter(|g| g.channel == c.channel)
        .filter_map(|g| g.last_incoming_at)
        .max();
    c.last_incoming_at.max(elsewhere)
}

fn window_of<W: Workspace>(w: &W, c: &Conversation) -> Result<Option<Millis>, W::Error> {
    Ok(contact_window(c, &w.conversations_of(c.contact_id)?))
}

/// Whether free text may go out on `c` at `at`, judged on the contact's window.
fn window_open_at<W: Workspace>(w: &W, c: &Conversation, at: Millis) -> Result<bool, W::Error> {
    let mut judged = c.clone();
    judged.last_incoming_at = window_of(w, c)?;
    Ok(rules::window_open(&judged, at))
}

fn find_conversation<W: Workspace>(
    w: &W,
    id: ConversationId,
) -> Result<Option<Conversation>, W::Error> {
    Ok(match w.get(EntityRef::Conversation(id))? {
        Some(Entity::Conversation(c)) => Some(c),
        _ => None,
    })
}

fn find_message<W: Workspace>(w: &W, id: MessageId) -> Result<Option<Message>, W::Error> {
    Ok(match w.get(EntityRef::Message(id))? {
        Some(Entity::Message(m)) => Some(m),
        _ => None,
    })
}

fn conversation<W: Workspace>(w: &W, id: ConversationId) -> Result<Conversation, W::Error> {
    find_conversation(w, id)?.ok_or_else(|| W::not_found("That conversation"))
}

fn message<W: Workspace>(w: &W, id: MessageId) -> Result<Message, W::Error> {
    find_message(w, id)?.ok_or_else(|| W::not_found("That message"))
}

fn contact<W: Workspace>(w: &W, id: ContactId) -> Result<Contact, W::Error> {
    match w.get(EntityRef::Contact(id))? {
        Some(Entity::Contact(c)) => Ok(c),
        _ => Err(W::not_found("That contact")),
    }
}

fn agent<W: Workspace>(w: &W, id: crate::AgentId) -> Result<Option<Agent>, W::Error> {
    Ok(match w.get(EntityRef::Agent(id))? {
        Some(Entity::Agent(a)) => Some(a),
        _ => None,
    })
}

fn view<W: Workspace>(w: &W, id: crate::ViewId) -> Result<Option<crate::CustomView>, W::Error> {
    Ok(match w.get(EntityRef::View(id))? {
        Some(Entity::View(v)) => Some(v),
        _ => None,
    })
}

/// The agent's message in `conversation`, with `status` from `at`. A conversation's messages
/// keep the order they were written in, even when clocks tie or lag: a new message is at least
/// a millisecond after the conversation's last one.
fn outgoing(
    me: &Agent,
    id: MessageId,
    conversation: &Conversation,
    text: &str,
    template: &Option<TemplateRef>,
    status: MessageStatus,
    at: i64,
) -> Message {
    let at = at.max(conversation.last_message_at + 1);
    let mut m = Message::new(
        id,
        conversation,
        Direction::Outgoing,
        Sender::agent(me),
        text,
        status,
        at,
    );
    m.template = template.clone();
    m
}

/// One op being applied: who takes it, when, how, and the timeline events it adds.
struct Applying<'a> {
    me: &'a Agent,
    /// The op's time.
    at: Millis,
    /// When the rules are judged (the 24-hour window).
    now: Millis,
    mode: &'a Mode,
    timeline: Timeline<'a>,
}

impl Applying<'_> {
    /// Free text (no template) may go out on `c` at `when`; `closed` is the refusal otherwise.
    /// A refused send replayed into Failed is not judged again.
    fn window_allows<W: Workspace>(
        &self,
        w: &W,
        c: &Conversation,
        template: &Option<TemplateRef>,
        when: Millis,
        closed: fn(&Conversation) -> RuleError,
    ) -> Result<(), W::Error> {
        if self.skips_window(template) || window_open_at(w, c, when)? {
            Ok(())
        } else {
            Err(closed(c).into())
        }
    }

    /// Whether the window is not judged: a template may always go out, and a refused send
    /// replayed into Failed is not judged again.
    fn skips_window(&self, template: &Option<TemplateRef>) -> bool {
        matches!(self.mode, Mode::Wedged { .. }) || template.is_some()
    }

    /// The shared steps of an action on a conversation: load it, let `rule` change it (or
    /// refuse), store it, and record the events the rule names, while the agent still sees it.
    fn change_conversation<W: Workspace>(
        &mut self,
        w: &mut W,
        id: ConversationId,
        rule: impl FnOnce(&mut Conversation) -> Result<Vec<EventKind>, RuleError>,
    ) -> Result<(), W::Error> {
        let c = conversation(w, id)?;
        self.change_loaded(w, c, rule)
    }

    /// [`Self::change_conversation`] for a conversation already loaded.
    fn change_loaded<W: Workspace>(
        &mut self,
        w: &mut W,
        mut c: Conversation,
        rule: impl FnOnce(&mut Conversation) -> Result<Vec<EventKind>, RuleError>,
    ) -> Result<(), W::Error> {
        let (assignee, team) = (c.assignee, c.team);
        let events = rule(&mut c)?;
        w.put(&Entity::Conversation(c.clone()))?;
        if events.is_empty() {
            return Ok(());
        }
        // Who sees a conversation follows its assignee and team only: assigning away, moving it
        // to another team or closing (which unassigns) may take it out of the agent's sight.
        let unchanged = c.assignee == assignee && c.team == team;
        if unchanged || find_conversation(w, c.id)?.is_some() {
            self.timeline.record(w, c.id, events)?;
        }
        Ok(())
    }

    /// A scheduled message of the workspace, or the refusal for one sent or cancelled.
    fn scheduled<W: Workspace>(&self, w: &W, id: MessageId) -> Result<Message, W::Error> {
        let m = message(w, id)?;
        if m.status != MessageStatus::Scheduled {
            return Err(refuse(
                ErrorCode::WrongState,
                "not_scheduled",
                "This message is no longer scheduled: it was sent or cancelled.",
            )
            .into());
        }
        Ok(m)
    }

    /// A time to send at, in the future.
    fn future<E: From<RuleError>>(&self, send_at: Millis) -> Result<(), E> {
        if send_at <= self.at {
            return Err(refuse(
                ErrorCode::InvalidInput,
                "send_past",
                "Choose a time in the future to send it.",
            )
            .into());
        }
        Ok(())
    }
}

/// Applies `op`, taken by `me`, to the workspace. `now` is when the rules are judged (the
/// 24-hour window): the op's own time on the client, the time it arrives at the server.
pub fn apply<W: Workspace>(
    w: &mut W,
    me: &Agent,
    op: &Op,
    now: Millis,
    mode: Mode,
) -> Result<(), W::Error> {
    let mut a = Applying {
        me,
        at: op.at,
        now,
        mode: &mode,
        timeline: Timeline {
            op,
            actor: Actor {
                kind: ActorKind::Agent,
                agent_id: Some(me.id),
                name: me.name.clone(),
            },
            n: 0,
            mode: &mode,
        },
    };
    let at = op.at;
    match &op.action {
        Action::SendMessage {
            message_id,
            conversation_id,
            text,
            attachments,
            template,
            reply_to,
        } => {
            if !send_message(
                w,
                &mut a,
                *message_id,
                *conversation_id,
                text,
                attachments,
                template,
                *reply_to,
            )? {
                return Ok(());
            }
        }
        Action::ScheduleMessage {
            message_id,
            conversation_id,
            text,
            attachments,
            template,
            send_at,
        } => {
            if !schedule_message(
                w,
                &a,
                *message_id,
                *conversation_id,
                text,
                attachments,
                template,
                *send_at,
            )? {
                return Ok(());
            }
        }
        Action::EditScheduled {
            message_id,
            text,
            send_at,
        } => edit_scheduled(w, &a, *message_id, text, *send_at)?,
        Action::CancelScheduled { message_id } => {
            let m = a.scheduled(w, *message_id)?;
            w.delete(EntityRef::Message(m.id))?;
        }
        Action::RetryMessage {
            message_id,
            text,
            template,
        } => retry_message(w, &a, *message_id, text, template)?,
        Action::DiscardMessage { message_id } => {
            let m = message(w, *message_id)?;
            if m.status != MessageStatus::Failed {
                return already_there_or(
                    &mode,
                    "discard_unfailed",
                    "Only a failed message can be discarded.",
                );
            }
            w.delete(EntityRef::Message(m.id))?;
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
            let first = WriteFirst {
                conversation_id: *conversation_id,
                contact_id: *contact_id,
                message_id: *message_id,
                channel: *channel,
                address,
                text,
                template,
            };
            if !write_first(w, &mut a, first)? {
                return Ok(());
            }
        }
        Action::Archive { message_ids } => archive(w, message_ids, true)?,
        Action::Restore { message_ids } => archive(w, message_ids, false)?,
        Action::DeleteArchived { message_ids } => {
            for id in message_ids {
                let m = message(w, *id)?;
                if !m.archived {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        "delete_unarchived",
                        "Only archived messages can be deleted: archive it first.",
                    )
                    .into());
                }
                w.delete(EntityRef::Message(m.id))?;
            }
        }
        Action::Assign {
            conversation_id,
            assignee,
        } => {
            let agent = match assignee {
                Some(id) => Some(agent(w, *id)?.ok_or_else(|| W::not_found("That agent"))?),
                None => None,
            };
            a.change_conversation(w, *conversation_id, |c| rules::assign(c, agent.as_ref()))?;
        }
        Action::SetTeam {
            conversation_id,
            team,
        } => set_team(w, &mut a, *conversation_id, *team)?,
        Action::Close {
            conversation_id,
            note,
            category,
        } => a.change_conversation(w, *conversation_id, |c| rules::close(c, note, category))?,
        Action::Reopen { conversation_id } => {
            a.change_conversation(w, *conversation_id, |c| rules::reopen(c, at))?
        }
        Action::Snooze {
            conversation_id,
            until,
        } => a.change_conversation(w, *conversation_id, |c| rules::snooze(c, *until, at))?,
        Action::Unsnooze { conversation_id } => {
            a.change_conversation(w, *conversation_id, rules::unsnooze)?
        }
        Action::SetUnanswered {
            conversation_id,
            unanswered,
        } => a.change_conversation(w, *conversation_id, |c| {
            Ok(rules::set_unanswered(c, *unanswered))
        })?,
        Action::MarkRead { conversation_id } => {
            let mut c = conversation(w, *conversation_id)?;
            if c.unread_count != 0 {
                c.unread_count = 0;
                w.put(&Entity::Conversation(c))?;
            }
        }
        Action::DeleteConversation { conversation_id } => {
            delete_conversation(w, me, *conversation_id)?
        }
        Action::EditContact { contact_id, edit } => {
            let c = contact(w, *contact_id)?;
            w.put(&Entity::Contact(edit.applied_to(&c)?))?;
        }
        Action::SetBot {
            contact_id,
            enabled,
        } => {
            let mut c = contact(w, *contact_id)?;
            c.bot_enabled = *enabled;
            w.put(&Entity::Contact(c))?;
        }
        Action::SaveView { view } => {
            if !save_view(w, &a, view)? {
                return Ok(());
            }
        }
        Action::DeleteView { view_id } => delete_view(w, me, *view_id)?,
        Action::SetAvailability { availability } => {
            let mut agent = agent(w, me.id)?.unwrap_or_else(|| me.clone());
            agent.availability = *availability;
            w.put(&Entity::Agent(agent))?;
        }
        Action::SaveNotifySettings { settings } => {
            if settings.agent_id != me.id {
                return Err(refuse(
                    ErrorCode::NotAllowed,
                    "others_settings",
                    "An agent chooses only their own notifications.",
                )
                .into());
            }
            w.put(&Entity::Settings(settings.clone()))?;
        }
    }
    finish(w, op, &mode, at)
}

fn edit_scheduled<W: Workspace>(
    w: &mut W,
    a: &Applying,
    message_id: MessageId,
    text: &str,
    send_at: Millis,
) -> Result<(), W::Error> {
    let mut m = a.scheduled(w, message_id)?;
    a.future::<W::Error>(send_at)?;
    check_text_for(m.channel, text)?;
    let c = conversation(w, m.conversation_id)?;
    a.window_allows(w, &c, &m.template, send_at, rules::window_closed_by)?;
    m.text = text.to_owned();
    m.send_at = Some(send_at);
    w.put(&Entity::Message(m))
}

fn retry_message<W: Workspace>(
    w: &mut W,
    a: &Applying,
    message_id: MessageId,
    text: &str,
    template: &Option<TemplateRef>,
) -> Result<(), W::Error> {
    let mut m = message(w, message_id)?;
    if m.status != MessageStatus::Failed {
        return already_there_or(
            a.mode,
            "retry_unfailed",
            "Only a failed message can be retried.",
        );
    }
    let c = conversation(w, m.conversation_id)?;
    check_text_for(m.channel, text)?;
    a.window_allows(w, &c, template, a.now, rules::window_closed)?;
    m.text = text.to_owned();
    m.template = template.clone();
    m.status = MessageStatus::Pending;
    m.failure = None;
    m.failure_reason = None;
    // It leaves through the channel the conversation is on now.
    m.channel_id = c.channel_id;
    m.history.push(StatusStamp {
        status: MessageStatus::Pending,
        at: a.at,
    });
    w.put(&Entity::Message(m))
}

/// Archives (or restores) customers' messages; only incoming ones are archived.
fn archive<W: Workspace>(w: &mut W, ids: &[MessageId], archived: bool) -> Result<(), W::Error> {
    for id in ids {
        let mut m = message(w, *id)?;
        if archived && m.direction != Direction::Incoming {
            return Err(refuse(
                ErrorCode::InvalidInput,
                "archive_outgoing",
                "Only incoming messages can be archived.",
            )
            .into());
        }
        if m.archived != archived {
            m.archived = archived;
            w.put(&Entity::Message(m))?;
        }
    }
    Ok(())
}

fn set_team<W: Workspace>(
    w: &mut W,
    a: &mut Applying,
    conversation_id: ConversationId,
    team: Option<crate::TeamId>,
) -> Result<(), W::Error> {
    let c = conversation(w, conversation_id)?;
    if let Some(t) = team
        && w.get(EntityRef::Team(t))?.is_none()
    {
        return Err(W::not_found("That team"));
    }
    if c.team == team {
        return Ok(());
    }
    a.change_loaded(w, c, |c| {
        c.team = team;
        Ok(vec![EventKind::TeamChanged { team }])
    })
}

fn delete_view<W: Workspace>(w: &mut W, me: &Agent, id: crate::ViewId) -> Result<(), W::Error> {
    let v = self::view(w, id)?.ok_or_else(|| W::not_found("That view"))?;
    if v.owner != me.id {
        return Err(refuse(
            ErrorCode::NotAllowed,
            "view_not_yours",
            "Only the creator of a view can delete it.",
        )
        .into());
    }
    w.delete(EntityRef::View(v.id))
}

fn delete_conversation<W: Workspace>(
    w: &mut W,
    me: &Agent,
    id: ConversationId,
) -> Result<(), W::Error> {
    if !rules::may_delete_conversation(me) {
        return Err(refuse(
            ErrorCode::NotAllowed,
            "delete_not_allowed",
            "Only the owner or an admin can delete a conversation.",
        )
        .into());
    }
    conversation(w, id)?;
    w.delete(EntityRef::Conversation(id))
}

#[allow(clippy::too_many_arguments)] // the action's own fields, as they come
fn send_message<W: Workspace>(
    w: &mut W,
    a: &mut Applying,
    message_id: MessageId,
    conversation_id: ConversationId,
    text: &str,
    attachments: &[crate::Attachment],
    template: &Option<TemplateRef>,
    reply_to: Option<MessageId>,
) -> Result<bool, W::Error> {
    if !is_new(w, EntityRef::Message(message_id), a.mode)? {
        return Ok(false);
    }
    let c = conversation(w, conversation_id)?;
    check_text_for(c.channel, text)?;
    // What it quotes is a message of this conversation, never one named from elsewhere.
    if let Some(quoted) = reply_to
        && find_message(w, quoted)?.is_none_or(|q| q.conversation_id != c.id)
    {
        return Err(W::not_found("The message replied to"));
    }
    a.window_allows(w, &c, template, a.now, rules::window_closed)?;
    let mut m = outgoing(
        a.me,
        message_id,
        &c,
        text,
        template,
        MessageStatus::Pending,
        a.at,
    );
    m.attachments = named(attachments);
    m.reply_to = reply_to;
    reply(w, &mut a.timeline, c, m)?;
    Ok(true)
}

#[allow(clippy::too_many_arguments)] // the action's own fields, as they come
fn schedule_message<W: Workspace>(
    w: &mut W,
    a: &Applying,
    message_id: MessageId,
    conversation_id: ConversationId,
    text: &str,
    attachments: &[crate::Attachment],
    template: &Option<TemplateRef>,
    send_at: Millis,
) -> Result<bool, W::Error> {
    if !is_new(w, EntityRef::Message(message_id), a.mode)? {
        return Ok(false);
    }
    a.future::<W::Error>(send_at)?;
    let c = conversation(w, conversation_id)?;
    check_text_for(c.channel, text)?;
    // The window is judged at the time it will go out (and again when it is due).
    a.window_allows(w, &c, template, send_at, rules::window_closed_by)?;
    let mut m = outgoing(
        a.me,
        message_id,
        &c,
        text,
        template,
        MessageStatus::Scheduled,
        a.at,
    );
    m.attachments = named(attachments);
    m.send_at = Some(send_at);
    w.put(&Entity::Message(m))?;
    Ok(true)
}

/// What writing first names.
struct WriteFirst<'x> {
    conversation_id: ConversationId,
    contact_id: ContactId,
    message_id: MessageId,
    channel: ChannelKind,
    address: &'x str,
    text: &'x str,
    template: &'x Option<TemplateRef>,
}

fn write_first<W: Workspace>(w: &mut W, a: &mut Applying, f: WriteFirst) -> Result<bool, W::Error> {
    if !is_new(w, EntityRef::Conversation(f.conversation_id), a.mode)?
        || !is_new(w, EntityRef::Message(f.message_id), a.mode)?
    {
        return Ok(false);
    }
    // The number may already belong to a contact: the conversation is with them.
    let known = match w.contact_with_identity(f.channel, f.address)? {
        Some(existing) => Some(existing),
        None => match w.get(EntityRef::Contact(f.contact_id))? {
            Some(Entity::Contact(c)) => Some(c),
            _ => {
                if !is_new(w, EntityRef::Contact(f.contact_id), a.mode)? {
                    return Ok(false);
                }
                None
            }
        },
    };
    // The message, in whichever conversation it goes.
    let first = |c: &Conversation| {
        outgoing(
            a.me,
            f.message_id,
            c,
            f.text,
            f.template,
            MessageStatus::Pending,
            a.at,
        )
    };
    // A known contact with a conversation still open: writing first continues it.
    if let Some(k) = &known
        && let Some(open) = open_conversation_of(w, k.id)?
    {
        let Some(mut c) = find_conversation(w, open)? else {
            return Err(refuse(
                ErrorCode::NotAllowed,
 "open_elsewhere",
                "This contact already has an open conversation with someone else: ask an admin to assign it to you.",
            )
            .into());
        };
        c.channel = f.channel;
        check_text_for(c.channel, f.text)?;
        a.window_allows(w, &c, f.template, a.now, rules::window_closed)?;
        let m = first(&c);
        reply(w, &mut a.timeline, c, m)?;
        return Ok(true);
    }
    let new_contact = known.is_none();
    let contact =
        known.unwrap_or_else(|| Contact::reached_at(f.contact_id, f.channel, f.address, "", a.at));
    let mut c = Conversation::new(f.conversation_id, contact.id, f.channel, a.at);
    c.assignee = Some(a.me.id);
    // The contact's window on this channel carries over from their earlier conversations.
    c.last_incoming_at = window_of(w, &c)?;
    check_text_for(f.channel, f.text)?;
    // Judged on the window just carried over (no second look at the contact's conversations).
    if !a.skips_window(f.template) && !rules::window_open(&c, a.now) {
        return Err(refuse(
            ErrorCode::WindowClosed,
            "template_to_start",
            format!(
                "On {} a conversation can only be started with an approved template.",
                c.channel.as_str()
            ),
        )
        .with("channel", c.channel.as_str())
        .into());
    }
    if new_contact {
        w.put(&Entity::Contact(contact))?;
    }
    let m = first(&c);
    w.put(&Entity::Message(m.clone()))?;
    rules::on_reply(&mut c, &m);
    w.put(&Entity::Conversation(c.clone()))?;
    a.timeline
        .record(w, c.id, vec![EventKind::Opened { first: true }])?;
    Ok(true)
}

fn save_view<W: Workspace>(
    w: &mut W,
    a: &Applying,
    view: &crate::CustomView,
) -> Result<bool, W::Error> {
    let existing = self::view(w, view.id)?;
    if existing.is_none() && !is_new(w, EntityRef::View(view.id), a.mode)? {
        return Ok(false);
    }
    let owner = existing.as_ref().map_or(view.owner, |v| v.owner);
    if owner != a.me.id || view.owner != a.me.id {
        return Err(refuse(
            ErrorCode::NotAllowed,
            "view_not_yours",
            "Only the creator of a view can change it.",
        )
        .into());
    }
    w.put(&Entity::View(view.clone()))?;
    Ok(true)
}

/// The agent's message goes out in `c`: stored, with the reply rule's effects on the
/// conversation and in its timeline.
fn reply<W: Workspace>(
    w: &mut W,
    timeline: &mut Timeline,
    mut c: Conversation,
    m: Message,
) -> Result<(), W::Error> {
    w.put(&Entity::Message(m.clone()))?;
    let events = rules::on_reply(&mut c, &m);
    w.put(&Entity::Conversation(c.clone()))?;
    timeline.record(w, c.id, events)
}

/// A refused send replayed (`Mode::Wedged`) leaves its message in Failed, with the reason.
fn finish<W: Workspace>(w: &mut W, op: &Op, mode: &Mode, at: Millis) -> Result<(), W::Error> {
    if let Mode::Wedged { reason } = mode
        && let Some(id) = created_message(op)
        && let Some(mut m) = find_message(w, id)?
    {
        m.status = MessageStatus::Failed;
        m.failure = Some(reason.clone());
        m.history.push(StatusStamp {
            status: MessageStatus::Failed,
            at,
        });
        w.put(&Entity::Message(m.clone()))?;
    }
    Ok(())
}

/// The contact's conversation that is not closed (the most recent, should there be several),
/// visible to the acting agent or not.
fn open_conversation_of<W: Workspace>(
    w: &W,
    contact: ContactId,
) -> Result<Option<ConversationId>, W::Error> {
    Ok(w.conversations_of(contact)?
        .into_iter()
        .filter(|g| g.state != ConversationState::Closed)
        .max_by_key(|g| g.last_message_at)
        .map(|g| g.id))
}

fn already_there_or<E: From<RuleError>>(mode: &Mode, key: &str, reason: &str) -> Result<(), E> {
    match mode {
        Mode::Fresh => Err(refuse(ErrorCode::WrongState, key, reason).into()),
        _ => Ok(()),
    }
}
