//! Probe kinds: the code that knows *how* to observe something. The check files say *what* to
//! observe (see `checks/README.md`).
//!
//! Every kind lives in its own file and follows the same two-step shape:
//!
//! 1. `observe` does the I/O and returns **evidence** (plain, serialisable data). The target
//!    misbehaving (NXDOMAIN, a wrong record, a refusing authoritative server) is evidence; only
//!    "could not find out" (our resolver unreachable, a timeout) is a [`ProbeError`].
//! 2. `judge` is a pure function from the planned spec and the evidence to a [`Judgement`], so every
//!    threshold is unit-tested without a network.
//!
//! [`ProbeSpec`] (raw, from TOML, with `{templates}`) becomes a [`Planned`] probe for one subject in
//! [`ProbeSpec::plan`]; [`run`] is the single dispatch point. A new kind is one new file, one
//! variant in each enum and one arm in each match below: nothing else changes.
//!
//! Probes never print and never impose their own overall deadline: the runner owns timeouts,
//! timing, concurrency and cancellation.

pub mod connect;
pub mod context;
pub mod directory_forest;
pub mod directory_objects;
pub mod discovery;
pub mod dns;
pub mod dns_dmarc;
pub mod dns_mx;
pub mod dns_ns_consistency;
pub mod dns_record;
pub mod dns_spf;
pub mod entra_admins;
pub mod entra_domain;
pub mod entra_licences;
pub mod entra_mfa;
pub mod entra_services;
pub mod entra_sync;
pub mod graph_get;
pub mod graph_users;
pub mod intune_mdm;
pub mod net_endpoints;
pub mod net_proxy;
pub mod net_stun;
pub mod net_tls_inspection;
pub mod quality_bandwidth;
pub mod quality_latency;
pub mod rtt;
pub mod spf_eval;
pub mod tls_certificate;
pub mod tls_federation;
pub mod tls_protocol;
pub mod tls_smtp;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::DomainName;
use crate::outcome::{Evidence, Judgement};
use crate::pattern::{TemplateError, Vars};
use crate::text::Text;

/// The kind-tagged probe table of a check (`[check.probe]`, `kind = "…"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ProbeSpec {
    /// Generic record expectations (CNAME, TXT, SRV…), see [`dns_record`].
    DnsRecord(dns_record::DnsRecordSpec),
    /// MX routing, see [`dns_mx`].
    DnsMx(dns_mx::DnsMxSpec),
    /// SPF evaluation, see [`dns_spf`].
    DnsSpf(dns_spf::DnsSpfSpec),
    /// DMARC policy, see [`dns_dmarc`].
    DnsDmarc(dns_dmarc::DnsDmarcSpec),
    /// Authoritative name server agreement, see [`dns_ns_consistency`].
    DnsNsConsistency(dns_ns_consistency::DnsNsConsistencySpec),
    /// The domain's tenant and authentication in Microsoft Entra ID, see [`entra_domain`].
    EntraDomain(entra_domain::EntraDomainSpec),
    /// Certificate of an HTTPS endpoint, see [`tls_certificate`].
    TlsCertificate(tls_certificate::TlsCertificateSpec),
    /// TLS versions an endpoint accepts, see [`tls_protocol`].
    TlsProtocol(tls_protocol::TlsProtocolSpec),
    /// SMTP STARTTLS and its certificate, see [`tls_smtp`].
    TlsSmtpStarttls(tls_smtp::TlsSmtpSpec),
    /// AD FS federation metadata, see [`tls_federation`].
    HttpFederationMetadata(tls_federation::FederationSpec),
    /// TCP reachability of Microsoft 365 endpoint sets, see [`net_endpoints`].
    NetEndpoints(net_endpoints::NetEndpointsSpec),
    /// STUN to the Teams media relays, see [`net_stun`].
    NetStun(net_stun::NetStunSpec),
    /// TLS interception on the path to Microsoft 365, see [`net_tls_inspection`].
    NetTlsInspection(net_tls_inspection::NetTlsInspectionSpec),
    /// Proxies in the path of Optimize traffic, see [`net_proxy`].
    NetProxy(net_proxy::NetProxySpec),
    /// RTT, jitter and loss to the Teams relay, see [`quality_latency`].
    QualityLatency(quality_latency::QualityLatencySpec),
    /// Throughput against the users' Teams needs, see [`quality_bandwidth`].
    QualityBandwidth(quality_bandwidth::QualityBandwidthSpec),
    /// The on-premises directory's objects against IdFix's rules, see [`directory_objects`].
    DirectoryObjects(directory_objects::DirectoryObjectsSpec),
    /// The forest's functional level and Recycle Bin, see [`directory_forest`].
    DirectoryForest(directory_forest::DirectoryForestSpec),
    /// Directory synchronization on and recent (Microsoft Graph), see [`entra_sync`].
    EntraSync(entra_sync::EntraSyncSpec),
    /// Global Administrators (Microsoft Graph), see [`entra_admins`].
    EntraAdmins(entra_admins::EntraAdminsSpec),
    /// The MDM authority (Microsoft Graph), see [`intune_mdm`].
    IntuneMdm(intune_mdm::IntuneMdmSpec),
    /// MFA for users and administrators (Microsoft Graph), see [`entra_mfa`].
    EntraMfa(entra_mfa::EntraMfaSpec),
    /// Licences against users (Microsoft Graph), see [`entra_licences`].
    EntraLicences(entra_licences::EntraLicencesSpec),
    /// The services' plans provisioned (Microsoft Graph), see [`entra_services`].
    EntraServices(entra_services::EntraServicesSpec),
}

/// What a check runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every domain of the tenant.
    Domain,
    /// Every `[endpoints] https` entry, the AD FS host, and `autodiscover.<domain>` of hybrid domains.
    Https,
    /// Every `[endpoints] smtp` entry.
    Smtp,
    /// The `[endpoints] adfs` host.
    Adfs,
    /// Microsoft 365 itself, from this network (the endpoint list).
    Network,
    /// The on-premises Active Directory (`[directory]`).
    Directory,
    /// The tenant itself, read from Microsoft Graph (`--graph`).
    Tenant,
}

impl Target {
    /// Where the subjects come from, for "nothing configured" messages.
    pub fn source(self) -> &'static str {
        match self {
            Self::Domain => "[[domain]]",
            Self::Https => "[endpoints] https",
            Self::Smtp => "[endpoints] smtp",
            Self::Adfs => "[endpoints] adfs",
            Self::Network => "the Microsoft 365 endpoint list",
            Self::Directory => "[directory]",
            Self::Tenant => "--graph",
        }
    }
}

impl ProbeSpec {
    /// The kind id as written in the check files.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DnsRecord(_) => "dns-record",
            Self::DnsMx(_) => "dns-mx",
            Self::DnsSpf(_) => "dns-spf",
            Self::DnsDmarc(_) => "dns-dmarc",
            Self::DnsNsConsistency(_) => "dns-ns-consistency",
            Self::EntraDomain(_) => "entra-domain",
            Self::TlsCertificate(_) => "tls-certificate",
            Self::TlsProtocol(_) => "tls-protocol",
            Self::TlsSmtpStarttls(_) => "tls-smtp-starttls",
            Self::HttpFederationMetadata(_) => "http-federation-metadata",
            Self::NetEndpoints(_) => "net-endpoints",
            Self::NetStun(_) => "net-stun",
            Self::NetTlsInspection(_) => "net-tls-inspection",
            Self::NetProxy(_) => "net-proxy",
            Self::QualityLatency(_) => "quality-latency",
            Self::QualityBandwidth(_) => "quality-bandwidth",
            Self::DirectoryObjects(_) => "directory-objects",
            Self::DirectoryForest(_) => "directory-forest",
            Self::EntraSync(_) => "entra-sync",
            Self::EntraAdmins(_) => "entra-admins",
            Self::IntuneMdm(_) => "intune-mdm",
            Self::EntraMfa(_) => "entra-mfa",
            Self::EntraLicences(_) => "entra-licences",
            Self::EntraServices(_) => "entra-services",
        }
    }

    /// The Microsoft Graph application permissions the check reads with: (permission, what it
    /// reads, required). A check without its optional permission still judges, saying what it
    /// could not read; without a required one it skips, naming it.
    pub fn graph_permissions(&self) -> Vec<(&str, &'static str, bool)> {
        let users = graph_users::PERMISSION;
        match self {
            Self::EntraSync(s) => vec![
                (s.permission.as_str(), "organization: sync state", true),
                (users, "users: provisioning errors", false),
            ],
            Self::EntraAdmins(s) => vec![(
                s.permission.as_str(),
                "directoryRoles: Global Administrator members",
                true,
            )],
            Self::IntuneMdm(s) => {
                vec![(s.permission.as_str(), "organization: MDM authority", true)]
            }
            Self::EntraMfa(s) => vec![
                (
                    s.permission.as_str(),
                    "security defaults, Conditional Access policies",
                    true,
                ),
                (
                    s.registration_permission.as_str(),
                    "administrators' MFA registration (Entra ID P1/P2)",
                    false,
                ),
            ],
            Self::EntraLicences(s) => vec![
                (s.permission.as_str(), "subscribedSkus: seats", true),
                (users, "users: licensed, usage location", false),
            ],
            Self::EntraServices(s) => {
                vec![(s.permission.as_str(), "subscribedSkus: service plans", true)]
            }
            _ => vec![],
        }
    }

    /// Measurements that concurrency would skew: the runner runs them after every other check,
    /// one at a time.
    pub fn exclusive(&self) -> bool {
        matches!(self, Self::QualityLatency(_) | Self::QualityBandwidth(_))
    }

    /// What the check runs against.
    pub fn target(&self) -> Target {
        match self {
            Self::TlsCertificate(_) | Self::TlsProtocol(_) => Target::Https,
            Self::TlsSmtpStarttls(_) => Target::Smtp,
            Self::HttpFederationMetadata(_) => Target::Adfs,
            Self::NetEndpoints(_)
            | Self::NetStun(_)
            | Self::NetTlsInspection(_)
            | Self::NetProxy(_)
            | Self::QualityLatency(_)
            | Self::QualityBandwidth(_) => Target::Network,
            Self::DirectoryObjects(_) | Self::DirectoryForest(_) => Target::Directory,
            Self::EntraSync(_)
            | Self::EntraAdmins(_)
            | Self::IntuneMdm(_)
            | Self::EntraMfa(_)
            | Self::EntraLicences(_)
            | Self::EntraServices(_) => Target::Tenant,
            _ => Target::Domain,
        }
    }

    /// Plans a network check: one (subject, probe) per thing it covers (`None` for other kinds).
    pub fn plan_network(&self, cx: &NetworkPlanCx<'_>) -> Option<Vec<(String, Planned)>> {
        Some(match self {
            Self::NetEndpoints(s) => s
                .select(&cx.list.sets, &cx.areas)
                .into_iter()
                .map(|set| {
                    let t = s.plan(set, cx.vars, Some(cx.step));
                    (t.label.clone(), Planned::NetEndpoints(t))
                })
                .collect(),
            Self::NetStun(s) => s
                .plan(&cx.list.sets, cx.step)
                .into_iter()
                .map(|t| (format!("Teams relay {}", t.host), Planned::NetStun(t)))
                .collect(),
            Self::NetTlsInspection(s) => s
                .plan(&cx.list.sets, &cx.areas)
                .into_iter()
                .map(|t| (t.endpoint.to_string(), Planned::NetTlsInspection(t)))
                .collect(),
            Self::NetProxy(s) => s
                .plan(&cx.list.sets, &cx.areas)
                .into_iter()
                .map(|t| (t.endpoint.to_string(), Planned::NetProxy(t)))
                .collect(),
            Self::QualityLatency(s) => s
                .plan(&cx.list.sets)
                .into_iter()
                .map(|t| {
                    let subject = t.relay.as_ref().map_or_else(
                        || {
                            t.fallback
                                .as_ref()
                                .map_or_else(String::new, ToString::to_string)
                        },
                        |(h, p)| format!("Teams relay {h}:{p}"),
                    );
                    (subject, Planned::QualityLatency(t))
                })
                .collect(),
            Self::QualityBandwidth(s) => cx
                .bandwidth_url
                .map(|url| {
                    (
                        url.to_owned(),
                        Planned::QualityBandwidth(quality_bandwidth::QualityBandwidthTask {
                            url: url.to_owned(),
                            users: cx.users,
                            spec: s.clone(),
                        }),
                    )
                })
                .into_iter()
                .collect(),
            _ => return None,
        })
    }

    /// Plans an endpoint check for one endpoint (`None` for domain checks).
    pub fn plan_endpoint(&self, cx: &EndpointPlanCx<'_>) -> Option<Planned> {
        Some(match self {
            Self::TlsCertificate(s) => Planned::TlsCertificate(s.plan(cx)),
            Self::TlsProtocol(s) => Planned::TlsProtocol(s.plan(cx)),
            Self::TlsSmtpStarttls(s) => Planned::TlsSmtpStarttls(s.plan(cx)),
            Self::HttpFederationMetadata(s) => Planned::HttpFederationMetadata(s.plan(cx)),
            _ => return None,
        })
    }

    /// Expands the templates for one domain. `siblings` are the DNS questions the other checks of
    /// the same domain ask (the NS-consistency probe compares them across servers). `None` for
    /// endpoint checks (see [`ProbeSpec::plan_endpoint`]).
    pub fn plan(
        &self,
        cx: &PlanCx<'_>,
        siblings: &[dns::Question],
    ) -> Result<Option<Planned>, TemplateError> {
        Ok(Some(match self {
            Self::DnsRecord(s) => Planned::DnsRecord(s.plan(cx)?),
            Self::DnsMx(s) => Planned::DnsMx(s.plan(cx)?),
            Self::DnsSpf(s) => Planned::DnsSpf(s.plan(cx)?),
            Self::DnsDmarc(s) => Planned::DnsDmarc(s.plan(cx)?),
            Self::DnsNsConsistency(s) => Planned::DnsNsConsistency(s.plan(cx, siblings)),
            Self::EntraDomain(s) => Planned::EntraDomain(s.plan(cx)?),
            Self::TlsCertificate(_)
            | Self::TlsProtocol(_)
            | Self::TlsSmtpStarttls(_)
            | Self::HttpFederationMetadata(_)
            | Self::NetEndpoints(_)
            | Self::NetStun(_)
            | Self::NetTlsInspection(_)
            | Self::NetProxy(_)
            | Self::QualityLatency(_)
            | Self::QualityBandwidth(_)
            | Self::DirectoryObjects(_)
            | Self::DirectoryForest(_)
            | Self::EntraSync(_)
            | Self::EntraAdmins(_)
            | Self::IntuneMdm(_)
            | Self::EntraMfa(_)
            | Self::EntraLicences(_)
            | Self::EntraServices(_) => return Ok(None),
        }))
    }

    /// The requirement levels the check's data gives what it verifies (records, ports), strongest
    /// first: what `tenant-ready checks` and the README show. Kinds without levels verify
    /// something required.
    pub fn levels(&self) -> Vec<crate::level::Level> {
        use crate::level::Level;
        let mut v: Vec<Level> = match self {
            Self::DnsRecord(s) => s.record.iter().map(|r| r.level).collect(),
            Self::DnsMx(s) => vec![s.level],
            Self::DnsSpf(s) => vec![s.level],
            Self::DnsDmarc(s) => vec![s.level],
            Self::DirectoryObjects(s) => s.rule.iter().map(|r| r.level).collect(),
            Self::DirectoryForest(s) => vec![Level::Required, s.recycle_bin_level],
            // The sets' own ports are required; the check file can lower some.
            Self::NetEndpoints(s) => std::iter::once(Level::Required)
                .chain(s.port_levels.iter().map(|l| l.level))
                .collect(),
            Self::NetStun(s) if !s.port_levels.is_empty() => {
                s.port_levels.iter().map(|l| l.level).collect()
            }
            _ => vec![Level::Required],
        };
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether this kind compares the other checks' questions (and so must be planned last).
    pub fn needs_siblings(&self) -> bool {
        matches!(self, Self::DnsNsConsistency(_))
    }
}

/// What a spec needs to expand its templates for one domain.
#[derive(Debug)]
pub struct PlanCx<'a> {
    /// The domain.
    pub domain: &'a DomainName,
    /// `{domain}`, `{cloud.*}`… for this domain.
    pub vars: &'a Vars,
    /// Exact values (tenant.toml, a DKIM export) by field, replacing the shape patterns.
    pub exact: &'a BTreeMap<&'static str, crate::settings::Exact>,
    /// Exchange hybrid: MX/autodiscover may point on-premises.
    pub hybrid: bool,
    /// What Microsoft Graph says about the domain (`--graph`).
    pub graph: Option<&'a crate::tenant::GraphDomain>,
    /// The tenant's cloud (some records apply to some clouds only).
    pub cloud: crate::tenant::Cloud,
    /// Third-party mail gateways in front of Exchange Online (`[[domain]] mx_gateway`).
    pub mx_gateway: &'a [String],
    /// How the domain is expected to sign in (`[[domain]] auth`).
    pub auth: Option<crate::tenant::DomainAuth>,
    /// Whether Microsoft Entra ID may be asked about the domain: not when the user skipped
    /// `entra.domain` (`--skip 'entra.*'` keeps a scan silent towards Microsoft).
    pub ask_entra: bool,
}

/// What an endpoint spec needs to plan for one endpoint.
#[derive(Debug)]
pub struct EndpointPlanCx<'a> {
    /// The endpoint.
    pub endpoint: &'a crate::endpoint::Endpoint,
    /// `[thresholds]` certificate days (warn, fail).
    pub cert_days: (u32, u32),
}

impl EndpointPlanCx<'_> {
    /// The certificate policy: key sizes from the check file, days from `[thresholds]`.
    pub fn cert_policy(&self, keys: crate::tls::chain::KeyPolicy) -> crate::tls::chain::CertPolicy {
        crate::tls::chain::CertPolicy {
            keys,
            warn_days: i64::from(self.cert_days.0),
            fail_days: i64::from(self.cert_days.1),
        }
    }
}

/// What a network spec needs to plan: the endpoint list and the tenant's values.
#[derive(Debug)]
pub struct NetworkPlanCx<'a> {
    /// The Microsoft 365 endpoint list.
    pub list: &'a crate::endpoint_sets::EndpointList,
    /// `{tenant}`, and `{mx}` when the tenant configured an exact MX host.
    pub vars: &'a Vars,
    /// Service areas in use (`Common`, `Exchange`…).
    pub areas: Vec<String>,
    /// The step timeout (caps per-attempt timeouts).
    pub step: Duration,
    /// `[network] bandwidth_url`.
    pub bandwidth_url: Option<&'a str>,
    /// `[tenant] users`.
    pub users: Option<u32>,
}

/// A probe planned for one subject: templates expanded, ready to run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Planned {
    /// See [`dns_record`].
    DnsRecord(dns_record::DnsRecordTask),
    /// See [`dns_mx`].
    DnsMx(dns_mx::DnsMxTask),
    /// See [`dns_spf`].
    DnsSpf(dns_spf::DnsSpfTask),
    /// See [`dns_dmarc`].
    DnsDmarc(dns_dmarc::DnsDmarcTask),
    /// See [`dns_ns_consistency`].
    DnsNsConsistency(dns_ns_consistency::DnsNsConsistencyTask),
    /// See [`entra_domain`].
    EntraDomain(entra_domain::EntraDomainTask),
    /// See [`tls_certificate`].
    TlsCertificate(tls_certificate::TlsCertificateTask),
    /// See [`tls_protocol`].
    TlsProtocol(tls_protocol::TlsProtocolTask),
    /// See [`tls_smtp`].
    TlsSmtpStarttls(tls_smtp::TlsSmtpTask),
    /// See [`tls_federation`].
    HttpFederationMetadata(tls_federation::FederationTask),
    /// See [`net_endpoints`].
    NetEndpoints(net_endpoints::NetEndpointsTask),
    /// See [`net_stun`].
    NetStun(net_stun::NetStunTask),
    /// See [`net_tls_inspection`].
    NetTlsInspection(net_tls_inspection::NetTlsInspectionTask),
    /// See [`net_proxy`].
    NetProxy(net_proxy::NetProxyTask),
    /// See [`quality_latency`].
    QualityLatency(quality_latency::QualityLatencyTask),
    /// See [`quality_bandwidth`].
    QualityBandwidth(quality_bandwidth::QualityBandwidthTask),
    /// See [`directory_objects`].
    DirectoryObjects(directory_objects::DirectoryObjectsTask),
    /// See [`directory_forest`].
    DirectoryForest(directory_forest::DirectoryForestTask),
    /// See [`entra_sync`].
    EntraSync(entra_sync::EntraSyncSpec),
    /// See [`entra_admins`].
    EntraAdmins(entra_admins::EntraAdminsSpec),
    /// See [`intune_mdm`].
    IntuneMdm(intune_mdm::IntuneMdmSpec),
    /// See [`entra_mfa`].
    EntraMfa(entra_mfa::EntraMfaSpec),
    /// See [`entra_licences`].
    EntraLicences(entra_licences::EntraLicencesTask),
    /// See [`entra_services`].
    EntraServices(entra_services::EntraServicesTask),
}

impl Planned {
    /// How long a measurement runs by design (the progress line counts it down: a quality
    /// check takes seconds with nothing else finishing); `None` for a probe that is as quick as
    /// its network.
    pub fn expected_duration(&self) -> Option<Duration> {
        match self {
            Self::QualityLatency(t) => Some(
                Duration::from_millis(t.spec.interval_ms)
                    .saturating_mul(t.spec.samples)
                    .saturating_add(Duration::from_millis(t.spec.reply_timeout_ms)),
            ),
            Self::QualityBandwidth(t) => Some(
                Duration::from_millis(t.spec.max_ms).saturating_mul(if t.spec.upload {
                    2
                } else {
                    1
                }),
            ),
            _ => None,
        }
    }

    /// The DNS questions this probe asks through the resolver (for the NS-consistency comparison).
    pub fn questions(&self) -> Vec<dns::Question> {
        match self {
            Self::DnsRecord(t) => t.questions(),
            Self::DnsMx(t) => vec![t.question()],
            Self::DnsSpf(t) => vec![t.question()],
            Self::DnsDmarc(t) => vec![t.question()],
            Self::DnsNsConsistency(_)
            | Self::EntraDomain(_)
            | Self::TlsCertificate(_)
            | Self::TlsProtocol(_)
            | Self::TlsSmtpStarttls(_)
            | Self::HttpFederationMetadata(_)
            | Self::NetEndpoints(_)
            | Self::NetStun(_)
            | Self::NetTlsInspection(_)
            | Self::NetProxy(_)
            | Self::QualityLatency(_)
            | Self::QualityBandwidth(_)
            | Self::DirectoryObjects(_)
            | Self::DirectoryForest(_)
            | Self::EntraSync(_)
            | Self::EntraAdmins(_)
            | Self::IntuneMdm(_)
            | Self::EntraMfa(_)
            | Self::EntraLicences(_)
            | Self::EntraServices(_) => vec![],
        }
    }
}

/// Shared, cheap-to-clone resources for probes.
#[derive(Clone)]
pub struct ProbeCx {
    /// The resolver every lookup goes through (system configuration or `--nameserver`).
    pub resolver: dns::Resolver,
    /// How authoritative servers are asked directly (NS consistency), with one resolver per
    /// server address shared by every domain the server hosts.
    pub authoritative: dns::Authoritative,
    /// Trust stores for the certificate probes.
    pub tls: crate::tls::TlsCx,
    /// Bound for one network step (connect, handshake, one SMTP reply): shorter than the check's
    /// timeout, so a stalled server is reported by the step that stalled, not a generic timeout.
    pub step: Duration,
    /// Connection attempts in flight across the whole scan (TCP port probes): an endpoint list
    /// is outside input and could otherwise open every host × port at once. See
    /// [`sockets_in_flight`].
    pub sockets: std::sync::Arc<tokio::sync::Semaphore>,
    /// Round trips learnt per destination address over the whole scan (TCP port verdicts wait
    /// for a silent port only as long as the address's replies warrant, see [`rtt`]).
    pub destinations: std::sync::Arc<rtt::Destinations>,
    /// Microsoft Entra ID's discovery answers, one per domain for the whole scan
    /// (`entra.domain` and `dns.verification` share them, see [`discovery`]).
    pub discovery: std::sync::Arc<discovery::DiscoveryMemo>,
    /// The sending ranges of each SPF include, found once per scan (`dns.spf` evaluates every
    /// domain's record for the same ranges, see [`spf_eval`]).
    pub spf_networks: std::sync::Arc<spf_eval::NetworkMemo>,
    /// What macro-free SPF includes conclude per address, shared by every domain's evaluation.
    pub spf_includes: std::sync::Arc<spf_eval::IncludeMemo>,
    /// The Microsoft Graph conversation of `--graph` (its hosts and token), for the checks that
    /// read the tenant itself; `None` without `--graph`.
    pub graph: Option<std::sync::Arc<graph_get::Session>>,
}

/// Bound for one network step of a probe (connect, TLS handshake, one SMTP reply): three quarters
/// of the check's timeout, so a stalled server is named by the step that stalled while the
/// runner's timeout stays the backstop.
pub fn step_timeout(check_timeout: Duration) -> Duration {
    check_timeout * 3 / 4
}

/// An HTTP client error with its causes, for a person (`error sending request: connection
/// refused`), without repeating a cause its wrapper already quotes.
pub fn http_error_chain(e: &reqwest::Error) -> String {
    let mut chain: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        source = s.source();
    }
    chain.join(": ")
}

/// The bound on connection attempts in flight for a scan run with `concurrency` checks at once:
/// four per check slot (1,024 at the default 256), which covers the whole real endpoint list
/// (about 200 host:ports) in one round.
pub fn sockets_in_flight(concurrency: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(
        concurrency
            .saturating_mul(4)
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
    ))
}

impl std::fmt::Debug for ProbeCx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeCx")
            .field("resolver", &self.resolver.describe())
            .field("authoritative", &self.authoritative)
            .field("tls", &self.tls)
            .field("step", &self.step)
            .field("sockets", &self.sockets.available_permits())
            .field("destinations", &self.destinations)
            .field("discovery", &self.discovery)
            .field("spf_networks", &self.spf_networks)
            .field("spf_includes", &self.spf_includes)
            .field("graph", &self.graph)
            .finish()
    }
}

/// A probe could not find out: the evidence would be meaningless.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The resolver (or an authoritative server) failed to answer.
    #[error("{}", .message.render(crate::output::Lang::En))]
    Dns {
        /// Stable label: `timeout`, `refused`, `servfail`, `unreachable`, `malformed`, `truncated`…
        kind: &'static str,
        /// For a person: what was asked, of whom, and what happened.
        message: Text,
    },
    /// The check does not apply, found out only by asking (Microsoft Graph denies the
    /// permission it needs, the tenant lacks the licence): a `skip` saying why, not an `error`.
    #[error("{}", .message.render(crate::output::Lang::En))]
    NotApplicable {
        /// Stable label: `permission`, `licence`.
        kind: &'static str,
        /// For a person: why, and what would make it apply.
        message: Text,
    },
    /// A TCP, TLS, SMTP or HTTP exchange could not be completed (timeout, network error).
    #[error("{}", .message.render(crate::output::Lang::En))]
    Net {
        /// Stable label: `timeout`, `unreachable`, `http`…
        kind: &'static str,
        /// For a person: with whom, and what happened.
        message: Text,
    },
}

impl ProbeError {
    /// Stable low-cardinality label for JSON and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dns { kind, .. } | Self::Net { kind, .. } | Self::NotApplicable { kind, .. } => {
                kind
            }
        }
    }

    /// What happened, as data.
    pub fn text(&self) -> &Text {
        match self {
            Self::Dns { message, .. }
            | Self::Net { message, .. }
            | Self::NotApplicable { message, .. } => message,
        }
    }

    /// A network error of `kind`.
    pub fn net(kind: &'static str, message: Text) -> Self {
        Self::Net { kind, message }
    }

    /// A DNS error of `kind`.
    pub fn dns(kind: &'static str, message: Text) -> Self {
        Self::Dns { kind, message }
    }
}

impl From<crate::directory::Failure> for ProbeError {
    fn from(e: crate::directory::Failure) -> Self {
        Self::Net {
            kind: e.kind,
            message: e.message,
        }
    }
}

impl From<crate::tls::TlsError> for ProbeError {
    fn from(e: crate::tls::TlsError) -> Self {
        Self::Net {
            kind: e.kind,
            message: e.message,
        }
    }
}

/// Runs one planned probe: observe, then judge. Returns the evidence as JSON plus the judgement.
pub async fn run(planned: &Planned, cx: &ProbeCx) -> Result<(Evidence, Judgement), ProbeError> {
    fn pack<E: serde::Serialize>(evidence: &E, j: Judgement) -> (Evidence, Judgement) {
        (Evidence::of(evidence), j)
    }
    Ok(match planned {
        Planned::DnsRecord(t) => {
            let e = dns_record::observe(t, cx).await?;
            let j = dns_record::judge(t, &e);
            pack(&e, j)
        }
        Planned::DnsMx(t) => {
            let e = dns_mx::observe(t, cx).await?;
            let j = dns_mx::judge(t, &e);
            pack(&e, j)
        }
        Planned::DnsSpf(t) => {
            let e = dns_spf::observe(t, cx).await?;
            let j = dns_spf::judge(t, &e);
            pack(&e, j)
        }
        Planned::DnsDmarc(t) => {
            let e = dns_dmarc::observe(t, cx).await?;
            let j = dns_dmarc::judge(t, &e);
            pack(&e, j)
        }
        Planned::DnsNsConsistency(t) => {
            let e = dns_ns_consistency::observe(t, cx).await?;
            let j = dns_ns_consistency::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraDomain(t) => {
            let e = entra_domain::observe(t, cx).await?;
            let j = entra_domain::judge(t, &e);
            pack(&e, j)
        }
        Planned::TlsCertificate(t) => {
            let e = tls_certificate::observe(t, cx).await?;
            let j = tls_certificate::judge(t, &e);
            pack(&e, j)
        }
        Planned::TlsProtocol(t) => {
            let e = tls_protocol::observe(t, cx).await?;
            let j = tls_protocol::judge(t, &e);
            pack(&e, j)
        }
        Planned::TlsSmtpStarttls(t) => {
            let e = tls_smtp::observe(t, cx).await?;
            let j = tls_smtp::judge(t, &e);
            pack(&e, j)
        }
        Planned::HttpFederationMetadata(t) => {
            let e = tls_federation::observe(t, cx).await?;
            let j = tls_federation::judge(t, &e);
            pack(&e, j)
        }
        Planned::NetEndpoints(t) => {
            let e = net_endpoints::observe(t, cx).await?;
            let j = net_endpoints::judge(t, &e);
            pack(&e, j)
        }
        Planned::NetStun(t) => {
            let e = net_stun::observe(t, cx).await?;
            let j = net_stun::judge(t, &e);
            pack(&e, j)
        }
        Planned::NetTlsInspection(t) => {
            let e = net_tls_inspection::observe(t, cx).await?;
            let j = net_tls_inspection::judge(t, &e);
            pack(&e, j)
        }
        Planned::NetProxy(t) => {
            let e = net_proxy::observe(t, cx).await?;
            let j = net_proxy::judge(t, &e);
            pack(&e, j)
        }
        Planned::QualityLatency(t) => {
            let e = quality_latency::observe(t, cx).await?;
            let j = quality_latency::judge(t, &e);
            pack(&e, j)
        }
        Planned::QualityBandwidth(t) => {
            let e = quality_bandwidth::observe(t, cx).await?;
            let j = quality_bandwidth::judge(t, &e);
            pack(&e, j)
        }
        Planned::DirectoryObjects(t) => {
            let e = directory_objects::observe(t, cx).await?;
            let j = directory_objects::judge(t, &e);
            pack(&e, j)
        }
        Planned::DirectoryForest(t) => {
            let e = directory_forest::observe(t, cx).await?;
            let j = directory_forest::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraSync(t) => {
            let e = entra_sync::observe(t, cx).await?;
            let j = entra_sync::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraAdmins(t) => {
            let e = entra_admins::observe(t, cx).await?;
            let j = entra_admins::judge(t, &e);
            pack(&e, j)
        }
        Planned::IntuneMdm(t) => {
            let e = intune_mdm::observe(t, cx).await?;
            let j = intune_mdm::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraMfa(t) => {
            let e = entra_mfa::observe(t, cx).await?;
            let j = entra_mfa::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraLicences(t) => {
            let e = entra_licences::observe(t, cx).await?;
            let j = entra_licences::judge(t, &e);
            pack(&e, j)
        }
        Planned::EntraServices(t) => {
            let e = entra_services::observe(t, cx).await?;
            let j = entra_services::judge(t, &e);
            pack(&e, j)
        }
    })
}

/// Default per-query DNS timeout cap: one lost UDP packet should not eat the whole check budget.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(2);
