//! The command line (DESIGN.md §3), as raw clap types. Every value that layers with `tenant.toml`
//! is an `Option` with no clap default, so "not given" stays distinguishable from "given the
//! default"; defaults live in [`crate::settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// The report options are the report layer's own types (renderers never see the command line);
// the flags parse straight into them.
pub use crate::output::{FailOn, Format, Lang};

/// Microsoft 365 onboarding readiness scanner.
#[derive(Debug, Parser)]
#[command(
    name = "tenant-ready",
    version,
    about = "Checks the DNS records, certificates and network a Microsoft 365 (FastTrack) onboarding needs, and maps every result to the customer responsibility it serves.",
    after_help = "Exit codes: 0 ready · 1 not ready (a check failed, or warned with --fail-on warn) · 2 usage or configuration error · 3 inconclusive (no failure, but a check could not be determined)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan domains (from the arguments or tenant.toml) and report readiness.
    Scan(Box<ScanArgs>),
    /// List the check catalogue (id, kind, responsibility, severity), or export it.
    Checks(ChecksArgs),
    /// List the responsibility catalogue with check coverage.
    Responsibilities(CatalogArgs),
    /// Write a commented starter tenant.toml.
    Init(InitArgs),
    /// Work with the Microsoft 365 endpoint list (the IP/URL web service).
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Import exact expected values from Microsoft's own tools into tenant.toml.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Scan on a schedule and serve the results to Prometheus (/metrics, /probe, reports).
    Serve(Box<ServeArgs>),
    /// Microsoft Graph: what `--graph` needs of the app registration.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Work on saved JSON reports: render, merge sites, diff runs.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
    /// Print the JSON Schema of the JSON export.
    Schema,
}

/// `tenant-ready report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Render a saved JSON report in any format.
    Render {
        /// The JSON report.
        file: PathBuf,
        /// The format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Language of the human formats.
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        /// Colour (human format).
        #[arg(long, value_enum)]
        color: Option<ColorChoice>,
        /// List the organisational responsibilities of the manual checklist (human format).
        #[arg(long)]
        checklist: bool,
    },
    /// Merge runs from several sites into one report, each result tagged with its site.
    Merge {
        /// The JSON reports (the site is each run's vantage host, else the file name).
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Where to write the merged JSON (default: stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// What got fixed, what regressed, what is new; exit 1 on a regression (for CI gates).
    Diff {
        /// The earlier run.
        old: PathBuf,
        /// The later run.
        new: PathBuf,
        /// `human`, `json`, or `html` (the later run's matrix with regressed and fixed cells
        /// marked, for the meeting room).
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Language of the HTML page.
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
}

/// `tenant-ready serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (Prometheus scrapes it; 9465 is free in Prometheus' port allocations).
    #[arg(long, default_value = "127.0.0.1:9465")]
    pub listen: std::net::SocketAddr,
    /// Time between scans (a random tenth of it is added, so sites do not scan in step).
    #[arg(long, default_value = "15m")]
    pub interval: String,
    /// The `site` label on every series (the office, data centre or VPN egress scanned from).
    #[arg(long, default_value = "default")]
    pub site: String,
    /// Let `/probe` scan any domain, not only the configuration's domains and endpoints.
    #[arg(long)]
    pub allow_any_target: bool,
    /// Stop after this many scheduled scans (benchmarks, tests).
    #[arg(long, hide = true)]
    pub max_scans: Option<u64>,
    /// The scan: tenant.toml and every `scan` flag.
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// `tenant-ready graph …`.
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// List the application permissions `--graph` and each tenant check need (least privilege,
    /// from Microsoft Graph's API reference), to grant with admin consent.
    Permissions(CatalogArgs),
}

/// `tenant-ready import …`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Read `Get-DkimSigningConfig | Select-Object Domain,Selector1CNAME,Selector2CNAME |
    /// ConvertTo-Json` output (UTF-8, or UTF-16 as Windows PowerShell writes it) and set
    /// dkim_selector1/dkim_selector2 of the matching [[domain]] entries, keeping the file's comments.
    Dkim(ImportDkimArgs),
}

/// `tenant-ready import dkim`.
#[derive(Debug, Args)]
pub struct ImportDkimArgs {
    /// The Get-DkimSigningConfig export (JSON).
    pub file: PathBuf,
    /// The tenant.toml to update (written atomically).
    #[arg(long, value_name = "PATH", default_value = "tenant.toml")]
    pub config: PathBuf,
    /// Show what would change without writing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `tenant-ready endpoints …`.
#[derive(Debug, Subcommand)]
pub enum EndpointsCommand {
    /// Download the current endpoint list from https://endpoints.office.com into a file for
    /// `scan --endpoints` (asks the version method first; does nothing when the file is current).
    Fetch(FetchArgs),
    /// Show the endpoint list a scan would use (embedded snapshot, --endpoints, or tenant.toml's
    /// [network] endpoints_file), where it came from, and its endpoint sets.
    Show(ShowArgs),
}

/// `tenant-ready endpoints show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The tenant description whose [tenant] cloud and [network] endpoints_file choose the list
    /// (default: ./tenant.toml when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// A saved endpoint list (UTF-8 or UTF-16 with a BOM) instead.
    #[arg(long, value_name = "FILE")]
    pub endpoints: Option<PathBuf>,
    /// `human` (provenance and a table) or `json` (the sets in Microsoft's own shape on stdout,
    /// provenance on stderr).
    #[arg(long, value_enum, default_value = "human")]
    pub format: ListFormat,
}

/// `tenant-ready endpoints fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Instance: Worldwide (also GCC), USGovGCCHigh, USGovDoD or China.
    #[arg(long, default_value = "Worldwide")]
    pub instance: String,
    /// Where to write (written atomically).
    #[arg(long, short, default_value = "m365-endpoints.json")]
    pub output: PathBuf,
    /// Substitute your tenant name into tenant-specific URLs (`TenantName=`).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The ClientRequestId GUID to send (default: one generated once for this machine and kept in
    /// the user's configuration directory, as the web service asks).
    #[arg(long, value_name = "GUID")]
    pub client_request_id: Option<String>,
    /// Download even when the file already has the latest version.
    #[arg(long)]
    pub force: bool,
    /// Web service base URL (for tests and mirrors).
    #[arg(long, hide = true, default_value = "https://endpoints.office.com")]
    pub base_url: String,
}

/// `tenant-ready scan`.
#[derive(Clone, Debug, Default, Args)]
pub struct ScanArgs {
    /// Domains to scan (default: the [[domain]] entries of the configuration).
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// The tenant description (default: ./tenant.toml when no DOMAIN is given and it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Ask these resolvers instead of the system's (repeatable; default port 53).
    #[arg(long, value_name = "IP[:PORT]")]
    pub nameserver: Vec<String>,
    /// Port used when asking a zone's authoritative servers directly (default 53; for lab set-ups).
    #[arg(long, value_name = "PORT")]
    pub authoritative_port: Option<u16>,
    /// Extra trust anchors (PEM) for staging/lab certificates.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// List the organisational responsibilities of the manual checklist in the human report
    /// (the default on a full scan; with --only/--skip one line says how many there are).
    #[arg(long)]
    pub checklist: bool,
    /// Ask Microsoft Graph for the tenant's domains and their exact records (an app
    /// registration's client credentials in AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET;
    /// permission Domain.Read.All).
    #[arg(long)]
    pub graph: bool,
    /// Scan only the K-th of N shards of the domains (1 ≤ K ≤ N; a domain's shard follows from
    /// its name alone); shard 1 also runs the checks that are not per domain. `report merge`
    /// joins the shards' JSON reports into one.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Replace people's names (administrators, users the tenant checks single out) with stable
    /// hashes (`user-` and 12 hex digits, the same in every scan of the tenant); counts stay.
    #[arg(long)]
    pub redact_users: bool,
    /// What goes to stdout.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the --format report to PATH instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Extra report in the same run, e.g. json=out/report.json (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// Run only checks whose id matches (glob, repeatable), e.g. 'dns.*'.
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Skip checks whose id matches (glob, repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,
    /// Which results make the verdict "not ready" (default fail).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Time limit per check, e.g. 500ms, 5s (default 5s).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Time limit for the whole run; unfinished checks become errors.
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,
    /// Checks running at once (default 256).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Language of the human report (default from LANG).
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Colour in the human report (default auto; NO_COLOR is honoured).
    #[arg(long, value_enum)]
    pub color: Option<ColorChoice>,
    /// More log output on stderr (repeatable).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: only problems in the human report.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Add the check definitions of DIR to the built-in ones (repeatable; a check with a
    /// built-in id replaces it).
    #[arg(long, value_name = "DIR")]
    pub checks: Vec<PathBuf>,
    /// Only the checks of --checks DIR, not the built-in ones.
    #[arg(long)]
    pub no_builtin_checks: bool,
    /// A saved Microsoft 365 endpoint web-service JSON (network checks).
    #[arg(long, value_name = "FILE")]
    pub endpoints: Option<PathBuf>,
    /// The on-premises Active Directory to check before sync (ldaps://dc1.contoso.com, or
    /// ldap://… with [directory] starttls); overrides [directory] url. The bind password comes
    /// from TENANT_READY_LDAP_PASSWORD only.
    #[arg(long, value_name = "URL")]
    pub directory: Option<String>,
}

/// `tenant-ready checks [export DIR]`.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// `export DIR`, or none to list.
    #[command(subcommand)]
    pub command: Option<ChecksCommand>,
    /// Listing options.
    #[command(flatten)]
    pub args: CatalogArgs,
}

/// `tenant-ready checks …`.
#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// Write the built-in definitions (checks, responsibilities, clouds, messages) to DIR as a
    /// starting point for your own.
    Export {
        /// Where to write.
        dir: PathBuf,
        /// Overwrite files already there.
        #[arg(long)]
        force: bool,
    },
}

/// `tenant-ready checks` / `responsibilities`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Add the check definitions of DIR to the built-in ones (repeatable; a check with a
    /// built-in id replaces it).
    #[arg(long, value_name = "DIR")]
    pub checks: Vec<PathBuf>,
    /// Only the checks of --checks DIR, not the built-in ones.
    #[arg(long)]
    pub no_builtin_checks: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ListFormat,
    /// Language of titles.
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
}

/// `tenant-ready init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write.
    #[arg(long, short, default_value = "tenant.toml")]
    pub output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Write the tenant's domains, services and exact records as Microsoft Graph lists them
    /// (client credentials in AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET).
    #[arg(long)]
    pub from_graph: bool,
    /// The tenant's cloud (with --from-graph): worldwide, gcc, gcc-high, dod, china.
    #[arg(long, default_value = "worldwide")]
    pub cloud: String,
    /// Ask these resolvers instead of the system's (with --from-graph; repeatable).
    #[arg(long, value_name = "IP[:PORT]")]
    pub nameserver: Vec<String>,
    /// Extra trust anchors (PEM) (with --from-graph).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Time for the whole conversation with Microsoft Graph (with --from-graph).
    #[arg(long, default_value = "30s")]
    pub timeout: String,
}

/// Output of the list commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned table.
    Human,
    /// JSON array.
    Json,
}

/// Output of `report diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Lists of changes.
    Human,
    /// The changes as JSON.
    Json,
    /// One self-contained page: the later run's matrix, changes marked, and the lists.
    Html,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}
