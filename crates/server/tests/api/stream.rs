//! The stream: changes, typing and viewing in real time.

use super::*;

#[tokio::test]
async fn test_stream_says_changed_right_after_a_commit() {
    use futures_util::StreamExt;
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token={token}", h.addr()))
            .await
            .unwrap();
    let first: Value =
        serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(first["type"], "changed");
    let before = first["seq"].as_u64().unwrap();
    h.customer_writes("5511956565656", "Chegou?").await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("a frame")
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert!(v["seq"].as_u64().unwrap() > before);
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token=nope", h.addr()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn test_typing_and_viewing_reach_only_agents_who_may_see_the_conversation() {
    use futures_util::{SinkExt, StreamExt};
    let h = harness().await;
    let m = h.customer_writes("5511978780000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    h.applied(
        &owner,
        Action::SetTeam {
            conversation_id: c.id,
            team: Some(h.team),
        },
    )
    .await;
    let connect = |token: String| {
        let addr = h.addr();
        async move {
            tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream?token={token}"))
                .await
                .unwrap()
                .0
        }
    };
    let mut owner_ws = connect(owner.clone()).await;
    let mut tiago_ws = connect(h.login(&h.team_agent).await).await;
    let mut paula_ws = connect(h.login(&h.own_only).await).await;
    for ws in [&mut owner_ws, &mut tiago_ws, &mut paula_ws] {
        ws.next().await.unwrap().unwrap(); // the first "changed"
    }
    let say = |frame: ClientFrame| {
        tokio_tungstenite::tungstenite::Message::Text(serde_json::to_string(&frame).unwrap().into())
    };
    owner_ws
        .send(say(ClientFrame::Viewing {
            conversation_id: Some(c.id),
        }))
        .await
        .unwrap();
    owner_ws
        .send(say(ClientFrame::Typing {
            conversation_id: c.id,
        }))
        .await
        .unwrap();
    // Tiago (team agent, the conversation is his team's) hears both.
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), tiago_ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        match serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap() {
            StreamFrame::Changed { .. } => {}
            other => heard.push(other),
        }
    }
    assert!(heard.contains(&StreamFrame::Viewing {
        conversation_id: c.id,
        who: vec![Presence {
            agent_id: h.owner.id,
            name: h.owner.name.clone()
        }],
    }));
    assert!(heard.contains(&StreamFrame::Typing {
        conversation_id: c.id,
        who: Presence {
            agent_id: h.owner.id,
            name: h.owner.name.clone()
        },
    }));
    // Paula (own-only) hears nothing of it.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        while let Some(Ok(frame)) = paula_ws.next().await {
            if !matches!(
                serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap(),
                StreamFrame::Changed { .. }
            ) {
                return frame;
            }
        }
        futures_util::future::pending().await
    })
    .await;
    assert!(
        quiet.is_err(),
        "no presence leaks to an agent who may not see the conversation"
    );
    // Closing the conversation's stream leaves nobody viewing.
    owner_ws.close(None).await.unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), tiago_ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        if let StreamFrame::Viewing { who, .. } =
            serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap()
        {
            assert!(who.is_empty());
            break;
        }
    }
}
