//! Keyword flows: a trigger word starts one; it answers until it ends.

use super::*;

#[tokio::test]
async fn test_keyword_flow_handles_messages_until_it_ends_and_respects_the_bot_switch() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let flows = json!({ "flows": [{ "name": "Menu", "trigger": "menu", "steps": ["1 pedidos, 2 trocas", "Um atendente já vem!"] }] });
    let r = h
        .http
        .put(h.url("/v1/flows"))
        .bearer_auth(h.login(&h.other).await)
        .json(&flows)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only owners and admins change flows");
    let r = h
        .http
        .put(h.url("/v1/flows"))
        .bearer_auth(&owner)
        .json(&flows)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let folder_of = |mirror: &Mirror, id| match mirror.entities.get(&EntityRef::Message(id)) {
        Some(Entity::Message(m)) => Folder::of(m),
        _ => panic!("missing"),
    };
    let before = h.customer_writes("5511966660000", "Bom dia").await;
    h.advance(1_000);
    let trigger = h
        .customer_writes("5511966660000", "Quero ver o MENU, por favor")
        .await;
    h.advance(1_000);
    let second = h.customer_writes("5511966660000", "1").await;
    h.advance(1_000);
    let after = h.customer_writes("5511966660000", "Ainda estou aqui").await;
    let mirror = h.synced(&owner, 1000).await;
    assert_eq!(folder_of(&mirror, before), Folder::Inbox);
    assert_eq!(
        folder_of(&mirror, trigger),
        Folder::Flows,
        "the trigger starts the flow"
    );
    assert_eq!(
        folder_of(&mirror, second),
        Folder::Flows,
        "handled by the flow while it runs"
    );
    assert_eq!(
        folder_of(&mirror, after),
        Folder::Inbox,
        "after its last step, back to the Inbox"
    );
    let c = h.conversation_of(&owner, trigger).await;
    let mut replies: Vec<&Message> = mirror
        .messages_of(c.id)
        .into_iter()
        .filter(|m| m.sender.kind == SenderKind::Flow)
        .collect();
    replies.sort_by_key(|m| m.created_at);
    let texts: Vec<&str> = replies.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["1 pedidos, 2 trocas", "Um atendente já vem!"]);
    assert_eq!(c.assignee, None, "a flow's reply assigns nobody");
    // With the bot off, the trigger word is just a word.
    h.applied(
        &owner,
        Action::SetBot {
            contact_id: c.contact_id,
            enabled: false,
        },
    )
    .await;
    let ignored = h.customer_writes("5511966660000", "menu").await;
    assert_eq!(
        folder_of(&h.synced(&owner, 1000).await, ignored),
        Folder::Inbox
    );
}
