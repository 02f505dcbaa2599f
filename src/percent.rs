//! Percent-encoding (RFC 3986 §2.1) for the URLs tenant-ready builds (a domain and a user name in a
//! query) and the decoding of what others encoded (a proxy URL's credentials, a form).

/// `s` with every byte but the unreserved characters (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `%XX` sequences decoded (invalid ones kept as written); invalid UTF-8 replaced.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(x) = u8::from_str_radix(h, 16)
        {
            out.push(x);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(encode("user@contoso.com"), "user%40contoso.com");
        assert_eq!(decode("s%40cret%2"), "s@cret%2");
        assert_eq!(decode(&encode("a b/ü")), "a b/ü");
    }
}
