//! Realistic generated workspaces: agents and teams, contacts from Brazil, Spanish-speaking
//! countries and elsewhere, conversations on every channel, messages in Portuguese, Spanish and
//! English in every folder, and timeline events. Deterministic for a seed. Produced lazily, as
//! pages of the change feed, so a million messages never sit in memory at once.
//!
//! Two words are planted for search benchmarks: [`COMMON_WORD`] in 1% of messages and
//! [`RARE_WORD`] in a few dozen.

use crate::{
    Actor, ActorKind, Agent, AgentId, Attachment, AttachmentKind, Availability, Change, ChangeKind,
    ChangesPage, ChannelIdentity, ChannelKind, Contact, ContactId, Conversation, ConversationEvent,
    ConversationId, ConversationState, Direction, Entity, EventId, EventKind, Message, MessageId,
    MessageStatus, Millis, Role, Sender, SenderKind, StatusStamp, Team, TeamId, Visibility, rules,
};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use uuid::Uuid;

/// In 1% of generated messages.
pub const COMMON_WORD: &str = "reembolso";
/// In about one message in 25,000.
pub const RARE_WORD: &str = "xilogravura";

#[derive(Clone, Debug)]
pub struct Spec {
    pub contacts: usize,
    pub conversations: usize,
    pub messages: usize,
    pub agents: usize,
    pub teams: usize,
    pub seed: u64,
    /// The newest message is at most this old.
    pub now: Millis,
}

impl Spec {
    /// A small workspace for the demo and the tests.
    pub fn small(now: Millis) -> Spec {
        Spec {
            contacts: 120,
            conversations: 300,
            messages: 3_000,
            agents: 8,
            teams: 3,
            seed: 7,
            now,
        }
    }

    /// The same proportions for `messages` messages (benchmarks' `--messages N`).
    pub fn scaled_to(mut self, messages: usize) -> Spec {
        let scale = messages as f64 / self.messages as f64;
        self.messages = messages;
        self.conversations = ((self.conversations as f64 * scale) as usize).max(10);
        self.contacts = ((self.contacts as f64 * scale) as usize).max(5);
        self
    }

    /// The benchmark's: 1,000,000 messages, 50,000 conversations, 20,000 contacts.
    pub fn large(now: Millis) -> Spec {
        Spec {
            contacts: 20_000,
            conversations: 50_000,
            messages: 1_000_000,
            agents: 40,
            teams: 5,
            seed: 42,
            now,
        }
    }
}

const FIRST: &[&str] = &[
    "Ana",
    "João",
    "María",
    "José",
    "Lucía",
    "Pedro",
    "Beatriz",
    "Tomás",
    "Fernanda",
    "Camila",
    "Sofía",
    "Mateus",
    "Gabriel",
    "Valentina",
    "Joaquín",
    "Larissa",
    "Thiago",
    "Renata",
    "Andrés",
    "Íris",
    "Emily",
    "Michael",
    "Sarah",
    "Conceição",
    "Estêvão",
    "Inês",
    "Álvaro",
    "Martín",
    "Paula",
    "Raúl",
];
const LAST: &[&str] = &[
    "Souza",
    "Silva",
    "Oliveira",
    "García",
    "Fernández",
    "Pereira",
    "Gonçalves",
    "López",
    "Martínez",
    "Araújo",
    "Lima",
    "Rodríguez",
    "Sánchez",
    "Nuñez",
    "Brandão",
    "Magalhães",
    "Smith",
    "Johnson",
    "Peña",
    "Conceição",
    "Assunção",
    "Muñoz",
];
const PT_IN: &[&str] = &[
    "Olá, boa tarde! Gostaria de saber o preço do {p}.",
    "Bom dia, meu pedido {n} ainda não chegou. Vocês podem verificar?",
    "Vocês entregam em {c}? Qual é o prazo?",
    "Não consegui finalizar a compra, o cartão foi recusado.",
    "Obrigado pela atenção! Vou aguardar a confirmação.",
    "Quero trocar o {p} por outro tamanho, é possível?",
    "Qual é o horário de atendimento da loja de {c}?",
    "A nota fiscal do pedido {n} veio com o endereço errado.",
    "Vocês têm o {p} na cor azul?",
    "Preciso de ajuda com a instalação do {p}, não está ligando.",
];
const ES_IN: &[&str] = &[
    "Hola, ¿cuánto cuesta el {p}?",
    "Buenas tardes, mi pedido {n} no ha llegado todavía.",
    "¿Hacen envíos a {c}? ¿Cuánto tarda?",
    "Quisiera cambiar el {p}, me quedó pequeño.",
    "Gracias por la ayuda, quedo atenta a su respuesta.",
    "No puedo acceder a mi cuenta, ¿me ayudan por favor?",
    "¿El {p} tiene garantía? ¿Cuántos meses?",
    "La factura del pedido {n} tiene un error en el RUT.",
];
const EN_IN: &[&str] = &[
    "Hi, I need help with my order {n}.",
    "Do you ship the {p} to {c}?",
    "Thanks, that solved it!",
    "The {p} arrived damaged, what can I do?",
    "Can I change the delivery address for order {n}?",
];
const PT_OUT: &[&str] = &[
    "Olá! Obrigado por entrar em contato. Vou verificar o pedido {n} para você.",
    "O {p} custa R$ 249,90 e está disponível em estoque.",
    "Entregamos em {c} sim! O prazo é de 3 a 5 dias úteis.",
    "Já solicitei a troca, você receberá um código de postagem por e-mail.",
    "Conseguimos resolver? Se precisar de algo mais, é só chamar.",
];
const ES_OUT: &[&str] = &[
    "¡Hola! Gracias por escribirnos. Reviso el pedido {n} enseguida.",
    "El {p} cuesta 45.990 pesos y tiene envío gratis.",
    "Sí, enviamos a {c}. Llega en 48 horas.",
    "Ya generamos el cambio, te llegará un correo con las instrucciones.",
];
const EN_OUT: &[&str] = &[
    "Hi! Thanks for reaching out, I'm checking order {n} now.",
    "Yes, we ship the {p} to {c}; it takes 3 to 5 business days.",
    "I've arranged a replacement, you'll get an email shortly.",
];
const PRODUCTS: &[&str] = &[
    "tênis de corrida",
    "fone de ouvido",
    "liquidificador",
    "colchão",
    "smartphone",
    "notebook",
    "cafetera",
    "zapatillas",
    "mochila",
    "relógio",
    "aspiradora",
    "micro-ondas",
    "bicicleta",
];
const CITIES: &[&str] = &[
    "São Paulo",
    "Belo Horizonte",
    "Florianópolis",
    "Recife",
    "Bogotá",
    "Medellín",
    "Ciudad de México",
    "Santiago",
    "Buenos Aires",
    "Lima",
    "Montevidéu",
    "Goiânia",
    "Curitiba",
    "Austin",
];

/// A name as an email's local part: lower case, accents dropped ("Conceição" → "conceicao").
fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'Á' | 'Â' | 'Ã' => 'a',
            'é' | 'ê' | 'É' | 'Ê' => 'e',
            'í' | 'Í' => 'i',
            'ó' | 'ô' | 'õ' | 'Ó' | 'Ô' => 'o',
            'ú' | 'ü' | 'Ú' => 'u',
            'ç' | 'Ç' => 'c',
            'ñ' | 'Ñ' => 'n',
            other => other.to_ascii_lowercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Derives a UUID from a kind and a number, so generated ids are stable for a seed.
fn uuid(seed: u64, kind: u64, n: u64) -> Uuid {
    let mut rng =
        fastrand::Rng::with_seed(seed ^ (kind << 56) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut bytes = rng.u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0F) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3F) | 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

/// A time-ordered id (the layout of UUID v7) for something created at `at`, as real ids are.
fn uuid_at(seed: u64, kind: u64, n: u64, at: Millis) -> Uuid {
    let mut bytes = uuid(seed, kind, n).into_bytes();
    bytes[..6].copy_from_slice(&(at as u64).to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0F) | 0x70; // version 7
    Uuid::from_bytes(bytes)
}

const DAY: Millis = 86_400_000;

/// Each planned conversation's next message time, earliest first.
type NextMessages = BinaryHeap<Reverse<(Millis, usize)>>;

/// A conversation being generated: its state so far and when its next message comes.
struct Plan {
    c: Conversation,
    count: usize,
    k: usize,
    start: Millis,
    at: Millis,
    next_at: Millis,
    language: &'static str,
    assigned_agent: Option<AgentId>,
    via_flow: bool,
}

pub struct Generator {
    spec: Spec,
    rng: fastrand::Rng,
    pub agents: Vec<Agent>,
    pub teams: Vec<Team>,
    /// The workspace's first agent: an own-everything admin ("me" in the demo).
    seq: u64,
    next_contact: usize,
    planned_messages: usize,
    /// Planned conversations, and the heap of their next message times: messages come out in
    /// time order across conversations, as a change feed ordered by seq carries them.
    plans: Option<(Vec<Option<Plan>>, NextMessages)>,
    messages_made: usize,
    events_made: u64,
    pending: std::collections::VecDeque<Entity>,
}

impl Generator {
    pub fn new(spec: Spec) -> Generator {
        let mut rng = fastrand::Rng::with_seed(spec.seed);
        let teams: Vec<Team> = [
            "Suporte",
            "Vendas",
            "Financeiro",
            "Logística",
            "Atención LATAM",
        ]
        .iter()
        .cycle()
        .take(spec.teams)
        .enumerate()
        .map(|(i, name)| Team {
            id: TeamId(uuid(spec.seed, 1, i as u64)),
            name: if i < 5 {
                (*name).to_owned()
            } else {
                format!("{name} {i}")
            },
            quick_replies: Vec::new(),
        })
        .collect();
        let agents: Vec<Agent> = (0..spec.agents)
            .map(|i| {
                let first = FIRST[(i * 7) % FIRST.len()];
                let last = LAST[(i * 5) % LAST.len()];
                let (role, visibility) = match i {
                    0 => (Role::Owner, Visibility::Unrestricted),
                    1 => (Role::Admin, Visibility::Unrestricted),
                    _ if i % 3 == 0 => (Role::Agent, Visibility::OwnOnly),
                    _ if i % 3 == 1 => (Role::Agent, Visibility::Team),
                    _ => (Role::Agent, Visibility::Unrestricted),
                };
                let team_ids = if teams.is_empty() {
                    vec![]
                } else {
                    vec![teams[i % teams.len()].id]
                };
                Agent {
                    id: AgentId(uuid(spec.seed, 2, i as u64)),
                    name: format!("{first} {last}"),
                    email: format!(
                        "{}.{}{i}@outpost.example",
                        ascii_lower(first),
                        ascii_lower(last)
                    ),
                    role,
                    visibility,
                    teams: team_ids,
                    availability: if rng.u8(..10) == 0 {
                        Availability::Away
                    } else {
                        Availability::Available
                    },
                }
            })
            .collect();
        let mut pending = std::collections::VecDeque::new();
        pending.extend(teams.iter().cloned().map(Entity::Team));
        pending.extend(agents.iter().cloned().map(Entity::Agent));
        Generator {
            spec,
            rng,
            agents,
            teams,
            seq: 0,
            next_contact: 0,
            planned_messages: 0,
            plans: None,
            messages_made: 0,
            events_made: 0,
            pending,
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    fn contact(&mut self, i: usize) -> Contact {
        let rng = &mut self.rng;
        let first = FIRST[rng.usize(..FIRST.len())];
        let last = LAST[rng.usize(..LAST.len())];
        let (country, language, prefix) = match rng.u8(..10) {
            0..=5 => ("BR", "pt-BR", "55"),
            6 => ("MX", "es-MX", "52"),
            7 => ("CO", "es-CO", "57"),
            8 => ("AR", "es-AR", "54"),
            _ => ("US", "en-US", "1"),
        };
        let phone = format!("{prefix}{}", 10_000_000_000u64 + rng.u64(..89_999_999_999));
        let email = format!(
            "{}.{}{}@mail.example",
            ascii_lower(first),
            ascii_lower(last),
            i
        );
        let mut tags = Vec::new();
        for t in ["vip", "atacado", "recorrente", "inadimplente", "lead"] {
            if rng.u8(..8) == 0 {
                tags.push(t.to_owned());
            }
        }
        let mut fields = std::collections::BTreeMap::new();
        if rng.bool() {
            fields.insert(
                "plano".to_owned(),
                ["básico", "pro", "empresarial"][rng.usize(..3)].to_owned(),
            );
        }
        Contact {
            id: ContactId(uuid(self.spec.seed, 3, i as u64)),
            name: format!("{first} {last}"),
            phone: phone.clone(),
            email: email.clone(),
            country: country.to_owned(),
            language: language.to_owned(),
            avatar_url: String::new(),
            identities: vec![
                ChannelIdentity {
                    channel: ChannelKind::Whatsapp,
                    address: phone,
                },
                ChannelIdentity {
                    channel: ChannelKind::Email,
                    address: email,
                },
            ],
            tags,
            fields,
            private_comment: if rng.u8(..10) == 0 {
                "Prefere contato pela manhã.".to_owned()
            } else {
                String::new()
            },
            bot_enabled: rng.u8(..4) != 0,
            active_flow: None,
            created_at: self.spec.now - 400 * DAY + rng.i64(0..30 * DAY),
        }
    }

    fn text(&mut self, incoming: bool, language: &str) -> String {
        let pool = match (incoming, language.get(..2)) {
            (true, Some("pt")) => PT_IN,
            (true, Some("es")) => ES_IN,
            (true, _) => EN_IN,
            (false, Some("pt")) => PT_OUT,
            (false, Some("es")) => ES_OUT,
            (false, _) => EN_OUT,
        };
        let rng = &mut self.rng;
        let mut text = pool[rng.usize(..pool.len())]
            .replace("{p}", PRODUCTS[rng.usize(..PRODUCTS.len())])
            .replace("{c}", CITIES[rng.usize(..CITIES.len())])
            .replace("{n}", &format!("#{}", 100_000 + rng.u32(..900_000)));
        let n = self.messages_made;
        if n % 100 == 37 {
            text.push_str(&format!(" Sobre o {COMMON_WORD}: ainda aguardo."));
        }
        if n % 25_000 == 11 {
            text.push_str(&format!(" (anexo a {RARE_WORD} do catálogo)"));
        }
        text
    }

    /// Plans one conversation: who it is with, how many messages, when it starts.
    fn plan(&mut self, i: usize) -> Plan {
        let spec = self.spec.clone();
        let contact_n = i % spec.contacts.max(1);
        let contact_id = ContactId(uuid(spec.seed, 3, contact_n as u64));
        let language = ["pt-BR", "pt-BR", "pt-BR", "es-MX", "en-US"][contact_n % 5];
        let remaining_conversations = spec.conversations - i;
        let remaining_messages = spec.messages.saturating_sub(self.planned_messages);
        let mean = remaining_messages / remaining_conversations.max(1);
        let count = if remaining_conversations == 1 {
            remaining_messages
        } else {
            (mean / 2 + self.rng.usize(..=mean.max(1)))
                .min(remaining_messages)
                .max(1.min(remaining_messages))
        };
        let channel = ChannelKind::ALL[self.rng.usize(..ChannelKind::ALL.len())];
        let id = ConversationId(uuid(spec.seed, 4, i as u64));
        let span = count as i64 * 40 * 60_000;
        let start = spec.now - self.rng.i64((span + DAY).min(364 * DAY)..365 * DAY);
        let mut c = Conversation::new(id, contact_id, channel, start);
        let agent_pick = self.rng.usize(..self.agents.len().max(1));
        let assigned_agent =
            (!self.agents.is_empty() && self.rng.u8(..10) >= 4).then(|| self.agents[agent_pick].id);
        if !self.teams.is_empty() && self.rng.u8(..3) != 0 {
            c.team = Some(self.teams[self.rng.usize(..self.teams.len())].id);
        }
        let via_flow = self.rng.u8(..10) == 0;
        self.planned_messages += count;
        let next_at = start + 60_000 + self.rng.i64(0..80 * 60_000);
        Plan {
            c,
            count,
            k: 0,
            start,
            at: start,
            next_at,
            language,
            assigned_agent,
            via_flow,
        }
    }

    /// The next message of a planned conversation, with the conversation rules applied.
    fn message(&mut self, plan: &mut Plan) -> Message {
        let spec = self.spec.clone();
        let (k, count, language, via_flow, assigned_agent) = (
            plan.k,
            plan.count,
            plan.language,
            plan.via_flow,
            plan.assigned_agent,
        );
        let at = plan.next_at;
        let (id, channel) = (plan.c.id, plan.c.channel);
        let c = &mut plan.c;
        let incoming = k == 0 || self.rng.bool();
        let text = self.text(incoming, language);
        let message_id = MessageId(uuid_at(spec.seed, 5, self.messages_made as u64, at));
        self.messages_made += 1;
        let (status, sender) = if incoming {
            (
                MessageStatus::Received,
                Sender {
                    kind: SenderKind::Contact,
                    agent_id: None,
                    name: String::new(),
                },
            )
        } else {
            let roll = self.rng.u8(..100);
            let status = match roll {
                0..=1 => MessageStatus::Failed,
                2 => MessageStatus::Pending,
                3..=15 if k + 1 == count => MessageStatus::Scheduled,
                4..=30 => MessageStatus::Delivered,
                31..=80 => MessageStatus::Read,
                _ => MessageStatus::Sent,
            };
            let kind = match self.rng.u8(..10) {
                0 => SenderKind::Flow,
                1 => SenderKind::Bot,
                2 => SenderKind::Api,
                _ => SenderKind::Agent,
            };
            let agent = assigned_agent.or_else(|| self.agents.first().map(|a| a.id));
            (
                status,
                Sender {
                    kind,
                    agent_id: if kind == SenderKind::Agent {
                        agent
                    } else {
                        None
                    },
                    name: match kind {
                        SenderKind::Flow => "Fluxo de boas-vindas".to_owned(),
                        SenderKind::Bot => "Assistente virtual".to_owned(),
                        SenderKind::Api => "Integração ERP".to_owned(),
                        _ => self
                            .agents
                            .iter()
                            .find(|a| Some(a.id) == agent)
                            .map_or(String::new(), |a| a.name.clone()),
                    },
                },
            )
        };
        let mut history = vec![StatusStamp {
            status: if incoming {
                MessageStatus::Received
            } else {
                MessageStatus::Pending
            },
            at,
        }];
        if matches!(
            status,
            MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
        ) {
            history.push(StatusStamp {
                status: MessageStatus::Sent,
                at: at + 900,
            });
        }
        if matches!(status, MessageStatus::Delivered | MessageStatus::Read) {
            history.push(StatusStamp {
                status: MessageStatus::Delivered,
                at: at + 2_000,
            });
        }
        if status == MessageStatus::Read {
            history.push(StatusStamp {
                status: MessageStatus::Read,
                at: at + 60_000,
            });
        }
        if status == MessageStatus::Failed {
            history.push(StatusStamp {
                status: MessageStatus::Failed,
                at: at + 1_500,
            });
        }
        if status == MessageStatus::Scheduled {
            history = vec![StatusStamp {
                status: MessageStatus::Scheduled,
                at,
            }];
        }
        let m = Message {
            id: message_id,
            conversation_id: id,
            direction: if incoming {
                Direction::Incoming
            } else {
                Direction::Outgoing
            },
            channel,
            text,
            attachments: if self.rng.u8(..40) == 0 {
                vec![Attachment {
                    kind: AttachmentKind::Image,
                    name: "foto.jpg".to_owned(),
                    mime: "image/jpeg".to_owned(),
                    size: 120_000 + self.rng.u64(..2_000_000),
                    url: format!("https://files.outpost.example/{message_id}"),
                }]
            } else {
                Vec::new()
            },
            template: None,
            sender,
            status,
            history,
            failure: (status == MessageStatus::Failed).then(|| failure_of(channel).0),
            via_flow: incoming && via_flow,
            archived: incoming && self.rng.u8(..20) == 0,
            send_at: (status == MessageStatus::Scheduled).then_some(spec.now + DAY),
            reply_to: None,
            created_at: at,
            channel_id: None,
            subject: None,
            edited_at: None,
            failure_reason: (status == MessageStatus::Failed).then(|| failure_of(channel).1),
        };
        if incoming {
            rules::on_incoming(c, &m);
        } else {
            rules::on_reply(c, &m);
        }
        plan.k += 1;
        plan.at = at;
        plan.next_at = at + 60_000 + self.rng.i64(0..80 * 60_000);
        m
    }

    /// A conversation's final state and its timeline events, after its last message.
    fn finish(&mut self, plan: Plan) -> Vec<Entity> {
        let spec = self.spec.clone();
        let Plan {
            mut c,
            start,
            at,
            assigned_agent,
            ..
        } = plan;
        let id = c.id;
        let mut out = Vec::with_capacity(3);
        c.assignee = assigned_agent;
        c.unread_count = if c.unanswered { self.rng.u32(..4) } else { 0 };
        match self.rng.u8(..10) {
            0..=5 => {}
            6..=8 => {
                let category = if self.rng.bool() { "dúvida" } else { "venda" };
                let closed = rules::close(&mut c, "", category);
                debug_assert!(
                    closed.is_ok(),
                    "generated open, so closing cannot be refused"
                );
                c.unread_count = 0;
            }
            _ => {
                let snoozed = rules::snooze(&mut c, spec.now + self.rng.i64(1..3 * DAY), at);
                debug_assert!(
                    snoozed.is_ok(),
                    "open and in the future: snoozing cannot be refused"
                );
            }
        }
        let actor = Actor {
            kind: ActorKind::Automation,
            agent_id: None,
            name: "Distribuição automática".to_owned(),
        };
        if let Some(a) = c.assignee {
            self.events_made += 1;
            out.push(Entity::Event(ConversationEvent {
                id: EventId(uuid(spec.seed, 6, self.events_made)),
                conversation_id: id,
                at: start + 30_000,
                actor: actor.clone(),
                kind: EventKind::Assigned { assignee: Some(a) },
            }));
        }
        if c.state == ConversationState::Closed {
            self.events_made += 1;
            out.push(Entity::Event(ConversationEvent {
                id: EventId(uuid(spec.seed, 6, self.events_made)),
                conversation_id: id,
                at: at + 60_000,
                actor: Actor {
                    kind: ActorKind::Agent,
                    agent_id: c.assignee,
                    name: String::new(),
                },
                kind: EventKind::Closed {
                    note: String::new(),
                    category: c.closing_category.clone(),
                },
            }));
        }
        out.push(Entity::Conversation(c));
        out
    }

    /// The next page of the feed, `size` changes at most; `None` once everything was produced.
    pub fn next_page(&mut self, size: usize) -> Option<ChangesPage> {
        let mut changes = Vec::with_capacity(size);
        while changes.len() < size {
            if self.pending.is_empty() {
                if self.next_contact < self.spec.contacts {
                    let c = self.contact(self.next_contact);
                    self.next_contact += 1;
                    self.pending.push_back(Entity::Contact(c));
                } else {
                    if self.plans.is_none() {
                        let mut plans = Vec::with_capacity(self.spec.conversations);
                        let mut heap = BinaryHeap::with_capacity(self.spec.conversations);
                        for i in 0..self.spec.conversations {
                            let plan = self.plan(i);
                            heap.push(Reverse((plan.next_at, i)));
                            plans.push(Some(plan));
                        }
                        self.plans = Some((plans, heap));
                    }
                    let next = self.plans.as_mut().and_then(|(_, heap)| heap.pop());
                    let Some(Reverse((_, i))) = next else { break };
                    let Some(mut plan) = self.plans.as_mut().and_then(|(plans, _)| plans[i].take())
                    else {
                        break;
                    };
                    if plan.k < plan.count {
                        let m = self.message(&mut plan);
                        self.pending.push_back(Entity::Message(m));
                    }
                    if plan.k < plan.count {
                        if let Some((plans, heap)) = self.plans.as_mut() {
                            heap.push(Reverse((plan.next_at, i)));
                            plans[i] = Some(plan);
                        }
                    } else {
                        let entities = self.finish(plan);
                        self.pending.extend(entities);
                    }
                }
            }
            if let Some(entity) = self.pending.pop_front() {
                self.seq += 1;
                changes.push(Change {
                    seq: self.seq,
                    kind: ChangeKind::Upsert { entity },
                });
            }
        }
        if changes.is_empty() {
            return None;
        }
        let has_more = !self.pending.is_empty()
            || self.next_contact < self.spec.contacts
            || self.plans.as_ref().is_none_or(|(_, heap)| !heap.is_empty());
        Some(ChangesPage {
            changes,
            cursor: self.seq,
            has_more,
            head: 0,
        })
    }

    /// How many messages were produced so far.
    pub fn messages_made(&self) -> usize {
        self.messages_made
    }
}

/// A failure as each channel's provider would report it: its words, and the reason the
/// interface says.
fn failure_of(channel: ChannelKind) -> (String, crate::Reason) {
    let reason = |key: &str, params: &[(&str, &str)]| {
        let mut r = crate::Reason::new(key);
        for (k, v) in params {
            r.params.insert((*k).into(), (*v).into());
        }
        r
    };
    let provider = |name: &str, code: &str, detail: &str| {
        (
            format!("({code}) {detail}"),
            reason(
                "provider_error",
                &[("provider", name), ("code", code), ("detail", detail)],
            ),
        )
    };
    match channel {
        ChannelKind::Whatsapp => (
            "(#131047) Re-engagement message: more than 24 hours have passed since the customer last replied.".into(),
            reason("whatsapp_131047", &[("code", "131047")]),
        ),
        ChannelKind::Telegram => (
            "(403) Forbidden: bot was blocked by the user".into(),
            reason("telegram_blocked", &[("code", "403")]),
        ),
        ChannelKind::Email => provider("Email", "550", "5.1.1 User unknown"),
        ChannelKind::Sms => provider("SMS", "30003", "Unreachable destination handset"),
        ChannelKind::Instagram => provider("Instagram", "551", "This person isn't available right now"),
        ChannelKind::Messenger => provider("Messenger", "551", "This person isn't available right now"),
        ChannelKind::WebChat => provider("Web chat", "gone", "The visitor closed the chat before it arrived"),
    }
}
