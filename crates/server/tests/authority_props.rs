//! Property: whatever ops an agent sends, with ids drawn from everything in the workspace (what
//! they see, what they once saw and lost, what they never saw) and fresh ones, no entity that
//! was out of their sight before an op is changed by it, for every role. Each op is applied by
//! the server's own path (`workspace::apply_op` over real SQLite), and the workspace out of the
//! agent's sight is compared before and after.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use outpost_protocol::test_data::{HOUR, T0, agent};
use outpost_protocol::*;
use outpost_server::storage::store::Store;
use outpost_server::storage::{Storage, StorageError, Tx};
use outpost_server::workspace;
use proptest::prelude::*;

struct World {
    _dir: tempfile::TempDir,
    storage: Store,
    agents: Vec<Agent>,
    teams: Vec<TeamId>,
    /// Every entity made at the start, by reference.
    refs: Vec<EntityRef>,
    addresses: Vec<String>,
}

fn conversation(
    contact: ContactId,
    assignee: Option<AgentId>,
    team: Option<TeamId>,
) -> Conversation {
    let mut c = Conversation::new(
        ConversationId::new(),
        contact,
        ChannelKind::Whatsapp,
        T0 - HOUR,
    );
    c.assignee = assignee;
    c.team = team;
    c.unanswered = true;
    c.unread_count = 1;
    c.last_message_direction = Some(Direction::Incoming);
    c.last_message_preview = "Oi".into();
    c.last_incoming_at = Some(T0 - HOUR);
    c
}

fn message(c: &Conversation, direction: Direction, status: MessageStatus) -> Message {
    let kind = if direction == Direction::Incoming {
        SenderKind::Contact
    } else {
        SenderKind::Agent
    };
    let mut m = Message::new(
        MessageId::new(),
        c,
        direction,
        Sender::named(kind, "Alguém"),
        "texto",
        status,
        T0 - HOUR,
    );
    m.failure = (status == MessageStatus::Failed).then(|| "erro".into());
    m.archived = direction == Direction::Incoming && status == MessageStatus::Received;
    m.send_at = (status == MessageStatus::Scheduled).then_some(T0 + HOUR);
    m
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let storage =
        outpost_server::open_store(dir.path(), common::database_for(dir.path()).as_deref())
            .unwrap()
            .0;
    let (t1, t2) = (TeamId::new(), TeamId::new());
    let agents = vec![
        agent("dona", Role::Owner, Visibility::Unrestricted, vec![]),
        agent("admin", Role::Admin, Visibility::Unrestricted, vec![]),
        agent("livre", Role::Agent, Visibility::Unrestricted, vec![t2]),
        agent("time", Role::Agent, Visibility::Team, vec![t1]),
        agent("propria", Role::Agent, Visibility::OwnOnly, vec![]),
    ];
    let mut refs = Vec::new();
    let mut addresses = Vec::new();
    storage
        .write(|tx| {
            for (t, name) in [(t1, "Suporte"), (t2, "Vendas")] {
                tx.put(&Entity::Team(Team {
                    id: t,
                    name: name.into(),
                    quick_replies: Vec::new(),
                }))?;
                refs.push(EntityRef::Team(t));
            }
            for a in &agents {
                tx.put(&Entity::Agent(a.clone()))?;
                refs.push(EntityRef::Agent(a.id));
            }
            // Conversations of every kind of sight: each agent's own, a team's, unassigned, and
            // one closed; one contact has two.
            let owners: [(Option<AgentId>, Option<TeamId>); 6] = [
                (Some(agents[4].id), None),
                (Some(agents[2].id), Some(t2)),
                (None, Some(t1)),
                (Some(agents[3].id), None),
                (None, None),
                (Some(agents[2].id), None),
            ];
            let mut contacts = Vec::new();
            for i in 0..5 {
                let address = format!("55119000000{i:02}");
                let k = Contact {
                    id: ContactId::new(),
                    name: format!("Cliente {i}"),
                    phone: address.clone(),
                    email: String::new(),
                    country: String::new(),
                    language: String::new(),
                    avatar_url: String::new(),
                    identities: vec![ChannelIdentity {
                        channel: ChannelKind::Whatsapp,
                        address: address.clone(),
                    }],
                    tags: vec![],
                    fields: Default::default(),
                    private_comment: "segredo".into(),
                    bot_enabled: false,
                    active_flow: None,
                    created_at: T0 - HOUR,
                };
                tx.put(&Entity::Contact(k.clone()))?;
                refs.push(EntityRef::Contact(k.id));
                contacts.push(k.id);
                addresses.push(address);
            }
            for (i, (assignee, team)) in owners.into_iter().enumerate() {
                let mut c = conversation(contacts[i % contacts.len()], assignee, team);
                if i == 3 {
                    c.state = ConversationState::Closed;
                }
                workspace::put_announced(tx, &Entity::Conversation(c.clone()))?;
                refs.push(EntityRef::Conversation(c.id));
                for (d, s) in [
                    (Direction::Incoming, MessageStatus::Received),
                    (Direction::Outgoing, MessageStatus::Failed),
                    (Direction::Outgoing, MessageStatus::Scheduled),
                ] {
                    let m = message(&c, d, s);
                    tx.put(&Entity::Message(m.clone()))?;
                    refs.push(EntityRef::Message(m.id));
                }
                let ev = outpost_protocol::test_data::event(
                    &c,
                    EventKind::Opened { first: true },
                    T0 - HOUR,
                );
                tx.put(&Entity::Event(ev.clone()))?;
                refs.push(EntityRef::Event(ev.id));
                let call = outpost_protocol::test_data::call(
                    &c,
                    Direction::Incoming,
                    CallOutcome::Missed,
                    T0 - HOUR,
                );
                tx.put(&Entity::Call(call.clone()))?;
                refs.push(EntityRef::Call(call.id));
            }
            for (owner, sharing) in [
                (agents[2].id, Sharing::default()),
                (
                    agents[2].id,
                    Sharing {
                        agents: vec![],
                        teams: vec![t1],
                    },
                ),
                (agents[4].id, Sharing::default()),
            ] {
                let v = CustomView {
                    id: ViewId::new(),
                    name: "Vista".into(),
                    owner,
                    sharing,
                    filter: Condition::Tag {
                        tag: "vip".into(),
                        present: true,
                    },
                };
                tx.put(&Entity::View(v.clone()))?;
                refs.push(EntityRef::View(v.id));
            }
            for a in &agents {
                tx.put(&Entity::Settings(NotifySettings::defaults(a.id)))?;
                refs.push(EntityRef::Settings(a.id));
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
    World {
        _dir: dir,
        storage,
        agents,
        teams: vec![t1, t2],
        refs,
        addresses,
    }
}

/// Whether `agent`, as stored now, may see `e`, by the product's rules.
fn in_sight(storage: &Store, agent: &Agent, e: &Entity) -> bool {
    let conversation = |id: ConversationId| match storage.get(EntityRef::Conversation(id)) {
        Ok(Some(Entity::Conversation(c))) => rules::may_see(agent, &c),
        _ => false,
    };
    match e {
        Entity::Conversation(c) => rules::may_see(agent, c),
        Entity::Message(m) => conversation(m.conversation_id),
        Entity::Event(ev) => conversation(ev.conversation_id),
        Entity::Call(c) => conversation(c.conversation_id),
        Entity::Contact(k) => {
            rules::is_privileged(agent)
                || agent.visibility == Visibility::Unrestricted
                || storage
                    .write(|tx| tx.conversations_of(k.id))
                    .unwrap_or_default()
                    .into_iter()
                    .any(conversation)
        }
        Entity::View(v) => {
            v.owner == agent.id
                || v.sharing.agents.contains(&agent.id)
                || v.sharing.teams.iter().any(|t| agent.teams.contains(t))
        }
        Entity::Agent(_) | Entity::Team(_) | Entity::Channel(_) => true,
        Entity::Settings(s) => s.agent_id == agent.id,
    }
}

/// An op's shape and the indices it picks its ids with.
type Pick = (u8, [u16; 4]);

fn action(w: &World, fresh: &[EntityRef], pick: Pick) -> Action {
    let (kind, n) = pick;
    let all: Vec<EntityRef> = w.refs.iter().chain(fresh).copied().collect();
    let of = |want: fn(&EntityRef) -> Option<uuid::Uuid>, i: u16| -> uuid::Uuid {
        let ids: Vec<uuid::Uuid> = all.iter().filter_map(want).collect();
        ids[i as usize % ids.len()]
    };
    let conv = |i| {
        ConversationId(of(
            |r| match r {
                EntityRef::Conversation(id) => Some(id.0),
                _ => None,
            },
            i,
        ))
    };
    let msg = |i| {
        MessageId(of(
            |r| match r {
                EntityRef::Message(id) => Some(id.0),
                _ => None,
            },
            i,
        ))
    };
    let contact = |i| {
        ContactId(of(
            |r| match r {
                EntityRef::Contact(id) => Some(id.0),
                _ => None,
            },
            i,
        ))
    };
    let view = |i| {
        ViewId(of(
            |r| match r {
                EntityRef::View(id) => Some(id.0),
                _ => None,
            },
            i,
        ))
    };
    let some_agent = |i: u16| w.agents[i as usize % w.agents.len()].id;
    let address = |i: u16| match w.addresses.get(i as usize % (w.addresses.len() + 2)) {
        Some(a) => a.clone(),
        None => format!("5511988{:06}", i),
    };
    match kind % 25 {
        0 => Action::SendMessage {
            message_id: msg(n[0]),
            conversation_id: conv(n[1]),
            text: "oi".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        },
        1 => Action::ScheduleMessage {
            message_id: msg(n[0]),
            conversation_id: conv(n[1]),
            text: "depois".into(),
            attachments: vec![],
            template: None,
            send_at: T0 + 2 * HOUR,
        },
        2 => Action::EditScheduled {
            message_id: msg(n[0]),
            text: "editado".into(),
            send_at: T0 + 3 * HOUR,
        },
        3 => Action::CancelScheduled {
            message_id: msg(n[0]),
        },
        4 => Action::RetryMessage {
            message_id: msg(n[0]),
            text: "de novo".into(),
            template: None,
        },
        5 => Action::DiscardMessage {
            message_id: msg(n[0]),
        },
        6 => Action::WriteFirst {
            conversation_id: conv(n[0]),
            contact_id: contact(n[1]),
            message_id: msg(n[2]),
            channel: ChannelKind::Whatsapp,
            address: address(n[3]),
            text: "olá".into(),
            template: None,
        },
        7 => Action::Archive {
            message_ids: vec![msg(n[0])],
        },
        8 => Action::Restore {
            message_ids: vec![msg(n[0])],
        },
        9 => Action::DeleteArchived {
            message_ids: vec![msg(n[0])],
        },
        10 => Action::Assign {
            conversation_id: conv(n[0]),
            assignee: (n[1] % 4 != 0).then(|| some_agent(n[2])),
        },
        11 => Action::SetTeam {
            conversation_id: conv(n[0]),
            team: w.teams.get(n[1] as usize % 3).copied(),
        },
        12 => Action::Close {
            conversation_id: conv(n[0]),
            note: String::new(),
            category: String::new(),
        },
        13 => Action::Reopen {
            conversation_id: conv(n[0]),
        },
        14 => Action::Snooze {
            conversation_id: conv(n[0]),
            until: T0 + HOUR,
        },
        15 => Action::Unsnooze {
            conversation_id: conv(n[0]),
        },
        16 => Action::SetUnanswered {
            conversation_id: conv(n[0]),
            unanswered: n[1] % 2 == 0,
        },
        17 => Action::MarkRead {
            conversation_id: conv(n[0]),
        },
        18 => Action::DeleteConversation {
            conversation_id: conv(n[0]),
        },
        19 => Action::EditContact {
            contact_id: contact(n[0]),
            edit: ContactEdit {
                name: Some("Tomado".into()),
                private_comment: Some("trocado".into()),
                ..Default::default()
            },
        },
        20 => Action::SetBot {
            contact_id: contact(n[0]),
            enabled: n[1] % 2 == 0,
        },
        21 => Action::SaveView {
            view: CustomView {
                id: view(n[0]),
                name: "Tomada".into(),
                owner: some_agent(n[1]),
                sharing: Sharing::default(),
                filter: Condition::Tag {
                    tag: "x".into(),
                    present: true,
                },
            },
        },
        22 => Action::DeleteView {
            view_id: view(n[0]),
        },
        23 => Action::SetAvailability {
            availability: if n[0] % 2 == 0 {
                Availability::Away
            } else {
                Availability::Available
            },
        },
        _ => Action::SaveNotifySettings {
            settings: NotifySettings::defaults(some_agent(n[0])),
        },
    }
}

fn check(role: usize, picks: Vec<Pick>) -> Result<(), TestCaseError> {
    let w = world();
    let me = w.agents[role % w.agents.len()].clone();
    // Fresh ids: one or two of each kind, so creates happen too.
    let fresh = vec![
        EntityRef::Conversation(ConversationId::new()),
        EntityRef::Message(MessageId::new()),
        EntityRef::Message(MessageId::new()),
        EntityRef::Contact(ContactId::new()),
        EntityRef::View(ViewId::new()),
    ];
    for (i, pick) in picks.into_iter().enumerate() {
        // What is out of the agent's sight now, as it is now.
        let me_now = match w.storage.get(EntityRef::Agent(me.id)).unwrap() {
            Some(Entity::Agent(a)) => a,
            _ => me.clone(),
        };
        let hidden: Vec<(EntityRef, Entity)> = w
            .refs
            .iter()
            .filter_map(|r| w.storage.get(*r).unwrap().map(|e| (*r, e)))
            .filter(|(_, e)| !in_sight(&w.storage, &me_now, e))
            .collect();
        let act = action(&w, &fresh, pick);
        let op = Op {
            op_id: OpId::new(),
            at: T0 + i as Millis,
            action: act.clone(),
        };
        workspace::apply_op(&w.storage, &me_now, &op, T0 + i as Millis).unwrap();
        for (r, before) in hidden {
            let after = w.storage.get(r).unwrap();
            prop_assert_eq!(
                after.as_ref(),
                Some(&before),
                "{} ({:?}, {:?}) changed what they may not see: {:?}",
                me.name,
                me.role,
                me.visibility,
                act
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_op_changes_an_entity_out_of_its_agents_sight(
        role in 0usize..5,
        picks in proptest::collection::vec((any::<u8>(), any::<[u16; 4]>()), 1..24),
    ) {
        check(role, picks)?;
    }
}

#[test]
fn every_role_is_tried_with_every_kind_of_op() {
    // The same property, made exhaustive over roles and op kinds with ids on out-of-sight
    // entities in turn (the random search above may miss a pair): for each role and kind, one
    // workspace takes the kind's op on each of the first six entities in turn (each op is
    // checked against what is out of sight just before it).
    for role in 0..5 {
        for kind in 0..25u8 {
            let picks = (0..6u16)
                .map(|i| (kind, [i, i + 1, i + 2, i + 3]))
                .collect();
            check(role, picks).unwrap();
        }
    }
}
