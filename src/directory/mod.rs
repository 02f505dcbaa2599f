//! The on-premises Active Directory, read over LDAP before directory synchronization (issue 26):
//! where it is ([`DirectorySettings`], from `[directory]` or `--directory`), how the scanner
//! connects and binds ([`Connection`]: LDAPS or StartTLS verified against the scan's trust
//! store, a simple bind with the password from `TENANT_READY_LDAP_PASSWORD` only), the rules
//! ([`rules`]) and the one streaming read every directory check shares ([`read`]).
//!
//! Referrals are never followed: the credentials belong to this DC, and a referral names a host
//! the directory's data chose.

pub mod bind;
pub mod entry;
pub mod read;
pub mod rules;

use std::collections::HashMap;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope};
use serde::Serialize;

use crate::secrets::Secret;
use crate::text::Text;

/// The environment variable the bind password comes from (never from a file or a flag).
pub use crate::secrets::LDAP_PASSWORD_VAR as PASSWORD_VAR;

/// `[directory]`, validated.
#[derive(Clone, Debug)]
pub struct DirectorySettings {
    /// `ldaps://host[:port]` or `ldap://host[:port]`.
    pub url: String,
    /// Where to search (default: the RootDSE's `defaultNamingContext`).
    pub base_dn: Option<String>,
    /// A UPN or DN to bind as (none: anonymous, which AD refuses to search).
    pub user: Option<String>,
    /// The password, from [`PASSWORD_VAR`].
    pub password: Option<Secret>,
    /// `ldap://` upgraded with StartTLS.
    pub starttls: bool,
}

/// Checks a `[directory] url`: LDAP or LDAPS, a host, nothing else (credentials and a base DN
/// have their own fields, so neither ends up in a report as part of a URL).
pub fn parse_url(u: &str) -> Result<String, String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("`{u}`: {e}"))?;
    if !matches!(parsed.scheme(), "ldap" | "ldaps") {
        return Err(format!(
            "`{u}` must be an ldaps:// or ldap:// URL (e.g. ldaps://dc1.contoso.com)"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{u}` names no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "a URL with credentials: give the user in [directory] user and the password in {PASSWORD_VAR}"
        ));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(format!(
            "`{u}`: only scheme, host and port (put the base DN in [directory] base_dn)"
        ));
    }
    // `ldap` is not a WHATWG special scheme: the url crate keeps the host as written.
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    Ok(match parsed.port() {
        Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// A bound connection and what the RootDSE said.
pub struct Connection {
    /// The operation handle.
    pub ldap: Ldap,
    /// Where the search starts.
    pub base_dn: String,
    /// The RootDSE's attributes (lower-case names).
    pub root: HashMap<String, Vec<String>>,
    server: String,
    step: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server)
            .field("base_dn", &self.base_dn)
            .finish_non_exhaustive()
    }
}

fn net(kind: &'static str, message: Text) -> Failure {
    Failure::new(kind, message)
}

/// The directory could not be read: a stable kind (`bind`, `tls`, `unreachable`, `timeout`,
/// `ldap`, `referral`) and the sentence for a person. The probes turn it into their error.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Stable low-cardinality label.
    pub kind: &'static str,
    /// What happened.
    pub message: Text,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: &'static str, message: Text) -> Self {
        Self { kind, message }
    }
}

impl Connection {
    /// Connects (TLS verified against the scan's trust store), binds and reads the RootDSE.
    pub async fn open(
        s: &DirectorySettings,
        tls: &crate::tls::TlsCx,
        step: Duration,
    ) -> Result<Self, Failure> {
        let settings = LdapConnSettings::new()
            .set_config(std::sync::Arc::new(tls.verifying_config()))
            .set_conn_timeout(step)
            .set_starttls(s.starttls);
        let server = s.url.clone();
        let (conn, mut ldap) = match tokio::time::timeout(
            step,
            LdapConnAsync::with_settings(settings, &s.url),
        )
        .await
        {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(bind::connect_error(&server, s.starttls, &e)),
            Err(_) => return Err(net("timeout", text!("directory.stalled", server = server))),
        };
        ldap3::drive!(conn);
        if let Some(user) = &s.user {
            let password = s.password.as_ref().map_or("", Secret::expose);
            let r = ldap
                .with_timeout(step)
                .simple_bind(user, password)
                .await
                .map_err(|e| bind::connect_error(&server, s.starttls, &e))?;
            if r.rc != 0 {
                return Err(bind::bind_error(&server, user, &r));
            }
        }
        let (entries, _) = ldap
            .with_timeout(step)
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                vec![
                    "defaultNamingContext",
                    "configurationNamingContext",
                    "forestFunctionality",
                    "domainFunctionality",
                    "dnsHostName",
                ],
            )
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(|e| bind::search_error(&server, "RootDSE", &e))?;
        let root: HashMap<String, Vec<String>> = entries
            .into_iter()
            .next()
            .and_then(|e| entry::entry(&e.0))
            .map(|e| {
                e.attrs
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect()
            })
            .unwrap_or_default();
        let base_dn = match &s.base_dn {
            Some(b) => b.clone(),
            None => root
                .get("defaultnamingcontext")
                .and_then(|v| v.first())
                .cloned()
                .ok_or_else(|| {
                    net(
                        "ldap",
                        text!("directory.no-naming-context", server = server.clone()),
                    )
                })?,
        };
        Ok(Self {
            ldap,
            base_dn,
            root,
            server,
            step,
        })
    }

    /// The first value of a RootDSE attribute.
    pub fn root_value(&self, name: &str) -> Option<&str> {
        self.root
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// A search that failed, in words.
    pub fn search_error(&self, what: &str, e: &ldap3::LdapError) -> Failure {
        bind::search_error(&self.server, what, e)
    }

    /// A referral instead of results.
    pub fn referral(&self, base: &str, refs: &[String]) -> Failure {
        let refs: Vec<&str> = refs.iter().take(3).map(String::as_str).collect();
        net(
            "referral",
            text!(
                "directory.referral",
                server = self.server.clone(),
                base = base.to_owned(),
                refs = refs.join(", ")
            ),
        )
    }

    /// The DC stopped answering mid-search.
    pub fn stalled(&self) -> Failure {
        let _ = self.step;
        net(
            "timeout",
            text!("directory.stalled", server = self.server.clone()),
        )
    }

    /// Unbinds (best effort: the result is already read).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(self.step, self.ldap.unbind()).await;
    }
}

/// What the forest says about Entra Connect's prerequisites.
#[derive(Clone, Debug, Serialize)]
pub struct ForestFacts {
    /// The DC's URL.
    pub server: String,
    /// The RootDSE's `forestFunctionality` (`msDS-Behavior-Version` of the forest).
    pub forest_level: Option<u32>,
    /// The RootDSE's `domainFunctionality`.
    pub domain_level: Option<u32>,
    /// Whether the Recycle Bin optional feature is enabled (`msDS-EnabledFeature` of the
    /// Partitions container names it); `None` when it could not be read.
    pub recycle_bin: Option<bool>,
}

/// Reads the forest's functional level and whether the AD Recycle Bin is enabled.
pub async fn forest(
    s: &DirectorySettings,
    tls: &crate::tls::TlsCx,
    step: Duration,
) -> Result<ForestFacts, Failure> {
    let mut conn = Connection::open(s, tls, step).await?;
    let level = |n: &str| {
        conn.root_value(n)
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    let (forest_level, domain_level) = (level("forestFunctionality"), level("domainFunctionality"));
    let recycle_bin = match conn
        .root_value("configurationNamingContext")
        .map(str::to_owned)
    {
        Some(config) => {
            let partitions = format!("CN=Partitions,{config}");
            match conn
                .ldap
                .with_timeout(step)
                .search(
                    &partitions,
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["msDS-EnabledFeature"],
                )
                .await
                .and_then(ldap3::SearchResult::success)
            {
                Ok((entries, _)) => {
                    Some(entries.iter().filter_map(|e| entry::entry(&e.0)).any(|e| {
                        e.values("msDS-EnabledFeature").any(|v| {
                            v.to_ascii_lowercase()
                                .starts_with("cn=recycle bin feature,")
                        })
                    }))
                }
                Err(_) => None,
            }
        }
        None => None,
    };
    let server = conn.server.clone();
    conn.close().await;
    Ok(ForestFacts {
        server,
        forest_level,
        domain_level,
        recycle_bin,
    })
}
