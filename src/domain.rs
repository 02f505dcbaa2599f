//! Domain names as the user types them → the normalised form every check uses: lower case, no
//! trailing dot, internationalised names converted to punycode (UTS #46, as browsers and the
//! Microsoft 365 admin center do), and validated against the DNS length and character rules so a
//! typo is a clear usage error before anything is sent.

/// A domain name that is valid and normalised.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct DomainName(String);

/// Why a domain name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Nothing but whitespace or dots.
    #[error("the domain name is empty")]
    Empty,
    /// IDNA conversion failed (invalid Unicode, disallowed code points, bad punycode).
    #[error("`{0}` is not a valid internationalised domain name (IDNA conversion failed)")]
    Idna(String),
    /// Longer than 253 characters.
    #[error("`{name}…` is {len} characters long; a domain name has at most 253")]
    TooLong {
        /// The first characters.
        name: String,
        /// Its length.
        len: usize,
    },
    /// A label is empty or longer than 63 characters.
    #[error("`{name}` has a label of {len} characters; each label between dots must be 1 to 63")]
    BadLabelLength {
        /// The name.
        name: String,
        /// The label length.
        len: usize,
    },
    /// A character outside letters, digits and hyphens, or a label starting/ending with `-`.
    #[error("`{name}` is not a valid host name: {reason}")]
    BadCharacter {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A single label such as `contoso`.
    #[error("`{0}` has a single label; give the full domain, e.g. contoso.com")]
    SingleLabel(String),
}

impl DomainName {
    /// Parses and normalises a domain typed by a person or read from a file.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(DomainError::Empty);
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed).map_err(|_| DomainError::Idna(trimmed.to_owned()))?
        };
        if ascii.len() > 253 {
            return Err(DomainError::TooLong {
                name: ascii.chars().take(40).collect(),
                len: ascii.len(),
            });
        }
        check_labels(&ascii, false)?;
        if ascii.starts_with("xn--") || ascii.contains(".xn--") {
            let (_, result) = idna::domain_to_unicode(&ascii);
            if result.is_err() {
                return Err(DomainError::Idna(ascii));
            }
        }
        if !ascii.contains('.') {
            return Err(DomainError::SingleLabel(ascii));
        }
        Ok(Self(ascii))
    }

    /// The normalised name (ASCII, lower case, no trailing dot).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with every `.` replaced by `-` (Microsoft's usual MX and DKIM token, though not
    /// always: the token can carry a suffix, so expectations never derive it from the name).
    pub fn dashed(&self) -> String {
        self.0.replace('.', "-")
    }

    /// The first label (`contoso` for `contoso.onmicrosoft.com`).
    pub fn first_label(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

/// Length and character rules for every label of an ASCII name. Host names allow letters, digits
/// and inner hyphens; record names also allow `_` (`selector1._domainkey`, `_sip._tls`).
fn check_labels(ascii: &str, allow_underscore: bool) -> Result<(), DomainError> {
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(DomainError::BadLabelLength {
                name: ascii.to_owned(),
                len: label.len(),
            });
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || (allow_underscore && *c == '_')))
        {
            return Err(DomainError::BadCharacter {
                name: ascii.to_owned(),
                reason: format!(
                    "character {c:?} is not allowed (letters, digits{} and '-' only)",
                    if allow_underscore { ", '_'" } else { "" }
                ),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DomainError::BadCharacter {
                name: ascii.to_owned(),
                reason: format!("label `{label}` starts or ends with '-'"),
            });
        }
    }
    Ok(())
}

/// A record's target as the admin center or PowerShell shows it (`selector1-contoso-com.
/// _domainkey.contoso.onmicrosoft.com`): ASCII, lower-cased, no trailing dot, at least two labels,
/// underscores allowed. Returns the normalised name.
pub fn record_target(input: &str) -> Result<String, DomainError> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(DomainError::Empty);
    }
    if !trimmed.is_ascii() {
        return Err(DomainError::BadCharacter {
            name: trimmed.chars().take(60).collect(),
            reason: "record targets are ASCII (punycode) names".into(),
        });
    }
    let ascii = trimmed.to_ascii_lowercase();
    if ascii.len() > 253 {
        return Err(DomainError::TooLong {
            name: ascii.chars().take(40).collect(),
            len: ascii.len(),
        });
    }
    check_labels(&ascii, true)?;
    if !ascii.contains('.') {
        return Err(DomainError::SingleLabel(ascii));
    }
    Ok(ascii)
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dot_and_idn() {
        assert_eq!(
            DomainName::parse(" Contoso.COM. ").unwrap().as_str(),
            "contoso.com"
        );
        assert_eq!(
            DomainName::parse("bücher.de").unwrap().as_str(),
            "xn--bcher-kva.de"
        );
        assert_eq!(
            DomainName::parse("한국.kr").unwrap().as_str(),
            "xn--3e0b707e.kr"
        );
        assert_eq!(
            DomainName::parse("contoso.com").unwrap().dashed(),
            "contoso-com"
        );
    }

    #[test]
    fn refuses_malformed_names() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        let cases: [(&str, fn(&DomainError) -> bool); 8] = [
            ("", |e| matches!(e, DomainError::Empty)),
            ("..", |e| matches!(e, DomainError::BadLabelLength { .. })),
            ("a..b", |e| matches!(e, DomainError::BadLabelLength { .. })),
            (&long_label, |e| {
                matches!(e, DomainError::BadLabelLength { len: 64, .. })
            }),
            (&long_name, |e| matches!(e, DomainError::TooLong { .. })),
            ("con_toso.com", |e| {
                matches!(e, DomainError::BadCharacter { .. })
            }),
            ("-contoso.com", |e| {
                matches!(e, DomainError::BadCharacter { .. })
            }),
            ("contoso", |e| matches!(e, DomainError::SingleLabel(_))),
        ];
        for (input, want) in cases {
            let err = DomainName::parse(input).unwrap_err();
            assert!(want(&err), "{input:?} gave {err:?}");
        }
        assert!(matches!(
            DomainName::parse("xn--zz.com"),
            Err(DomainError::Idna(_))
        ));
    }

    #[test]
    fn record_targets_allow_underscores() {
        assert_eq!(
            record_target(
                " Selector1-Contoso-COM01c._domainkey.contoso.n-v1.dkim.mail.microsoft. "
            )
            .unwrap(),
            "selector1-contoso-com01c._domainkey.contoso.n-v1.dkim.mail.microsoft"
        );
        assert!(record_target("selector1").is_err());
        assert!(record_target("a b.com").is_err());
        assert!(record_target("sélecteur.com").is_err());
        assert!(record_target("").is_err());
    }
}
