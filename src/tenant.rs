//! The tenant description: `tenant.toml` (DESIGN.md §4) and its vocabulary ([`Cloud`],
//! [`Service`]). Parsing is strict: an unknown key is an error with its line and column, so a typo
//! never silently disables a check.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The Microsoft 365 cloud (national clouds have their own record values, `checks/clouds.toml`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial / worldwide.
    #[default]
    Worldwide,
    /// US Government Community Cloud.
    Gcc,
    /// GCC High.
    GccHigh,
    /// US Department of Defense.
    Dod,
    /// Operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud.
    pub const ALL: [Self; 5] = [
        Self::Worldwide,
        Self::Gcc,
        Self::GccHigh,
        Self::Dod,
        Self::China,
    ];

    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worldwide => "worldwide",
            Self::Gcc => "gcc",
            Self::GccHigh => "gcc-high",
            Self::Dod => "dod",
            Self::China => "china",
        }
    }
}

/// A workload whose records a domain needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// Exchange Online: MX, SPF, autodiscover, DKIM, DMARC.
    Exchange,
    /// Teams / Skype for Business Online: SIP CNAMEs and SRVs.
    Teams,
    /// Intune / device registration CNAMEs.
    Intune,
}

impl Service {
    /// The default set for a domain named without a configuration.
    pub const DEFAULT: [Self; 3] = [Self::Exchange, Self::Teams, Self::Intune];

    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exchange => "exchange",
            Self::Teams => "teams",
            Self::Intune => "intune",
        }
    }
}

/// How a domain signs users in (Microsoft Entra ID's `authenticationType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainAuth {
    /// Cloud authentication (password hash sync, pass-through authentication).
    Managed,
    /// Federated to an STS (AD FS or another identity provider).
    Federated,
}

impl DomainAuth {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Managed => "managed",
            Self::Federated => "federated",
        }
    }
}

/// `tenant.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// `[tenant]`.
    #[serde(default)]
    pub tenant: TenantSection,
    /// `[[domain]]`.
    #[serde(default)]
    pub domain: Vec<DomainEntry>,
    /// `[endpoints]` (used by the certificate checks).
    #[serde(default)]
    pub endpoints: EndpointsSection,
    /// `[network]` (used by the network checks).
    #[serde(default)]
    pub network: NetworkSection,
    /// `[thresholds]`.
    #[serde(default)]
    pub thresholds: ThresholdsSection,
    /// `[checks]`.
    #[serde(default)]
    pub checks: ChecksSection,
    /// `[directory]` (the on-premises Active Directory, checked before sync).
    #[serde(default)]
    pub directory: Option<DirectorySection>,
}

/// `[directory]`: where the on-premises Active Directory is and how to bind. The password is
/// never here: it comes from `TENANT_READY_LDAP_PASSWORD`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    /// `ldaps://dc1.contoso.com` (or `ldap://…` with `starttls = true`).
    pub url: Option<String>,
    /// Where to search (default: the RootDSE's `defaultNamingContext`).
    pub base_dn: Option<String>,
    /// A UPN (`svc-readiness@contoso.com`) or DN to bind as.
    pub user: Option<String>,
    /// Upgrade `ldap://` with StartTLS.
    #[serde(default)]
    pub starttls: bool,
}

/// `[checks]`: the user's own check definitions.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSection {
    /// Directories of check files added to the built-in ones (relative to tenant.toml).
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
}

/// `[tenant]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    /// Display name.
    pub name: Option<String>,
    /// `contoso.onmicrosoft.com`: makes DKIM targets exact.
    pub initial_domain: Option<String>,
    /// The cloud.
    pub cloud: Option<Cloud>,
    /// Number of users (bandwidth model).
    pub users: Option<u32>,
    /// A `Get-DkimSigningConfig | ConvertTo-Json` export (relative to the file's directory): the
    /// exact DKIM targets of every domain it lists.
    pub dkim_file: Option<PathBuf>,
    /// Ask Microsoft Graph for the tenant's exact records (like `--graph`).
    pub graph: Option<bool>,
}

/// `[[domain]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    /// The domain.
    pub name: String,
    /// Record groups expected.
    pub services: Option<Vec<Service>>,
    /// Exact verification TXT value from the admin center.
    pub verification: Option<String>,
    /// Exact expected MX host.
    pub mx: Option<String>,
    /// Exact target of `selector1._domainkey` (Selector1CNAME of Get-DkimSigningConfig).
    pub dkim_selector1: Option<String>,
    /// Exact target of `selector2._domainkey` (Selector2CNAME).
    pub dkim_selector2: Option<String>,
    /// Exchange hybrid: MX and autodiscover may point to on-premises Exchange.
    pub hybrid: Option<bool>,
    /// Third-party mail gateways in front of Exchange Online (MX host patterns,
    /// `*.mimecast.com`): a lowest-preference MX matching one passes.
    pub mx_gateway: Option<Vec<String>>,
    /// How the domain is expected to sign in: `managed` or `federated`.
    pub auth: Option<DomainAuth>,
}

/// `[endpoints]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointsSection {
    /// Customer-owned HTTPS endpoints (`host` or `host:port`).
    #[serde(default)]
    pub https: Vec<String>,
    /// SMTP hosts (STARTTLS on 25).
    #[serde(default)]
    pub smtp: Vec<String>,
    /// AD FS host.
    pub adfs: Option<String>,
}

/// `[network]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Throughput test URL.
    pub bandwidth_url: Option<String>,
    /// A saved endpoint web-service JSON (relative to the file's directory).
    pub endpoints_file: Option<PathBuf>,
}

/// `[thresholds]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsSection {
    /// Certificate expiry warning, days.
    pub cert_warn_days: Option<u32>,
    /// Certificate expiry failure, days.
    pub cert_fail_days: Option<u32>,
}

/// A domain of the tenant, as Graph lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphDomain {
    /// The domain name.
    pub id: String,
    /// `Managed` or `Federated`.
    #[serde(default)]
    pub authentication_type: Option<String>,
    /// Verified in this tenant.
    #[serde(default)]
    pub is_verified: bool,
    /// The initial `*.onmicrosoft.com` domain.
    #[serde(default)]
    pub is_initial: bool,
    /// The default domain for new users.
    #[serde(default)]
    pub is_default: bool,
    /// `Email`, `OfficeCommunicationsOnline`, `Intune`…
    #[serde(default)]
    pub supported_services: Vec<String>,
}

/// The `[[domain]]` fields that make an expectation exact (check files name them in
/// `exact_from`), and how a user sets each: the key of the sentence a shape-checked result ends
/// with (`checks/messages.toml`).
pub const EXACT_FIELDS: &[(&str, &str)] = &[
    ("verification", "hint.verification"),
    ("mx", "hint.mx"),
    ("dkim_selector1", "hint.dkim"),
    ("dkim_selector2", "hint.dkim"),
];

/// How to make a shape-checked expectation exact, as a message key (`None` for a field that is
/// not an exact field).
pub fn exact_hint(field: &str) -> Option<&'static str> {
    EXACT_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, h)| *h)
}
