//! Permissions: who may see and change what.

use super::*;

#[tokio::test]
async fn test_restricted_agents_neither_read_nor_change_what_they_may_not_see() {
    let h = harness().await;
    let m = h
        .customer_writes("5511934343434", "Segredo do time de vendas")
        .await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    h.applied(
        &owner,
        Action::SetTeam {
            conversation_id: c.id,
            team: Some(h.other_team),
        },
    )
    .await;
    for agent in [&h.team_agent, &h.own_only] {
        let token = h.login(agent).await;
        let mirror = h.synced(&token, 1000).await;
        assert!(
            mirror.conversations().is_empty(),
            "{} sees nothing of it",
            agent.name
        );
        assert!(
            !mirror
                .entities
                .values()
                .any(|e| matches!(e, Entity::Message(_) | Entity::Contact(_)))
        );
        for action in [
            send(c.id, "intrusão"),
            Action::Close {
                conversation_id: c.id,
                note: String::new(),
                category: String::new(),
            },
            Action::Assign {
                conversation_id: c.id,
                assignee: Some(agent.id),
            },
            Action::Archive {
                message_ids: vec![m],
            },
            Action::EditContact {
                contact_id: c.contact_id,
                edit: ContactEdit {
                    name: Some("x".into()),
                    ..Default::default()
                },
            },
        ] {
            let r = h.ops(&token, vec![action.clone()]).await;
            assert!(
                matches!(
                    &r[0].outcome,
                    OpOutcome::Refused {
                        code: ErrorCode::NotFound,
                        ..
                    }
                ),
                "{}: {r:?}",
                action.kind()
            );
        }
    }
    assert_eq!(
        h.conversation_of(&owner, m).await.assignee,
        None,
        "nothing changed"
    );
}

#[tokio::test]
async fn test_reassignment_revokes_and_grants_in_the_feed() {
    let h = harness().await;
    let m = h.customer_writes("5511945454545", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let paula = h.login(&h.own_only).await;
    let mut mirror = h.synced(&paula, 1000).await;
    assert!(mirror.conversations().is_empty());
    // Assigned to Paula: her feed now carries the conversation, its history and its contact.
    h.applied(
        &owner,
        Action::Assign {
            conversation_id: c.id,
            assignee: Some(h.own_only.id),
        },
    )
    .await;
    mirror.pull(&h, &paula, 1000).await;
    assert_eq!(mirror.conversations().len(), 1);
    assert_eq!(
        mirror.messages_of(c.id).len(),
        1,
        "the history came with it"
    );
    assert!(
        mirror
            .entities
            .contains_key(&EntityRef::Contact(c.contact_id))
    );
    // Reassigned away: a revocation purges it.
    h.applied(
        &owner,
        Action::Assign {
            conversation_id: c.id,
            assignee: Some(h.other.id),
        },
    )
    .await;
    let page = h.page(&paula, mirror.cursor, 1000).await;
    assert!(page.changes.iter().any(|ch| matches!(ch.kind, ChangeKind::Revoke { entity: EntityRef::Conversation(id) } if id == c.id)), "{page:?}");
    mirror.pull(&h, &paula, 1000).await;
    assert!(mirror.conversations().is_empty());
    assert!(mirror.messages_of(c.id).is_empty());
}
