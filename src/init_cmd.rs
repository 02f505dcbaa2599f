//! `tenant-ready init --from-graph`: a tenant.toml written from what Microsoft Graph says about the
//! tenant: its initial domain, every other domain with the services it supports, and the exact
//! verification TXT and MX values Microsoft expects (then checked exactly by the DNS checks).
//! The file is built with `toml_edit`, so every value from Graph is quoted and escaped as TOML.

use crate::catalog::Catalog;
use crate::cli::InitArgs;
use crate::graph::graph_hosts;
use crate::graph::{Credentials, Graph, GraphView};
use crate::probe::context::{NetOpts, probe_cx_from};
use crate::report::Exit;
use crate::tenant::Cloud;

/// Graph's `supportedServices` → tenant.toml `services`.
fn services(graph: &[String]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for s in graph {
        let ours = match s.as_str() {
            "Email" => "exchange",
            "OfficeCommunicationsOnline" => "teams",
            "Intune" => "intune",
            _ => continue,
        };
        if !out.contains(&ours) {
            out.push(ours);
        }
    }
    out
}

/// The tenant.toml text for `view` (pure).
pub fn tenant_toml(view: &GraphView, cloud: Cloud, tenant: &str) -> String {
    use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};
    let mut doc = DocumentMut::new();
    let mut t = Table::new();
    t.decor_mut().set_prefix(format!(
        "# Written by `tenant-ready init --from-graph` from Microsoft Graph (tenant {}).\n# Scan it with `tenant-ready scan --config tenant.toml` (add --graph to compare with Graph again).\n",
        crate::escape::terminal(tenant)
    ));
    if let Some(initial) = view.domains.iter().find(|d| d.is_initial) {
        t["initial_domain"] = value(initial.id.to_ascii_lowercase());
    }
    t["cloud"] = value(cloud.as_str());
    t["graph"] = value(true);
    doc["tenant"] = Item::Table(t);
    let mut domains = ArrayOfTables::new();
    for d in view.domains.iter().filter(|d| !d.is_initial) {
        let mut e = Table::new();
        e["name"] = value(d.id.to_ascii_lowercase());
        let svc = services(&d.supported_services);
        if !svc.is_empty() {
            e["services"] = value(svc.into_iter().collect::<Array>());
        }
        if let Some(v) = view.verification(&d.id) {
            e["verification"] = value(v);
        }
        if let Some(mx) = view.mx(&d.id) {
            e["mx"] = value(mx);
        }
        if !d.is_verified {
            e.decor_mut().set_prefix(
                "\n# Not verified yet (Graph: isVerified false): publish the verification TXT, then Verify in the admin center.\n",
            );
        }
        domains.push(e);
    }
    doc["domain"] = Item::ArrayOfTables(domains);
    doc.to_string()
}

/// Runs `init --from-graph`; exit 0 when written, 2 on a usage or Graph error (one line).
pub fn from_graph(a: &InitArgs) -> Exit {
    match run(a) {
        Ok(msg) => {
            eprintln!("{msg}");
            Exit::Ready
        }
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e));
            Exit::Usage
        }
    }
}

fn run(a: &InitArgs) -> Result<String, String> {
    if a.output.exists() && !a.force {
        return Err(format!(
            "{} already exists; use --force to overwrite it",
            a.output.display()
        ));
    }
    let cloud = Cloud::ALL
        .into_iter()
        .find(|c| c.as_str() == a.cloud)
        .ok_or_else(|| {
            format!(
                "--cloud `{}`: expected one of worldwide, gcc, gcc-high, dod, china",
                a.cloud
            )
        })?;
    let timeout = humantime::parse_duration(&a.timeout)
        .map_err(|e| format!("--timeout `{}`: not a duration ({e})", a.timeout))?
        .min(crate::settings::MAX_DURATION);
    let nameservers = a
        .nameserver
        .iter()
        .map(|n| crate::settings::parse_nameserver(n).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let creds = Credentials::from_env(|k| std::env::var(k).ok())?;
    let catalog = Catalog::embedded().map_err(|e| e.to_string())?;
    let hosts = graph_hosts(&catalog, cloud)?;
    let cx = probe_cx_from(&NetOpts {
        nameservers,
        ca_file: a.ca_file.clone(),
        timeout,
        concurrency: crate::settings::DEFAULT_CONCURRENCY,
        authoritative_port: 53,
    })
    .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let view = rt.block_on(async {
        let graph = Graph::connect(&cx, hosts, &creds, timeout).await?;
        graph.view(&[]).await
    })?;
    let text = tenant_toml(&view, cloud, &creds.tenant);
    crate::report::write_atomic(&a.output, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", a.output.display()))?;
    let n = view.domains.iter().filter(|d| !d.is_initial).count();
    Ok(format!(
        "wrote {} from Microsoft Graph: {n} domains with their services and exact verification and MX values; scan it with `tenant-ready scan --config {}`",
        a.output.display(),
        a.output.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{GraphDomain, GraphRecord};

    #[test]
    fn graph_values_are_written_as_toml_strings() {
        let view = GraphView {
            domains: vec![
                GraphDomain {
                    id: "contoso.onmicrosoft.com".into(),
                    is_initial: true,
                    is_verified: true,
                    ..GraphDomain::default()
                },
                GraphDomain {
                    id: "contoso.com".into(),
                    is_verified: true,
                    supported_services: vec!["Email".into(), "OfficeCommunicationsOnline".into()],
                    ..GraphDomain::default()
                },
            ],
            records: vec![(
                "contoso.com".into(),
                vec![GraphRecord {
                    record_type: "Txt".into(),
                    text: Some("MS=ms1\" \n[evil]".into()),
                    ..GraphRecord::default()
                }],
                vec![GraphRecord {
                    record_type: "Mx".into(),
                    mail_exchange: Some("contoso-com01c.mail.protection.outlook.com".into()),
                    ..GraphRecord::default()
                }],
            )],
        };
        let text = tenant_toml(&view, Cloud::Worldwide, "t");
        let parsed: crate::tenant::TenantFile = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed.tenant.initial_domain.as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(parsed.domain.len(), 1);
        assert_eq!(
            parsed.domain[0].verification.as_deref(),
            Some("MS=ms1\" \n[evil]")
        );
        assert_eq!(
            parsed.domain[0].mx.as_deref(),
            Some("contoso-com01c.mail.protection.outlook.com")
        );
    }
}
