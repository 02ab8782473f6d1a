//! Updates: where Outpost looks for them.

/// An update endpoint the agent may set: https, or http on this computer only (a local update
/// server); `{{target}}`, `{{arch}}` and `{{current_version}}` are filled in by the updater.
pub fn check_endpoint(endpoint: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| format!("The update address is not an address: {e}"))?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        _ => Err("Updates are fetched over https (http only from this computer).".into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn updates_come_over_https_or_from_this_computer() {
        use super::check_endpoint;
        assert!(
            check_endpoint("https://updates.example/{{target}}/{{arch}}/{{current_version}}")
                .is_ok()
        );
        assert!(check_endpoint("http://127.0.0.1:9000/latest.json").is_ok());
        assert!(check_endpoint("http://updates.example/latest.json").is_err());
        assert!(check_endpoint("file:///tmp/latest.json").is_err());
        assert!(check_endpoint("latest.json").is_err());
    }
}
