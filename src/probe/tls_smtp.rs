//! `tls-smtp-starttls`: the SMTP conversation a sending server has with the customer's mail host:
//! banner, `EHLO`, `STARTTLS` offered and accepted, then the TLS handshake and the same
//! certificate judgement as `tls-certificate` (name = the SMTP host).
//!
//! Every read is bounded in time (`cx.step` per reply) and size (line length, lines per reply), so
//! a server that stalls or floods ends as an `error` naming the step, never a hang.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

use super::connect::{Reach, connect};
use super::{EndpointPlanCx, ProbeCx, ProbeError};
use crate::endpoint::Endpoint;
use crate::outcome::{Judgement, Status};
use crate::text::Text;
use crate::tls::ChainEvidence;
use crate::tls::chain::{self, CertPolicy, DayThresholds, KeyPolicy};

/// RFC 5321 §4.5.3.1.5 says 512 octets per reply line; real servers stay well inside 1000.
const MAX_LINE: u64 = 1000;
/// More lines than any real EHLO reply (Exchange sends about 12).
const MAX_LINES: usize = 100;

/// `[check.probe]` of a `tls-smtp-starttls` check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSmtpSpec {
    /// Smallest acceptable RSA key, bits.
    pub min_rsa_bits: u32,
    /// Smallest acceptable EC key, bits.
    pub min_ec_bits: u32,
}

impl TlsSmtpSpec {
    /// The task for one SMTP host.
    pub fn plan(&self, cx: &EndpointPlanCx<'_>) -> TlsSmtpTask {
        TlsSmtpTask {
            endpoint: cx.endpoint.clone(),
            policy: cx.cert_policy(KeyPolicy {
                min_rsa_bits: self.min_rsa_bits,
                min_ec_bits: self.min_ec_bits,
            }),
        }
    }
}

/// One SMTP host.
#[derive(Clone, Debug)]
pub struct TlsSmtpTask {
    /// Where (port 25 unless given).
    pub endpoint: Endpoint,
    /// Certificate policy.
    pub policy: CertPolicy,
}

/// The conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsSmtpEvidence {
    /// Address connected to.
    pub address: Option<String>,
    /// Why the host could not be reached.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub unreachable: Option<Text>,
    /// The greeting (first line).
    pub banner: Option<String>,
    /// EHLO keywords (`STARTTLS`, `SIZE 37748736`…).
    pub ehlo: Vec<String>,
    /// Whether STARTTLS was advertised.
    pub starttls_offered: bool,
    /// The reply to STARTTLS.
    pub starttls_reply: Option<String>,
    /// A definitive SMTP-level refusal.
    #[serde(serialize_with = "crate::text::serialize_en_opt")]
    pub problem: Option<Text>,
    /// The TLS handshake after STARTTLS.
    #[serde(flatten)]
    pub tls: Option<ChainEvidence>,
    /// The expiry thresholds its certificate is judged by.
    pub thresholds: DayThresholds,
}

/// One SMTP reply: code and text lines.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn first(&self) -> String {
        format!(
            "{} {}",
            self.code,
            self.lines.first().map_or("", String::as_str)
        )
    }
}

fn protocol(ep: &Endpoint, what: Text) -> ProbeError {
    ProbeError::Net {
        kind: "protocol",
        message: text!("smtp.protocol", endpoint = ep.to_string(), what = what),
    }
}

/// Reads one (possibly multi-line) reply within `cx.step`.
async fn read_reply<R>(
    r: &mut BufReader<R>,
    cx: &ProbeCx,
    ep: &Endpoint,
    step: Text,
) -> Result<Reply, ProbeError>
where
    R: AsyncRead + Unpin,
{
    let read = async {
        let mut lines = Vec::new();
        loop {
            let mut buf = Vec::new();
            let n = (&mut *r)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut buf)
                .await
                .map_err(|e| {
                    protocol(
                        ep,
                        text!(
                            "smtp.read-failed",
                            step = step.clone(),
                            error = e.to_string()
                        ),
                    )
                })?;
            if n == 0 {
                return Err(protocol(ep, text!("smtp.closed", step = step.clone())));
            }
            if !buf.ends_with(b"\n") {
                return Err(protocol(
                    ep,
                    text!("smtp.long-line", step = step.clone(), max = MAX_LINE),
                ));
            }
            let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c));
            let Some(code) = code else {
                return Err(protocol(
                    ep,
                    text!(
                        "smtp.not-a-reply",
                        step = step.clone(),
                        line = line.chars().take(80).collect::<String>()
                    ),
                ));
            };
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Ok(Reply { code, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(protocol(
                    ep,
                    text!("smtp.too-many-lines", step = step.clone(), max = MAX_LINES),
                ));
            }
        }
    };
    tokio::time::timeout(cx.step, read)
        .await
        .map_err(|_| ProbeError::Net {
            kind: "timeout",
            message: text!(
                "smtp.timeout",
                endpoint = ep.to_string(),
                step = step.clone(),
                timeout = humantime::format_duration(cx.step).to_string()
            ),
        })?
}

async fn send<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    ep: &Endpoint,
    line: &str,
) -> Result<(), ProbeError> {
    w.write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| {
            protocol(
                ep,
                text!("smtp.send-failed", line = line, error = e.to_string()),
            )
        })
}

/// Runs the conversation.
pub async fn observe(t: &TlsSmtpTask, cx: &ProbeCx) -> Result<TlsSmtpEvidence, ProbeError> {
    let ep = &t.endpoint;
    let mut e = TlsSmtpEvidence {
        address: None,
        unreachable: None,
        banner: None,
        ehlo: Vec::new(),
        starttls_offered: false,
        starttls_reply: None,
        problem: None,
        tls: None,
        thresholds: t.policy.days(),
    };
    let (stream, addr) = match connect(cx, ep).await? {
        Reach::Connected(s, a) => (s, a),
        Reach::Unreachable(why) => {
            e.unreachable = Some(why);
            return Ok(e);
        }
    };
    e.address = Some(addr.to_string());
    // EHLO with our address literal (RFC 5321 §4.1.4: a client without a DNS name uses one).
    let ehlo_name = match stream.local_addr() {
        Ok(a) if a.is_ipv6() => format!("[IPv6:{}]", a.ip()),
        Ok(a) => format!("[{}]", a.ip()),
        Err(_) => "[127.0.0.1]".into(),
    };
    let mut conn = BufReader::new(stream);
    let banner = read_reply(&mut conn, cx, ep, text!("smtp.greeting")).await?;
    e.banner = Some(banner.first());
    if banner.code != 220 {
        // A 554 greeting usually refuses *this* network (a blocklist), not every sender.
        return Err(ProbeError::Net {
            kind: "refused",
            message: text!(
                "smtp.refused",
                endpoint = ep.to_string(),
                reply = banner.first()
            ),
        });
    }
    send(conn.get_mut(), ep, &format!("EHLO {ehlo_name}")).await?;
    let ehlo = read_reply(&mut conn, cx, ep, text!("smtp.ehlo-reply")).await?;
    if ehlo.code != 250 {
        e.problem = Some(text!("smtp.ehlo-rejected", reply = ehlo.first()));
        return Ok(e);
    }
    e.ehlo = ehlo.lines.iter().skip(1).cloned().collect();
    e.starttls_offered = e.ehlo.iter().any(|k| k.eq_ignore_ascii_case("STARTTLS"));
    if !e.starttls_offered {
        let _ = send(conn.get_mut(), ep, "QUIT").await;
        return Ok(e);
    }
    send(conn.get_mut(), ep, "STARTTLS").await?;
    let go = read_reply(&mut conn, cx, ep, text!("smtp.starttls-reply")).await?;
    e.starttls_reply = Some(go.first());
    if go.code != 220 {
        e.problem = Some(text!("smtp.starttls-refused", reply = go.first()));
        return Ok(e);
    }
    if !conn.buffer().is_empty() {
        // Plain-text bytes after the 220 would be read as if they came over TLS (CVE-2011-0411).
        e.problem = Some(text!("smtp.injection"));
        return Ok(e);
    }
    let tls = cx
        .tls
        .handshake(conn.into_inner(), &ep.host, cx.step)
        .await?;
    e.tls = Some(tls);
    Ok(e)
}

/// Pure.
pub fn judge(t: &TlsSmtpTask, e: &TlsSmtpEvidence) -> Judgement {
    let expected = vec![text!(
        "smtp.expected",
        endpoint = t.endpoint.to_string(),
        host = &t.endpoint.host
    )];
    let fail = |m: Text| Judgement::new(Status::Fail, m, expected.clone());
    if let Some(why) = &e.unreachable {
        return fail(why.clone());
    }
    if let Some(p) = &e.problem {
        return fail(p.clone());
    }
    if !e.starttls_offered {
        return fail(text!(
            "smtp.no-starttls",
            keywords = if e.ehlo.is_empty() {
                text!("smtp.nothing")
            } else {
                text!("value", value = e.ehlo.join(", "))
            }
        ));
    }
    match &e.tls {
        Some(tls) => {
            let mut j = chain::judge(&t.endpoint.host, tls, &t.policy);
            if j.status == Status::Pass {
                j.message.insert(0, text!("smtp.offered"));
            }
            j
        }
        None => fail(text!("smtp.no-handshake")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TlsSmtpTask {
        TlsSmtpTask {
            endpoint: Endpoint::parse("mail.contoso.com", 25).unwrap(),
            policy: CertPolicy {
                keys: KeyPolicy {
                    min_rsa_bits: 2048,
                    min_ec_bits: 256,
                },
                warn_days: 30,
                fail_days: 7,
            },
        }
    }

    #[test]
    fn starttls_missing_or_refused_fails() {
        let mut e = TlsSmtpEvidence {
            address: None,
            unreachable: None,
            banner: Some("220 mail".into()),
            ehlo: vec!["SIZE 1000".into(), "8BITMIME".into()],
            starttls_offered: false,
            starttls_reply: None,
            problem: None,
            tls: None,
            thresholds: task().policy.days(),
        };
        let j = judge(&task(), &e);
        assert_eq!(j.status, Status::Fail);
        assert!(
            j.message()
                .contains("STARTTLS is not offered (EHLO lists: SIZE 1000, 8BITMIME)"),
            "{}",
            j.message()
        );
        e.starttls_offered = true;
        e.problem = Some(text!(
            "smtp.starttls-refused",
            reply = "454 TLS not available"
        ));
        assert!(judge(&task(), &e).message().contains("454"));
    }
}
