//! `tenant-ready endpoints show`: which Microsoft 365 endpoint list a scan would test, where it
//! came from, and what is in it. The list is chosen exactly as `scan` chooses it
//! ([`crate::plan::endpoint_list_for`]): `--endpoints`, else tenant.toml's `[network]
//! endpoints_file` (relative to the file), else the embedded snapshot of the tenant's cloud.
//!
//! `--format json` writes the sets in Microsoft's own shape (the web service's array, absent
//! fields omitted), so the output feeds any tool that reads the service; provenance goes to
//! stderr. Every string of the list is escaped before it reaches the terminal.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{ListFormat, ShowArgs};
use crate::endpoint_sets::{Category, EndpointList, EndpointSet};
use crate::error::ConfigError;
use crate::escape::terminal;
use crate::settings::load_file;
use crate::tenant::Cloud;

/// What `show` prints: stdout and the provenance line(s) for stderr.
#[derive(Debug)]
pub struct Shown {
    /// For stdout.
    pub stdout: String,
    /// For stderr (JSON format only: keeps stdout pure JSON).
    pub stderr: String,
}

/// The list these arguments select.
pub fn selected_list(a: &ShowArgs) -> Result<EndpointList, ConfigError> {
    let config = match &a.config {
        Some(p) => Some(p.clone()),
        None if a.endpoints.is_none() && Path::new("tenant.toml").is_file() => {
            Some(PathBuf::from("tenant.toml"))
        }
        None => None,
    };
    let file = config.as_deref().map(load_file).transpose()?;
    let cloud = file
        .as_ref()
        .and_then(|f| f.file.tenant.cloud)
        .unwrap_or_default();
    let from_config = file.as_ref().and_then(|f| {
        let base = f.path.parent().unwrap_or(Path::new(""));
        f.file.network.endpoints_file.as_ref().map(|p| base.join(p))
    });
    let path = a.endpoints.clone().or(from_config);
    crate::plan::endpoint_list_for(cloud, path.as_deref())?.ok_or_else(|| {
        ConfigError::Usage(format!(
            "no endpoint list is embedded for the {} cloud: save one with `tenant-ready endpoints fetch --instance {}` and pass it with --endpoints",
            cloud.as_str(),
            instance_for(cloud)
        ))
    })
}

fn instance_for(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Worldwide | Cloud::Gcc => "Worldwide",
        Cloud::GccHigh => "USGovGCCHigh",
        Cloud::Dod => "USGovDoD",
        Cloud::China => "China",
    }
}

/// Renders the list.
pub fn show(a: &ShowArgs) -> Result<Shown, ConfigError> {
    let list = selected_list(a)?;
    let mut prov = format!(
        "Microsoft 365 endpoint list: {}\n",
        terminal(&list.describe())
    );
    if let Some(o) = &list.origin {
        let _ = writeln!(prov, "Origin: {}", terminal(o));
    }
    let _ = writeln!(
        prov,
        "Refresh: tenant-ready endpoints fetch --output m365.json, then scan --endpoints m365.json (or [network] endpoints_file)"
    );
    match a.format {
        ListFormat::Json => {
            let json = serde_json::to_string_pretty(&list.sets)
                .map_err(|e| ConfigError::Usage(e.to_string()))?;
            Ok(Shown {
                stdout: format!("{json}\n"),
                stderr: prov,
            })
        }
        ListFormat::Human => {
            let mut out = prov;
            let count = |c: Category| list.sets.iter().filter(|s| s.category == c).count();
            let _ = writeln!(
                out,
                "{} endpoint sets: {} Optimize, {} Allow, {} Default; {} required\n",
                list.sets.len(),
                count(Category::Optimize),
                count(Category::Allow),
                count(Category::Default),
                list.sets.iter().filter(|s| s.required).count()
            );
            out.push_str(&table(&list.sets));
            Ok(Shown {
                stdout: out,
                stderr: String::new(),
            })
        }
    }
}

/// One row per set: the columns a firewall rule needs, URLs shortened to the first three.
fn table(sets: &[EndpointSet]) -> String {
    let mut out = format!(
        "{:<5} {:<9} {:<4} {:<11} {:<18} {:<18} {:>4}  URLS\n",
        "ID", "CATEGORY", "REQ", "AREA", "TCP", "UDP", "IPS"
    );
    for s in sets {
        let mut urls: Vec<String> = s.urls.iter().take(3).map(|u| terminal(u).into()).collect();
        if s.urls.len() > 3 {
            urls.push(format!("(+{} more)", s.urls.len() - 3));
        }
        let _ = writeln!(
            out,
            "{:<5} {:<9} {:<4} {:<11} {:<18} {:<18} {:>4}  {}",
            s.id,
            format!("{:?}", s.category),
            if s.required { "yes" } else { "no" },
            terminal(&s.service_area),
            terminal(s.tcp_ports.as_deref().unwrap_or("-")),
            terminal(s.udp_ports.as_deref().unwrap_or("-")),
            s.ips.len(),
            urls.join(", ")
        );
    }
    out
}
