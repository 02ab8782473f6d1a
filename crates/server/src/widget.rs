//! The web-chat widget: the channel a business embeds on its site with one script tag. This
//! module holds what the rest of the server needs of it: which origins may embed it.

/// Whether `s` is a web origin as a browser sends it in `Origin`: `scheme://host[:port]`, with
/// scheme http or https and nothing after the authority.
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    if scheme != "http" && scheme != "https" {
        return false;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    host_ok && port_ok && s == s.trim() && !rest.contains('/')
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for ok in [
            "https://shop.example",
            "http://127.0.0.1:8080",
            "https://loja.example.com.br",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "javascript://x",
            "https://",
            "https://shop.example:99999",
            " https://shop.example",
            "*",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
