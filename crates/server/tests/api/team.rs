//! Managing the team: agents, teams, roles.

use super::*;

#[tokio::test]
async fn test_admins_add_teams_and_agents_and_an_agents_feed_follows_their_teams() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let tiago = h.login(&h.team_agent).await;
    let r = h
        .post(&tiago, "/v1/admin/teams", &json!({ "name": "Pirata" }))
        .await;
    assert_eq!(r.status(), 403, "agents do not manage the team");
    let team: Team = h
        .post(&owner, "/v1/admin/teams", &json!({ "name": "Logística" }))
        .await
        .json()
        .await
        .unwrap();
    let body = json!({ "name": "Nina Nova", "email": "nina@outpost.example", "password": "uma-senha-segura", "role": "agent", "visibility": "team", "teams": [team.id] });
    let r = h.post(&owner, "/v1/admin/agents", &body).await;
    assert_eq!(r.status(), 200);
    let nina: Agent =
        serde_json::from_value(r.json::<Value>().await.unwrap()["agent"].clone()).unwrap();
    let r = h.post(&owner, "/v1/admin/agents", &body).await;
    assert_eq!(r.status(), 409, "one account per email");
    let weak = json!({ "name": "X", "email": "x@outpost.example", "password": "curta", "role": "agent", "visibility": "team" });
    assert_eq!(
        h.post(&owner, "/v1/admin/agents", &weak).await.status(),
        422
    );
    let nina_token = h.login_as("nina@outpost.example", "uma-senha-segura").await;

    // A conversation of Logística, and one of Suporte.
    let m1 = h
        .customer_writes("5511991910000", "Cadê minha entrega?")
        .await;
    let m2 = h
        .customer_writes("5511992920000", "Preciso de suporte")
        .await;
    let (c1, c2) = (
        h.conversation_of(&owner, m1).await,
        h.conversation_of(&owner, m2).await,
    );
    h.ops(
        &owner,
        vec![
            Action::SetTeam {
                conversation_id: c1.id,
                team: Some(team.id),
            },
            Action::SetTeam {
                conversation_id: c2.id,
                team: Some(h.team),
            },
        ],
    )
    .await;
    let mut mirror = h.synced(&nina_token, 1000).await;
    let held = |m: &Mirror| m.conversations().iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(held(&mirror), vec![c1.id]);
    // Nina moves to Suporte: she loses Logística's conversation and gains Suporte's, with history.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/agents/{}", nina.id)))
        .bearer_auth(&owner)
        .json(&json!({ "teams": [h.team] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    mirror.pull(&h, &nina_token, 1000).await;
    assert_eq!(held(&mirror), vec![c2.id]);
    assert_eq!(mirror.messages_of(c2.id).len(), 1);
    assert!(mirror.messages_of(c1.id).is_empty());
    // Only the owner promotes.
    let admin_body = json!({ "name": "Ari", "email": "ari@outpost.example", "password": "senha-de-admin-1", "role": "admin", "visibility": "unrestricted" });
    let admin: Agent = serde_json::from_value(
        h.post(&owner, "/v1/admin/agents", &admin_body)
            .await
            .json::<Value>()
            .await
            .unwrap()["agent"]
            .clone(),
    )
    .unwrap();
    let ari = h.login_as("ari@outpost.example", "senha-de-admin-1").await;
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/agents/{}", nina.id)))
        .bearer_auth(&ari)
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(admin.role, Role::Admin);
}
