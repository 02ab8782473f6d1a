//! Property tests of the mirror: any interleaving of the agent's actions, pages from the server
//! (reassignments, revocations, new messages, the agent's own visibility changing) and the
//! server's answers keeps every invariant, for every role.

use std::collections::HashMap;

use outpost_protocol::*;
use proptest::prelude::*;

use crate::store::{ListQuery, Sort, ViewRef};
use crate::testing::*;

#[derive(Clone, Debug)]
enum Step {
    /// The agent acts on conversation/message/agent picked by index.
    Act {
        kind: u8,
        conv: u8,
        msg: u8,
        agent: u8,
        flag: bool,
    },
    /// The agent acts, and the server refuses that very op: the mirror must be as before.
    ActRefused {
        kind: u8,
        conv: u8,
        msg: u8,
        agent: u8,
        flag: bool,
    },
    /// A page from the server.
    Server {
        kind: u8,
        conv: u8,
        agent: u8,
        team: u8,
        flag: bool,
    },
    /// The server answers the oldest op.
    Answer { applied: bool, already_pulled: bool },
    /// The agent's own visibility or teams change.
    MeChanges { visibility: u8, team: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(kind, conv, msg, agent, flag)| Step::Act { kind, conv, msg, agent, flag }),
        2 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(kind, conv, msg, agent, flag)| Step::ActRefused { kind, conv, msg, agent, flag }),
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(kind, conv, agent, team, flag)| Step::Server { kind, conv, agent, team, flag }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(applied, already_pulled)| Step::Answer { applied, already_pulled }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(visibility, team)| Step::MeChanges { visibility, team }),
    ]
}

/// The whole workspace as the server knows it (what the agent may not see included).
struct World {
    f: Fixture,
    me: Agent,
    agents: Vec<Agent>,
    teams: Vec<TeamId>,
    conversations: Vec<Conversation>,
    messages: HashMap<ConversationId, Vec<Message>>,
    clock: Millis,
}

impl World {
    fn new(role: u8) -> World {
        let teams = vec![TeamId::new(), TeamId::new()];
        let (r, v) = match role % 5 {
            0 => (Role::Owner, Visibility::Unrestricted),
            1 => (Role::Admin, Visibility::OwnOnly),
            2 => (Role::Agent, Visibility::Unrestricted),
            3 => (Role::Agent, Visibility::Team),
            _ => (Role::Agent, Visibility::OwnOnly),
        };
        let me = agent("Eu", r, v, vec![teams[0]]);
        let mut others = vec![
            agent("Bia", Role::Agent, Visibility::Unrestricted, vec![teams[0]]),
            agent("Caio", Role::Agent, Visibility::Team, vec![teams[1]]),
            agent("Duda", Role::Agent, Visibility::OwnOnly, vec![]),
        ];
        others[2].availability = Availability::Away;
        let mut f = Fixture::new(&me);
        let mut entities: Vec<Entity> = teams
            .iter()
            .map(|t| {
                Entity::Team(Team {
                    id: *t,
                    name: format!("T{t}"),
                    quick_replies: Vec::new(),
                })
            })
            .collect();
        entities.extend(others.iter().cloned().map(Entity::Agent));
        let mut conversations = Vec::new();
        let mut messages = HashMap::new();
        for i in 0..6 {
            let k = contact(&format!("Cliente {i}"));
            let mut c = conversation(&k, T0 - 10 * HOUR + i * HOUR);
            c.assignee = match i % 3 {
                0 => Some(me.id),
                1 => None,
                _ => Some(others[i as usize % 2].id),
            };
            c.team = (i % 2 == 0).then_some(teams[(i / 2) as usize % 2]);
            c.channel = if i % 2 == 0 {
                ChannelKind::Whatsapp
            } else {
                ChannelKind::Telegram
            };
            let mut list = Vec::new();
            for j in 0..3 {
                let mut m = incoming(
                    &c,
                    &format!("mensagem {j} não lida"),
                    T0 - 9 * HOUR + i * HOUR + j * MINUTE,
                );
                m.via_flow = j == 2;
                rules::on_incoming(&mut c, &m);
                list.push(m.clone());
                entities.push(Entity::Message(m));
            }
            entities.push(Entity::Contact(k));
            entities.push(Entity::Conversation(c.clone()));
            messages.insert(c.id, list);
            conversations.push(c);
        }
        f.server_upsert(entities);
        let mut agents = vec![me.clone()];
        agents.extend(others);
        World {
            f,
            me,
            agents,
            teams,
            conversations,
            messages,
            clock: T0,
        }
    }

    fn action(&self, kind: u8, conv: u8, msg: u8, agent: u8, flag: bool) -> Action {
        let c = &self.conversations[conv as usize % self.conversations.len()];
        let msgs = &self.messages[&c.id];
        let m = msgs[msg as usize % msgs.len()].id;
        let a = &self.agents[agent as usize % self.agents.len()];
        match kind % 12 {
            0 | 1 => Action::SendMessage {
                message_id: MessageId::new(),
                conversation_id: c.id,
                text: "Já vejo isso".into(),
                attachments: vec![],
                template: flag.then(|| TemplateRef {
                    name: "ola".into(),
                    language: "pt_BR".into(),
                    params: vec![],
                }),
                reply_to: None,
            },
            2 => Action::Archive {
                message_ids: vec![m],
            },
            3 => Action::Restore {
                message_ids: vec![m],
            },
            4 => Action::DeleteArchived {
                message_ids: vec![m],
            },
            5 => Action::Assign {
                conversation_id: c.id,
                assignee: flag.then_some(a.id),
            },
            6 => Action::Close {
                conversation_id: c.id,
                note: String::new(),
                category: String::new(),
            },
            7 => Action::Reopen {
                conversation_id: c.id,
            },
            8 => Action::Snooze {
                conversation_id: c.id,
                until: self.clock + HOUR,
            },
            9 => Action::SetTeam {
                conversation_id: c.id,
                team: flag.then_some(self.teams[agent as usize % 2]),
            },
            10 => Action::ScheduleMessage {
                message_id: MessageId::new(),
                conversation_id: c.id,
                text: "Amanhã cedo".into(),
                attachments: vec![],
                template: None,
                send_at: self.clock + 5 * HOUR,
            },
            _ => Action::SetUnanswered {
                conversation_id: c.id,
                unanswered: flag,
            },
        }
    }

    fn server(&mut self, kind: u8, conv: u8, agent: u8, team: u8, flag: bool) {
        let i = conv as usize % self.conversations.len();
        self.clock += MINUTE;
        let mut changes = Vec::new();
        let was_visible = rules::may_see(&self.me, &self.conversations[i]);
        let c = &mut self.conversations[i];
        match kind % 4 {
            0 => {
                // A customer writes.
                let mut m = incoming(c, "Olá? Alguém aí?", self.clock);
                m.via_flow = flag;
                rules::on_incoming(c, &m);
                self.messages.get_mut(&c.id).unwrap().push(m.clone());
                changes.push(ChangeKind::Upsert {
                    entity: Entity::Message(m),
                });
            }
            1 => c.assignee = flag.then(|| self.agents[agent as usize % self.agents.len()].id),
            2 => c.team = flag.then(|| self.teams[team as usize % 2]),
            _ => {
                if flag {
                    let _ = rules::close(c, "", "");
                } else {
                    let _ = rules::reopen(c, self.clock);
                }
            }
        }
        let now_visible = rules::may_see(&self.me, c);
        // A real server revokes what leaves the agent's sight; sometimes it only sends the new
        // state, and the client must purge it by itself.
        if was_visible && !now_visible && agent.is_multiple_of(2) {
            changes.push(ChangeKind::Revoke {
                entity: EntityRef::Conversation(c.id),
            });
        } else {
            changes.push(ChangeKind::Upsert {
                entity: Entity::Conversation(c.clone()),
            });
            if now_visible && !was_visible {
                for m in &self.messages[&c.id] {
                    changes.push(ChangeKind::Upsert {
                        entity: Entity::Message(m.clone()),
                    });
                }
            }
        }
        let changes = changes
            .into_iter()
            .map(|kind| Change {
                seq: self.f.next_seq(),
                kind,
            })
            .collect();
        self.f.server_page(changes);
    }

    fn check(&self) {
        self.f.check_invariants();
        let me = self.f.store().me().unwrap();
        let all = mirror_conversations(&self.f);
        for (_, c) in &all {
            assert!(
                rules::may_see(&me, c),
                "the mirror holds a conversation its agent may not see"
            );
        }
        let mut views = vec![ViewRef::All, ViewRef::Mine, ViewRef::Unassigned];
        views.extend(self.teams.iter().map(|t| ViewRef::Team(*t)));
        for view in views {
            for state in ConversationState::ALL {
                let mut q = ListQuery::new(view);
                q.state = state;
                q.sort = Sort::ALL[(self.clock / MINUTE) as usize % 4];
                assert_eq!(
                    paged(&self.f, &q),
                    brute(&all, &q, me.id, |_| true),
                    "{view:?} {state:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn prop_any_ops_and_changes_keep_the_mirror_consistent(role in 0u8..5, steps in proptest::collection::vec(step(), 1..30)) {
        let mut w = World::new(role);
        w.check();
        for step in steps {
            match step {
                Step::Act { kind, conv, msg, agent, flag } => {
                    let action = w.action(kind, conv, msg, agent, flag);
                    let _ = w.f.act(action); // the rules may refuse it at once: then nothing changes
                }
                Step::ActRefused { kind, conv, msg, agent, flag } => {
                    let action = w.action(kind, conv, msg, agent, flag);
                    let before = w.f.snapshot();
                    if let Ok(Some(op_id)) = w.f.act(action.clone()) {
                        w.f.client.record_results(&[OpResult {
                            op_id,
                            outcome: OpOutcome::Refused { code: ErrorCode::NotAllowed, reason: "recusado".into(), why: None },
                        }]).unwrap();
                        if let Some(message_id) = crate::store::workspace::created_message(&Op { op_id, at: 0, action }) {
                            prop_assert_eq!(w.f.message(message_id).map(|m| m.status), Some(MessageStatus::Failed));
                            w.f.act(Action::DiscardMessage { message_id }).unwrap();
                        }
                        prop_assert_eq!(w.f.snapshot(), before, "a refused op leaves no trace");
                    }
                }
                Step::Server { kind, conv, agent, team, flag } => w.server(kind, conv, agent, team, flag),
                Step::Answer { applied, already_pulled } => {
                    if let Some(op) = w.f.store().ops_to_send(1).unwrap().into_iter().next() {
                        let cursor = w.f.store().cursor().unwrap();
                        let outcome = if applied {
                            OpOutcome::Applied { seq: if already_pulled { cursor } else { cursor + 1 } }
                        } else {
                            OpOutcome::Refused { code: ErrorCode::WrongState, reason: "não".into(), why: None }
                        };
                        w.f.client.record_results(&[OpResult { op_id: op.op_id, outcome }]).unwrap();
                    }
                }
                Step::MeChanges { visibility, team } => {
                    let mut me = w.me.clone();
                    if me.role == Role::Agent {
                        me.visibility = [Visibility::Unrestricted, Visibility::Team, Visibility::OwnOnly][visibility as usize % 3];
                    }
                    me.teams = vec![w.teams[team as usize % 2]];
                    w.me = me.clone();
                    w.f.server_upsert(vec![Entity::Agent(me)]);
                }
            }
            w.check();
        }
    }
}
