//! Escaping for HTML: every text an agent supplies (its id, its hello's texts, its labels) goes
//! into a page through [`text`] or [`attr`], so none of it can open a tag or leave an attribute.

use std::fmt::Write;

/// Appends `s` as HTML text.
pub fn text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters cannot be shown; U+FFFD says one was there.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// Appends `s` as the value of a double-quoted attribute (text escaping covers it).
pub fn attr(out: &mut String, s: &str) {
    text(out, s);
}

/// Appends `s` percent-encoded for a URL's path segment or query value: only unreserved
/// characters are left as they are.
pub fn url(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Decodes a percent-encoded query value (`+` as a space); `None` when it is not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The value of `name` in a query string (`a=1&b=2`), decoded.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| decode(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_scripts_stay_text() {
        let mut out = String::new();
        text(&mut out, "<script>alert('x')</script> & \"q\"\u{0}");
        assert_eq!(
            out,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{fffd}"
        );
    }

    #[test]
    fn urls_encode_and_queries_decode() {
        let mut out = String::new();
        url(&mut out, "a b/<c>&d=é");
        assert_eq!(out, "a%20b%2F%3Cc%3E%26d%3D%C3%A9");
        assert_eq!(decode(&out).as_deref(), Some("a b/<c>&d=é"));
        assert_eq!(decode("a+b%2").as_deref(), Some("a b%2"));
        assert_eq!(decode("%FF"), None);
        assert_eq!(query_value("sort=id&q=pi+4", "q").as_deref(), Some("pi 4"));
        assert_eq!(query_value("sort=id&q", "q").as_deref(), Some(""));
        assert_eq!(query_value("sort=id", "q"), None);
    }
}
