//! The Microsoft 365 IP/URL web-service data (`https://endpoints.office.com/endpoints/<instance>`):
//! endpoint sets with their URLs, IP ranges, ports and category (learn.microsoft.com/microsoft-365/enterprise/microsoft-365-ip-web-service).
//!
//! Two file shapes are read: the web service's own answer (a JSON array of endpoint sets), and the
//! shape `tenant-ready endpoints fetch` saves, the same array wrapped with where and when it came
//! from (`{"instance", "version", "fetched_at", "source", "endpoints": [...]}`), so a saved file
//! says its version. Unknown fields are ignored: Microsoft adds fields (`serviceAreaDisplayName`
//! is not in the documented list), and an old scanner must keep reading new data. Files are
//! decoded by [`crate::text_file`]: PowerShell's `Out-File` writes UTF-16 with a BOM.
//!
//! The embedded list is a verbatim copy of the service's worldwide answer
//! (`checks/endpoints-worldwide.json`); where it came from and when is in
//! `checks/endpoints-worldwide.provenance.json`, and a test keeps the copy byte-identical.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// The embedded snapshot (worldwide instance), exactly as the web service wrote it.
pub const EMBEDDED_WORLDWIDE: &str = include_str!("../checks/endpoints-worldwide.json");
/// Where the embedded snapshot came from.
pub const EMBEDDED_PROVENANCE: &str = include_str!("../checks/endpoints-worldwide.provenance.json");

/// `checks/endpoints-worldwide.provenance.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The data file it describes.
    pub file: String,
    /// Web-service instance.
    pub instance: String,
    /// Web-service version, when it was recorded.
    pub version: Option<String>,
    /// When the copy was taken (RFC 3339 date).
    pub date: String,
    /// What `date` means.
    pub date_meaning: String,
    /// The service the data is from.
    pub origin: String,
    /// Where this copy was taken from, and its license.
    pub copied_from: String,
    /// SHA-256 of the data file (kept equal by a test).
    pub sha256: String,
    /// How to get a current list.
    pub refresh: String,
}

/// Optimize > Allow > Default (learn.microsoft.com/microsoft-365/enterprise/microsoft-365-network-connectivity-principles).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_area_display_name: Option<String>,
    /// Host names and wildcards (omitted by the service when there are none, and so here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// CIDR ranges (IPv4 and IPv6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// `"80,443"`, `"50000-59999"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_ports: Option<String>,
    /// `"3478,3479,3480,3481"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_ports: Option<String>,
    /// Reachable over ExpressRoute.
    #[serde(default)]
    pub express_route: bool,
    /// Optimize / Allow / Default.
    pub category: Category,
    /// Required for the service to work.
    #[serde(default)]
    pub required: bool,
    /// Why an optional set exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// A set's URL is a host name, possibly with `*` wildcards (`*.teams.microsoft.com`,
/// `*-files.sharepoint.com`): validated like every other host name, each `*` standing for a
/// letter. A list is outside input; a "URL" of `a b`, `http://x/` or control characters is
/// refused with the set named rather than probed.
pub fn check_url_host(url: &str) -> Result<(), String> {
    let stand_in = url.replace('*', "x");
    crate::domain::DomainName::parse(&stand_in)
        .map(|_| ())
        .map_err(|e| e.to_string())
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
    /// When the data was fetched or copied (RFC 3339), when known.
    pub date: Option<String>,
    /// Where the data itself came from (the web-service URL, a copy's origin), when known.
    pub origin: Option<String>,
    /// Where it was read from (the embedded snapshot, a file path).
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
        #[serde(default)]
        fetched_at: Option<String>,
        #[serde(default)]
        source: Option<String>,
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
        let (instance, version, date, origin, sets) = match shape {
            Shape::Bare(sets) => (None, None, None, None, sets),
            Shape::Saved {
                instance,
                version,
                fetched_at,
                source,
                endpoints,
            } => (instance, version, fetched_at, source, endpoints),
        };
        if sets.is_empty() {
            return Err(format!("{source}: the endpoint list is empty"));
        }
        for s in &sets {
            s.tcp().map_err(|e| format!("{source}: {e}"))?;
            s.udp().map_err(|e| format!("{source}: {e}"))?;
            for u in &s.urls {
                check_url_host(u).map_err(|e| {
                    format!(
                        "{source}: set {}: url `{}`: {e}",
                        s.id,
                        crate::escape::terminal(u)
                    )
                })?;
            }
        }
        Ok(Self {
            instance,
            version,
            date,
            origin,
            source: source.to_owned(),
            sets,
        })
    }

    /// Reads a saved list from a file in any encoding PowerShell writes (UTF-8, UTF-16 with a BOM).
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = crate::text_file::read(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The embedded worldwide snapshot, with its provenance.
    pub fn embedded() -> Result<Self, String> {
        let p = Self::provenance()?;
        let mut list = Self::parse(
            EMBEDDED_WORLDWIDE,
            "embedded snapshot (checks/endpoints-worldwide.json)",
        )?;
        list.instance = Some(p.instance);
        list.version = p.version;
        list.date = Some(p.date);
        list.origin = Some(format!("{}; copied from {}", p.origin, p.copied_from));
        Ok(list)
    }

    /// The provenance record of the embedded snapshot.
    pub fn provenance() -> Result<Provenance, String> {
        serde_json::from_str(EMBEDDED_PROVENANCE)
            .map_err(|e| format!("checks/endpoints-worldwide.provenance.json: {e}"))
    }

    /// One line for reports: instance, version or date, and where it was read from
    /// (`Worldwide, version not recorded, copied 2026-11-29 (embedded snapshot …)`).
    pub fn describe(&self) -> String {
        let version = match (&self.version, &self.date) {
            (Some(v), Some(d)) => format!("version {v}, {d}"),
            (Some(v), None) => format!("version {v}"),
            (None, Some(d)) => format!("version not recorded, copied {d}"),
            (None, None) => "version and date unknown".to_owned(),
        };
        format!(
            "{}, {version} ({})",
            self.instance.as_deref().unwrap_or("unknown instance"),
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
            l.describe()
                .starts_with("Worldwide, version not recorded, copied 2026-")
        );
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
