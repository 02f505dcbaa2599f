//! Settings for one scan: the command line layered over `tenant.toml` layered over the defaults.
//!
//! [`Settings::resolve`] is **pure**: the file is read beforehand ([`load_file`]) and the
//! environment is passed in ([`Env`]), so layering and validation are unit-tested without I/O.
//! Every problem is a [`ConfigError`] naming the flag or the file and field; nothing runs then.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ColorChoice, FailOn, Format, Lang, ScanArgs};
use crate::dkim_export::DkimEntry;
use crate::domain::DomainName;
use crate::endpoint::Endpoint;
use crate::error::ConfigError;
use crate::tenant::{Cloud, Service, TenantFile};

/// Per-check timeout when neither the flag nor the check sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Checks in flight. A DNS check is a few queries and some bytes of memory; 256 keeps hundreds of
/// domains moving without exhausting file descriptors (each in-flight query holds a socket).
pub const DEFAULT_CONCURRENCY: usize = 256;

/// The most checks in flight at once (`--concurrency`). Each may hold a few sockets (connection
/// attempts are bounded at 4 per check slot, DNS questions likewise), so far beyond this a scan
/// only runs out of file descriptors; and a limit that size once reached `Semaphore::new`
/// unchecked and panicked (issue 25: `--concurrency 576460752303423488 --nameserver …`).
pub const MAX_CONCURRENCY: usize = 65_536;
/// Certificate expiry warning threshold, days.
pub const DEFAULT_CERT_WARN_DAYS: u32 = 30;
/// Certificate expiry failure threshold, days.
pub const DEFAULT_CERT_FAIL_DAYS: u32 = 7;

/// What the process environment contributes.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `NO_COLOR` is set (to anything non-empty).
    pub no_color: bool,
    /// `LC_ALL` / `LANG`.
    pub lang: Option<String>,
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal.
    pub stderr_tty: bool,
    /// The width the human report wraps to: `COLUMNS` when set, else the terminal's when stdout
    /// is one (100 when it cannot be read); `None` for a file or a pipe, where each result stays
    /// on one line (so grep finds it whole).
    pub columns: Option<usize>,
    /// `TENANT_READY_LDAP_PASSWORD`: the directory's bind password.
    pub ldap_password: Option<crate::secrets::Secret>,
    /// Variables the scan reads before the process environment's (the offline demo hands over
    /// its lab app's `AZURE_*` here: the process environment is the user's, and a test may run
    /// many demos at once).
    pub vars: Vec<(String, crate::secrets::Secret)>,
}

impl Env {
    /// `key` from [`Env::vars`], else from the process environment.
    pub fn var(&self, key: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.expose().to_owned())
            .or_else(|| std::env::var(key).ok())
    }

    /// The report language `LANG`/`LC_ALL` ask for: Korean when they start with `ko`.
    pub fn lang(&self) -> Lang {
        match &self.lang {
            Some(l) if l.starts_with("ko") => Lang::Ko,
            _ => Lang::En,
        }
    }
}

/// A tenant.toml read from disk, with the files it names that settings need.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its content.
    pub file: TenantFile,
    /// `[tenant] dkim_file`: where it was read from, and its entries.
    pub dkim: Option<(PathBuf, Vec<DkimEntry>)>,
}

/// Reads and parses a tenant.toml and the DKIM export it names (the only I/O of the settings
/// layer). A UTF-8 BOM or UTF-16, as Windows editors save, is accepted.
pub fn load_file(path: &Path) -> Result<LoadedFile, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file = parse_file(&bytes, path)?;
    let dkim = match &file.tenant.dkim_file {
        Some(p) => {
            let full = path.parent().unwrap_or(Path::new("")).join(p);
            let entries =
                crate::dkim_export::read(&full).map_err(|message| ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!("tenant.dkim_file: {message}"),
                })?;
            Some((full, entries))
        }
        None => None,
    };
    Ok(LoadedFile {
        path: path.to_owned(),
        file,
        dkim,
    })
}

/// Parses a tenant.toml's bytes (any encoding [`crate::text_file::decode`] reads); `path`
/// names it in errors. Pure: the files it names are read by [`load_file`].
pub fn parse_file(bytes: &[u8], path: &Path) -> Result<TenantFile, ConfigError> {
    let text = crate::text_file::decode(bytes)
        .map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .0;
    toml::from_str(&text).map_err(|e| ConfigError::from_toml(path, &text, &e))
}

/// A value a record must equal exactly, and where it came from (evidence and messages name it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exact {
    /// The value (normalised).
    pub value: String,
    /// Where it came from: `tenant.toml [[domain]] mx`, `dkim.json (Get-DkimSigningConfig)`.
    pub from: String,
}

// Which `[[domain]]` fields make an expectation exact is the tenant file's vocabulary (probes and
// the catalogue's validation read it too, without depending on the settings).
pub use crate::tenant::{EXACT_FIELDS, exact_hint};

/// `[endpoints]`, validated and normalised (duplicates removed, order kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// HTTPS endpoints (port 443 unless given).
    pub https: Vec<Endpoint>,
    /// SMTP hosts (port 25 unless given).
    pub smtp: Vec<Endpoint>,
    /// The AD FS host (port 443 unless given).
    pub adfs: Option<Endpoint>,
}

/// Parses a list of endpoints, naming the field and index of a bad one.
fn parse_endpoints(field: &str, list: &[String], port: u16) -> Result<Vec<Endpoint>, String> {
    let mut out: Vec<Endpoint> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let e = Endpoint::parse(s, port).map_err(|e| format!("{field}[{i}]: {e}"))?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// One domain to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSettings {
    /// Normalised name.
    pub name: DomainName,
    /// Record groups expected.
    pub services: Vec<Service>,
    /// Exchange hybrid.
    pub hybrid: bool,
    /// Exact values by `[[domain]]` field ([`EXACT_FIELDS`]).
    pub exact: BTreeMap<&'static str, Exact>,
    /// What Microsoft Graph says about the domain (`--graph`), filled in before planning.
    pub graph: Option<crate::tenant::GraphDomain>,
    /// Third-party mail gateways in front of Exchange Online, as name patterns
    /// ([`crate::pattern::host_glob`]).
    pub mx_gateway: Vec<String>,
    /// How the domain is expected to sign in (`[[domain]] auth`).
    pub auth: Option<crate::tenant::DomainAuth>,
}

impl DomainSettings {
    /// The exact value of a field, if any.
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.exact.get(field).map(|e| e.value.as_str())
    }
}

/// Everything a scan needs, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Ask Microsoft Graph for the exact records (`--graph`, `[tenant] graph`).
    pub graph: bool,
    /// `--redact-users`: people's names in the tenant checks' evidence become stable hashes.
    pub redact_users: bool,
    /// `--shard K/N`: this shard's domains only (already filtered in `domains`).
    pub shard: Option<crate::shard::Shard>,
    /// List the manual checklist in the human report: `--checklist`, or a full scan.
    pub checklist: bool,
    /// Tenant display name.
    pub tenant_name: Option<String>,
    /// Initial `*.onmicrosoft.com` domain.
    pub initial_domain: Option<DomainName>,
    /// Cloud.
    pub cloud: Cloud,
    /// Users (bandwidth model).
    pub users: Option<u32>,
    /// Domains, in order.
    pub domains: Vec<DomainSettings>,
    /// Explicit resolvers (empty = system).
    pub nameservers: Vec<SocketAddr>,
    /// Port for direct authoritative queries.
    pub authoritative_port: u16,
    /// stdout format.
    pub format: Format,
    /// Where the stdout format goes instead of stdout.
    pub output: Option<PathBuf>,
    /// Extra reports.
    pub reports: Vec<(Format, PathBuf)>,
    /// `--report directory-csv=FILE`: every offending directory value (IdFix's columns).
    pub directory_csv: Option<PathBuf>,
    /// `--only` globs.
    pub only: Vec<String>,
    /// `--skip` globs.
    pub skip: Vec<String>,
    /// Verdict rule.
    pub fail_on: FailOn,
    /// Per-check timeout.
    pub timeout: Duration,
    /// Whole-run budget.
    pub budget: Option<Duration>,
    /// Checks in flight.
    pub concurrency: NonZeroUsize,
    /// Human report language.
    pub lang: Lang,
    /// Show a progress bar.
    pub progress: bool,
    /// Colour the human report.
    pub color: bool,
    /// The terminal width the human report on stdout wraps to ([`Env::columns`]).
    pub width: Option<usize>,
    /// Log verbosity (-v minus -q).
    pub verbosity: i8,
    /// Check definitions directory.
    pub checks_dirs: Vec<PathBuf>,
    /// Whether the built-in checks are loaded too (`--no-builtin-checks` turns them off).
    pub builtin_checks: bool,
    /// Endpoint web-service JSON.
    pub endpoints_file: Option<PathBuf>,
    /// Extra CA file.
    pub ca_file: Option<PathBuf>,
    /// Certificate thresholds (warn, fail), days.
    pub cert_days: (u32, u32),
    /// Customer-owned TLS endpoints (`[endpoints]`).
    pub endpoints: Endpoints,
    /// `[network] bandwidth_url`.
    pub bandwidth_url: Option<String>,
    /// The configuration file used, if any.
    pub config_path: Option<PathBuf>,
    /// `[directory]` / `--directory`: the on-premises Active Directory.
    pub directory: Option<crate::directory::DirectorySettings>,
    /// The domains Microsoft Graph lists as verified in the tenant (`--graph`; empty without):
    /// the directory checks count them as the tenant's, beside tenant.toml's.
    pub graph_verified: Vec<String>,
}

/// `[directory]` and `--directory`, checked: a URL (the flag's first), TLS for a bind, and a
/// password from the environment when a user is named.
fn directory_settings(
    section: Option<&crate::tenant::DirectorySection>,
    flag: Option<&str>,
    env: &Env,
    in_file: InFile<'_>,
) -> Result<Option<crate::directory::DirectorySettings>, ConfigError> {
    use crate::directory::{PASSWORD_VAR, parse_url};
    let empty = crate::tenant::DirectorySection::default();
    let section = section.unwrap_or(&empty);
    let url = match (flag, section.url.as_deref()) {
        (Some(u), _) => parse_url(u).map_err(|e| usage(format!("--directory {e}")))?,
        (None, Some(u)) => parse_url(u).map_err(|e| in_file(format!("directory.url: {e}")))?,
        (None, None) if section.base_dn.is_some() || section.user.is_some() => {
            return Err(in_file(
                "directory: set url (ldaps://dc1.contoso.com) or give --directory URL".into(),
            ));
        }
        (None, None) => return Ok(None),
    };
    if section.starttls && url.starts_with("ldaps://") {
        return Err(in_file(
            "directory.starttls: an ldaps:// URL is already TLS; StartTLS upgrades ldap://".into(),
        ));
    }
    for (field, v) in [("base_dn", &section.base_dn), ("user", &section.user)] {
        if let Some(v) = v
            && (v.trim().is_empty() || v.chars().any(char::is_control))
        {
            return Err(in_file(format!(
                "directory.{field}: must be a non-empty value without control characters"
            )));
        }
    }
    let password = env.ldap_password.clone();
    if section.user.is_some() && password.is_none() {
        return Err(usage(format!(
            "[directory] user is set but {PASSWORD_VAR} is not: export the bind password in {PASSWORD_VAR} (it is never read from a file or a flag)"
        )));
    }
    Ok(Some(crate::directory::DirectorySettings {
        url,
        base_dn: section.base_dn.clone(),
        user: section.user.clone(),
        password,
        starttls: section.starttls,
    }))
}

fn usage(msg: impl Into<String>) -> ConfigError {
    ConfigError::Usage(msg.into())
}

/// Parses `IP`, `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_nameserver(s: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(usage(format!(
        "--nameserver `{s}`: expected an IP address with an optional port, e.g. 192.0.2.53 or 192.0.2.53:5353"
    )))
}

/// The longest `--timeout` or `--budget` accepted: a day is far beyond any check, and keeps every
/// deadline computation far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

fn parse_duration(flag: &str, s: &str) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(s).map_err(|e| {
        usage(format!(
            "{flag} `{s}`: not a duration ({e}); use e.g. 500ms, 5s, 2m"
        ))
    })?;
    if d.is_zero() {
        return Err(usage(format!("{flag} must be more than zero")));
    }
    // A deadline is `now + d`: an absurd value (`300000000000y`) would overflow the clock.
    if d > MAX_DURATION {
        return Err(usage(format!(
            "{flag} `{s}` is longer than {}; use e.g. 30s, 5m, 1h",
            humantime::format_duration(MAX_DURATION)
        )));
    }
    Ok(d)
}

/// The file's layer beyond the domains: `tenant.toml` checked field by field (each error names
/// the field), with the defaults for what it leaves out.
struct FileLayer {
    initial_domain: Option<DomainName>,
    cert_days: (u32, u32),
    endpoints: Endpoints,
    bandwidth_url: Option<String>,
}

/// How a problem in the file is reported: naming the file when there is one.
type InFile<'a> = &'a dyn Fn(String) -> ConfigError;

impl FileLayer {
    fn read(tf: &TenantFile, in_file: InFile<'_>) -> Result<Self, ConfigError> {
        let initial_domain = match &tf.tenant.initial_domain {
            Some(s) => Some(
                DomainName::parse(s).map_err(|e| in_file(format!("tenant.initial_domain: {e}")))?,
            ),
            None => None,
        };
        if tf.tenant.users == Some(0) {
            return Err(in_file("tenant.users: must be at least 1".into()));
        }
        let warn = tf
            .thresholds
            .cert_warn_days
            .unwrap_or(DEFAULT_CERT_WARN_DAYS);
        let fail = tf
            .thresholds
            .cert_fail_days
            .unwrap_or(DEFAULT_CERT_FAIL_DAYS);
        if fail > warn {
            return Err(in_file(format!(
                "thresholds.cert_fail_days ({fail}) must not exceed thresholds.cert_warn_days ({warn})"
            )));
        }
        let endpoints = Endpoints {
            https: parse_endpoints("endpoints.https", &tf.endpoints.https, 443).map_err(in_file)?,
            smtp: parse_endpoints("endpoints.smtp", &tf.endpoints.smtp, 25).map_err(in_file)?,
            adfs: tf
                .endpoints
                .adfs
                .as_deref()
                .map(|a| {
                    Endpoint::parse(a, 443).map_err(|e| in_file(format!("endpoints.adfs: {e}")))
                })
                .transpose()?,
        };
        let bandwidth_url = match &tf.network.bandwidth_url {
            Some(u) => {
                let parsed = reqwest::Url::parse(u)
                    .map_err(|e| in_file(format!("network.bandwidth_url: `{u}`: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(in_file(format!(
                        "network.bandwidth_url: `{u}` must be an http:// or https:// URL with a host"
                    )));
                }
                Some(u.clone())
            }
            None => None,
        };
        Ok(Self {
            initial_domain,
            cert_days: (warn, fail),
            endpoints,
            bandwidth_url,
        })
    }
}

/// One `[[domain]]` entry (the `i`th), validated, with its exact values.
fn file_domain(
    i: usize,
    d: &crate::tenant::DomainEntry,
    in_file: InFile<'_>,
) -> Result<DomainSettings, ConfigError> {
    let name = DomainName::parse(&d.name).map_err(|e| in_file(format!("domain[{i}].name: {e}")))?;
    if let Some(v) = &d.verification
        && !v.starts_with("MS=")
    {
        return Err(in_file(format!(
            "domain[{i}].verification: `{v}` must be the whole TXT value, starting with MS= (e.g. MS=ms12345678)"
        )));
    }
    let mut exact = BTreeMap::new();
    let from = |field: &str| format!("tenant.toml [[domain]] {field}");
    if let Some(v) = &d.verification {
        exact.insert(
            "verification",
            Exact {
                value: v.clone(),
                from: from("verification"),
            },
        );
    }
    if let Some(m) = &d.mx {
        let value = DomainName::parse(m)
            .map_err(|e| in_file(format!("domain[{i}].mx: {e}")))?
            .to_string();
        exact.insert(
            "mx",
            Exact {
                value,
                from: from("mx"),
            },
        );
    }
    for (n, field, value) in [
        (1, "dkim_selector1", &d.dkim_selector1),
        (2, "dkim_selector2", &d.dkim_selector2),
    ] {
        if let Some(v) = value {
            let value = crate::dkim_export::check_target(n, v)
                .map_err(|e| in_file(format!("domain[{i}].{field}: {e}")))?;
            exact.insert(
                field,
                Exact {
                    value,
                    from: from(field),
                },
            );
        }
    }
    let services = d
        .services
        .clone()
        .unwrap_or_else(|| Service::DEFAULT.to_vec());
    if services.is_empty() {
        return Err(in_file(format!(
            "domain[{i}].services: list at least one of exchange, teams, intune"
        )));
    }
    let mut mx_gateway = Vec::new();
    for (j, g) in d.mx_gateway.iter().flatten().enumerate() {
        mx_gateway.push(
            crate::pattern::host_glob(g)
                .map_err(|e| in_file(format!("domain[{i}].mx_gateway[{j}]: {e}")))?,
        );
    }
    if d.mx_gateway.as_ref().is_some_and(Vec::is_empty) {
        return Err(in_file(format!(
            "domain[{i}].mx_gateway: list the gateway's MX hosts, e.g. [\"*.mimecast.com\"] (or leave it out)"
        )));
    }
    Ok(DomainSettings {
        name,
        services,
        hybrid: d.hybrid.unwrap_or(false),
        exact,
        graph: None,
        mx_gateway,
        auth: d.auth,
    })
}

/// The command line's layer (with the environment): each flag parsed and checked, each error
/// naming the flag; an absent flag takes its default.
struct FlagLayer {
    nameservers: Vec<SocketAddr>,
    timeout: Duration,
    budget: Option<Duration>,
    concurrency: NonZeroUsize,
    reports: Vec<(Format, PathBuf)>,
    directory_csv: Option<PathBuf>,
    lang: Lang,
    color: bool,
}

impl FlagLayer {
    fn read(args: &ScanArgs, env: &Env) -> Result<Self, ConfigError> {
        let nameservers = args
            .nameserver
            .iter()
            .map(|s| parse_nameserver(s))
            .collect::<Result<Vec<_>, _>>()?;
        let timeout = match &args.timeout {
            Some(s) => parse_duration("--timeout", s)?,
            None => DEFAULT_TIMEOUT,
        };
        let budget = args
            .budget
            .as_deref()
            .map(|s| parse_duration("--budget", s))
            .transpose()?;
        let concurrency = NonZeroUsize::new(args.concurrency.unwrap_or(DEFAULT_CONCURRENCY))
            .ok_or_else(|| usage("--concurrency must be at least 1"))?;
        if concurrency.get() > MAX_CONCURRENCY {
            return Err(usage(format!(
                "--concurrency {concurrency} is more than {MAX_CONCURRENCY}, the most checks tenant-ready runs at once"
            )));
        }
        let mut reports = Vec::new();
        let mut directory_csv = None;
        for r in &args.report {
            let (fmt, path) = r
                .split_once('=')
                .filter(|(_, p)| !p.is_empty())
                .ok_or_else(|| {
                    usage(format!(
                        "--report `{r}`: expected FORMAT=PATH, e.g. json=out/report.json"
                    ))
                })?;
            if fmt == "directory-csv" {
                directory_csv = Some(PathBuf::from(path));
                continue;
            }
            let fmt = Format::parse(fmt).ok_or_else(|| {
                usage(format!(
                    "--report `{r}`: unknown format `{fmt}` (human, json, markdown, junit, html, ndjson, directory-csv)"
                ))
            })?;
            reports.push((fmt, PathBuf::from(path)));
        }
        for p in args.only.iter().chain(&args.skip) {
            if p.trim().is_empty() {
                return Err(usage("--only/--skip need a non-empty pattern"));
            }
        }
        let lang = args.lang.unwrap_or_else(|| env.lang());
        let color = match args.color.unwrap_or_default() {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env.stdout_tty && !env.no_color && args.output.is_none(),
        };
        Ok(Self {
            nameservers,
            timeout,
            budget,
            concurrency,
            reports,
            directory_csv,
            lang,
            color,
        })
    }
}

/// The domains to scan: the command line's replace the file's list (a domain the file describes
/// keeps the file's settings); the DKIM export fills what the file leaves out; at least one, none
/// twice.
fn scan_domains(
    args: &ScanArgs,
    file_domains: Vec<DomainSettings>,
    dkim: Option<&(PathBuf, Vec<DkimEntry>)>,
    in_file: InFile<'_>,
) -> Result<Vec<DomainSettings>, ConfigError> {
    // CLI domains replace the file's list; a CLI domain that the file describes keeps the
    // file's settings for it.
    let mut domains = Vec::new();
    if args.domains.is_empty() {
        domains = file_domains;
    } else {
        for arg in &args.domains {
            let name = DomainName::parse(arg)
                .map_err(|e| usage(format!("domain argument `{arg}`: {e}")))?;
            let d = file_domains
                .iter()
                .find(|d| d.name == name)
                .cloned()
                .unwrap_or(DomainSettings {
                    name,
                    services: Service::DEFAULT.to_vec(),
                    hybrid: false,
                    exact: BTreeMap::new(),
                    graph: None,
                    mx_gateway: Vec::new(),
                    auth: None,
                });
            domains.push(d);
        }
    }
    // The DKIM export fills what tenant.toml does not set itself (a value written in the
    // [[domain]] entry is the more deliberate one).
    if let Some((path, entries)) = dkim {
        for d in &mut domains {
            let Some(e) = entries.iter().find(|e| e.domain == d.name) else {
                continue;
            };
            for (field, value) in [
                ("dkim_selector1", &e.selector1),
                ("dkim_selector2", &e.selector2),
            ] {
                if let Some(v) = value {
                    d.exact.entry(field).or_insert_with(|| Exact {
                        value: v.clone(),
                        from: format!("{} (Get-DkimSigningConfig)", path.display()),
                    });
                }
            }
        }
    }
    if domains.is_empty() {
        return Err(usage(
            "no domains to scan: give DOMAIN arguments or --config tenant.toml with [[domain]] entries (tenant-ready init writes a starter file)",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &domains {
        if !seen.insert(d.name.clone()) {
            return Err(in_file(format!("domain {} is listed twice", d.name)));
        }
    }
    Ok(domains)
}

impl Settings {
    /// Layers CLI > file > defaults and validates. Pure: each layer is read and checked on its own
    /// ([`FileLayer`], [`FlagLayer`], [`scan_domains`]), then combined here.
    pub fn resolve(
        args: &ScanArgs,
        file: Option<&LoadedFile>,
        env: &Env,
    ) -> Result<Self, ConfigError> {
        let empty = TenantFile::default();
        let (tf, fpath) = match file {
            Some(f) => (&f.file, Some(f.path.as_path())),
            None => (&empty, None),
        };
        let in_file = |msg: String| match fpath {
            Some(p) => ConfigError::Invalid {
                path: p.to_owned(),
                message: msg,
            },
            None => ConfigError::Usage(msg),
        };
        // Domains first (as they always were: the first problem reported stays the same), then
        // the rest of the file, then the flags.
        let file_domains = tf
            .domain
            .iter()
            .enumerate()
            .map(|(i, d)| file_domain(i, d, &in_file))
            .collect::<Result<Vec<_>, _>>()?;
        let domains = scan_domains(
            args,
            file_domains,
            file.and_then(|f| f.dkim.as_ref()),
            &in_file,
        )?;
        let shard = args
            .shard
            .as_deref()
            .map(crate::shard::Shard::parse)
            .transpose()
            .map_err(usage)?;
        let mut domains = domains;
        if let Some(shard) = shard {
            domains.retain(|d| shard.contains(&d.name.to_string()));
        }
        let from_file = FileLayer::read(tf, &in_file)?;
        let flags = FlagLayer::read(args, env)?;
        let directory = directory_settings(
            tf.directory.as_ref(),
            args.directory.as_deref(),
            env,
            &in_file,
        )?;
        let base = fpath.and_then(Path::parent).unwrap_or(Path::new(""));
        let endpoints_file = args
            .endpoints
            .clone()
            .or_else(|| tf.network.endpoints_file.as_ref().map(|p| base.join(p)));
        Ok(Self {
            graph: args.graph || tf.tenant.graph.unwrap_or(false),
            redact_users: args.redact_users,
            shard,
            checklist: args.checklist || (args.only.is_empty() && args.skip.is_empty()),
            tenant_name: tf.tenant.name.clone(),
            initial_domain: from_file.initial_domain,
            cloud: tf.tenant.cloud.unwrap_or_default(),
            users: tf.tenant.users,
            domains,
            nameservers: flags.nameservers,
            authoritative_port: args.authoritative_port.unwrap_or(53),
            format: args.format.unwrap_or(Format::Human),
            output: args.output.clone(),
            reports: flags.reports,
            directory_csv: flags.directory_csv,
            only: args.only.clone(),
            skip: args.skip.clone(),
            fail_on: args.fail_on.unwrap_or_default(),
            timeout: flags.timeout,
            budget: flags.budget,
            concurrency: flags.concurrency,
            lang: flags.lang,
            progress: !args.no_progress && env.stderr_tty && args.quiet == 0,
            color: flags.color,
            width: env.columns,
            verbosity: i8::try_from(args.verbose).unwrap_or(i8::MAX)
                - i8::try_from(args.quiet).unwrap_or(i8::MAX),
            // tenant.toml's directories first (relative to the file), then the command line's.
            checks_dirs: tf
                .checks
                .dirs
                .iter()
                .map(|d| {
                    fpath
                        .and_then(Path::parent)
                        .map_or_else(|| d.clone(), |base| base.join(d))
                })
                .chain(args.checks.iter().cloned())
                .collect(),
            builtin_checks: !args.no_builtin_checks,
            endpoints_file,
            ca_file: args.ca_file.clone(),
            cert_days: from_file.cert_days,
            endpoints: from_file.endpoints,
            bandwidth_url: from_file.bandwidth_url,
            config_path: fpath.map(Path::to_owned),
            directory,
            graph_verified: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> LoadedFile {
        LoadedFile {
            path: PathBuf::from("/etc/tr/tenant.toml"),
            file: toml::from_str(text).unwrap(),
            dkim: None,
        }
    }

    fn args(domains: &[&str]) -> ScanArgs {
        ScanArgs {
            domains: domains.iter().map(|s| (*s).to_owned()).collect(),
            ..ScanArgs::default()
        }
    }

    #[test]
    fn the_directory_is_checked_and_its_password_comes_from_the_environment_only() {
        let with = |toml: &str, flag: Option<&str>, password: Option<&str>| {
            let mut a = args(&[]);
            a.directory = flag.map(str::to_owned);
            let env = Env {
                ldap_password: password.map(|p| crate::secrets::Secret::new(p.to_owned())),
                ..Env::default()
            };
            Settings::resolve(
                &a,
                Some(&file(&format!(
                    "[[domain]]\nname = \"contoso.com\"\n{toml}"
                ))),
                &env,
            )
        };
        let ok = with(
            "[directory]\nurl = \"LDAPS://DC1.contoso.com:3269/\"\nuser = \"svc@contoso.com\"\n",
            None,
            Some("pw"),
        )
        .unwrap();
        let d = ok.directory.unwrap();
        assert_eq!(d.url, "ldaps://dc1.contoso.com:3269");
        assert_eq!(format!("{:?}", d.password), "Some(Secret(***))");
        // The flag replaces the file's URL and keeps its other fields.
        let d = with(
            "[directory]\nurl = \"ldaps://a\"\nbase_dn = \"OU=x\"\n",
            Some("ldap://b"),
            None,
        )
        .unwrap()
        .directory
        .unwrap();
        assert_eq!(
            (d.url.as_str(), d.base_dn.as_deref()),
            ("ldap://b", Some("OU=x"))
        );
        assert!(with("", None, None).unwrap().directory.is_none());
        for (toml, flag, password, words) in [
            (
                "[directory]\nurl = \"ldaps://a\"\nuser = \"u\"\n",
                None,
                None,
                "TENANT_READY_LDAP_PASSWORD is not",
            ),
            (
                "[directory]\nurl = \"ldaps://u:secret@a\"\n",
                None,
                None,
                "a URL with credentials",
            ),
            (
                "[directory]\nurl = \"https://a\"\n",
                None,
                None,
                "must be an ldaps://",
            ),
            (
                "[directory]\nurl = \"ldaps://a/DC=x\"\n",
                None,
                None,
                "base_dn",
            ),
            (
                "[directory]\nurl = \"ldaps://a\"\nstarttls = true\n",
                None,
                None,
                "already TLS",
            ),
            ("[directory]\nuser = \"u\"\n", None, Some("pw"), "set url"),
            (
                "[directory]\nurl = \"ldaps://a\"\nbase_dn = \"OU=x\\u001b\"\n",
                None,
                None,
                "control characters",
            ),
            ("", Some("ldap:///"), None, "--directory"),
        ] {
            let e = with(toml, flag, password).unwrap_err().to_string();
            assert!(e.contains(words), "{toml}: {e}");
            assert!(!e.contains("secret") && !e.contains('\n'), "{e}");
        }
        // An unknown key in [directory] (a `password` field, say) is refused like any other.
        let e = toml::from_str::<TenantFile>("[directory]\npassword = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `password`"), "{e}");
    }

    #[test]
    fn defaults_for_bare_domains() {
        let s = Settings::resolve(&args(&["Contoso.com."]), None, &Env::default()).unwrap();
        assert_eq!(s.domains[0].name.as_str(), "contoso.com");
        assert_eq!(s.domains[0].services, Service::DEFAULT);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.concurrency.get(), DEFAULT_CONCURRENCY);
        assert_eq!(s.cloud, Cloud::Worldwide);
        assert!(!s.color && !s.progress);
        // A full scan lists the manual checklist; a scan of some checks does on demand only.
        assert!(s.checklist);
        let mut some = args(&["contoso.com"]);
        some.only = vec!["dns.*".into()];
        assert!(
            !Settings::resolve(&some, None, &Env::default())
                .unwrap()
                .checklist
        );
        some.checklist = true;
        assert!(
            Settings::resolve(&some, None, &Env::default())
                .unwrap()
                .checklist
        );
    }

    #[test]
    fn cli_domains_override_the_file_but_keep_its_settings() {
        let f = file(
            r#"
            [tenant]
            initial_domain = "contoso.onmicrosoft.com"
            cloud = "gcc"
            [[domain]]
            name = "contoso.com"
            services = ["exchange"]
            hybrid = true
            [[domain]]
            name = "fabrikam.com"
            [network]
            endpoints_file = "endpoints.json"
            "#,
        );
        let all = Settings::resolve(&args(&[]), Some(&f), &Env::default()).unwrap();
        assert_eq!(all.domains.len(), 2);
        assert_eq!(all.cloud, Cloud::Gcc);
        assert_eq!(
            all.endpoints_file.as_deref(),
            Some(Path::new("/etc/tr/endpoints.json"))
        );
        let one = Settings::resolve(&args(&["CONTOSO.com"]), Some(&f), &Env::default()).unwrap();
        assert_eq!(one.domains.len(), 1);
        assert!(one.domains[0].hybrid);
        assert_eq!(one.domains[0].services, [Service::Exchange]);
    }

    #[test]
    fn bad_input_names_the_place() {
        let env = Env::default();
        let e = Settings::resolve(&args(&["con_toso.com"]), None, &env).unwrap_err();
        assert!(
            e.to_string().contains("domain argument `con_toso.com`"),
            "{e}"
        );
        let e = Settings::resolve(&args(&[]), None, &env).unwrap_err();
        assert_eq!(e.kind(), "usage");
        let f = file("[[domain]]\nname = \"contoso.com\"\nverification = \"ms12345678\"\n");
        let e = Settings::resolve(&args(&[]), Some(&f), &env).unwrap_err();
        assert!(e.to_string().contains("domain[0].verification"), "{e}");
        let f = file(
            "[thresholds]\ncert_warn_days = 5\ncert_fail_days = 10\n[[domain]]\nname=\"a.com\"\n",
        );
        assert!(Settings::resolve(&args(&[]), Some(&f), &env).is_err());
        let mut a = args(&["contoso.com"]);
        a.timeout = Some("5 parsecs".into());
        assert!(
            Settings::resolve(&a, None, &env)
                .unwrap_err()
                .to_string()
                .contains("--timeout")
        );
        let mut a = args(&["contoso.com"]);
        a.concurrency = Some(0);
        assert!(Settings::resolve(&a, None, &env).is_err());
        let mut a = args(&["contoso.com"]);
        a.report = vec!["xml=out.xml".into()];
        assert!(Settings::resolve(&a, None, &env).is_err());
        let mut a = args(&["contoso.com", "contoso.com."]);
        a.nameserver = vec!["127.0.0.1:5353".into()];
        assert!(Settings::resolve(&a, None, &env).is_err());
    }

    #[test]
    fn nameservers_colour_and_language() {
        assert_eq!(
            parse_nameserver("192.0.2.1").unwrap(),
            "192.0.2.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert!(parse_nameserver("dns.google").is_err());
        let tty = Env {
            stdout_tty: true,
            stderr_tty: true,
            ..Env::default()
        };
        let s = Settings::resolve(&args(&["a.com"]), None, &tty).unwrap();
        assert!(s.color && s.progress);
        let no = Env {
            no_color: true,
            lang: Some("ko_KR.UTF-8".into()),
            ..tty
        };
        let s = Settings::resolve(&args(&["a.com"]), None, &no).unwrap();
        assert!(!s.color);
        assert_eq!(s.lang, Lang::Ko);
    }

    #[test]
    fn unknown_keys_in_tenant_toml_are_errors_with_position() {
        let text = "[tenant]\nname = \"x\"\nbogus = 1\n";
        let err = toml::from_str::<TenantFile>(text).unwrap_err();
        let e = ConfigError::from_toml(Path::new("tenant.toml"), text, &err);
        let s = e.to_string();
        assert!(
            s.starts_with("tenant.toml:3:1: unknown field `bogus`"),
            "{s}"
        );
        assert!(!s.contains('\n'));
    }
}
