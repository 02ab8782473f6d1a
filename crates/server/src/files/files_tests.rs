use super::*;

#[test]
fn test_the_type_comes_from_the_bytes_not_the_claim() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    assert_eq!(sniff(png, "application/pdf"), "image/png");
    assert_eq!(
        sniff(b"%PDF-1.7\n%\xe2\xe3", "image/png"),
        "application/pdf"
    );
    // Markup claimed as a picture is text, never an image or a page.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    assert_eq!(sniff(svg, "image/svg+xml"), "text/plain");
    assert_eq!(
        sniff(b"<html><script>x</script>", "text/html"),
        "text/plain"
    );
    assert_eq!(
        sniff("nome;valor\nAna;1\n".as_bytes(), "text/csv"),
        "text/csv"
    );
    assert_eq!(sniff("olá".as_bytes(), "image/jpeg"), "text/plain");
    assert_eq!(
        sniff(b"\x00\x01\x02\xff\xfe", "text/plain"),
        "application/octet-stream"
    );
}
