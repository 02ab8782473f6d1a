//! Calls (issue 17): WhatsApp's calling webhooks (Meta's `calls` field, `tests/fixtures/whatsapp/
//! call_*.json`) and a test channel's simulated calls, recorded once in the conversation with
//! their contact whatever the order and repetition of the reports; missed calls leave the
//! conversation waiting; calls go only to those who see their conversation, and leave with it.

use super::standin::{APP_SECRET, StandIn, fixture};
use super::whatsapp::{deliver, deliver_signed, wa_channel};
use super::*;
use outpost_server::storage::Storage;

/// The calls an agent's feed holds.
fn calls_of(m: &Mirror) -> Vec<Call> {
    let mut calls: Vec<Call> = m
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Call(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    calls.sort_by_key(|c| c.started_at);
    calls
}

fn call_named(m: &Mirror, provider_id: &str) -> Call {
    calls_of(m)
        .into_iter()
        .find(|c| c.provider_id == provider_id)
        .unwrap_or_else(|| panic!("call {provider_id} not in the feed"))
}

const CALL1: &str = "wacid.HBgLMTYzMTU1NTExODEVAgARGCA1";
const CALL2: &str = "wacid.HBgLMTYzMTU1NTExODEVAgARGCA2";
const CALL3: &str = "wacid.HBgLMTYzMTU1NTExODEVAgARGCA3";
const CALL4: &str = "wacid.HBgLMTYzMTU1NTExODEVAgARGCA0";

/// A WhatsApp channel on the stand-in whose admin switched calling on.
async fn calling_channel(h: &Harness, owner: &str, stand: &StandIn) -> String {
    let (id, _) = wa_channel(h, owner, &stand.graph()).await;
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{id}")))
        .bearer_auth(owner)
        .json(&json!({ "settings": { "calling": "on" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    id
}

#[tokio::test]
async fn whatsapp_calls_are_recorded_once_whatever_the_order_and_repetition_of_their_reports() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let id = calling_channel(&h, &owner, &stand).await;

    // The customer calls: it rings. A new contact, a new conversation opened by the contact.
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_connect.json")).await,
        200
    );
    let m = h.synced(&owner, 500).await;
    let ringing = call_named(&m, CALL1);
    assert_eq!(ringing.outcome, CallOutcome::Ongoing);
    assert_eq!(ringing.direction, Direction::Incoming);
    assert_eq!(ringing.started_at, 1_767_225_600_000);
    assert_eq!(ringing.ended_at, None);
    let Some(Entity::Conversation(c)) = m
        .entities
        .get(&EntityRef::Conversation(ringing.conversation_id))
    else {
        panic!("the call's conversation is in the feed");
    };
    assert_eq!(c.state, ConversationState::Open);
    assert_eq!(c.last_message_preview, "", "a call is no message");
    let Some(Entity::Contact(k)) = m.entities.get(&EntityRef::Contact(ringing.contact_id)) else {
        panic!("the caller is a contact");
    };
    assert_eq!(
        (k.name.as_str(), k.phone.as_str()),
        ("Kerry Fisher", "16315551181")
    );
    assert!(m.entities.values().any(|e| matches!(e, Entity::Event(ev)
        if ev.conversation_id == c.id && ev.kind == EventKind::Opened { first: true } && ev.actor.kind == ActorKind::Contact
            && ev.at == ringing.started_at)), "the call began the conversation when it rang");

    // Meta delivers the same event again: nothing moves.
    let seq = h.storage().seq().unwrap();
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_connect.json")).await,
        200
    );
    assert_eq!(h.storage().seq().unwrap(), seq);

    // It ends, answered: its start, end and length as the provider says.
    assert_eq!(
        deliver(
            &h,
            &id,
            &fixture("whatsapp", "call_terminate_completed.json")
        )
        .await,
        200
    );
    let answered = call_named(&h.synced(&owner, 500).await, CALL1);
    assert_eq!(
        answered.id, ringing.id,
        "one call for its connect and terminate"
    );
    assert_eq!(answered.outcome, CallOutcome::Answered);
    assert_eq!(
        answered.started_at, 1_767_225_600_000,
        "when it began to ring"
    );
    assert_eq!(answered.answered_at, Some(1_767_225_610_000));
    assert_eq!(answered.ended_at, Some(1_767_225_705_000));
    assert_eq!(answered.duration_secs, Some(95));
    // Its terminate again, and its connect after its end: nothing moves.
    let seq = h.storage().seq().unwrap();
    assert_eq!(
        deliver(
            &h,
            &id,
            &fixture("whatsapp", "call_terminate_completed.json")
        )
        .await,
        200
    );
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_connect.json")).await,
        200
    );
    assert_eq!(h.storage().seq().unwrap(), seq);
    assert_eq!(call_named(&h.synced(&owner, 500).await, CALL1), answered);

    // Out of order: a missed call's terminate before its connect. Missed, and the connect that
    // comes late does not bring it back to ringing.
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_terminate_missed.json")).await,
        200
    );
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_connect_missed.json")).await,
        200
    );
    let m = h.synced(&owner, 500).await;
    let missed = call_named(&m, CALL2);
    assert_eq!(missed.outcome, CallOutcome::Missed);
    assert!(missed.is_missed());
    assert_eq!((missed.answered_at, missed.duration_secs), (None, None));
    assert_eq!(missed.ended_at, Some(1_767_229_245_000));
    assert_eq!(missed.conversation_id, c.id, "the contact's conversation");
    let Some(Entity::Conversation(after)) = m.entities.get(&EntityRef::Conversation(c.id)) else {
        panic!("conversation");
    };
    assert!(after.unanswered, "a missed call waits for our reply");
    assert_eq!(after.unread_count, c.unread_count + 1);

    // A call the business placed, answered: outgoing, the customer is `to`.
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "call_connect_business.json")).await,
        200
    );
    assert_eq!(
        deliver(
            &h,
            &id,
            &fixture("whatsapp", "call_terminate_business.json")
        )
        .await,
        200
    );
    let m = h.synced(&owner, 500).await;
    let placed = call_named(&m, CALL3);
    assert_eq!(placed.direction, Direction::Outgoing);
    assert_eq!(placed.outcome, CallOutcome::Answered);
    assert_eq!(placed.duration_secs, Some(180));
    assert_eq!(placed.contact_id, ringing.contact_id);

    // One that failed: the provider's code and words, and a reason for the agent's language.
    assert_eq!(
        deliver(
            &h,
            &id,
            &fixture("whatsapp", "call_terminate_failed_138006.json")
        )
        .await,
        200
    );
    let failed = call_named(&h.synced(&owner, 500).await, CALL4);
    assert_eq!(failed.outcome, CallOutcome::Failed);
    assert_eq!(failed.direction, Direction::Outgoing);
    assert!(
        failed.failure.as_deref().unwrap_or("").contains("138006"),
        "{:?}",
        failed.failure
    );
    let reason = failed.failure_reason.expect("a reason");
    assert_eq!(reason.key, "provider_error");
    assert_eq!(reason.params["code"], "138006");
    // Calls the business placed never reopen or mark the conversation.
    let Some(Entity::Conversation(now)) = m.entities.get(&EntityRef::Conversation(c.id)) else {
        panic!("conversation");
    };
    assert_eq!(now.unread_count, after.unread_count);
    assert_eq!(calls_of(&h.synced(&owner, 500).await).len(), 4);
}

#[tokio::test]
async fn calls_need_the_signature_and_calling_switched_on() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (off, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let seq = h.storage().seq().unwrap();
    // Calling off: acknowledged (Meta would retry otherwise), recorded nowhere.
    assert_eq!(
        deliver(&h, &off, &fixture("whatsapp", "call_terminate_missed.json")).await,
        200
    );
    assert_eq!(h.storage().seq().unwrap(), seq);
    // A bad calling setting is refused, said.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{off}")))
        .bearer_auth(&owner)
        .json(&json!({ "settings": { "calling": "maybe" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("calling setting"));
    let on = calling_channel(&h, &owner, &stand).await;
    let seq = h.storage().seq().unwrap();
    // Not signed with the app secret: refused before it is read; nothing stored.
    assert_eq!(
        deliver_signed(
            &h,
            &on,
            &fixture("whatsapp", "call_terminate_missed.json"),
            "not-the-app-secret"
        )
        .await,
        401
    );
    // A call event Outpost cannot read (no direction) is left alone, the rest taken.
    let mut odd = fixture("whatsapp", "call_terminate_missed.json");
    odd["entry"][0]["changes"][0]["value"]["calls"][0]["direction"] = json!("SIDEWAYS");
    assert_eq!(deliver(&h, &on, &odd).await, 200);
    // Malformed: 400.
    let mut bad = fixture("whatsapp", "call_connect.json");
    bad["entry"][0]["changes"][0]["value"]["calls"] = json!([{ "from": 5 }]);
    assert_eq!(deliver(&h, &on, &bad).await, 400);
    assert_eq!(h.storage().seq().unwrap(), seq, "nothing was stored");
    assert!(!APP_SECRET.is_empty());
}

/// The test channel's simulated provider reports a call.
async fn test_call(h: &Harness, body: Value) -> (u16, Value) {
    let r = h
        .http
        .post(h.url(&format!("/v1/channels/{}/calls", h.channel)))
        .header("x-outpost-channel-secret", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_missed_call_reopens_a_closed_conversation_and_leaves_it_unanswered() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let first = h.customer_writes("5511988887777", "Oi").await;
    let c = h.conversation_of(&owner, first).await;
    applied(
        &h.ops(&owner, vec![send(c.id, "Olá! Em que posso ajudar?")])
            .await,
    );
    h.applied(
        &owner,
        Action::Close {
            conversation_id: c.id,
            note: String::new(),
            category: String::new(),
        },
    )
    .await;
    let closed = h.conversation_of(&owner, first).await;
    assert_eq!(closed.state, ConversationState::Closed);
    assert!(!closed.unanswered);
    // It rings: the conversation opens again, as after the customer's message.
    let (s, v) = test_call(&h, json!({ "id": "sim-1", "from": "5511988887777" })).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["changed"], json!(true));
    let rang = h.conversation_of(&owner, first).await;
    assert_eq!(rang.state, ConversationState::Open);
    assert!(!rang.unanswered, "ringing is not yet missed");
    // Nobody picked up: unanswered, one more unread.
    let (s, _) = test_call(
        &h,
        json!({ "id": "sim-1", "from": "5511988887777", "outcome": "missed" }),
    )
    .await;
    assert_eq!(s, 200);
    let missed = h.conversation_of(&owner, first).await;
    assert!(missed.unanswered);
    assert_eq!(missed.unread_count, rang.unread_count + 1);
    // Reported again: nothing changes.
    let (_, v) = test_call(
        &h,
        json!({ "id": "sim-1", "from": "5511988887777", "outcome": "missed" }),
    )
    .await;
    assert_eq!(v["changed"], json!(false));
    assert_eq!(h.conversation_of(&owner, first).await, missed);
    let m = h.synced(&owner, 500).await;
    let call = call_named(&m, "sim-1");
    assert_eq!(
        (call.outcome, call.conversation_id),
        (CallOutcome::Missed, c.id)
    );
    // A snoozed conversation wakes for a call.
    h.applied(
        &owner,
        Action::Snooze {
            conversation_id: c.id,
            until: T0 + 3_600_000,
        },
    )
    .await;
    let (s, _) = test_call(&h, json!({ "id": "sim-2", "from": "5511988887777", "outcome": "answered", "duration_secs": 42 })).await;
    assert_eq!(s, 200);
    let woke = h.conversation_of(&owner, first).await;
    assert_eq!(woke.state, ConversationState::Open);
    assert_eq!(
        call_named(&h.synced(&owner, 500).await, "sim-2").duration_secs,
        Some(42)
    );
}

#[tokio::test]
async fn a_call_reaches_only_those_who_see_its_conversation_and_leaves_with_it() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let own_only = h.login(&h.own_only).await;
    let team_agent = h.login(&h.team_agent).await;
    let (s, v) = test_call(&h, json!({ "id": "sim-vis", "from": "5511977776666", "name": "Ana Lima", "outcome": "missed" })).await;
    assert_eq!(s, 200, "{v}");
    let owners = h.synced(&owner, 500).await;
    let call = call_named(&owners, "sim-vis");
    // Unassigned and in no team: neither restricted agent sees it, nor its call.
    assert!(calls_of(&h.synced(&own_only, 500).await).is_empty());
    assert!(calls_of(&h.synced(&team_agent, 500).await).is_empty());
    // Assigned to the own-only agent: the call comes with the conversation.
    let mut paula = h.synced(&own_only, 500).await;
    h.applied(
        &owner,
        Action::Assign {
            conversation_id: call.conversation_id,
            assignee: Some(h.own_only.id),
        },
    )
    .await;
    paula.pull(&h, &own_only, 500).await;
    assert_eq!(calls_of(&paula), vec![call.clone()]);
    // Taken from her: revoked, and her mirror purges the call with the conversation.
    h.applied(
        &owner,
        Action::Assign {
            conversation_id: call.conversation_id,
            assignee: Some(h.other.id),
        },
    )
    .await;
    paula.pull(&h, &own_only, 500).await;
    assert!(calls_of(&paula).is_empty());
    assert!(calls_of(&h.synced(&own_only, 500).await).is_empty());
    // Deleted by the owner: the call goes with it (a tombstone), and the test channel's next
    // call opens a new conversation.
    let mut olga = h.synced(&owner, 500).await;
    h.applied(
        &owner,
        Action::DeleteConversation {
            conversation_id: call.conversation_id,
        },
    )
    .await;
    olga.pull(&h, &owner, 500).await;
    assert!(calls_of(&olga).is_empty());
    // Its report delivered again brings nothing back.
    let seq = h.storage().seq().unwrap();
    let (s, v) = test_call(
        &h,
        json!({ "id": "sim-vis", "from": "5511977776666", "outcome": "missed" }),
    )
    .await;
    assert_eq!((s, &v["changed"]), (200, &json!(false)));
    assert_eq!(
        h.storage().seq().unwrap(),
        seq,
        "the deleted call stays deleted"
    );
    let (s, _) = test_call(&h, json!({ "id": "sim-vis-2", "from": "5511977776666" })).await;
    assert_eq!(s, 200);
    olga.pull(&h, &owner, 500).await;
    let again = call_named(&olga, "sim-vis-2");
    assert_ne!(again.conversation_id, call.conversation_id);
}

#[tokio::test]
async fn only_a_test_channel_reports_calls_by_hand_with_its_secret() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let real = calling_channel(&h, &owner, &stand).await;
    let secret = {
        let r = h
            .post_empty(&owner, &format!("/v1/admin/channels/{real}/secret"))
            .await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let call = json!({ "id": "x", "from": "5511977776666", "outcome": "missed" });
    let r = h
        .http
        .post(h.url(&format!("/v1/channels/{real}/calls")))
        .header("x-outpost-channel-secret", &secret)
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "a real channel's calls come from its provider"
    );
    let r = h
        .http
        .post(h.url(&format!("/v1/channels/{}/calls", h.channel)))
        .header("x-outpost-channel-secret", "wrong")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Bad input: said, nothing stored.
    let seq = h.storage().seq().unwrap();
    for bad in [
        json!({ "id": "", "from": "5511977776666" }),
        json!({ "id": "y", "from": "not a phone" }),
        json!({ "id": "y", "from": "5511977776666", "outcome": "exploded" }),
        json!({ "id": "y", "from": "5511977776666", "surprise": true }),
    ] {
        let (s, _) = test_call(&h, bad.clone()).await;
        assert!(s == 400 || s == 422, "{bad}: {s}");
    }
    assert_eq!(h.storage().seq().unwrap(), seq);
}
