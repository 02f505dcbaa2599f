//! Protocol-version probing with a hand-built ClientHello. rustls cannot speak TLS 1.0/1.1 (by
//! design), and linking OpenSSL into the product for one question is not worth it: offering one
//! version and reading the first record of the answer is enough to tell "accepted" (a ServerHello
//! for that version) from "refused" (an alert, a close, or a different version), as testssl does.
//! No key exchange happens; the connection is dropped after the ServerHello.

use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A TLS protocol version we probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Version {
    /// TLS 1.0 (0x0301).
    #[serde(rename = "TLS 1.0")]
    Tls10,
    /// TLS 1.1 (0x0302).
    #[serde(rename = "TLS 1.1")]
    Tls11,
    /// TLS 1.2 (0x0303).
    #[serde(rename = "TLS 1.2")]
    Tls12,
    /// TLS 1.3 (0x0304, negotiated through `supported_versions`).
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl Version {
    /// All four, oldest first.
    pub const ALL: [Self; 4] = [Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];

    /// The wire value.
    pub fn wire(self) -> u16 {
        match self {
            Self::Tls10 => 0x0301,
            Self::Tls11 => 0x0302,
            Self::Tls12 => 0x0303,
            Self::Tls13 => 0x0304,
        }
    }

    /// `TLS 1.2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tls10 => "TLS 1.0",
            Self::Tls11 => "TLS 1.1",
            Self::Tls12 => "TLS 1.2",
            Self::Tls13 => "TLS 1.3",
        }
    }

    fn from_wire(v: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.wire() == v)
    }
}

/// Suites a TLS 1.0/1.1 server of the last 15 years will recognise (CBC with SHA-1, 3DES, RC4).
const LEGACY_SUITES: &[u16] = &[
    0xc014, 0xc013, 0xc00a, 0xc009, 0x0039, 0x0033, 0x0035, 0x002f, 0x000a, 0x0005, 0x0004,
];
/// TLS 1.2 suites: ECDHE/DHE/RSA with GCM, ChaCha20 and CBC-SHA256, then the legacy ones.
const TLS12_SUITES: &[u16] = &[
    0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009e, 0x009f, 0x009c, 0x009d, 0xc027, 0xc028,
    0xc023, 0xc024, 0x003c, 0x003d,
];
const TLS13_SUITES: &[u16] = &[0x1301, 0x1302, 0x1303];
/// x25519, secp256r1, secp384r1, secp521r1.
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019];
/// ECDSA and RSA (PSS and PKCS#1) with SHA-256/384/512, then SHA-1 for old 1.2 servers.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
];

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `body` with a big-endian length prefix of `width` bytes (1, 2 or 3).
fn with_len(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let len = body.len().to_be_bytes();
    out.extend_from_slice(&len[len.len() - width..]);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16be(out, kind);
    with_len(out, 2, body);
}

fn u16_list(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A ClientHello record offering exactly `version`. `sni` is the host name (none for an IP).
/// `random` fills the random and the session id (64 bytes).
pub fn client_hello(version: Version, sni: Option<&str>, random: &[u8; 64]) -> Vec<u8> {
    let mut hello = Vec::with_capacity(512);
    // TLS 1.3 keeps 0x0303 in the legacy field and says 1.3 in `supported_versions`.
    u16be(&mut hello, version.wire().min(0x0303));
    hello.extend_from_slice(&random[..32]);
    with_len(&mut hello, 1, &random[32..]);
    let suites: Vec<u16> = match version {
        Version::Tls10 | Version::Tls11 => LEGACY_SUITES.to_vec(),
        Version::Tls12 => TLS12_SUITES.iter().chain(LEGACY_SUITES).copied().collect(),
        Version::Tls13 => TLS13_SUITES.to_vec(),
    };
    with_len(&mut hello, 2, &u16_list(&suites));
    with_len(&mut hello, 1, &[0]); // compression: null only

    let mut ext = Vec::new();
    if let Some(host) = sni {
        let mut entry = vec![0u8]; // host_name
        with_len(&mut entry, 2, host.as_bytes());
        let mut list = Vec::new();
        with_len(&mut list, 2, &entry);
        extension(&mut ext, 0x0000, &list);
    }
    let mut groups = Vec::new();
    with_len(&mut groups, 2, &u16_list(GROUPS));
    extension(&mut ext, 0x000a, &groups);
    extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    extension(&mut ext, 0xff01, &[0]); // renegotiation_info (empty): some servers insist
    if version >= Version::Tls12 {
        let mut sigs = Vec::new();
        with_len(&mut sigs, 2, &u16_list(SIGNATURE_SCHEMES));
        extension(&mut ext, 0x000d, &sigs);
    }
    if version == Version::Tls13 {
        extension(&mut ext, 0x002b, &[2, 0x03, 0x04]); // supported_versions: 1.3 only
        // An empty key_share list: a 1.3 server answers with a HelloRetryRequest naming its group,
        // which is a ServerHello for 1.3 all the same. No key material needed.
        extension(&mut ext, 0x0033, &[0, 0]);
    }
    with_len(&mut hello, 2, &ext);

    let mut handshake = vec![0x01]; // client_hello
    with_len(&mut handshake, 3, &hello);
    let mut record = vec![0x16];
    // Record-layer version 1.0 for every probe: what real clients send in the first flight.
    u16be(&mut record, 0x0301);
    with_len(&mut record, 2, &handshake);
    record
}

/// What the server answered to a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum Reply {
    /// A ServerHello (or HelloRetryRequest) selecting `version` and `cipher_suite`.
    ServerHello {
        /// Selected version (`supported_versions` when present, else the legacy field).
        version: String,
        /// Selected suite, hex (`0xc02f`).
        cipher_suite: String,
        /// Whether it selected the offered version.
        #[serde(skip)]
        selected: Option<Version>,
    },
    /// A TLS alert.
    Alert {
        /// Alert description name (`protocol_version`, `handshake_failure`…).
        alert: String,
    },
    /// The server closed the connection without a word.
    Closed,
    /// The bytes are not a TLS record.
    NotTls {
        /// The first bytes, printable.
        start: String,
    },
}

fn alert_name(code: u8) -> String {
    match code {
        0 => "close_notify".into(),
        10 => "unexpected_message".into(),
        20 => "bad_record_mac".into(),
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        109 => "missing_extension".into(),
        112 => "unrecognized_name".into(),
        other => format!("alert {other}"),
    }
}

fn printable(b: &[u8]) -> String {
    b.iter()
        .take(24)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect()
}

/// Parses the first record the server sent (`None`: need more bytes).
pub fn parse_reply(buf: &[u8]) -> Option<Reply> {
    if buf.is_empty() {
        return None;
    }
    let kind = buf[0];
    if !matches!(kind, 0x15 | 0x16) || buf.get(1).is_some_and(|&major| major != 3) {
        return Some(Reply::NotTls {
            start: printable(buf),
        });
    }
    let header = buf.get(..5)?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > 18_432 {
        return Some(Reply::NotTls {
            start: printable(buf),
        });
    }
    let body = buf.get(5..5 + len)?;
    if kind == 0x15 {
        return Some(match body.get(1) {
            Some(&d) => Reply::Alert {
                alert: alert_name(d),
            },
            None => Reply::NotTls {
                start: printable(buf),
            },
        });
    }
    Some(parse_server_hello(body).unwrap_or_else(|| Reply::NotTls {
        start: printable(buf),
    }))
}

fn parse_server_hello(hs: &[u8]) -> Option<Reply> {
    if *hs.first()? != 0x02 {
        return None;
    }
    let mut p = 4; // type + 24-bit length
    let legacy = u16::from_be_bytes([*hs.get(p)?, *hs.get(p + 1)?]);
    p += 2 + 32;
    let sid_len = usize::from(*hs.get(p)?);
    p += 1 + sid_len;
    let suite = u16::from_be_bytes([*hs.get(p)?, *hs.get(p + 1)?]);
    p += 3; // suite + compression
    let mut version = legacy;
    if let (Some(a), Some(b)) = (hs.get(p), hs.get(p + 1)) {
        let ext_len = usize::from(u16::from_be_bytes([*a, *b]));
        let mut q = p + 2;
        let end = (q + ext_len).min(hs.len());
        while q + 4 <= end {
            let kind = u16::from_be_bytes([hs[q], hs[q + 1]]);
            let len = usize::from(u16::from_be_bytes([hs[q + 2], hs[q + 3]]));
            if kind == 0x002b && len == 2 && q + 6 <= end {
                version = u16::from_be_bytes([hs[q + 4], hs[q + 5]]);
            }
            q += 4 + len;
        }
    }
    let selected = Version::from_wire(version);
    Some(Reply::ServerHello {
        version: selected.map_or_else(|| format!("0x{version:04x}"), |v| v.name().to_owned()),
        cipher_suite: format!("0x{suite:04x}"),
        selected,
    })
}

/// Offers `version` over `stream` and classifies the answer. `Err` only when the server did not
/// answer within `step` (we could not find out).
pub async fn offer<S>(
    stream: &mut S,
    version: Version,
    sni: Option<&str>,
    step: Duration,
) -> Result<Reply, std::io::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut random = [0u8; 64];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let hello = client_hello(version, sni, &random);
    let exchange = async {
        stream.write_all(&hello).await?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(r) = parse_reply(&buf) {
                return Ok(r);
            }
            let n = match stream.read(&mut chunk).await {
                Ok(n) => n,
                // A reset after our hello is a refusal, as a close is.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(if buf.is_empty() {
                    Reply::Closed
                } else {
                    Reply::NotTls {
                        start: printable(&buf),
                    }
                });
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(step, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))?
}

/// A ServerHello record selecting `legacy` (and `supported_versions` = `sv`): what the lab's
/// scripted legacy-TLS server answers, and what the parser tests feed in.
pub fn server_hello(legacy: u16, suite: u16, sv: Option<u16>) -> Vec<u8> {
    let mut body = Vec::new();
    u16be(&mut body, legacy);
    body.extend_from_slice(&[7u8; 32]);
    with_len(&mut body, 1, &[]);
    u16be(&mut body, suite);
    body.push(0);
    if let Some(v) = sv {
        let mut ext = Vec::new();
        extension(&mut ext, 0x002b, &v.to_be_bytes());
        with_len(&mut body, 2, &ext);
    }
    let mut hs = vec![0x02];
    with_len(&mut hs, 3, &body);
    let mut rec = vec![0x16, 3, 1];
    with_len(&mut rec, 2, &hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_is_well_formed() {
        let r = client_hello(Version::Tls10, Some("sts.contoso.com"), &[1; 64]);
        assert_eq!(&r[..3], &[0x16, 3, 1]);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 1, "client_hello");
        assert_eq!(&r[9..11], &[3, 1], "offers TLS 1.0");
        let body_len = usize::from(r[6]) << 16 | usize::from(r[7]) << 8 | usize::from(r[8]);
        assert_eq!(body_len, r.len() - 9);
        assert!(r.windows(15).any(|w| w == b"sts.contoso.com"));
        let r13 = client_hello(Version::Tls13, None, &[1; 64]);
        assert_eq!(&r13[9..11], &[3, 3]);
        assert!(r13.windows(5).any(|w| w == [0x00, 0x2b, 0, 3, 2]));
    }

    #[test]
    fn replies_are_classified() {
        let v10 = parse_reply(&server_hello(0x0301, 0xc014, None)).unwrap();
        assert!(
            matches!(&v10, Reply::ServerHello { selected: Some(Version::Tls10), cipher_suite, .. } if cipher_suite == "0xc014")
        );
        let v13 = parse_reply(&server_hello(0x0303, 0x1301, Some(0x0304))).unwrap();
        assert!(matches!(
            v13,
            Reply::ServerHello {
                selected: Some(Version::Tls13),
                ..
            }
        ));
        assert_eq!(
            parse_reply(&[0x15, 3, 1, 0, 2, 2, 70]),
            Some(Reply::Alert {
                alert: "protocol_version".into()
            })
        );
        assert!(matches!(
            parse_reply(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(Reply::NotTls { start }) if start.starts_with("HTTP/1.1 400")
        ));
        // Incomplete: wait for more.
        assert_eq!(parse_reply(&[0x16, 3, 1, 0, 40, 2]), None);
        // Truncated ServerHello inside a complete record.
        assert!(matches!(
            parse_reply(&[0x16, 3, 1, 0, 3, 2, 0, 0]),
            Some(Reply::NotTls { .. })
        ));
    }
}
