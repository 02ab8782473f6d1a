//! `outpost-server demo`: a seeded workspace with life in it, so the desktop app has something to
//! show on first run. Agents of every role with one known password, teams, a few hundred
//! contacts and conversations in pt-BR, es and en with messages in every folder, a test channel
//! per channel kind, and customers who keep writing.

use std::sync::Arc;
use std::time::Duration;

use outpost_protocol::generate::{Generator, Spec};
use outpost_protocol::{ChangeKind, ChannelKind, Millis, Role, Visibility};

use crate::storage::{Storage, StorageError, Tx};
use crate::workspace::{self, Inbound};
use crate::{App, auth};

/// Every demo agent's password.
pub const DEMO_PASSWORD: &str = "outpost-demo";
/// Every demo channel's webhook secret.
pub const DEMO_CHANNEL_SECRET: &str = "outpost-demo-channel";

/// Someone to sign in as.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub visibility: Visibility,
}

/// Stores everything a generator makes, a page per transaction; returns how many messages.
pub fn load<S: Storage>(
    storage: &S,
    generator: &mut Generator,
    page: usize,
) -> Result<usize, StorageError> {
    while let Some(p) = generator.next_page(page) {
        storage.write(|tx| {
            for change in &p.changes {
                if let ChangeKind::Upsert { entity } = &change.kind {
                    workspace::put_announced(tx, entity)?;
                }
            }
            Ok::<_, StorageError>(())
        })?;
    }
    Ok(generator.messages_made())
}

/// Seeds the workspace when it has no agent yet; returns who can sign in either way.
pub fn seed<S: Storage>(storage: &S, now: Millis) -> Result<Vec<DemoLogin>, String> {
    let mut generator = Generator::new(Spec {
        contacts: 240,
        conversations: 400,
        messages: 5_000,
        agents: 8,
        teams: 3,
        seed: 2026,
        now,
    });
    let logins: Vec<DemoLogin> = generator
        .agents
        .iter()
        .map(|a| DemoLogin {
            name: a.name.clone(),
            email: a.email.clone(),
            role: a.role,
            visibility: a.visibility,
        })
        .collect();
    let fresh = storage
        .credentials(&generator.agents[0].email)
        .map_err(|e| e.to_string())?
        .is_none();
    if !fresh {
        return Ok(logins);
    }
    load(storage, &mut generator, 500).map_err(|e| e.to_string())?;
    let hash = auth::hash_password(DEMO_PASSWORD)?;
    for a in &generator.agents {
        storage
            .set_password(a.id, &a.email, &hash)
            .map_err(|e| e.to_string())?;
    }
    storage
        .write(|tx| {
            tx.set_flows(&[crate::flows::Flow {
                name: "Menu de atendimento".into(),
                trigger: "menu".into(),
                steps: vec![
                    "Olá! Sou o assistente virtual. Responda 1 para pedidos, 2 para trocas ou 3 para falar com uma pessoa.".into(),
                    "Obrigado! Um atendente vai continuar a conversa em instantes.".into(),
                ],
            }])
        })
        .map_err(|e| e.to_string())?;
    // The demo's channels are test channels: their provider is simulated, and every client
    // says so wherever it names one.
    for (kind, name) in [
        (ChannelKind::Whatsapp, "Loja Demo WhatsApp"),
        (ChannelKind::Telegram, "@loja_demo_bot"),
        (ChannelKind::Instagram, "@lojademo"),
        (ChannelKind::Messenger, "Loja Demo"),
        (ChannelKind::Sms, "+55 11 4000-0000"),
        (ChannelKind::Email, "atendimento@loja.example"),
        (ChannelKind::WebChat, "loja.example"),
    ] {
        let id = crate::add_test_channel(storage, kind, name, DEMO_CHANNEL_SECRET)?;
        if kind == ChannelKind::Whatsapp {
            seed_calls(storage, id, now).map_err(|e| e.to_string())?;
        }
    }
    Ok(logins)
}

/// Calls of the demo's first WhatsApp customers over the last days, on its test channel: the
/// Calls folder is not empty in a fresh demo (its customers go on calling, `simulate`).
fn seed_calls<S: Storage>(storage: &S, channel: uuid::Uuid, now: Millis) -> Result<(), String> {
    use outpost_protocol::{CallOutcome, Direction, Entity, EntityRef};
    let conversations = storage
        .write(|tx| tx.all_conversations())
        .map_err(|e| e.to_string())?;
    let mut customers = Vec::new();
    for c in conversations
        .iter()
        .filter(|c| c.channel == ChannelKind::Whatsapp)
    {
        if let Some(Entity::Contact(k)) = storage
            .get(EntityRef::Contact(c.contact_id))
            .map_err(|e| e.to_string())?
            && let Some(i) = k
                .identities
                .iter()
                .find(|i| i.channel == ChannelKind::Whatsapp)
            && !customers.iter().any(|(a, _)| *a == i.address)
        {
            customers.push((i.address.clone(), k.name.clone()));
        }
        if customers.len() == 12 {
            break;
        }
    }
    const HOUR: Millis = 3_600_000;
    for (n, (address, name)) in customers.into_iter().enumerate() {
        let at = now - (n as Millis + 1) * 5 * HOUR - (n as Millis % 3) * 7 * 60_000;
        let (direction, outcome, duration) = match n % 4 {
            0 => (Direction::Incoming, CallOutcome::Missed, None),
            1 => (
                Direction::Incoming,
                CallOutcome::Answered,
                Some(95 + 37 * n as u32),
            ),
            2 => (
                Direction::Outgoing,
                CallOutcome::Answered,
                Some(240 + 11 * n as u32),
            ),
            _ => (Direction::Outgoing, CallOutcome::Missed, None),
        };
        let ended = at + 30_000 + i64::from(duration.unwrap_or(0)) * 1_000;
        let report = crate::calls::CallReport {
            customer: address,
            name,
            provider_id: format!("demo-seed-call-{n}"),
            direction,
            at,
            end: Some(crate::calls::CallEnd {
                ended_at: ended,
                answered_at: duration.map(|_| at + 30_000),
                duration_secs: duration,
                outcome,
                failure: None,
            }),
        };
        crate::calls::record(storage, (channel, ChannelKind::Whatsapp), &report, ended)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

const CUSTOMER_LINES: &[&str] = &[
    "Olá! Meu pedido ainda não chegou, podem verificar?",
    "Vocês têm esse modelo em outra cor?",
    "Hola, ¿me pueden ayudar con la factura?",
    "Obrigado, deu tudo certo!",
    "¿Cuál es el horario de atención?",
    "Hi, can I change the delivery address?",
    "Preciso trocar o tamanho, como faço?",
    "O boleto venceu, podem mandar outro?",
];

/// A receipt a demo customer photographs now and then.
const RECEIPT_PNG: &[u8] = include_bytes!("../assets/receipt.png");

/// Web-chat visitors of the demo: each writes through the widget's own protocol (a visitor
/// token, the widget's WebSocket to this server), as a visitor's browser would.
struct WebVisitor {
    socket: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::Message,
    >,
}

const WEB_VISITORS: [&str; 3] = ["Lia Navegante", "Tomás del Sitio", "Grace Online"];

impl WebVisitor {
    async fn join<S: Storage>(
        app: &App<S>,
        addr: std::net::SocketAddr,
        channel: uuid::Uuid,
        name: &str,
    ) -> Result<WebVisitor, String> {
        let (token, hash) = crate::auth::new_token()?;
        let visitor = crate::storage::Visitor {
            id: uuid::Uuid::now_v7(),
            channel,
            name: name.to_owned(),
            email: String::new(),
            created_at: app.now(),
        };
        app.storage
            .create_visitor(&visitor, &hash)
            .map_err(|e| e.to_string())?;
        let (socket, _) = tokio_tungstenite::connect_async(format!(
            "ws://{addr}/v1/widget/{channel}/stream?token={token}"
        ))
        .await
        .map_err(|e| e.to_string())?;
        // What the widget is told (history, answers) is read and let go, as a browser would.
        let (socket, mut heard) = futures_util::StreamExt::split(socket);
        tokio::spawn(async move {
            while let Some(Ok(_)) = futures_util::StreamExt::next(&mut heard).await {}
        });
        Ok(WebVisitor { socket })
    }

    async fn say(&mut self, text: &str) -> Result<(), String> {
        use futures_util::SinkExt;
        let frame =
            serde_json::json!({ "type": "send", "client_id": uuid::Uuid::now_v7(), "text": text });
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .map_err(|e| e.to_string())
    }
}

/// Customers writing now and then until the server stops: on the WhatsApp test channel (every
/// sixth sends a photo of a receipt), and every third through the web chat's widget protocol.
pub async fn simulate<S: Storage>(app: Arc<App<S>>, addr: std::net::SocketAddr, every: Duration) {
    let web = app.channel_of(ChannelKind::WebChat);
    let mut visitors: Vec<WebVisitor> = Vec::new();
    let Some(channel) = app.channel_of(ChannelKind::Whatsapp) else {
        tracing::warn!("the demo has no WhatsApp channel: no customer will write");
        return;
    };
    let mut rng = fastrand::Rng::with_seed(99);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    for n in 1u64.. {
        tick.tick().await;
        if n % 3 == 0
            && let Some(web) = web
        {
            let who = rng.usize(..WEB_VISITORS.len());
            if visitors.len() <= who {
                match WebVisitor::join(&*app, addr, web, WEB_VISITORS[visitors.len()]).await {
                    Ok(v) => visitors.push(v),
                    Err(e) => tracing::warn!("a demo web visitor could not join: {e}"),
                }
            }
            let line = CUSTOMER_LINES[rng.usize(..CUSTOMER_LINES.len())];
            let at = who.min(visitors.len().saturating_sub(1));
            if let Some(v) = visitors.get_mut(at)
                && let Err(e) = v.say(line).await
            {
                tracing::warn!("a demo web visitor's message did not go: {e}");
                visitors.clear();
            }
            continue;
        }
        if n % 7 == 0 {
            // A customer calls: it rings, and a few seconds later it was answered or missed.
            let from = format!("55{}", 11_900_000_000u64 + rng.u64(0..40));
            let id = format!("demo-call-{}", uuid::Uuid::now_v7());
            let answered = rng.bool();
            let (duration, ring) = (rng.u32(20..400), rng.u64(3..12));
            let report =
                move |end: Option<crate::calls::CallEnd>, at: Millis| crate::calls::CallReport {
                    customer: from.clone(),
                    name: String::new(),
                    provider_id: id.clone(),
                    direction: outpost_protocol::Direction::Incoming,
                    at,
                    end,
                };
            if let Err(e) = app.record_call(channel, report(None, app.now())).await {
                tracing::warn!(error = %e, "the simulated customer's call was refused");
                continue;
            }
            let app = app.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(ring)).await;
                let now = app.now();
                let end = crate::calls::CallEnd {
                    ended_at: now,
                    answered_at: answered.then(|| now - i64::from(duration) * 1_000),
                    duration_secs: answered.then_some(duration),
                    outcome: if answered {
                        outpost_protocol::CallOutcome::Answered
                    } else {
                        outpost_protocol::CallOutcome::Missed
                    },
                    failure: None,
                };
                if let Err(e) = app.record_call(channel, report(Some(end), now)).await {
                    tracing::warn!(error = %e, "the simulated call's end was refused");
                }
            });
            continue;
        }
        let from = format!("55{}", 11_900_000_000u64 + rng.u64(0..40));
        let mut text = CUSTOMER_LINES[rng.usize(..CUSTOMER_LINES.len())].to_owned();
        let mut attachments = Vec::new();
        if n % 6 == 0 {
            match app
                .receive_file(channel, "image/png", RECEIPT_PNG.to_vec())
                .await
            {
                Ok(file) => {
                    text = "Segue o comprovante 👇".to_owned();
                    attachments.push(workspace::InboundFile {
                        file,
                        name: "comprovante.png".to_owned(),
                    });
                }
                Err(e) => tracing::warn!(error = %e, "the simulated customer's photo was refused"),
            }
        }
        let message = Inbound {
            from,
            name: String::new(),
            text,
            id: None,
            reply_to: None,
            attachments,
            ..Default::default()
        };
        if let Err(e) = app.receive(channel, message).await {
            tracing::warn!(error = %e, "the simulated customer's message was refused");
        }
    }
}
