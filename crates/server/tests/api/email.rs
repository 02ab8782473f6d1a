//! The email channel against a real mail server (Exim and Dovecot, `mailserver.rs`): customers'
//! emails of every shape arrive once, threaded; replies thread at the customer's mailbox; a
//! bounce fails the message; a connection dropped mid-fetch loses and doubles nothing.

use super::mailserver::MailServer;
use super::*;

const SHOP: (&str, &str) = ("loja@loja.test", "senha-da-loja-1");
const ANA: (&str, &str) = ("ana@cliente.test", "senha-da-ana-1");

/// The shop's mailbox as an email channel; its id.
async fn email_channel(h: &Harness, owner: &str, mail: &MailServer, imaps: u16) -> String {
    email_channel_with(h, owner, mail, imaps, (mail.submission, "starttls")).await
}

/// [`email_channel`], submitting on `smtp` (its port and security).
async fn email_channel_with(
    h: &Harness,
    owner: &str,
    mail: &MailServer,
    imaps: u16,
    smtp: (u16, &str),
) -> String {
    let r = h
        .post(
            owner,
            "/v1/admin/channels",
            &json!({ "kind": "email", "name": "Loja (email)", "settings": {
                "address": SHOP.0, "display_name": "Loja Exemplo",
                "imap_host": "127.0.0.1", "imap_port": imaps, "imap_security": "tls",
                "smtp_host": "127.0.0.1", "smtp_port": smtp.0, "smtp_security": smtp.1,
                "username": SHOP.0, "password": SHOP.1, "ca_pem": mail.ca_pem,
            } }),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn arrived(h: &Harness, token: &str, n: usize, mail: &MailServer) -> Vec<Message> {
    for _ in 0..200 {
        let got = h.incoming(token).await;
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{n} emails did not arrive; the mail server's logs:\n{}",
        mail.logs()
    );
}

fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

#[tokio::test]
async fn customers_emails_arrive_once_as_plain_text_threaded_with_subjects_and_files() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let mail = MailServer::start(&[SHOP, ANA]).await;
    // Anything the HTML asks to load would knock here: nothing may.
    let pixel = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pixel_port = pixel.local_addr().unwrap().port();
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let k = knocks.clone();
    tokio::spawn(async move {
        while pixel.accept().await.is_ok() {
            k.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    email_channel(&h, &owner, &mail, mail.imaps).await;
    let mail = &mail;
    // Not an email anyone could answer (no sender): left alone, and the next ones still come.
    mail.submit(
        ANA,
        ANA.0,
        &[SHOP.0],
        b"Subject: \xff\xfe garbage\r\n\r\n\x00\x01 not a message\r\n",
    )
    .await;
    let send = |raw: Vec<u8>| async move { mail.submit(ANA, ANA.0, &[SHOP.0], &raw).await };
    send(crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Pedido 4521\nMessage-ID: <p1@cliente.test>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nOlá! Meu pedido 4521 não chegou.\n",
    ))
    .await;
    send(crlf(&format!(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Foto\nMessage-ID: <p2@cliente.test>\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p {{ color: red }}</style><script>alert('x')</script></head><body><p>Veja <b>isto</b> &amp; responda</p><img src=\"http://127.0.0.1:{pixel_port}/pixel.gif\" width=1 height=1></body></html>\n"
    )))
    .await;
    send(crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Nota\nMessage-ID: <p3@cliente.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nSegue a nota.\n--b1\nContent-Type: application/pdf; name=\"nota.pdf\"\nContent-Disposition: attachment; filename=\"nota.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjcgbm90YQ==\n--b1--\n",
    ))
    .await;
    // Latin-1, quoted-printable: "Atenção: não recebi".
    send(crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: =?iso-8859-1?q?Aten=E7=E3o?=\nMessage-ID: <p4@cliente.test>\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nAten=E7=E3o: n=E3o recebi.\n",
    ))
    .await;
    // A reply to the first, quoting it, with a signature.
    send(crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Re: Pedido 4521\nMessage-ID: <p5@cliente.test>\nIn-Reply-To: <p1@cliente.test>\nReferences: <p1@cliente.test>\nContent-Type: text/plain; charset=utf-8\n\nAinda nada.\n\n-- \nAna Souza\n\nEm qui., 1 de jan. de 2026, Ana Souza escreveu:\n> Olá! Meu pedido 4521 não chegou.\n",
    ))
    .await;
    let got = arrived(&h, &owner, 5, mail).await;
    let by_subject = |s: &str| {
        got.iter()
            .find(|m| m.subject.as_deref() == Some(s))
            .unwrap_or_else(|| panic!("no {s}"))
    };
    let first = by_subject("Pedido 4521");
    assert_eq!(first.text, "Olá! Meu pedido 4521 não chegou.");
    assert_eq!(first.channel, ChannelKind::Email);
    let html = by_subject("Foto");
    assert!(
        html.text.contains("Veja isto & responda"),
        "{:?}",
        html.text
    );
    for never in ["alert", "color", "<", "pixel"] {
        assert!(!html.text.contains(never), "{never} in {:?}", html.text);
    }
    let note = by_subject("Nota");
    assert_eq!(note.attachments.len(), 1);
    assert_eq!(note.attachments[0].name, "nota.pdf");
    let r = h
        .get_file(&owner, note.attachments[0].upload_id().unwrap())
        .await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.7 nota");
    let latin = by_subject("Atenção");
    assert_eq!(latin.text, "Atenção: não recebi.");
    let reply = by_subject("Re: Pedido 4521");
    assert_eq!(reply.reply_to, Some(first.id));
    assert!(reply.text.starts_with("Ainda nada."), "{:?}", reply.text);
    assert!(
        reply.text.contains("-- \nAna Souza"),
        "the signature is kept: {:?}",
        reply.text
    );
    assert!(
        !reply.text.contains("> Olá"),
        "the quoted history is folded: {:?}",
        reply.text
    );
    // One customer, one conversation.
    let conversations: std::collections::HashSet<ConversationId> =
        got.iter().map(|m| m.conversation_id).collect();
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        knocks.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was fetched"
    );
    // An auto-reply does not reopen a closed conversation.
    let c = *conversations.iter().next().unwrap();
    h.applied(
        &owner,
        Action::Close {
            conversation_id: c,
            note: String::new(),
            category: String::new(),
        },
    )
    .await;
    send(crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Fora do escritório\nMessage-ID: <p6@cliente.test>\nAuto-Submitted: auto-replied\nContent-Type: text/plain; charset=utf-8\n\nEstou de férias até segunda.\n",
    ))
    .await;
    arrived(&h, &owner, 6, mail).await;
    let conversation = h.conversation_of(&owner, first.id).await;
    assert_eq!(conversation.state, ConversationState::Closed);
    // Nothing twice, however long the channel watches.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(h.incoming(&owner).await.len(), 6);
}

#[tokio::test]
async fn a_reply_threads_at_the_customers_mailbox_and_a_bounce_fails_the_message_it_returns() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let mail = MailServer::start(&[SHOP, ANA]).await;
    // Submission over TLS from the first byte (port 465's way).
    email_channel_with(&h, &owner, &mail, mail.imaps, (mail.smtps, "tls")).await;
    mail.submit(ANA, ANA.0, &[SHOP.0], &crlf(
        "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Pedido 4521\nMessage-ID: <q1@cliente.test>\nContent-Type: text/plain; charset=utf-8\n\nCadê meu pedido?\n",
    ))
    .await;
    let theirs = arrived(&h, &owner, 1, &mail).await.pop().unwrap();
    let file = uuid::Uuid::now_v7();
    assert_eq!(
        h.put_file(
            &owner,
            file,
            "application/pdf",
            b"%PDF-1.7 rastreio".to_vec()
        )
        .await,
        201
    );
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: theirs.conversation_id,
            text: "Já saiu para entrega. Segue o rastreio.".into(),
            attachments: vec![Attachment {
                kind: AttachmentKind::Document,
                name: "rastreio.pdf".into(),
                mime: "application/pdf".into(),
                size: 17,
                url: format!("/v1/attachments/{file}"),
            }],
            template: None,
            reply_to: None,
        },
    )
    .await;
    let m = until("sent", || async {
        h.message(&owner, mine)
            .await
            .filter(|m| m.status == MessageStatus::Sent)
    })
    .await;
    assert_eq!(
        m.history.iter().map(|s| s.status).collect::<Vec<_>>(),
        [MessageStatus::Pending, MessageStatus::Sent]
    );
    // At Ana's: threaded under her email, from the shop, the file attached.
    let at_ana = until("the reply at Ana's", || async {
        mail.inbox(ANA).await.pop()
    })
    .await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&at_ana)
        .unwrap();
    assert_eq!(parsed.subject(), Some("Re: Pedido 4521"));
    assert_eq!(parsed.in_reply_to().as_text(), Some("q1@cliente.test"));
    assert_eq!(
        parsed.from().unwrap().first().unwrap().address(),
        Some(SHOP.0)
    );
    assert_eq!(
        parsed.message_id(),
        Some(format!("{}@loja.test", mine.0).as_str())
    );
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("Já saiu para entrega.")
    );
    assert_eq!(parsed.attachments().count(), 1);
    // A customer at an address that does not exist: the mail server returns the reply.
    mail.submit(ANA, "bob@nowhere.test", &[SHOP.0], &crlf(
        "From: Bob <bob@nowhere.test>\nTo: loja@loja.test\nSubject: Oi\nMessage-ID: <b1@nowhere.test>\nContent-Type: text/plain\n\nOi!\n",
    ))
    .await;
    let bob = until("Bob's email", || async {
        h.incoming(&owner)
            .await
            .into_iter()
            .find(|m| m.text == "Oi!")
    })
    .await;
    let returned = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: returned,
            conversation_id: bob.conversation_id,
            text: "Olá Bob!".into(),
            attachments: vec![],
            template: None,
            reply_to: Some(bob.id),
        },
    )
    .await;
    let m = until("the bounce", || async {
        h.message(&owner, returned)
            .await
            .filter(|m| m.status == MessageStatus::Failed)
    })
    .await;
    assert_eq!(m.failure_reason.as_ref().unwrap().key, "email_bounced");
    assert!(
        m.failure.as_deref().unwrap().contains("bob@nowhere.test"),
        "{:?}",
        m.failure
    );
    // The bounce itself is no customer's message.
    assert!(
        !h.incoming(&owner)
            .await
            .iter()
            .any(|m| m.text.contains("Mail delivery failed"))
    );
}

/// A TCP proxy to `upstream` that cuts its first `cuts` connections after `after` bytes from the
/// server (mid-fetch), then passes the others through; its port, and how many connections came.
async fn cutting_proxy(
    upstream: u16,
    cuts: usize,
    after: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let cut = n <= cuts;
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut sr, mut sw) = server.into_split();
                let (mut cr, mut cw) = client.split();
                let up = async {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async {
                    let mut buf = [0u8; 4096];
                    let mut passed = 0;
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let n = if cut {
                            n.min(after.saturating_sub(passed))
                        } else {
                            n
                        };
                        if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        passed += n;
                    }
                };
                tokio::select! { _ = up => {}, _ = down => {} }
                // A connection the other side already closed has nothing left to shut down.
                if let Err(e) = client.shutdown().await
                    && e.kind() != std::io::ErrorKind::NotConnected
                {
                    eprintln!("the proxy's connection did not shut down: {e}");
                }
            });
        }
    });
    (port, count)
}

#[tokio::test]
async fn an_imap_connection_dropped_mid_fetch_loses_and_doubles_nothing() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let mail = MailServer::start(&[SHOP, ANA]).await;
    for i in 1..=5 {
        let body = "Linha de texto longa o bastante para encher a conexão. ".repeat(200);
        mail.submit(ANA, ANA.0, &[SHOP.0], &crlf(&format!(
            "From: Ana Souza <ana@cliente.test>\nTo: loja@loja.test\nSubject: Parte {i}\nMessage-ID: <d{i}@cliente.test>\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        )))
        .await;
    }
    until("the five at the shop", || async {
        (mail.inbox(SHOP).await.len() == 5).then_some(())
    })
    .await;
    // The first two connections break off mid-way through the fetches (TLS included).
    let (proxy, connections) = cutting_proxy(mail.imaps, 2, 30_000).await;
    email_channel(&h, &owner, &mail, proxy).await;
    let got = arrived(&h, &owner, 5, &mail).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let got2 = h.incoming(&owner).await;
    assert_eq!(
        got2.len(),
        5,
        "each once: {:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mut subjects: Vec<String> = got2.iter().filter_map(|m| m.subject.clone()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["Parte 1", "Parte 2", "Parte 3", "Parte 4", "Parte 5"]
    );
    assert!(
        connections.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "two were cut, a third read on"
    );
}

#[test]
fn the_quoted_history_of_a_reply_is_folded_and_its_signature_kept() {
    use outpost_server::providers::email::fold_quoted;
    assert_eq!(
        fold_quoted("Sim.\n\nOn Mon, Jan 5, 2026, Ana wrote:\n> Pode?\n> Obrigada"),
        "Sim."
    );
    assert_eq!(fold_quoted("Sim.\n-- \nAna\n\n> antigo"), "Sim.\n-- \nAna");
    assert_eq!(
        fold_quoted("> citação no começo\nResposta no meio\n> e fim"),
        "> citação no começo\nResposta no meio"
    );
    assert_eq!(
        fold_quoted("Oi\n\n-----Original Message-----\nFrom: x"),
        "Oi"
    );
    assert_eq!(fold_quoted("> só citação"), "> só citação");
}
