//! From pulled pages to [`Event::Notify`]: what a page brings that the mirror did not have is
//! noted before the page is stored, turned into [`Happening`]s with the conversation and contact
//! as they are after it, and given to the [`Triage`] policy with the agent's situation.

use outpost_protocol::{
    ChangeKind, ChangesPage, ConversationEvent, Entity, EntityRef, Message, MessageStatus,
    NotifyCategory,
};
use rusqlite::Connection;

use super::Client;
use crate::api::{Event, InterfaceState};
use crate::error::Result;
use crate::store::{get_contact, get_conversation, get_entity, get_message, notify_settings};
use crate::triage::{Happening, Notification, Situation, Triage};

/// What a page brings that the mirror does not have yet (read before the page is stored).
pub(crate) enum New {
    Message(Message),
    Event(ConversationEvent),
    /// A message that was scheduled and comes back failed.
    Failed(Message),
    /// A customer's call, newly known as missed.
    MissedCall(outpost_protocol::Call),
}

/// The news in `page`, by the mirror as it is before the page is stored.
pub(crate) fn news_of(conn: &Connection, page: &ChangesPage) -> Result<Vec<New>> {
    let mut news = Vec::new();
    for change in &page.changes {
        let ChangeKind::Upsert { entity } = &change.kind else {
            continue;
        };
        match entity {
            Entity::Message(m) => match get_message(conn, m.id)? {
                None => news.push(New::Message(m.clone())),
                Some(before)
                    if m.status == MessageStatus::Failed
                        && before.status != MessageStatus::Failed
                        && (before.status == MessageStatus::Scheduled
                            || before.send_at.is_some()) =>
                {
                    news.push(New::Failed(m.clone()))
                }
                Some(_) => {}
            },
            Entity::Event(e) if get_entity(conn, EntityRef::Event(e.id))?.is_none() => {
                news.push(New::Event(e.clone()));
            }
            Entity::Call(c) if c.is_missed() => {
                let known_missed = matches!(
                    get_entity(conn, EntityRef::Call(c.id))?,
                    Some(Entity::Call(before)) if before.is_missed()
                );
                if !known_missed {
                    news.push(New::MissedCall(c.clone()));
                }
            }
            _ => {}
        }
    }
    Ok(news)
}

/// The news with their conversations and contacts as the mirror now has them.
pub(crate) fn happenings(conn: &Connection, news: Vec<New>) -> Result<Vec<Happening>> {
    let mut out = Vec::with_capacity(news.len());
    for n in news {
        let conversation_id = match &n {
            New::Message(m) | New::Failed(m) => m.conversation_id,
            New::Event(e) => e.conversation_id,
            New::MissedCall(c) => c.conversation_id,
        };
        // A conversation the agent may no longer see (revoked in the same page) says nothing.
        let Some(conversation) = get_conversation(conn, conversation_id)? else {
            continue;
        };
        let contact = get_contact(conn, conversation.contact_id)?
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| crate::triage::channel_name(conversation.channel).to_owned());
        out.push(match n {
            New::Message(message) => Happening::Message {
                message,
                conversation,
                contact,
            },
            New::Failed(message) => Happening::ScheduledFailed {
                message,
                conversation,
                contact,
            },
            New::Event(event) => Happening::Event {
                event,
                conversation,
                contact,
            },
            New::MissedCall(call) => Happening::MissedCall {
                call,
                conversation,
                contact,
            },
        });
    }
    Ok(out)
}

impl Client {
    /// Decides and announces the notifications `happened` calls for.
    pub(crate) fn notify(&self, happened: &[Happening]) -> Result<()> {
        let notifications = self.with_situation(|s, triage| triage.decide(s, happened))?;
        self.announce(notifications);
        Ok(())
    }

    /// After a first sync: one summary of what is unread in the categories the agent follows.
    pub fn notify_unread_summary(&self) -> Result<()> {
        let unread: Vec<(Option<outpost_protocol::AgentId>, u32)> = self.store().read(|c| {
            // Open conversations, as the side bar and the tray count them.
            let mut stmt = c.prepare_cached(
                "SELECT assignee, unread FROM conversations WHERE unread > 0 AND state = 0",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Option<uuid::Uuid>>(0)?
                        .map(outpost_protocol::AgentId),
                    r.get::<_, u32>(1)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        let notification = self.with_situation(|s, triage| {
            let (mut messages, mut conversations) = (0, 0);
            for (assignee, count) in &unread {
                let category = match assignee {
                    Some(a) if *a == s.me.id => NotifyCategory::MessageMine,
                    Some(_) => NotifyCategory::MessageOthers,
                    None => NotifyCategory::MessageUnassigned,
                };
                if s.allows(category) {
                    messages += count;
                    conversations += 1;
                }
            }
            triage.summary(s, messages, conversations)
        })?;
        self.announce(notification);
        Ok(())
    }

    /// What the window says: the conversation the agent has open in the focused window is
    /// looked at (its burst of notifications ends).
    pub fn set_interface(&self, state: InterfaceState) {
        if let (true, Some(id)) = (state.focused, state.conversation_id) {
            self.triage().seen(id);
        }
        *self.interface.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// The language the interface speaks (for what the shell shows outside the window).
    pub fn interface_language(&self) -> String {
        self.interface
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .language
            .clone()
    }

    fn triage(&self) -> std::sync::MutexGuard<'_, Triage> {
        self.triage.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_situation<T: Default>(
        &self,
        f: impl FnOnce(&Situation<'_>, &mut Triage) -> T,
    ) -> Result<T> {
        let Some(me) = self.store().me() else {
            return Ok(T::default());
        };
        let settings = self.store().read(|c| notify_settings(c, me.id))?;
        let ui = self
            .interface
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let now = self.now();
        let local = now / 60_000 + i64::from(ui.utc_offset_minutes);
        let situation = Situation {
            me: &me,
            settings: &settings,
            now,
            local_minute: local.rem_euclid(24 * 60) as u16,
            focused: ui.focused.then_some(ui.conversation_id).flatten(),
            language: &ui.language,
        };
        Ok(f(&situation, &mut self.triage()))
    }

    fn announce(&self, notifications: impl IntoIterator<Item = Notification>) {
        for notification in notifications {
            self.emit(Event::Notify { notification });
        }
    }
}
