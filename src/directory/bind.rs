//! What went wrong with the DC, in words: a refused bind with Active Directory's sub-code
//! (`AcceptSecurityContext error, data 52e`) said as the reason, a plain bind the DC refuses
//! without TLS, a certificate that does not verify, a base DN that does not exist. Pure: the
//! diagnostics are the server's (outside input), so they are clipped, never trusted for more.

use super::Failure;
use crate::text::Text;

/// Active Directory's sub-codes of result 49 (invalidCredentials): the `data NNN` of its
/// diagnostic message (learn.microsoft.com/troubleshoot/windows-server/active-directory/
/// ldap-error-codes-win32 and MS-ADTS §3.1.1.3.1.9 list them).
pub fn ad_subcode(diagnostic: &str) -> Option<&'static str> {
    let data = diagnostic.split("data ").nth(1)?;
    let code: String = data
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match code.as_str() {
        "525" => "directory.bind-525",
        "52e" => "directory.bind-52e",
        "530" => "directory.bind-530",
        "531" => "directory.bind-531",
        "532" => "directory.bind-532",
        "533" => "directory.bind-533",
        "701" => "directory.bind-701",
        "773" => "directory.bind-773",
        "775" => "directory.bind-775",
        _ => return None,
    })
}

fn clip(s: &str) -> String {
    super::read::clip(s.trim())
}

fn reason_text(key: &'static str) -> Text {
    // The sub-code sentences take no arguments; `Text::new` keeps the key for both languages.
    Text::new(key)
}

/// A bind the DC answered with an error.
pub fn bind_error(server: &str, user: &str, r: &ldap3::LdapResult) -> Failure {
    let message = match r.rc {
        49 => match ad_subcode(&r.text) {
            Some(key) => text!(
                "directory.bind-refused",
                server = server.to_owned(),
                user = clip(user),
                reason = reason_text(key)
            ),
            None => text!(
                "directory.bind-refused",
                server = server.to_owned(),
                user = clip(user),
                reason = text!("directory.bind-invalid", diagnostic = clip(&r.text))
            ),
        },
        8 | 13 => text!("directory.needs-tls", server = server.to_owned()),
        rc => text!(
            "directory.ldap-result",
            server = server.to_owned(),
            what = "bind",
            rc = rc.to_string(),
            diagnostic = clip(&r.text)
        ),
    };
    Failure::new("bind", message)
}

/// A connection, TLS or StartTLS failure.
pub fn connect_error(server: &str, starttls: bool, e: &ldap3::LdapError) -> Failure {
    use ldap3::LdapError as E;
    match e {
        E::LdapResult { result } if result.rc == 8 || result.rc == 13 => Failure::new(
            "bind",
            text!("directory.needs-tls", server = server.to_owned()),
        ),
        E::LdapResult { result } if starttls => Failure::new(
            "tls",
            text!(
                "directory.starttls-refused",
                server = server.to_owned(),
                diagnostic = clip(&format!("{} {}", result.rc, result.text))
            ),
        ),
        E::Io { source } => {
            // rustls reports a certificate problem as an I/O error of kind InvalidData.
            let is_tls = source
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            if is_tls {
                Failure::new(
                    "tls",
                    text!(
                        "directory.tls-failed",
                        server = server.to_owned(),
                        error = crate::tls::describe_handshake_error(source)
                    ),
                )
            } else {
                Failure::new(
                    "unreachable",
                    text!(
                        "directory.unreachable",
                        server = server.to_owned(),
                        error = clip(&source.to_string())
                    ),
                )
            }
        }
        E::Rustls { source } => Failure::new(
            "tls",
            text!(
                "directory.tls-failed",
                server = server.to_owned(),
                error = clip(&source.to_string())
            ),
        ),
        E::Timeout { .. } => Failure::new(
            "timeout",
            text!("directory.stalled", server = server.to_owned()),
        ),
        other => Failure::new(
            "ldap",
            text!(
                "directory.unreachable",
                server = server.to_owned(),
                error = clip(&other.to_string())
            ),
        ),
    }
}

/// A search (RootDSE, the objects, a lookup) that failed.
pub fn search_error(server: &str, what: &str, e: &ldap3::LdapError) -> Failure {
    use ldap3::LdapError as E;
    match e {
        E::LdapResult { result } => {
            let message = match result.rc {
                1 if result.text.contains("000004DC") => {
                    text!("directory.needs-bind", server = server.to_owned())
                }
                32 => text!(
                    "directory.no-such-base",
                    server = server.to_owned(),
                    base = clip(what)
                ),
                50 => text!(
                    "directory.no-access",
                    server = server.to_owned(),
                    base = clip(what)
                ),
                10 => text!(
                    "directory.referral",
                    server = server.to_owned(),
                    base = clip(what),
                    refs = clip(&result.refs.join(", "))
                ),
                rc => text!(
                    "directory.ldap-result",
                    server = server.to_owned(),
                    what = clip(what),
                    rc = rc.to_string(),
                    diagnostic = clip(&result.text)
                ),
            };
            Failure::new("ldap", message)
        }
        E::Timeout { .. } => Failure::new(
            "timeout",
            text!("directory.stalled", server = server.to_owned()),
        ),
        other => connect_error(server, false, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referral_is_an_error_naming_where_not_a_place_to_go() {
        let result = ldap3::LdapResult {
            rc: 10,
            matched: String::new(),
            text: "0000202B: RefErr".into(),
            refs: vec!["ldap://dc.fabrikam.com/DC=fabrikam,DC=com".into()],
            ctrls: vec![],
        };
        let e = search_error("ldaps://dc1", "DC=fabrikam,DC=com", &result.into());
        let text = e.message.render(crate::output::Lang::En);
        assert_eq!(e.kind, "ldap");
        assert!(text.contains("referrals are not followed"), "{text}");
        assert!(text.contains("ldap://dc.fabrikam.com/"), "{text}");
        let refused = ldap3::LdapResult {
            rc: 49,
            matched: String::new(),
            text: "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563".into(),
            refs: vec![],
            ctrls: vec![],
        };
        let text = bind_error("ldaps://dc1", "svc@contoso.com", &refused)
            .message
            .render(crate::output::Lang::En);
        assert!(text.ends_with("the account is disabled (AD 533)"), "{text}");
    }

    #[test]
    fn ad_sub_codes_are_read_from_the_diagnostic() {
        let d = "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 775, v4563";
        assert_eq!(ad_subcode(d), Some("directory.bind-775"));
        assert_eq!(
            ad_subcode(
                "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1"
            ),
            Some("directory.bind-52e")
        );
        assert_eq!(ad_subcode("data 999"), None);
        assert_eq!(ad_subcode("invalid credentials"), None);
        for code in ["525", "530", "531", "532", "533", "701", "773"] {
            assert!(
                ad_subcode(&format!("error, data {code}, v1")).is_some(),
                "{code}"
            );
        }
    }
}
