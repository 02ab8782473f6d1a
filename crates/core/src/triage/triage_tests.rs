use outpost_protocol::*;
use proptest::prelude::*;

use super::*;
use crate::testing::{HOUR, MINUTE, T0, agent, contact, conversation, incoming};

struct World {
    me: Agent,
    pedro: Agent,
    settings: NotifySettings,
    focused: Option<ConversationId>,
    now: Millis,
    minute: u16,
    language: &'static str,
}

impl World {
    fn new() -> World {
        let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
        let pedro = agent("Pedro", Role::Agent, Visibility::Unrestricted, vec![]);
        World {
            settings: NotifySettings::defaults(me.id),
            me,
            pedro,
            focused: None,
            now: T0,
            minute: 10 * 60,
            language: "en",
        }
    }

    fn situation(&self) -> Situation<'_> {
        Situation {
            me: &self.me,
            settings: &self.settings,
            now: self.now,
            local_minute: self.minute,
            focused: self.focused,
            language: self.language,
        }
    }

    /// A conversation with `name`, assigned to `assignee`.
    fn conversation(&self, assignee: Option<AgentId>) -> Conversation {
        let mut c = conversation(&contact("Beatriz Araújo"), T0 - HOUR);
        c.assignee = assignee;
        c
    }

    fn customer_writes(&self, c: &Conversation, text: &str) -> Happening {
        Happening::Message {
            message: incoming(c, text, self.now - 2_000),
            conversation: c.clone(),
            contact: "Beatriz Araújo".into(),
        }
    }

    fn event(&self, c: &Conversation, by: Option<&Agent>, kind: EventKind) -> Happening {
        Happening::Event {
            event: ConversationEvent {
                id: EventId::new(),
                conversation_id: c.id,
                at: self.now - 1_000,
                actor: match by {
                    Some(a) => Actor {
                        kind: ActorKind::Agent,
                        agent_id: Some(a.id),
                        name: a.name.clone(),
                    },
                    None => Actor {
                        kind: ActorKind::System,
                        agent_id: None,
                        name: String::new(),
                    },
                },
                kind,
            },
            conversation: c.clone(),
            contact: "Beatriz Araújo".into(),
        }
    }
}

fn decide(w: &World, happened: &[Happening]) -> Vec<Notification> {
    Triage::new().decide(&w.situation(), happened)
}

#[test]
fn a_customer_message_in_my_conversation_notifies_with_contact_channel_and_text() {
    let w = World::new();
    let c = w.conversation(Some(w.me.id));
    let n = decide(&w, &[w.customer_writes(&c, "Meu pedido chegou quebrado")]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].title, "Beatriz Araújo · WhatsApp");
    assert_eq!(n[0].body, "Meu pedido chegou quebrado");
    assert_eq!(n[0].category, Some(NotifyCategory::MessageMine));
    assert_eq!(n[0].conversation_id, Some(c.id));
    assert_eq!(n[0].key, format!("conversation:{}", c.id.0));
    // Already mine: open, close, snooze — no "assign to me".
    let actions: Vec<_> = n[0].actions.iter().map(|a| a.id).collect();
    assert_eq!(
        actions,
        [
            QuickActionId::Open,
            QuickActionId::Close,
            QuickActionId::Snooze,
            QuickActionId::Reply
        ]
    );
    let nobody = w.conversation(None);
    let n = decide(&w, &[w.customer_writes(&nobody, "Oi")]);
    assert_eq!(n[0].actions[1].id, QuickActionId::AssignToMe);
    assert_eq!(n[0].actions[1].label, "Assign to me");
}

#[test]
fn each_message_category_follows_the_agents_choice() {
    let mut w = World::new();
    let mine = w.conversation(Some(w.me.id));
    let others = w.conversation(Some(w.pedro.id));
    let nobody = w.conversation(None);
    let all = [
        w.customer_writes(&mine, "a"),
        w.customer_writes(&others, "b"),
        w.customer_writes(&nobody, "c"),
    ];
    // The defaults: mine and unassigned, not other agents' conversations.
    let got: Vec<_> = decide(&w, &all).into_iter().map(|n| n.category).collect();
    assert_eq!(got.len(), 2);
    assert!(got.contains(&Some(NotifyCategory::MessageMine)));
    assert!(got.contains(&Some(NotifyCategory::MessageUnassigned)));
    w.settings.enabled = vec![NotifyCategory::MessageOthers];
    let got: Vec<_> = decide(&w, &all).into_iter().map(|n| n.category).collect();
    assert_eq!(got, vec![Some(NotifyCategory::MessageOthers)]);
    w.settings.enabled.clear();
    assert!(decide(&w, &all).is_empty());
}

#[test]
fn an_assignment_to_me_by_someone_else_notifies_and_mine_does_not() {
    let w = World::new();
    let c = w.conversation(Some(w.me.id));
    let by_pedro = w.event(
        &c,
        Some(&w.pedro),
        EventKind::Assigned {
            assignee: Some(w.me.id),
        },
    );
    let n = decide(&w, &[by_pedro]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].category, Some(NotifyCategory::AssignedToMe));
    assert_eq!(n[0].body, "Assigned to you by Pedro");
    let by_me = w.event(
        &c,
        Some(&w.me),
        EventKind::Assigned {
            assignee: Some(w.me.id),
        },
    );
    assert!(decide(&w, &[by_me]).is_empty());
    // Assigned to somebody else: not my news.
    let to_pedro = w.event(
        &c,
        Some(&w.pedro),
        EventKind::Assigned {
            assignee: Some(w.pedro.id),
        },
    );
    assert!(decide(&w, &[to_pedro]).is_empty());
}

#[test]
fn a_snoozed_conversation_that_wakes_notifies_its_assignee() {
    let w = World::new();
    let mine = w.conversation(Some(w.me.id));
    let n = decide(&w, &[w.event(&mine, None, EventKind::Unsnoozed)]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].category, Some(NotifyCategory::SnoozeWoke));
    assert_eq!(n[0].body, "Snoozed conversation is back");
    let pedros = w.conversation(Some(w.pedro.id));
    assert!(decide(&w, &[w.event(&pedros, None, EventKind::Unsnoozed)]).is_empty());
    // Unsnoozed by my own hand: no news.
    assert!(decide(&w, &[w.event(&mine, Some(&w.me), EventKind::Unsnoozed)]).is_empty());
}

#[test]
fn a_failed_scheduled_message_of_mine_notifies_with_the_reason() {
    let w = World::new();
    let c = w.conversation(Some(w.me.id));
    let mut m = incoming(&c, "Lembrete: sua entrega é amanhã", w.now);
    m.direction = Direction::Outgoing;
    m.sender = Sender {
        kind: SenderKind::Agent,
        agent_id: Some(w.me.id),
        name: w.me.name.clone(),
    };
    m.status = MessageStatus::Failed;
    m.failure = Some("The 24-hour window has closed".into());
    let failed = Happening::ScheduledFailed {
        message: m.clone(),
        conversation: c.clone(),
        contact: "Beatriz Araújo".into(),
    };
    let n = decide(&w, std::slice::from_ref(&failed));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].category, Some(NotifyCategory::ScheduledFailed));
    assert_eq!(
        n[0].body,
        "A scheduled message was not sent: The 24-hour window has closed"
    );
    // Pedro's scheduled message is Pedro's business.
    m.sender.agent_id = Some(w.pedro.id);
    let theirs = Happening::ScheduledFailed {
        message: m,
        conversation: c,
        contact: "Beatriz Araújo".into(),
    };
    assert!(decide(&w, &[theirs]).is_empty());
}

#[test]
fn a_refused_action_notifies_with_the_servers_reason() {
    let mut w = World::new();
    let refused = Happening::Refused {
        op_id: OpId::new(),
        action: "assign".into(),
        conversation_id: None,
        reason: "Pedro is away and takes no new conversations.".into(),
        why: None,
    };
    let n = decide(&w, std::slice::from_ref(&refused));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].title, "An action was not done");
    assert_eq!(n[0].body, "Pedro is away and takes no new conversations.");
    assert!(n[0].actions.is_empty(), "nothing to open");
    w.settings
        .enabled
        .retain(|c| *c != NotifyCategory::ActionRefused);
    assert!(decide(&w, &[refused]).is_empty());
}

#[test]
fn nothing_for_the_conversation_open_in_the_focused_window() {
    let mut w = World::new();
    let open = w.conversation(Some(w.me.id));
    let other = w.conversation(Some(w.me.id));
    w.focused = Some(open.id);
    let n = decide(
        &w,
        &[
            w.customer_writes(&open, "a"),
            w.customer_writes(&other, "b"),
        ],
    );
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].conversation_id, Some(other.id));
}

#[test]
fn do_not_disturb_until_a_time_and_quiet_hours_silence_everything() {
    let mut w = World::new();
    let c = w.conversation(Some(w.me.id));
    let msg = [w.customer_writes(&c, "Olá")];
    w.settings.dnd_until = Some(w.now + MINUTE);
    assert!(decide(&w, &msg).is_empty());
    assert!(Triage::new().summary(&w.situation(), 37, 12).is_none());
    // Once the time has passed, notifications come again.
    w.settings.dnd_until = Some(w.now - 1);
    assert_eq!(decide(&w, &msg).len(), 1);
    w.settings.quiet_hours = Some(QuietHours {
        start: 22 * 60,
        end: 8 * 60,
    });
    w.minute = 23 * 60;
    assert!(decide(&w, &msg).is_empty());
    w.minute = 8 * 60;
    assert_eq!(decide(&w, &msg).len(), 1);
}

#[test]
fn away_mutes_the_categories_the_agent_chose() {
    let mut w = World::new();
    let nobody = w.conversation(None);
    let mine = w.conversation(Some(w.me.id));
    let msgs = [
        w.customer_writes(&nobody, "a"),
        w.customer_writes(&mine, "b"),
    ];
    w.me.availability = Availability::Away;
    // The defaults mute the unassigned queue while away; my own conversations still notify.
    let n = decide(&w, &msgs);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].category, Some(NotifyCategory::MessageMine));
    w.settings.muted_when_away = vec![
        NotifyCategory::MessageMine,
        NotifyCategory::MessageUnassigned,
    ];
    assert!(decide(&w, &msgs).is_empty());
    w.me.availability = Availability::Available;
    assert_eq!(decide(&w, &msgs).len(), 2);
}

#[test]
fn a_burst_is_one_notification_that_counts_and_replaces_until_the_agent_looks() {
    let w = World::new();
    let c = w.conversation(Some(w.me.id));
    let mut triage = Triage::new();
    let three: Vec<_> = ["Oi", "Tudo bem?", "Preciso de ajuda com o pedido"]
        .iter()
        .map(|t| w.customer_writes(&c, t))
        .collect();
    let n = triage.decide(&w.situation(), &three);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].count, 3);
    assert_eq!(
        n[0].body,
        "3 new messages from Beatriz\nPreciso de ajuda com o pedido"
    );
    // Two more in the next pull: the same key (it replaces), the count goes on.
    let n2 = triage.decide(
        &w.situation(),
        &[w.customer_writes(&c, "Alô?"), w.customer_writes(&c, "?")],
    );
    assert_eq!(n2[0].key, n[0].key);
    assert_eq!(n2[0].count, 5);
    assert!(n2[0].body.starts_with("5 new messages from Beatriz"));
    // The agent looked: the next message starts again.
    triage.seen(c.id);
    let n3 = triage.decide(&w.situation(), &[w.customer_writes(&c, "Obrigada")]);
    assert_eq!((n3[0].count, n3[0].body.as_str()), (1, "Obrigada"));
}

#[test]
fn history_gives_one_summary_instead_of_a_notification_per_message() {
    let w = World::new();
    let a = w.conversation(Some(w.me.id));
    let b = w.conversation(None);
    let old = |c: &Conversation, text: &str| Happening::Message {
        message: incoming(c, text, w.now - 3 * HOUR),
        conversation: c.clone(),
        contact: "Beatriz Araújo".into(),
    };
    let n = decide(
        &w,
        &[
            old(&a, "1"),
            old(&a, "2"),
            old(&b, "3"),
            w.customer_writes(&b, "now"),
        ],
    );
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(n[0].body, "now");
    assert_eq!(n[1].key, "summary");
    assert_eq!(n[1].body, "3 new messages in 2 conversations");
    // A first sync: the client asks for the summary of what is unread.
    let s = Triage::new().summary(&w.situation(), 37, 12).unwrap();
    assert_eq!(s.body, "37 new messages in 12 conversations");
}

#[test]
fn notifications_speak_the_interfaces_language() {
    let mut w = World::new();
    let c = w.conversation(Some(w.me.id));
    let msgs = [w.customer_writes(&c, "Oi"), w.customer_writes(&c, "Alô")];
    w.language = "pt-BR";
    assert_eq!(
        decide(&w, &msgs)[0].body,
        "2 mensagens novas de Beatriz\nAlô"
    );
    w.language = "es";
    assert_eq!(
        decide(&w, &msgs)[0].body,
        "2 mensajes nuevos de Beatriz\nAlô"
    );
    assert_eq!(
        Triage::new().summary(&w.situation(), 4, 1).unwrap().body,
        "4 mensajes nuevos en 1 conversación"
    );
}

#[test]
fn customer_text_is_shown_as_plain_cut_text() {
    let w = World::new();
    let c = w.conversation(Some(w.me.id));
    let hostile = format!(
        "<b>click</b>\u{202E}gpj.exe\u{0007}\nline two {}",
        "x".repeat(500)
    );
    let n = decide(&w, &[w.customer_writes(&c, &hostile)]);
    let body = &n[0].body;
    assert!(body.starts_with("<b>click</b>gpj.exe line two"), "{body}");
    assert!(!body.contains('\u{202E}') && !body.contains('\u{0007}') && !body.contains('\n'));
    assert!(body.chars().count() <= PREVIEW_CHARS);
    assert!(body.ends_with('…'), "a cut text says so");
}

/// What an agent can do, or have done in their name, that comes back in the feed.
fn own_happening(w: &World, c: &Conversation, pick: u8, text: String) -> Happening {
    let me = &w.me;
    match pick % 5 {
        // A message I sent (from any desktop of mine).
        0 => {
            let mut m = incoming(c, &text, w.now);
            m.direction = Direction::Outgoing;
            m.sender = Sender {
                kind: SenderKind::Agent,
                agent_id: Some(me.id),
                name: me.name.clone(),
            };
            Happening::Message {
                message: m,
                conversation: c.clone(),
                contact: "Beatriz".into(),
            }
        }
        // Even marked incoming, a message sent by me is mine.
        1 => {
            let mut m = incoming(c, &text, w.now);
            m.sender.agent_id = Some(me.id);
            Happening::Message {
                message: m,
                conversation: c.clone(),
                contact: "Beatriz".into(),
            }
        }
        2 => w.event(
            c,
            Some(me),
            EventKind::Assigned {
                assignee: Some(me.id),
            },
        ),
        3 => w.event(c, Some(me), EventKind::Unsnoozed),
        _ => w.event(
            c,
            Some(me),
            EventKind::Closed {
                note: text,
                category: String::new(),
            },
        ),
    }
}

proptest! {
    /// Whatever the settings, the focus and the mix, the agent's own actions never notify.
    #[test]
    fn no_own_action_ever_notifies(
        picks in proptest::collection::vec((any::<u8>(), 0usize..3, "[a-zA-Z ]{0,40}"), 1..30),
        enabled in proptest::collection::vec(any::<bool>(), 7),
        away in any::<bool>(),
        focused in any::<bool>(),
    ) {
        let mut w = World::new();
        w.settings.enabled = NotifyCategory::ALL
            .into_iter()
            .zip(enabled)
            .filter_map(|(c, on)| on.then_some(c))
            .collect();
        w.settings.muted_when_away.clear();
        if away {
            w.me.availability = Availability::Away;
        }
        let conversations = [
            w.conversation(Some(w.me.id)),
            w.conversation(Some(w.pedro.id)),
            w.conversation(None),
        ];
        if focused {
            w.focused = Some(conversations[1].id);
        }
        let happened: Vec<_> = picks
            .into_iter()
            .map(|(pick, which, text)| own_happening(&w, &conversations[which], pick, text))
            .collect();
        let mut triage = Triage::new();
        prop_assert!(triage.decide(&w.situation(), &happened).is_empty());
    }
}

impl World {
    /// A customer's call to `c`, ended at `ended` with `outcome`.
    fn call(&self, c: &Conversation, outcome: CallOutcome, ended: Millis) -> Happening {
        Happening::MissedCall {
            call: outpost_protocol::test_data::call(
                c,
                Direction::Incoming,
                outcome,
                ended - 30_000,
            ),
            conversation: c.clone(),
            contact: "Beatriz Araújo".into(),
        }
    }
}

#[test]
fn a_missed_call_notifies_in_its_own_category_and_words_like_a_message_would() {
    let mut w = World::new();
    let mine = w.conversation(Some(w.me.id));
    let n = decide(&w, &[w.call(&mine, CallOutcome::Missed, w.now - 1_000)]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].category, Some(NotifyCategory::MissedCall));
    assert_eq!(n[0].title, "Beatriz Araújo · WhatsApp");
    assert_eq!(n[0].body, "Missed call");
    assert_eq!(n[0].conversation_id, Some(mine.id));
    // With the customer's message that came with it: one notification, both said.
    let n = decide(
        &w,
        &[
            w.call(&mine, CallOutcome::Missed, w.now - 1_000),
            w.customer_writes(&mine, "Me liga?"),
        ],
    );
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].body, "Missed call\nMe liga?");
    // Nobody's conversation too; another agent's is theirs.
    let nobody = w.conversation(None);
    assert_eq!(
        decide(&w, &[w.call(&nobody, CallOutcome::Missed, w.now)]).len(),
        1
    );
    let pedros = w.conversation(Some(w.pedro.id));
    assert!(decide(&w, &[w.call(&pedros, CallOutcome::Missed, w.now)]).is_empty());
    // An answered call is no news; history (long ended) is not either.
    assert!(decide(&w, &[w.call(&mine, CallOutcome::Answered, w.now)]).is_empty());
    assert!(
        decide(
            &w,
            &[w.call(&mine, CallOutcome::Missed, w.now - FRESH_FOR - 1)]
        )
        .is_empty()
    );
    // Not for the conversation open in the focused window.
    w.focused = Some(mine.id);
    assert!(decide(&w, &[w.call(&mine, CallOutcome::Missed, w.now)]).is_empty());
    w.focused = None;
    // In the agent's language.
    w.language = "pt-BR";
    assert_eq!(
        decide(&w, &[w.call(&mine, CallOutcome::Missed, w.now)])[0].body,
        "Ligação perdida"
    );
    w.language = "es";
    assert_eq!(
        decide(&w, &[w.call(&mine, CallOutcome::Missed, w.now)])[0].body,
        "Llamada perdida"
    );
    // On by default; switched off, silent.
    assert!(NotifySettings::defaults(w.me.id).wants(NotifyCategory::MissedCall));
    w.settings
        .enabled
        .retain(|c| *c != NotifyCategory::MissedCall);
    assert!(decide(&w, &[w.call(&mine, CallOutcome::Missed, w.now)]).is_empty());
}
