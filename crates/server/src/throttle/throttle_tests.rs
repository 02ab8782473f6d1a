use super::*;

#[test]
fn test_a_bucket_allows_its_burst_then_refuses_with_the_wait() {
    let b: Buckets<u32> = Buckets::new(10.0, 5.0);
    for _ in 0..5 {
        assert!(b.take(&1, 1.0).is_ok());
    }
    let wait = b.take(&1, 1.0).expect_err("the sixth waits");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(100),
        "{wait:?}"
    );
    assert!(b.take(&2, 1.0).is_ok(), "another key has its own bucket");
}

#[test]
fn test_a_request_larger_than_the_burst_waits_for_a_full_bucket() {
    let b: Buckets<u32> = Buckets::new(100.0, 50.0);
    assert!(
        b.take(&1, 500.0).is_ok(),
        "a full bucket lets a big batch through"
    );
    assert!(b.take(&1, 500.0).is_err(), "but not two in a row");
}
