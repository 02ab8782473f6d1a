//! Bad input: a clear error, and nothing stored is lost.

use super::*;

#[tokio::test]
async fn test_bad_input_is_a_clear_4xx_and_stores_nothing() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let seq_before = h.page(&token, 0, 1).await.cursor;
    let post = |body: reqwest::Body, content_type: &'static str| {
        h.http
            .post(h.url("/v1/ops"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Body, &str, u16, &str)> = vec![
        ("{not json".into(), "application/json", 400, "not valid"),
        (r#"{"ops": "many"}"#.into(), "application/json", 400, "invalid type"),
        (r#"{"ops": [{"op_id": "01890a5d-ac96-774b-bcce-b302099a8057", "at": 1, "action": {"type": "launch_rocket"}}]}"#.into(), "application/json", 400, "unknown variant"),
        (vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'].into(), "application/json", 400, "not valid"),
        ("{}".into(), "text/plain", 415, "JSON"),
        (format!(r#"{{"ops": [], "pad": "{}"}}"#, "x".repeat(5 * 1024 * 1024)).into(), "application/json", 413, "larger"),
    ];
    for (body, content_type, status, says) in cases {
        let r = post(body, content_type).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "expected {status} ({says})");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].as_str().unwrap().contains(says), "{v}");
        assert!(v["code"].is_string());
    }
    let r = h.get(&token, "/v1/changes?after=-3").await;
    assert_eq!(r.status(), 400);
    let r = h.get(&token, "/v1/nowhere").await;
    assert_eq!(r.status(), 404);
    // A valid op with invalid content is refused with its reason, not stored.
    let r = h
        .ops(&token, vec![send(ConversationId::new(), "   ")])
        .await;
    assert_eq!(refused(&r).0, ErrorCode::InvalidInput, "{r:?}");
    assert_eq!(
        h.page(&token, 0, 1).await.cursor,
        seq_before,
        "nothing was stored"
    );
}
