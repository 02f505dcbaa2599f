//! Secrets that must never reach a report: the credentials in this machine's proxy settings
//! (`HTTPS_PROXY=http://user:secret@proxy:3128`, or without a scheme, `user:secret@proxy:3128`,
//! as many tools accept). [`mask_url`] hides them where a proxy setting is shown on purpose (the
//! `net.proxy` evidence); [`Redactor`] removes them from every result the runner produces, so an
//! HTTP library's error message that quotes the proxy URL cannot leak them either.

use std::borrow::Cow;
use std::sync::LazyLock;

/// The environment variables that configure proxies for command-line clients.
pub const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The user-info part of a proxy URL (`user:secret` in `http://user:secret@proxy:3128` or
/// `user:secret@proxy:3128`), if any.
fn userinfo(v: &str) -> Option<&str> {
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    // The authority ends at the first `/`, `?` or `#`; the user info at its last `@` (a password
    // may itself contain `@`, unencoded, and tools accept it).
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let at = authority.rfind('@')?;
    Some(&authority[..at]).filter(|u| !u.is_empty())
}

/// `http://user:secret@proxy:3128` → `http://***@proxy:3128`; `user:secret@proxy:3128` →
/// `***@proxy:3128`; anything without credentials unchanged.
pub fn mask_url(v: &str) -> String {
    match userinfo(v) {
        Some(u) => v.replacen(u, "***", 1),
        None => v.to_owned(),
    }
}

/// Removes known secrets from text and JSON.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

/// The secrets of this process: its proxy settings' credentials and, with `--graph`, the app
/// registration's client secret (`AZURE_CLIENT_SECRET`) and the directory's bind password
/// (`TENANT_READY_LDAP_PASSWORD`), read once.
pub static PROCESS: LazyLock<Redactor> = LazyLock::new(|| {
    let mut r = Redactor::new(
        PROXY_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    for var in ["AZURE_CLIENT_SECRET", LDAP_PASSWORD_VAR] {
        if let Ok(secret) = std::env::var(var)
            && secret.len() >= 3
        {
            r.secrets.push(secret);
        }
    }
    r.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    r
});

/// The environment variable the directory's bind password comes from (never from a file or a
/// flag).
pub const LDAP_PASSWORD_VAR: &str = "TENANT_READY_LDAP_PASSWORD";

/// A secret value (the directory's bind password): its `Debug` never shows it, so a settings
/// dump or a log line cannot carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one place that sends it (the bind).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Redactor {
    /// From proxy setting values: each one's user info, its password alone, and their
    /// percent-decoded forms (a client may print either).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets = Vec::new();
        for v in values {
            let Some(u) = userinfo(v) else { continue };
            let mut forms = vec![u.to_owned()];
            if let Some((_, password)) = u.split_once(':') {
                forms.push(password.to_owned());
            } else {
                // A token alone in the user part (`http://TOKEN@proxy`).
                forms.push(u.to_owned());
            }
            for f in forms.clone() {
                let decoded = crate::percent::decode(&f);
                if decoded != f {
                    forms.push(decoded);
                }
            }
            // Very short values (`a`, `:`) would blank ordinary words out of every message.
            secrets.extend(forms.into_iter().filter(|f| f.len() >= 3));
        }
        // Longest first: `user:secret` goes before `secret`.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `s` with every secret replaced by `***`.
    pub fn text<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if !self.secrets.iter().any(|x| s.contains(x.as_str())) {
            return Cow::Borrowed(s);
        }
        let mut out = s.to_owned();
        for x in &self.secrets {
            out = out.replace(x.as_str(), "***");
        }
        Cow::Owned(out)
    }

    /// Every string in `v` (keys included) redacted in place.
    pub fn json(&self, v: &mut serde_json::Value) {
        if self.secrets.is_empty() {
            return;
        }
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(r) = self.text(s) {
                    *s = r;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.json(x)),
            serde_json::Value::Object(o) => {
                let old = std::mem::take(o);
                for (k, mut x) in old {
                    self.json(&mut x);
                    o.insert(self.text(&k).into_owned(), x);
                }
            }
            _ => {}
        }
    }

    /// Whether there is anything to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_in_every_form() {
        for (v, want) in [
            ("http://u:secret@p:3128", "http://***@p:3128"),
            ("user:secret@proxy:3128", "***@proxy:3128"),
            ("socks5h://tok3n@p:1080/", "socks5h://***@p:1080/"),
            ("http://u:p@ss@p:3128", "http://***@p:3128"),
            ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
            ("proxy:3128", "proxy:3128"),
            (".contoso.com,localhost", ".contoso.com,localhost"),
        ] {
            assert_eq!(mask_url(v), want, "{v}");
        }
    }

    #[test]
    fn redacts_text_and_json() {
        let r = Redactor::new(["user:s%40cret@proxy:3128", "http://proxy:8080"]);
        assert_eq!(
            r.text("proxy error: user:s%40cret@proxy:3128 said s@cret"),
            "proxy error: ***@proxy:3128 said ***"
        );
        let mut v = serde_json::json!({"a": ["x s%40cret y"], "s@cret": 1});
        r.json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["x *** y"], "***": 1}));
        assert!(Redactor::new(["http://proxy:8080"]).is_empty());
    }
}
