//! The Microsoft 365 IP/URL web-service data (`https://endpoints.office.com/endpoints/<instance>`):
//! endpoint sets with their URLs, IP ranges, ports and category (FACTS.md §2).
//!
//! Two file shapes are read: the web service's own answer (a JSON array of endpoint sets), and the
//! shape `tenant-ready endpoints fetch` saves, the same array wrapped with where and when it came
//! from (`{"instance", "version", "fetched_at", "source", "endpoints": [...]}`), so a saved file
//! says its version. Unknown fields are ignored: Microsoft adds fields (`serviceAreaDisplayName`
//! is not in the documented list), and an old scanner must keep reading new data.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// The embedded snapshot (worldwide instance).
pub const EMBEDDED_WORLDWIDE: &str = include_str!("../checks/endpoints-worldwide.json");

/// Optimize > Allow > Default (FACTS.md §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum Category {
    /// Latency-sensitive: bypass proxies and inspection, egress locally.
    Optimize,
    /// Bypass inspection; proxy bypass optional.
    Allow,
    /// Ordinary internet traffic.
    Default,
}

/// One endpoint set, as the web service returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSet {
    /// Immutable set id.
    pub id: u32,
    /// `Common`, `Exchange`, `SharePoint`, `Skype`.
    pub service_area: String,
    /// `Exchange Online`…
    #[serde(default)]
    pub service_area_display_name: Option<String>,
    /// Host names and wildcards.
    #[serde(default)]
    pub urls: Vec<String>,
    /// CIDR ranges (IPv4 and IPv6).
    #[serde(default)]
    pub ips: Vec<String>,
    /// `"80,443"`, `"50000-59999"`.
    #[serde(default)]
    pub tcp_ports: Option<String>,
    /// `"3478,3479,3480,3481"`.
    #[serde(default)]
    pub udp_ports: Option<String>,
    /// Optimize / Allow / Default.
    pub category: Category,
    /// Reachable over ExpressRoute.
    #[serde(default)]
    pub express_route: bool,
    /// Required for the service to work.
    #[serde(default)]
    pub required: bool,
    /// Why an optional set exists.
    #[serde(default)]
    pub notes: Option<String>,
}

impl EndpointSet {
    /// A short label for reports: `set 1 (Exchange Online, Optimize)`.
    pub fn label(&self) -> String {
        format!(
            "set {} ({}, {:?})",
            self.id,
            self.service_area_display_name
                .as_deref()
                .unwrap_or(&self.service_area),
            self.category
        )
    }

    /// TCP port ranges.
    pub fn tcp(&self) -> Result<Vec<RangeInclusive<u16>>, String> {
        parse_ports(self.tcp_ports.as_deref().unwrap_or(""))
            .map_err(|e| format!("endpoint set {}: tcpPorts: {e}", self.id))
    }

    /// UDP port ranges.
    pub fn udp(&self) -> Result<Vec<RangeInclusive<u16>>, String> {
        parse_ports(self.udp_ports.as_deref().unwrap_or(""))
            .map_err(|e| format!("endpoint set {}: udpPorts: {e}", self.id))
    }
}

/// Parses `"80,443"`, `"3478-3481"`, `""` (none).
pub fn parse_ports(s: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |p: &str| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n != 0)
                .ok_or_else(|| format!("`{p}` is not a port"))
        };
        let r = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("range `{part}` runs backwards"));
                }
                a..=b
            }
            None => {
                let n = num(part)?;
                n..=n
            }
        };
        out.push(r);
    }
    Ok(out)
}

/// Which TCP port of a set to use for a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortPick {
    /// This port when the set lists it, else the set's first port (lab data without it).
    PreferElseFirst(u16),
    /// This port when the set lists it, else the set's last port.
    PreferElseLast(u16),
}

/// A concrete host of the endpoint list and the set it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetHost {
    /// `host:port`.
    pub endpoint: crate::endpoint::Endpoint,
    /// The set's label.
    pub set: String,
}

/// The first `max` distinct non-wildcard hosts of the required sets in `categories` and `areas`
/// (`None`: every area), in data order, each on the port `pick` chooses. Shared by the checks
/// that talk to Microsoft 365 front doors (TLS inspection, proxy, the latency fallback).
pub fn set_hosts(
    sets: &[EndpointSet],
    categories: &[Category],
    areas: Option<&[String]>,
    max: usize,
    pick: PortPick,
) -> Vec<SetHost> {
    let mut out: Vec<SetHost> = Vec::new();
    for s in sets
        .iter()
        .filter(|s| s.required && categories.contains(&s.category))
        .filter(|s| areas.is_none_or(|a| a.iter().any(|x| x.eq_ignore_ascii_case(&s.service_area))))
    {
        let ports: Vec<u16> = s
            .tcp()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .take(64)
            .collect();
        let (PortPick::PreferElseFirst(preferred) | PortPick::PreferElseLast(preferred)) = pick;
        let port = if ports.contains(&preferred) {
            preferred
        } else {
            let other = match pick {
                PortPick::PreferElseFirst(_) => ports.first(),
                PortPick::PreferElseLast(_) => ports.last(),
            };
            match other {
                Some(&p) => p,
                None => continue,
            }
        };
        for u in s.urls.iter().filter(|u| !u.contains('*')) {
            let endpoint = crate::endpoint::Endpoint {
                host: u.to_ascii_lowercase(),
                port,
            };
            if out.len() < max && !out.iter().any(|h| h.endpoint == endpoint) {
                out.push(SetHost {
                    endpoint,
                    set: s.label(),
                });
            }
        }
    }
    out
}

/// A loaded endpoint list and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointList {
    /// `Worldwide`, `USGovGCCHigh`…, when known.
    pub instance: Option<String>,
    /// Web-service version (`YYYYMMDDNN`), when known.
    pub version: Option<String>,
    /// Where it came from (embedded snapshot, a file path).
    pub source: String,
    /// The sets.
    #[serde(skip)]
    pub sets: Vec<EndpointSet>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Shape {
    Bare(Vec<EndpointSet>),
    Saved {
        instance: Option<String>,
        version: Option<String>,
        endpoints: Vec<EndpointSet>,
    },
}

impl EndpointList {
    /// Parses either file shape and checks every port string.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let shape: Shape = serde_json::from_str(text).map_err(|e| {
            format!(
                "{source}: not a Microsoft 365 endpoint list (line {}, column {}: {e})",
                e.line(),
                e.column()
            )
        })?;
        let (instance, version, sets) = match shape {
            Shape::Bare(sets) => (None, None, sets),
            Shape::Saved {
                instance,
                version,
                endpoints,
            } => (instance, version, endpoints),
        };
        if sets.is_empty() {
            return Err(format!("{source}: the endpoint list is empty"));
        }
        for s in &sets {
            s.tcp().map_err(|e| format!("{source}: {e}"))?;
            s.udp().map_err(|e| format!("{source}: {e}"))?;
        }
        Ok(Self {
            instance,
            version,
            source: source.to_owned(),
            sets,
        })
    }

    /// The embedded worldwide snapshot.
    pub fn embedded() -> Result<Self, String> {
        Self::parse(
            EMBEDDED_WORLDWIDE,
            "embedded snapshot (checks/endpoints-worldwide.json)",
        )
    }

    /// `instance version` for reports (`Worldwide 2026081400`).
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({})",
            self.instance.as_deref().unwrap_or("unknown instance"),
            self.version.as_deref().unwrap_or("unknown version"),
            self.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(parse_ports("80,443").unwrap(), vec![80..=80, 443..=443]);
        assert_eq!(parse_ports(" 3478-3481 ").unwrap(), vec![3478..=3481]);
        assert!(parse_ports("").unwrap().is_empty());
        for bad in ["0", "80,x", "443-80", "70000", "1-"] {
            assert!(parse_ports(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn both_shapes_and_the_snapshot_parse() {
        let l = EndpointList::embedded().unwrap();
        assert_eq!(l.instance.as_deref(), Some("Worldwide"));
        assert!(
            l.sets
                .iter()
                .any(|s| s.id == 11 && s.udp_ports.as_deref() == Some("3478,3479,3480,3481"))
        );
        let bare = r#"[{"id":1,"serviceArea":"Exchange","urls":["outlook.office365.com"],"tcpPorts":"80,443","category":"Optimize","required":true,"newField":1}]"#;
        let l = EndpointList::parse(bare, "f.json").unwrap();
        assert_eq!(l.sets[0].label(), "set 1 (Exchange, Optimize)");
        assert!(
            EndpointList::parse("[]", "f.json")
                .unwrap_err()
                .contains("empty")
        );
        let bad = r#"[{"id":7,"serviceArea":"Common","tcpPorts":"80,,x","category":"Allow","required":true}]"#;
        assert!(
            EndpointList::parse(bad, "f.json")
                .unwrap_err()
                .contains("endpoint set 7: tcpPorts")
        );
        assert!(
            EndpointList::parse("{", "f.json")
                .unwrap_err()
                .starts_with("f.json: not a Microsoft 365 endpoint list (line 1")
        );
    }
}
