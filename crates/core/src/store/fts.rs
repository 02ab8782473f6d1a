//! The agent's words as FTS5 queries (search, the Calls folder's contact filter): never FTS5
//! syntax, each word a quoted phrase, the last one a prefix.

/// The agent's words as an FTS5 query: quoted phrases, the last one a prefix. `None` when there
/// is nothing to search for.
pub fn fts_query(input: &str) -> Option<String> {
    query_of(input, 1)
}

/// The query over messages: the last word is a prefix once it has three characters. Shorter
/// prefixes name a large share of a big mirror's words, and FTS5 merges them all: at 1,000,000
/// messages a one-letter prefix took up to seconds and a two-letter one up to ~60 ms, three
/// letters ≤ ~25 ms. Typed as the first letters of a search, a shorter word finds that word
/// until the next keystroke. Contacts, far fewer, match from one letter.
pub fn message_fts_query(input: &str) -> Option<String> {
    query_of(input, 3)
}

fn query_of(input: &str, prefix_from: usize) -> Option<String> {
    let words: Vec<&str> = input
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(16)
        .collect();
    let last = words.last()?;
    let prefix = last.chars().filter(|c| c.is_alphanumeric()).count() >= prefix_from;
    let mut q = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ");
    if prefix {
        q.push('*');
    }
    Some(q)
}
