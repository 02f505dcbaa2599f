//! The simulated staging tenant: real DNS servers on loopback serving a few domains, some ready
//! and some broken, so the offline demo (`cargo run --release --example lab`), the integration
//! tests and the benchmark run the real scanner without a network.
//!
//! The primary server listens on 127.0.0.1:PORT and serves every zone; a secondary on
//! 127.0.0.2:PORT (same port: the zones' NS records point at both addresses) serves the same
//! zones except a stale copy of `fabrikam.test`, so the NS-consistency check has something to find.
//! `.test` is reserved for testing (RFC 6761): nothing here can collide with a real domain.
//!
//! The lab also runs the customer's TLS endpoints on 127.0.0.1 (free ports), with certificates
//! from a CA minted at start ([`pki`]): `sts.contoso.test` (good, and the AD FS federation
//! metadata), `owa.fabrikam.test` (expires in 12 days), `portal.northwind.test` (certificate for
//! another name), `mail.contoso.test` (SMTP with STARTTLS), and, when port 443 on 127.0.0.3 can be
//! bound, `autodiscover.tailspin.test` (the hybrid domain's on-premises autodiscover).

pub mod dns_server;
pub mod entra;
pub mod netns;
pub mod pki;
pub mod samba;
pub mod stun_server;
pub mod tls_server;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
pub use dns_server::{Behaviour, DnsServer, Zones};
use pki::{LeafSpec, Pki};
use tls_server::{LabServer, Mode, Route};

/// The zone files: (origin, text).
pub const ZONES: &[(&str, &str)] = &[
    ("contoso.test", include_str!("zones/contoso.test.zone")),
    ("fabrikam.test", include_str!("zones/fabrikam.test.zone")),
    ("northwind.test", include_str!("zones/northwind.test.zone")),
    ("tailspin.test", include_str!("zones/tailspin.test.zone")),
    ("outlook.com", include_str!("zones/outlook.com.zone")),
    ("m365.test", include_str!("zones/m365.test.zone")),
];

/// The stale copy the secondary serves.
pub const STALE_FABRIKAM: &str = include_str!("zones/fabrikam.test.stale.zone");

/// The lab tenant's tenant.toml.
pub const TENANT_TOML: &str = r#"# The simulated staging tenant of `cargo run --example lab` (see src/lab/zones/).
[tenant]
name = "Contoso (simulated staging tenant)"
initial_domain = "contoso.onmicrosoft.com"
cloud = "worldwide"
# A branch of 1,000 users on a 20 Mbit/s line: short even of Microsoft's minimum Teams rates.
users = 1000

[[domain]]
name = "contoso.test"
# The exact values the admin center and Get-DkimSigningConfig show (checked exactly, not by shape).
verification = "MS=ms12345678"
mx = "contoso-test01c.mail.protection.outlook.com"
dkim_selector1 = "selector1-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft"
dkim_selector2 = "selector2-contoso-test01c._domainkey.contoso.n-v1.dkim.mail.microsoft"

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

/// The Microsoft side the SPF walk and evaluation reach (`spf.protection.outlook.com` and the
/// `spfd` include it names), for generated zones: the shape Microsoft publishes, 8 ranges and a
/// nested include with 8 more, so `dns.spf` evaluates every domain for 16 ranges as it does on the
/// internet.
pub const OUTLOOK_ZONE: &str = r#"$TTL 3600
@ IN SOA ns1.outlook.com. hostmaster.outlook.com. 1 3600 600 86400 300
@ IN NS ns1.outlook.com.
spf.protection IN TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/16 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/48 include:spfd.protection.outlook.com -all"
spfd.protection IN TXT "v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 ip4:51.4.80.0/27 ip6:2a01:4180:4051:0800::/64 ip6:2a01:4180:4050:0800::/64 ip6:2a01:4180:4051:0400::/64 ip6:2a01:4180:4050:0400::/64 -all"
"#;

/// The national clouds' SPF includes, for generated zones: a scan's resolver must resolve its
/// cloud's include before it believes any "does not exist" (`probe::dns`), as a resolver that
/// sees the internet does.
pub const NATIONAL_SPF_ZONES: &[(&str, &str)] = &[
    (
        "office365.us",
        "$TTL 3600\n@ IN SOA ns1.office365.us. hostmaster.office365.us. 1 3600 600 86400 300\n@ IN NS ns1.office365.us.\nspf.protection IN TXT \"v=spf1 ip4:23.103.191.0/24 -all\"\n",
    ),
    (
        "partner.outlook.cn",
        "$TTL 3600\n@ IN SOA ns1.partner.outlook.cn. hostmaster.partner.outlook.cn. 1 3600 600 86400 300\n@ IN NS ns1.partner.outlook.cn.\nspf.protection IN TXT \"v=spf1 ip4:42.159.163.0/24 -all\"\n",
    ),
];

/// The AD FS federation metadata path.
pub const FEDERATION_PATH: &str = "/federationmetadata/2007-06/federationmetadata.xml";

/// A SAML metadata document listing `signing` certificates (DER), as AD FS publishes it.
pub fn federation_metadata(entity_id: &str, signing: &[Vec<u8>]) -> String {
    let keys = signing.iter().fold(String::new(), |mut out, der| {
        let _ = write!(
            out,
                "<KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        out
    });
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EntityDescriptor ID=\"_lab\" entityID=\"{entity_id}\" xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><RoleDescriptor xsi:type=\"fed:SecurityTokenServiceType\" protocolSupportEnumeration=\"http://docs.oasis-open.org/wsfed/federation/200706\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:fed=\"http://docs.oasis-open.org/wsfed/federation/200706\">{keys}</RoleDescriptor><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}</IDPSSODescriptor></EntityDescriptor>"
    )
}

/// An AD FS token-signing certificate: self-signed, as AD FS generates them, `days` left.
pub fn token_signing_cert(host: &str, days: i64) -> Result<Vec<u8>, rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("ADFS Signing - {host}"));
    p.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(365 - days.min(365));
    p.not_after = pki::days_from(now, days);
    Ok(p.self_signed(&key)?.der().to_vec())
}

/// The lab's TLS endpoints.
pub struct LabEndpoints {
    /// The CA that issued every lab certificate (give it to the scanner with `--ca-file`).
    pub ca_pem: String,
    /// sts.contoso.test: good certificate, federation metadata.
    pub sts: LabServer,
    /// owa.fabrikam.test: expires in 12 days.
    pub owa: LabServer,
    /// portal.northwind.test: certificate for www.northwind.test.
    pub portal: LabServer,
    /// mail.contoso.test: SMTP with STARTTLS.
    pub smtp: LabServer,
    /// autodiscover.tailspin.test on 127.0.0.3:443, when that port could be bound.
    pub autodiscover: Option<LabServer>,
    /// STUN responders standing in for the Teams media relay ports.
    pub stun: Vec<stun_server::StunServer>,
    /// A TCP port with nothing listening (a front door the "firewall" closes).
    pub closed_port: u16,
    /// The Microsoft 365 front-door stand-in, behind a simulated TLS-inspecting web gateway
    /// (its certificates come from "Contoso Web Gateway Inspection CA").
    pub front_door: LabServer,
    /// Plain HTTP in front of the front door, answering through a transparent proxy (`Via`).
    pub front_door_http: LabServer,
    /// The branch office's link to the internet, as a throughput server paced at 20 Mbit/s (the
    /// lab tenant's 1,000 users need 34.5 down / 29.5 up even at Microsoft's minimum rates).
    pub speed: LabServer,
}

fn lab_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl LabEndpoints {
    /// Mints the certificates and starts the servers.
    pub async fn start() -> std::io::Result<Self> {
        let pki = Pki::new().map_err(lab_err)?;
        let https = |spec: LeafSpec, routes: Vec<Route>| -> std::io::Result<Mode> {
            let leaf = pki.leaf(&spec).map_err(lab_err)?;
            let cfg = tls_server::server_config(&leaf).map_err(lab_err)?;
            Ok(Mode::Https(cfg, Arc::new(routes)))
        };
        let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let signing = token_signing_cert("sts.contoso.test", 200).map_err(lab_err)?;
        let metadata = Route {
            path: FEDERATION_PATH.into(),
            status: 200,
            content_type: "application/samlmetadata+xml".into(),
            body: federation_metadata("http://sts.contoso.test/adfs/services/trust", &[signing])
                .into_bytes(),
            location: None,
        };
        let sts = LabServer::start(
            local,
            https(LeafSpec::good("sts.contoso.test"), vec![metadata])?,
        )
        .await?;
        let mut expiring = LeafSpec::good("owa.fabrikam.test");
        expiring.until_days = 12;
        let owa = LabServer::start(local, https(expiring, vec![])?).await?;
        let portal =
            LabServer::start(local, https(LeafSpec::good("www.northwind.test"), vec![])?).await?;
        let mail = pki
            .leaf(&LeafSpec::good("mail.contoso.test"))
            .map_err(lab_err)?;
        let smtp = LabServer::start(
            local,
            Mode::Smtp {
                tls: tls_server::server_config(&mail).map_err(lab_err)?,
                starttls: true,
            },
        )
        .await?;
        let mut ad = LeafSpec::good("mail.tailspin.test");
        ad.names.push("autodiscover.tailspin.test".into());
        // Port 443 needs privileges; without them the hybrid autodiscover check reports
        // "connection refused", which is what the customer would see for a closed port.
        let autodiscover = LabServer::start(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 443),
            https(ad, vec![])?,
        )
        .await
        .ok();
        let mut stun = Vec::new();
        // The relay answers like one ~25 ms away with a few ms of jitter (quality.latency).
        let wan = stun_server::Impairment {
            delay: std::time::Duration::from_millis(24),
            jitter: std::time::Duration::from_millis(6),
            ..stun_server::Impairment::default()
        };
        for _ in 0..4 {
            stun.push(stun_server::StunServer::start_impaired(local, wan).await?);
        }
        let closed_port = std::net::TcpListener::bind(local)?.local_addr()?.port();
        let gateway = Pki::with_names(
            "Contoso Web Gateway Root",
            "Contoso Web Gateway Inspection CA",
        )
        .map_err(lab_err)?;
        let mut fd = LeafSpec::good("outlook.m365.test");
        fd.names
            .extend(["login.m365.test".into(), "teams.m365.test".into()]);
        let fd = gateway.leaf(&fd).map_err(lab_err)?;
        let front_door = LabServer::start(
            local,
            Mode::Https(
                tls_server::server_config(&fd).map_err(lab_err)?,
                Arc::new(vec![]),
            ),
        )
        .await?;
        let front_door_http = LabServer::start(
            local,
            Mode::PlainHttp {
                status: 301,
                headers: Arc::new(vec![
                    ("Location".into(), "https://outlook.m365.test/".into()),
                    ("Via".into(), "1.1 contoso-web-gateway (squid/5.7)".into()),
                ]),
            },
        )
        .await?;
        let speed = LabServer::start(
            local,
            Mode::Throughput {
                rate_bps: 20_000_000,
                pacer: Arc::new(std::sync::Mutex::new(tokio::time::Instant::now())),
            },
        )
        .await?;
        Ok(Self {
            ca_pem: pki.root_pem(),
            sts,
            owa,
            portal,
            smtp,
            autodiscover,
            stun,
            closed_port,
            front_door,
            front_door_http,
            speed,
        })
    }

    /// The lab's Microsoft 365 endpoint list (saved web-service shape): loopback stand-ins for
    /// Exchange, identity and Teams; the Teams signalling set has one port the lab keeps closed.
    pub fn endpoints_json(&self) -> String {
        let open = self.front_door.addr().port();
        let http = self.front_door_http.addr().port();
        let closed = self.closed_port;
        let stun: Vec<String> = self
            .stun
            .iter()
            .map(|s| s.addr().port().to_string())
            .collect();
        format!(
            r#"{{"instance":"Lab","version":"0000000000","source":"tenant-ready lab: loopback stand-ins","endpoints":[
 {{"id":1,"serviceArea":"Exchange","serviceAreaDisplayName":"Exchange Online","urls":["outlook.m365.test"],"tcpPorts":"{http},{open}","category":"Optimize","required":true}},
 {{"id":11,"serviceArea":"Skype","serviceAreaDisplayName":"Microsoft Teams","urls":["relay.m365.test"],"ips":["127.0.0.1/32"],"udpPorts":"{stun}","category":"Optimize","required":true}},
 {{"id":12,"serviceArea":"Skype","serviceAreaDisplayName":"Microsoft Teams","urls":["teams.m365.test"],"tcpPorts":"{closed},{open}","category":"Allow","required":true}},
 {{"id":56,"serviceArea":"Common","serviceAreaDisplayName":"Microsoft 365 Common and Office Online","urls":["login.m365.test"],"tcpPorts":"{open}","category":"Allow","required":true}}
]}}"#,
            stun = stun.join(",")
        )
    }

    /// The `[endpoints]` section pointing at these servers.
    pub fn toml(&self) -> String {
        format!(
            "\n[endpoints]\nhttps = [\"sts.contoso.test:{}\", \"owa.fabrikam.test:{}\", \"portal.northwind.test:{}\"]\nsmtp = [\"mail.contoso.test:{}\"]\nadfs = \"sts.contoso.test:{}\"\n\n[network]\nbandwidth_url = \"http://speed.m365.test:{}/teams-test-object\"\n",
            self.sts.addr().port(),
            self.owa.addr().port(),
            self.portal.addr().port(),
            self.smtp.addr().port(),
            self.sts.addr().port(),
            self.speed.addr().port(),
        )
    }
}

/// The running lab.
pub struct Lab {
    /// Serves every zone (127.0.0.1).
    pub primary: DnsServer,
    /// Serves the stale fabrikam.test (127.0.0.2, same port).
    pub secondary: DnsServer,
    /// Microsoft Entra ID's view of the tenant ([`entra::lab_directory`]), on port 443 of its own
    /// loopback address, which the lab zones give `login.microsoftonline.com`.
    pub entra: entra::EntraStandIn,
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

    /// Starts both servers on a free port, and the Microsoft Entra ID stand-in.
    pub async fn start() -> std::io::Result<Self> {
        let dir = entra::lab_directory();
        let hosts = [dir.login_host.clone(), dir.graph_host.clone()];
        let entra = entra::EntraStandIn::start(dir).await?;
        let mut primary_zones = Self::zones().map_err(std::io::Error::other)?;
        let mut secondary_zones = Zones::default();
        for host in &hosts {
            let (origin, zone) = entra.zone(host);
            for z in [&mut primary_zones, &mut secondary_zones] {
                z.add_zone(&origin, &zone).map_err(std::io::Error::other)?;
            }
        }
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
        Ok(Self {
            primary,
            secondary,
            entra,
        })
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

/// The whole offline demo (`cargo run --example lab`): the lab's DNS and Microsoft Entra ID, the
/// customer's TLS/SMTP/AD FS endpoints, and the Microsoft 365 stand-ins, with the files a scan of
/// them needs written to one directory. The example, the screenshot example and the tests that
/// need every kind of result start it the same way.
pub struct Demo {
    /// DNS and Entra ID.
    pub lab: Lab,
    /// Endpoints and Microsoft 365 stand-ins.
    pub endpoints: LabEndpoints,
    /// tenant.toml: the lab tenant and its endpoints.
    pub config: std::path::PathBuf,
    /// Both lab CAs (the customer's endpoints' and the Entra ID stand-in's).
    pub ca: std::path::PathBuf,
    /// The Microsoft 365 endpoint list of the stand-ins.
    pub m365: std::path::PathBuf,
    /// The on-premises Active Directory: a Samba DC, when this machine can run one (root, Samba
    /// installed); otherwise why not, and the directory checks skip.
    pub dc: Result<samba::SambaDc, String>,
}

impl Demo {
    /// Starts everything and writes tenant.toml, lab-ca.pem and endpoints.json into `dir`.
    pub async fn start(dir: &std::path::Path) -> Result<Self, String> {
        let lab = Lab::start()
            .await
            .map_err(|e| format!("cannot start the lab DNS servers on 127.0.0.1/127.0.0.2: {e}"))?;
        let endpoints = LabEndpoints::start()
            .await
            .map_err(|e| format!("cannot start the lab TLS endpoints on 127.0.0.1: {e}"))?;
        let (config, ca, m365) = (
            dir.join("tenant.toml"),
            dir.join("lab-ca.pem"),
            dir.join("endpoints.json"),
        );
        let dc = match samba::available() {
            Ok(()) => {
                let dc = samba::SambaDc::start().await?;
                dc.seed_demo().await?;
                Ok(dc)
            }
            Err(why) => Err(why),
        };
        let (directory, dc_ca) = match &dc {
            Ok(dc) => (dc.tenant_toml(), dc.ca_pem()?),
            Err(_) => (String::new(), String::new()),
        };
        std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::write(
                    &config,
                    format!("{TENANT_TOML}{}{directory}", endpoints.toml()),
                )
            })
            .and_then(|()| {
                std::fs::write(
                    &ca,
                    format!("{}{}{dc_ca}", endpoints.ca_pem, lab.entra.ca_pem),
                )
            })
            .and_then(|()| std::fs::write(&m365, endpoints.endpoints_json()))
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
        Ok(Self {
            lab,
            endpoints,
            config,
            ca,
            m365,
            dc,
        })
    }

    /// The environment a scan of the demo runs with: the process's, plus the lab tenant's app
    /// registration and the lab DC's bind password (as a user exports `AZURE_*` and
    /// `TENANT_READY_LDAP_PASSWORD`).
    pub fn env(&self, mut env: crate::settings::Env) -> crate::settings::Env {
        // The lab tenant's app registration, for `--graph` against the stand-in.
        for (k, v) in crate::graph::ENV_VARS.iter().zip([
            entra::LAB_TENANT_ID,
            entra::LAB_CLIENT_ID,
            entra::LAB_CLIENT_SECRET,
        ]) {
            env.vars
                .push(((*k).to_owned(), crate::secrets::Secret::new(v.to_owned())));
        }
        if self.dc.is_ok() {
            env.ldap_password = Some(crate::secrets::Secret::new(
                samba::ADMIN_PASSWORD.to_owned(),
            ));
        }
        env
    }

    /// `tenant-ready scan …` for the demo: the config, the lab resolver, the lab CAs (they stand
    /// in for a staging CA: results still say they are not public roots) and the loopback
    /// stand-ins for Microsoft 365 (the network checks never leave the machine).
    pub fn scan_command(&self) -> Vec<String> {
        let mut cmd: Vec<String> = vec![
            "tenant-ready".into(),
            "scan".into(),
            "--config".into(),
            self.config.display().to_string(),
            // The tenant's own view, from the Entra ID stand-in's Graph (credentials in `env`).
            "--graph".into(),
        ];
        cmd.extend(self.lab.scan_args());
        cmd.extend([
            "--ca-file".into(),
            self.ca.display().to_string(),
            "--endpoints".into(),
            self.m365.display().to_string(),
        ]);
        cmd
    }
}
