//! The simulated staging tenant: real DNS servers on loopback serving a few domains, some ready
//! and some broken, so the offline demo (`cargo run --release --example lab`), the integration
//! tests and the benchmark run the real scanner without a network.
//!
//! The primary server listens on 127.0.0.1:PORT and serves every zone; a secondary on
//! 127.0.0.2:PORT (same port: the zones' NS records point at both addresses) serves the same
//! zones except a stale copy of `fabrikam.test`, so the NS-consistency check has something to find.
//! `.test` is reserved for testing (RFC 6761): nothing here can collide with a real domain.

pub mod dns_server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use dns_server::{Behaviour, DnsServer, Zones};

/// The zone files: (origin, text).
pub const ZONES: &[(&str, &str)] = &[
    ("contoso.test", include_str!("zones/contoso.test.zone")),
    ("fabrikam.test", include_str!("zones/fabrikam.test.zone")),
    ("northwind.test", include_str!("zones/northwind.test.zone")),
    ("tailspin.test", include_str!("zones/tailspin.test.zone")),
    ("outlook.com", include_str!("zones/outlook.com.zone")),
];

/// The stale copy the secondary serves.
pub const STALE_FABRIKAM: &str = include_str!("zones/fabrikam.test.stale.zone");

/// The lab tenant's tenant.toml.
pub const TENANT_TOML: &str = r#"# The simulated staging tenant of `cargo run --example lab` (see src/lab/zones/).
[tenant]
name = "Contoso (simulated staging tenant)"
initial_domain = "contoso.onmicrosoft.com"
cloud = "worldwide"

[[domain]]
name = "contoso.test"
verification = "MS=ms12345678"

[[domain]]
name = "fabrikam.test"
services = ["exchange", "teams"]

[[domain]]
name = "northwind.test"
services = ["exchange"]

[[domain]]
name = "tailspin.test"
services = ["exchange"]
hybrid = true
"#;

/// A zone where every check of the embedded catalogue passes for `domain`, with one name server
/// at 127.0.0.1 (tests and the benchmark generate their domains from it).
pub fn ready_zone(domain: &str) -> String {
    let dashed = domain.replace('.', "-");
    format!(
        r#"$TTL 3600
@ IN SOA ns1.{domain}. hostmaster.{domain}. 2026112401 3600 600 86400 300
@ IN NS ns1.{domain}.
ns1 IN A 127.0.0.1
@ IN TXT "MS=ms12345678"
@ IN TXT "v=spf1 include:spf.protection.outlook.com -all"
@ IN MX 0 {dashed}.mail.protection.outlook.com.
autodiscover IN CNAME autodiscover.outlook.com.
selector1._domainkey IN CNAME selector1-{dashed}._domainkey.contoso.onmicrosoft.com.
selector2._domainkey IN CNAME selector2-{dashed}._domainkey.contoso.onmicrosoft.com.
_dmarc IN TXT "v=DMARC1; p=reject"
sip IN CNAME sipdir.online.lync.com.
lyncdiscover IN CNAME webdir.online.lync.com.
_sip._tls IN SRV 100 1 443 sipdir.online.lync.com.
_sipfederationtls._tcp IN SRV 100 1 5061 sipfed.online.lync.com.
enterpriseregistration IN CNAME enterpriseregistration.windows.net.
enterpriseenrollment IN CNAME enterpriseenrollment-s.manage.microsoft.com.
"#
    )
}

/// The Microsoft side the SPF walk reaches (`spf.protection.outlook.com`), for generated zones.
pub const OUTLOOK_ZONE: &str = r#"$TTL 3600
@ IN SOA ns1.outlook.com. hostmaster.outlook.com. 1 3600 600 86400 300
@ IN NS ns1.outlook.com.
spf.protection IN TXT "v=spf1 ip4:40.92.0.0/15 -all"
"#;

/// The running lab.
pub struct Lab {
    /// Serves every zone (127.0.0.1).
    pub primary: DnsServer,
    /// Serves the stale fabrikam.test (127.0.0.2, same port).
    pub secondary: DnsServer,
}

impl Lab {
    /// The zones the primary serves.
    pub fn zones() -> Result<Zones, dns_server::ZoneError> {
        let mut z = Zones::default();
        for (origin, text) in ZONES {
            z.add_zone(origin, text)?;
        }
        Ok(z)
    }

    /// Starts both servers on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let primary_zones = Self::zones().map_err(std::io::Error::other)?;
        let mut secondary_zones = Zones::default();
        for (origin, text) in ZONES {
            let text = if *origin == "fabrikam.test" {
                STALE_FABRIKAM
            } else {
                text
            };
            secondary_zones
                .add_zone(origin, text)
                .map_err(std::io::Error::other)?;
        }
        let primary = DnsServer::start(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            primary_zones,
            Behaviour::default(),
        )
        .await?;
        let secondary = DnsServer::start(
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
                primary.addr().port(),
            ),
            secondary_zones,
            Behaviour::default(),
        )
        .await?;
        Ok(Self { primary, secondary })
    }

    /// The `scan` arguments that point the scanner at the lab.
    pub fn scan_args(&self) -> Vec<String> {
        vec![
            "--nameserver".into(),
            self.primary.addr().to_string(),
            "--authoritative-port".into(),
            self.primary.addr().port().to_string(),
        ]
    }
}
