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

/// A TOML basic string on one line, whatever `s` holds: a name from Graph written inside a
/// comment cannot end the comment (toml_edit would choose a multi-line string).
fn one_line_toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            other if u32::from(other) <= 0xFFFF => {
                out.push_str(&format!("\\u{:04X}", u32::from(other)));
            }
            other => out.push_str(&format!("\\U{:08X}", u32::from(other))),
        }
    }
    out.push('"');
    out
}

/// What `init --from-graph` learns of the tenant beyond its domains; each part is the value
/// or why it could not be read (a permission the app lacks is not a reason to write no file).
#[derive(Clone, Debug)]
pub struct Learned {
    /// Users holding a licence (`users`, User.Read.All).
    pub users: Result<u64, String>,
    /// Exchange, Teams and Intune: their plans in the live subscriptions (`subscribedSkus`).
    pub services: Result<Vec<crate::probe::entra_services::ServiceState>, String>,
}

impl Default for Learned {
    fn default() -> Self {
        Self {
            users: Err("not asked".into()),
            services: Err("not asked".into()),
        }
    }
}

impl Learned {
    /// The services some live subscription includes (provisioned or not yet).
    fn licensed(&self) -> Option<Vec<&'static str>> {
        let states = self.services.as_ref().ok()?;
        Some(
            states
                .iter()
                .filter(|s| !s.plans.is_empty())
                .map(|s| s.service.as_str())
                .collect(),
        )
    }

    /// The comment lines for the `[tenant]` header: the users and the services Graph showed.
    fn comment(&self) -> String {
        let mut out = String::new();
        match &self.users {
            Ok(n) => out.push_str(&format!(
                "# users: the {n} licensed users Microsoft Graph lists (the bandwidth model and entra.licences use it).\n"
            )),
            Err(why) => out.push_str(&format!(
                "# users: not read from Microsoft Graph ({}): set it for the bandwidth model.\n",
                one_line_comment(why)
            )),
        }
        match &self.services {
            Ok(states) => {
                for s in states {
                    let plans = if s.plans.is_empty() {
                        "no live subscription includes it".to_owned()
                    } else {
                        s.plans
                            .iter()
                            .map(|p| {
                                format!(
                                    "{} in {}: {}",
                                    one_line_toml_string(&p.plan),
                                    one_line_toml_string(&p.sku),
                                    one_line_toml_string(&p.status)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    out.push_str(&format!("# licences for {}: {plans}\n", s.service.as_str()));
                }
            }
            Err(why) => out.push_str(&format!(
                "# licences: not read from Microsoft Graph ({}).\n",
                one_line_comment(why)
            )),
        }
        out
    }
}

/// Text for a `#` comment: one line, control characters shown escaped.
fn one_line_comment(s: &str) -> String {
    let quoted = one_line_toml_string(s);
    quoted[1..quoted.len() - 1].to_owned()
}

/// The tenant.toml text for `view` and what else Graph showed (pure).
pub fn tenant_toml(view: &GraphView, learned: &Learned, cloud: Cloud, tenant: &str) -> String {
    use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};
    let mut doc = DocumentMut::new();
    let mut t = Table::new();
    t.decor_mut().set_prefix(format!(
        "# Written by `tenant-ready init --from-graph` from Microsoft Graph (tenant {}).\n# Scan it with `tenant-ready scan --config tenant.toml` (add --graph to compare with Graph again).\n{}",
        one_line_comment(tenant),
        learned.comment()
    ));
    // Ids from Graph are written only when they are domain names (a scan would refuse the file
    // otherwise, and an id is outside input).
    let name_of = |id: &str| crate::domain::DomainName::parse(id).ok();
    if let Some(initial) = view
        .domains
        .iter()
        .find(|d| d.is_initial)
        .and_then(|d| name_of(&d.id))
    {
        t["initial_domain"] = value(initial.to_string());
    }
    t["cloud"] = value(cloud.as_str());
    if let Ok(n) = learned.users
        && n > 0
    {
        t["users"] = value(i64::try_from(n.min(u64::from(u32::MAX))).unwrap_or(i64::MAX));
    }
    t["graph"] = value(true);
    doc["tenant"] = Item::Table(t);
    let mut domains = ArrayOfTables::new();
    // Domains Graph gives no service for, written commented out: an entry without `services`
    // would be scanned for all three.
    let mut commented = String::new();
    // A scan refuses a file listing a domain twice: a domain Graph lists twice (in any case, with
    // or without the final dot) is written once, from its first entry (found by the fuzz target
    // `graph_answers`).
    let mut written = std::collections::HashSet::new();
    for d in view.domains.iter().filter(|d| !d.is_initial) {
        let mut e = Table::new();
        let Some(name) = name_of(&d.id).map(|n| n.to_string()) else {
            commented.push_str(&format!(
                "\n# Graph lists {} as a domain, which is not a domain name: left out.\n",
                one_line_toml_string(&d.id)
            ));
            continue;
        };
        if !written.insert(name.clone()) {
            commented.push_str(&format!(
                "\n# Graph lists {} more than once: written once, from its first entry.\n",
                one_line_toml_string(&name)
            ));
            continue;
        }
        e["name"] = value(name.clone());
        let svc = services(&d.supported_services);
        if svc.is_empty() && d.is_verified {
            commented.push_str(&format!(
                "\n# Graph lists no Exchange, Teams or Intune service for this domain (a sign-in or\n# alias domain?): uncomment it and list the services it uses to have it scanned.\n# [[domain]]\n# name = {}\n# services = [\"exchange\"]\n",
                one_line_toml_string(&name)
            ));
            continue;
        }
        // Graph lists services only once a domain is verified: until then, those the tenant
        // holds licences for (all three when the licences are unknown or hold none).
        let unverified_all = svc.is_empty();
        let svc = if unverified_all {
            learned
                .licensed()
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| vec!["exchange", "teams", "intune"])
        } else {
            svc
        };
        e["services"] = value(svc.into_iter().collect::<Array>());
        // Graph's records are outside input: a value a scan would refuse (a TXT that is not an
        // `MS=` value, an MX that is not a host name) is left out, saying so, rather than written
        // into a file the next command refuses (found by the `graph_answers` fuzz target).
        if let Some(v) = view.verification(&d.id) {
            if v.starts_with("MS=") {
                e["verification"] = value(v);
            } else {
                commented.push_str(&format!(
                    "\n# Graph's verification TXT for {} is not an MS= value: left out.\n",
                    one_line_toml_string(&name)
                ));
            }
        }
        if let Some(mx) = view.mx(&d.id) {
            match crate::domain::DomainName::parse(&mx) {
                Ok(host) => e["mx"] = value(host.to_string()),
                Err(_) => commented.push_str(&format!(
                    "\n# Graph's MX host for {} ({}) is not a host name: left out.\n",
                    one_line_toml_string(&name),
                    one_line_toml_string(&mx)
                )),
            }
        }
        if !d.is_verified {
            e.decor_mut().set_prefix(if unverified_all {
                "\n# Not verified yet (Graph: isVerified false): publish the verification TXT, then Verify in the\n# admin center. Graph lists services only once a domain is verified: these are the tenant's\n# licensed ones; keep those this domain will use.\n"
            } else {
                "\n# Not verified yet (Graph: isVerified false): publish the verification TXT, then Verify in the admin center.\n"
            });
        }
        domains.push(e);
    }
    doc["domain"] = Item::ArrayOfTables(domains);
    let mut text = doc.to_string();
    text.push_str(&commented);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Runs `init --from-graph`; exit 0 when written, 2 on a usage or Graph error (one line).
pub fn from_graph(a: &InitArgs) -> Exit {
    match run(a) {
        Ok(msg) => {
            eprintln!("{msg}");
            Exit::Ready
        }
        Err(e) => {
            // One line, always: the text may carry what Graph answered.
            eprintln!("error: {}", crate::escape::terminal(&e));
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
    let hosts = graph_hosts(cloud)?;
    let cx = probe_cx_from(&NetOpts {
        nameservers,
        ca_file: a.ca_file.clone(),
        timeout,
        concurrency: crate::settings::DEFAULT_CONCURRENCY,
        authoritative_port: 53,
        canary: catalog.resolver_canary(cloud),
    })
    .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let (view, learned) = rt.block_on(async {
        let graph = Graph::connect(&cx, hosts, &creds, timeout).await?;
        let view = graph.view(&[]).await?;
        let mut cx = cx.clone();
        cx.graph = Some(std::sync::Arc::new(graph.session()));
        Ok::<_, String>((view, learn(&catalog, &cx).await))
    })?;
    let text = tenant_toml(&view, &learned, cloud, &creds.tenant);
    crate::report::write_atomic(&a.output, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", a.output.display()))?;
    let n = view.domains.iter().filter(|d| !d.is_initial).count();
    let users = learned
        .users
        .as_ref()
        .map_or_else(|_| String::new(), |u| format!(", {u} licensed users"));
    Ok(format!(
        "wrote {} from Microsoft Graph: {n} domains with their services and exact verification and MX values{users}; scan it with `tenant-ready scan --config {}`",
        a.output.display(),
        a.output.display()
    ))
}

/// Reads the licensed users and the services' plans with the checks' own readers (the same
/// permissions, the same paging and limits); a part Graph refuses is said in the file.
async fn learn(catalog: &Catalog, cx: &crate::probe::ProbeCx) -> Learned {
    use crate::probe::{ProbeSpec, entra_services};
    let why = |e: crate::probe::ProbeError| match e {
        crate::probe::ProbeError::NotApplicable { message, .. } => {
            message.render(crate::output::Lang::En)
        }
        other => other.to_string(),
    };
    let users = crate::probe::graph_users::summary(cx)
        .await
        .map(|s| s.licensed)
        .map_err(why);
    let spec = catalog.checks.iter().find_map(|c| match &c.probe {
        ProbeSpec::EntraServices(spec) => Some(spec.clone()),
        _ => None,
    });
    let services = match spec {
        Some(spec) => {
            let task = entra_services::EntraServicesTask {
                spec,
                services: crate::tenant::Service::DEFAULT.to_vec(),
            };
            entra_services::observe(&task, cx)
                .await
                .map(|e| e.services)
                .map_err(why)
        }
        None => Err("the catalogue has no entra.services check".into()),
    };
    Learned { users, services }
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
        let mut view = view;
        view.domains.extend([
            // Unverified: Graph gives no services yet.
            GraphDomain {
                id: "pending.com".into(),
                is_verified: false,
                ..GraphDomain::default()
            },
            // Listed again, in another case and with the final dot: written once (a scan
            // refuses a domain listed twice; found by the fuzz target `graph_answers`).
            GraphDomain {
                id: "Contoso.COM.".into(),
                is_verified: false,
                ..GraphDomain::default()
            },
            // Verified, but for no service (a sign-in domain), with a hostile name.
            GraphDomain {
                id: "alias.com\n[[domain]]\nname = \"injected.com\"".into(),
                is_verified: true,
                ..GraphDomain::default()
            },
        ]);
        let text = tenant_toml(&view, &Learned::default(), Cloud::Worldwide, "t");
        assert!(text.ends_with('\n'), "{text}");
        let parsed: crate::tenant::TenantFile = toml::from_str(&text).unwrap();
        let names: Vec<&str> = parsed.domain.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["contoso.com", "pending.com"], "{text}");
        // Never without services: a scan would read that as all three.
        assert!(parsed.domain.iter().all(|d| d.services.is_some()), "{text}");
        assert_eq!(
            parsed.domain[1].services.as_deref(),
            Some(
                &[
                    crate::tenant::Service::Exchange,
                    crate::tenant::Service::Teams,
                    crate::tenant::Service::Intune
                ][..]
            )
        );
        assert!(
            text.contains("# Graph lists \"alias.com\\u000A[[domain]]\\u000Aname = \\\"injected.com\\\"\" as a domain, which is not a domain name: left out.\n"),
            "{text}"
        );
        // A verified domain without services is written commented out.
        let mut alias = view.clone();
        alias.domains.push(GraphDomain {
            id: "alias.com".into(),
            is_verified: true,
            ..GraphDomain::default()
        });
        let text = tenant_toml(&alias, &Learned::default(), Cloud::Worldwide, "t");
        assert!(
            text.contains("# [[domain]]\n# name = \"alias.com\"\n"),
            "{text}"
        );
        assert_eq!(
            parsed.tenant.initial_domain.as_deref(),
            Some("contoso.onmicrosoft.com")
        );
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
