//! Custom views: private unless shared, changed only by their creator.

use super::*;

#[tokio::test]
async fn test_custom_views_are_private_unless_shared_and_only_their_creator_changes_them() {
    let h = harness().await;
    let tiago = h.login(&h.team_agent).await;
    let paula = h.login(&h.own_only).await;
    let view = CustomView {
        id: ViewId::new(),
        name: "VIPs de SP".into(),
        owner: h.team_agent.id,
        sharing: Sharing::default(),
        filter: Condition::Tag {
            tag: "vip".into(),
            present: true,
        },
    };
    h.applied(&tiago, Action::SaveView { view: view.clone() })
        .await;
    let views = |m: &Mirror| {
        m.entities
            .values()
            .filter(|e| matches!(e, Entity::View(_)))
            .count()
    };
    assert_eq!(
        views(&h.synced(&paula, 1000).await),
        0,
        "private to its creator"
    );
    let mut shared = view.clone();
    shared.sharing.agents = vec![h.own_only.id];
    h.applied(
        &tiago,
        Action::SaveView {
            view: shared.clone(),
        },
    )
    .await;
    assert_eq!(views(&h.synced(&paula, 1000).await), 1, "shared with Paula");
    let mut hijack = shared.clone();
    hijack.name = "Meus".into();
    hijack.owner = h.own_only.id;
    let r = h.ops(&paula, vec![Action::SaveView { view: hijack }]).await;
    assert_eq!(refused(&r).0, ErrorCode::NotAllowed, "{r:?}");
    let r = h
        .ops(&paula, vec![Action::DeleteView { view_id: view.id }])
        .await;
    assert!(matches!(
        &r[0].outcome,
        OpOutcome::Refused {
            code: ErrorCode::NotAllowed,
            ..
        }
    ));
}
