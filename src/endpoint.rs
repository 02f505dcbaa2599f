//! A customer endpoint `host[:port]` from `[endpoints]`: validated like a domain name (or an IP
//! literal), normalised, with the service's default port.

use std::fmt;
use std::net::IpAddr;

use crate::domain::DomainName;

/// `host:port`, host normalised (lower-case, punycode) or an IP address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// Host name or IP literal (no brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `host`, `host:port`, `IP`, `IPv4:port` or `[IPv6]:port`.
    pub fn parse(s: &str, default_port: u16) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty host".into());
        }
        if s.contains("://") || s.contains('/') {
            return Err(format!(
                "`{s}`: give a host name or host:port, not a URL (e.g. sts.contoso.com or mail.contoso.com:443)"
            ));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self {
                host: ip.to_string(),
                port: default_port,
            });
        }
        if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
            return Ok(Self {
                host: sa.ip().to_string(),
                port: sa.port(),
            });
        }
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => {
                let port: u16 =
                    p.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
                        format!("`{s}`: port `{p}` is not a number from 1 to 65535")
                    })?;
                (h, port)
            }
            None => (s, default_port),
        };
        let name = DomainName::parse(host).map_err(|e| format!("`{s}`: {e}"))?;
        Ok(Self {
            host: name.to_string(),
            port,
        })
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip() {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_ips() {
        let e = Endpoint::parse("STS.Contoso.com.", 443).unwrap();
        assert_eq!(e.to_string(), "sts.contoso.com:443");
        assert_eq!(
            Endpoint::parse("mail.contoso.com:25", 443)
                .unwrap()
                .to_string(),
            "mail.contoso.com:25"
        );
        assert_eq!(
            Endpoint::parse("127.0.0.1", 443).unwrap().to_string(),
            "127.0.0.1:443"
        );
        assert_eq!(
            Endpoint::parse("[::1]:8443", 443).unwrap().to_string(),
            "[::1]:8443"
        );
        assert_eq!(
            Endpoint::parse("bücher.example", 443).unwrap().host,
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            "https://sts.contoso.com",
            "a:0",
            "a:99999",
            "a:x",
            "bad host.com",
        ] {
            assert!(Endpoint::parse(bad, 443).is_err(), "{bad}");
        }
    }
}
