//! Idempotency: an op sent again gets its first answer.

use super::*;

#[tokio::test]
async fn test_same_op_ten_times_concurrently_and_sequentially_has_one_effect() {
    let h = harness().await;
    let m = h.customer_writes("5511923232323", "Oi").await;
    let token = h.login(&h.owner).await;
    let c = h.conversation_of(&token, m).await;
    let op = Op {
        op_id: OpId::new(),
        at: T0,
        action: send(c.id, "Uma vez só"),
    };
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, token, op) = (h.http.clone(), h.url("/v1/ops"), token.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "ops": [op] }))
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            serde_json::from_value::<Vec<OpResult>>(v["results"].clone()).unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    for _ in 0..10 {
        results.extend(h.send_ops(&token, std::slice::from_ref(&op)).await);
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every repeat answers the first result"
    );
    let mirror = h.synced(&token, 1000).await;
    let ours = mirror
        .messages_of(c.id)
        .into_iter()
        .filter(|m| m.text == "Uma vez só")
        .count();
    assert_eq!(ours, 1);
}
