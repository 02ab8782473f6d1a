use outpost_protocol::*;

use super::*;
use crate::store::{ListQuery, ViewRef};
use crate::testing::*;

/// The UI's types are generated from these Rust types; this fails when they are stale.
#[test]
fn generated_typescript_is_fresh() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/outpost.ts");
    let fresh = typescript();
    if std::env::var_os("OUTPOST_WRITE_TYPES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/generated/outpost.ts is stale: run `cargo xtask gen-types` and commit the result"
    );
    for name in [
        "export type Request",
        "export type Response",
        "export type Event",
        "export type Action",
        "export type Folder",
    ] {
        assert!(fresh.contains(name), "{name} is generated");
    }
}

#[test]
fn test_requests_answer_and_actions_announce_what_changed() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Eva");
    let mut c = conversation(&k, T0);
    let m = incoming(&c, "Preciso de ajuda", T0);
    rules::on_incoming(&mut c, &m);
    f.server_upsert(vec![
        Entity::Contact(k.clone()),
        Entity::Message(m),
        Entity::Conversation(c.clone()),
    ]);
    let events = f.client.subscribe();

    match f.client.handle(Request::ListConversations {
        query: ListQuery::new(ViewRef::Unassigned),
    }) {
        Response::Conversations { page } => assert_eq!(page.rows[0].contact_name, "Eva"),
        other => panic!("{other:?}"),
    }
    let message_id = MessageId::new();
    let acted = f.client.handle(Request::Act {
        action: Action::SendMessage {
            message_id,
            conversation_id: c.id,
            text: "Claro!".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        },
    });
    assert!(
        matches!(acted, Response::Acted { op_id: Some(_) }),
        "{acted:?}"
    );
    let Event::Changed {
        conversations,
        folders,
        journal,
        ..
    } = events.try_recv().unwrap()
    else {
        panic!("expected Changed");
    };
    assert_eq!(conversations, vec![c.id], "events name ids, not data");
    assert!(folders && journal);
    match f.client.handle(Request::Journal) {
        Response::Journal { entries } => assert_eq!(entries.len(), 1),
        other => panic!("{other:?}"),
    }
    // An error is an answer the UI can show, with a code.
    match f.client.handle(Request::OpenConversation {
        conversation_id: ConversationId::new(),
        before: None,
        limit: 50,
    }) {
        Response::Error { error } => {
            assert_eq!(error.code, ErrorCode::NotFound);
            assert!(error.message.contains("not found"));
        }
        other => panic!("{other:?}"),
    }
    f.client.handle(Request::SaveDraft {
        conversation_id: c.id,
        text: "rascunho".into(),
    });
    assert_eq!(
        f.client.handle(Request::GetDraft {
            conversation_id: c.id
        }),
        Response::Draft {
            text: "rascunho".into()
        }
    );
    // Requests and responses cross the bridge as JSON.
    let json = serde_json::to_string(&Request::Counts).unwrap();
    assert_eq!(json, r#"{"type":"counts"}"#);
    let back: Request = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Request::Counts);
}

#[test]
fn test_actions_without_a_signed_in_agent_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open(
        dir.path().join("m.db"),
        std::sync::Arc::new(ManualClock::new(T0)),
    )
    .unwrap();
    let err = client
        .act(Action::MarkRead {
            conversation_id: ConversationId::new(),
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthenticated);
}
