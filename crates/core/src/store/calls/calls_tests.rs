use outpost_protocol::*;

use super::*;
use crate::store::{ListQuery, TimelineItem, ViewRef};
use crate::testing::*;
use outpost_protocol::test_data::call;

fn who(page: &CallPage) -> Vec<(String, CallOutcome)> {
    page.rows
        .iter()
        .map(|r| (r.contact_name.clone(), r.call.outcome))
        .collect()
}

#[test]
fn test_calls_are_listed_newest_first_paged_filtered_counted_and_between_the_messages() {
    use CallOutcome::*;
    use Direction::*;
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let (beatriz, carlos) = (contact("Beatriz Araújo"), contact("Carlos Lima"));
    let mut b = conversation(&beatriz, T0 - 10 * HOUR);
    let c = conversation(&carlos, T0 - 10 * HOUR);
    let first = incoming(&b, "Oi, liguei", T0 - 5 * HOUR);
    let last = incoming(&b, "Alguém?", T0 - HOUR);
    rules::on_incoming(&mut b, &first);
    rules::on_incoming(&mut b, &last);
    let calls = [
        call(&b, Incoming, Answered, T0 - 6 * HOUR),
        call(&b, Incoming, Missed, T0 - 3 * HOUR),
        call(&c, Outgoing, Failed, T0 - 3 * HOUR),
        call(&c, Outgoing, Missed, T0 - 2 * HOUR),
        call(&b, Outgoing, Answered, T0 - 30 * MINUTE),
        call(&c, Incoming, Ongoing, T0 - MINUTE),
    ];
    let mut page = vec![
        Entity::Contact(beatriz.clone()),
        Entity::Contact(carlos.clone()),
        Entity::Conversation(b.clone()),
        Entity::Conversation(c.clone()),
        Entity::Message(first.clone()),
        Entity::Message(last.clone()),
    ];
    page.extend(calls.iter().cloned().map(Entity::Call));
    f.server_upsert(page);
    let store = f.store();
    let counts = store.counts().unwrap();
    assert_eq!(counts.calls, 6);
    // Everything exchanged: the seven folders' messages, and the calls in their own count.
    let in_folders: u64 = counts.folders.iter().map(|(_, n)| n).sum();
    assert_eq!((in_folders, in_folders + counts.calls), (2, 2 + 6));
    // Newest first, in pages of two, none missed or twice (two calls at the same time).
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let p = store.list_calls(&CallFilter::default(), before, 2).unwrap();
        seen.extend(p.rows.iter().map(|r| r.call.id));
        match p.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[0], calls[5].id);
    assert_eq!(seen[5], calls[0].id);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        6
    );
    // Filters: outcome, direction, contact (accents ignored), together.
    let all = |filter: CallFilter| store.list_calls(&filter, None, 50).unwrap();
    let missed = all(CallFilter {
        outcome: Some(Missed),
        ..Default::default()
    });
    assert_eq!(
        who(&missed),
        vec![
            ("Carlos Lima".into(), Missed),
            ("Beatriz Araújo".into(), Missed)
        ]
    );
    let received_missed = all(CallFilter {
        outcome: Some(Missed),
        direction: Some(Incoming),
        ..Default::default()
    });
    assert_eq!(
        who(&received_missed),
        vec![("Beatriz Araújo".into(), Missed)]
    );
    let beatriz_calls = all(CallFilter {
        contact: Some("beatriz araujo".into()),
        ..Default::default()
    });
    assert_eq!(beatriz_calls.rows.len(), 3);
    assert!(
        beatriz_calls
            .rows
            .iter()
            .all(|r| r.call.contact_id == beatriz.id)
    );
    assert!(
        all(CallFilter {
            contact: Some("nobody".into()),
            ..Default::default()
        })
        .rows
        .is_empty()
    );
    assert!(
        all(CallFilter {
            contact: Some("\"".into()),
            ..Default::default()
        })
        .rows
        .is_empty()
    );
    // Between the messages of their conversation, in time order.
    let t = store.open_conversation(b.id, None, 50).unwrap();
    let order: Vec<String> = t
        .items
        .iter()
        .map(|i| match i {
            TimelineItem::Message { message, .. } => format!("message {}", message.text),
            TimelineItem::Call { call } => format!("call {:?}", call.outcome),
            TimelineItem::Event { .. } => "event".into(),
        })
        .collect();
    assert_eq!(
        order,
        vec![
            "call Answered",
            "message Oi, liguei",
            "call Missed",
            "message Alguém?",
            "call Answered"
        ]
    );
    // A conversation's row says its last message, or, with none yet, its newest call.
    let rows = |store: &Store| {
        store
            .list_conversations(&ListQuery::new(ViewRef::All), T0)
            .unwrap()
            .rows
    };
    let listed = rows(store);
    let row = |id| listed.iter().find(|r| r.conversation.id == id).unwrap();
    assert_eq!(
        (
            row(b.id).conversation.last_message_preview.as_str(),
            row(b.id).last_call.is_none()
        ),
        ("Alguém?", true)
    );
    assert_eq!(row(c.id).last_call.as_ref(), Some(&calls[5]));
    // Search finds a contact's calls.
    let found = store.search("Carlos", 10).unwrap();
    assert_eq!(found.calls.len(), 3);
    assert!(
        found
            .calls
            .windows(2)
            .all(|w| w[0].call.started_at >= w[1].call.started_at)
    );
    // A call ends: the same row, moved forward.
    let mut ended = calls[5].clone();
    ended.outcome = Missed;
    ended.ended_at = Some(T0);
    f.server_upsert(vec![Entity::Call(ended.clone())]);
    let store = f.store();
    assert_eq!(store.counts().unwrap().calls, 6);
    assert_eq!(
        store
            .list_calls(&CallFilter::default(), None, 1)
            .unwrap()
            .rows[0]
            .call,
        ended
    );
    let listed = rows(store);
    assert_eq!(
        listed
            .iter()
            .find(|r| r.conversation.id == c.id)
            .unwrap()
            .last_call
            .as_ref(),
        Some(&ended)
    );
    f.check_invariants();
}

#[test]
fn test_calls_leave_with_their_conversation() {
    let me = agent("Ana", Role::Agent, Visibility::OwnOnly, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Beto");
    let mut c = conversation(&k, T0);
    c.assignee = Some(me.id);
    let missed = call(&c, Direction::Incoming, CallOutcome::Missed, T0);
    f.server_upsert(vec![
        Entity::Contact(k),
        Entity::Conversation(c.clone()),
        Entity::Call(missed.clone()),
    ]);
    assert_eq!(f.store().counts().unwrap().calls, 1);
    // Reassigned to someone else: revoked; the call goes with the conversation.
    let seq = f.next_seq();
    f.server_page(vec![Change {
        seq,
        kind: ChangeKind::Revoke {
            entity: EntityRef::Conversation(c.id),
        },
    }]);
    assert_eq!(f.store().counts().unwrap().calls, 0);
    assert!(
        f.store()
            .list_calls(&CallFilter::default(), None, 10)
            .unwrap()
            .rows
            .is_empty()
    );
    assert!(f.store().search("Beto", 10).unwrap().calls.is_empty());
    // Seen again, then deleted: a tombstone of the call removes it alone.
    f.server_upsert(vec![
        Entity::Conversation(c.clone()),
        Entity::Call(missed.clone()),
    ]);
    assert_eq!(f.store().counts().unwrap().calls, 1);
    let seq = f.next_seq();
    f.server_page(vec![Change {
        seq,
        kind: ChangeKind::Tombstone {
            entity: EntityRef::Call(missed.id),
        },
    }]);
    assert_eq!(f.store().counts().unwrap().calls, 0);
    assert!(f.conversation(c.id).is_some());
    f.check_invariants();
}
