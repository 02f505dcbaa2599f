//! The plan: the catalogue's checks × the tenant's domains → concrete [`Task`]s, in a
//! deterministic order (domain, then catalogue order). Selection (`--only`/`--skip`) and
//! applicability (services, cloud) are decided here, so the runner only runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{Catalog, CheckDef};
use crate::endpoint::Endpoint;
use crate::endpoint_sets::EndpointList;
use crate::error::ConfigError;
use crate::pattern::{Vars, id_matches};
use crate::probe::{EndpointPlanCx, PlanCx, Planned, Target};
use crate::settings::{DomainSettings, Settings};
use crate::tenant::{Cloud, Service};
use crate::text::Text;

/// What to do for one (check, subject).
#[derive(Clone, Debug)]
pub enum Work {
    /// Run this probe.
    Run(Planned),
    /// Not applicable, with the reason.
    Skip(Text),
}

/// One unit of work and the report row it becomes.
#[derive(Clone, Debug)]
pub struct Task {
    /// The check.
    pub check: Arc<CheckDef>,
    /// The domain or host the result is about.
    pub subject: String,
    /// The subject's template values (`{domain}`, `{host}`, `{cloud.*}`…), shared by the subject's
    /// tasks, for rendering the remediation. `None`: the texts are used as written.
    pub vars: Option<Arc<Vars>>,
    /// What to do.
    pub work: Work,
}

impl Task {
    /// The remediation for this subject. Rendered when a result needs it (warn, fail, error),
    /// not at planning: most results of a large scan pass, and holding every rendered text was
    /// the largest part of a 1,000-domain plan (~10 MB). The catalogue's validation has expanded
    /// every template for every cloud, so rendering cannot fail; the raw text is the fallback.
    pub fn remediation(&self) -> String {
        self.render(&self.check.remediation)
    }

    /// The Korean remediation, rendered the same way.
    pub fn remediation_ko(&self) -> Option<String> {
        self.check.remediation_ko.as_deref().map(|t| self.render(t))
    }

    fn render(&self, template: &str) -> String {
        match &self.vars {
            Some(v) => v
                .expand_text(template)
                .unwrap_or_else(|_| template.to_owned()),
            None => template.to_owned(),
        }
    }
}

// The variables a check file can use are the data layer's (validation expands them too).
pub use crate::catalog::vars_for;

/// The checks selected by `--only`/`--skip`. A pattern that matches no check is a usage error
/// (a typo would otherwise silently run nothing).
pub fn select<'a>(
    catalog: &'a Catalog,
    only: &[String],
    skip: &[String],
) -> Result<Vec<&'a CheckDef>, ConfigError> {
    for (flag, patterns) in [("--only", only), ("--skip", skip)] {
        for p in patterns {
            if !catalog.checks.iter().any(|c| id_matches(p, &c.id)) {
                return Err(ConfigError::Usage(format!(
                    "{flag} `{p}` matches no check (see `tenant-ready checks` for the ids)"
                )));
            }
        }
    }
    Ok(catalog
        .checks
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|p| id_matches(p, &c.id)))
        .filter(|c| !skip.iter().any(|p| id_matches(p, &c.id)))
        .collect())
}

fn cloud_applicability(check: &CheckDef, s: &Settings) -> Option<Text> {
    (!check.clouds.is_empty() && !check.clouds.contains(&s.cloud))
        .then(|| text!("skip.cloud", cloud = s.cloud.as_str()))
}

fn applicability(check: &CheckDef, d: &DomainSettings, s: &Settings) -> Option<Text> {
    if let Some(reason) = cloud_applicability(check, s) {
        return Some(reason);
    }
    if !check.services.is_empty() && !check.services.iter().any(|x| d.services.contains(x)) {
        let names: Vec<&str> = check.services.iter().map(|x| x.as_str()).collect();
        return Some(text!(
            "skip.service",
            domain = d.name.to_string(),
            services = names.join("/")
        ));
    }
    None
}

/// The endpoints an endpoint check runs against. HTTPS also covers the AD FS host and, for
/// Exchange hybrid domains, `autodiscover.<domain>` (it must carry a public certificate there).
pub fn endpoint_subjects(target: Target, s: &Settings) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    let mut add = |e: Endpoint| {
        if !out.contains(&e) {
            out.push(e);
        }
    };
    match target {
        Target::Domain | Target::Network | Target::Directory | Target::Tenant => {}
        Target::Https => {
            s.endpoints.https.iter().cloned().for_each(&mut add);
            s.endpoints.adfs.iter().cloned().for_each(&mut add);
            for d in s
                .domains
                .iter()
                .filter(|d| d.hybrid && d.services.contains(&Service::Exchange))
            {
                add(Endpoint {
                    host: format!("autodiscover.{}", d.name),
                    port: 443,
                });
            }
        }
        Target::Smtp => s.endpoints.smtp.iter().cloned().for_each(&mut add),
        Target::Adfs => s.endpoints.adfs.iter().cloned().for_each(&mut add),
    }
    out
}

/// The Microsoft 365 endpoint list for these settings: `--endpoints` / `[network] endpoints_file`,
/// else the embedded snapshot for the clouds served by the worldwide instance (`None` for the
/// others: their lists differ and none is embedded).
pub fn endpoint_list(s: &Settings) -> Result<Option<EndpointList>, ConfigError> {
    endpoint_list_for(s.cloud, s.endpoints_file.as_deref())
}

/// [`endpoint_list`] from its two inputs (also used by `tenant-ready endpoints show`).
pub fn endpoint_list_for(
    cloud: Cloud,
    file: Option<&std::path::Path>,
) -> Result<Option<EndpointList>, ConfigError> {
    match file {
        Some(path) => EndpointList::read(path)
            .map(Some)
            .map_err(ConfigError::Usage),
        None if matches!(cloud, Cloud::Worldwide | Cloud::Gcc) => EndpointList::embedded()
            .map(Some)
            .map_err(ConfigError::Usage),
        None => Ok(None),
    }
}

/// `{tenant}` and `{mx}` for the network checks' test hosts, and the service areas in use. Test
/// hosts are never derived from a domain name (an MX token can carry a suffix): `{mx}` is only
/// the host the tenant configured exactly.
fn network_context(s: &Settings) -> (Vars, Vec<String>) {
    let mut vars = Vars::default();
    // Without the tenant's name, Microsoft's own tenant stands in (as the Microsoft 365
    // connectivity test does with microsoft.sharepoint.com): same front doors, same firewall rules.
    vars.set(
        "tenant",
        s.initial_domain
            .as_ref()
            .map_or("microsoft", |i| i.first_label()),
    );
    if let Some(mx) = s
        .domains
        .iter()
        .filter(|d| d.services.contains(&Service::Exchange))
        .find_map(|d| d.exact("mx"))
    {
        vars.set("mx", mx);
    }
    let mut areas = vec!["Common".to_owned(), "SharePoint".to_owned()];
    if s.domains
        .iter()
        .any(|d| d.services.contains(&Service::Exchange))
    {
        areas.push("Exchange".into());
    }
    if s.domains
        .iter()
        .any(|d| d.services.contains(&Service::Teams))
    {
        areas.push("Skype".into());
    }
    (vars, areas)
}

/// Plans the network checks: one task per endpoint set (or relay, host…) they cover.
fn plan_network(
    network: &[&&CheckDef],
    defs: &BTreeMap<&str, Arc<CheckDef>>,
    s: &Settings,
    tasks: &mut Vec<Task>,
) -> Result<(), ConfigError> {
    let list = endpoint_list(s)?;
    let (vars, areas) = network_context(s);
    for c in network {
        let check = Arc::clone(&defs[c.id.as_str()]);
        let skip = |reason: Text| Task {
            check: Arc::clone(&check),
            subject: "Microsoft 365".into(),
            vars: None,
            work: Work::Skip(reason),
        };
        if let Some(reason) = cloud_applicability(c, s) {
            tasks.push(skip(reason));
            continue;
        }
        let Some(list) = &list else {
            tasks.push(skip(text!(
                "skip.no-endpoint-list",
                cloud = s.cloud.as_str()
            )));
            continue;
        };
        let planned = c
            .probe
            .plan_network(&crate::probe::NetworkPlanCx {
                list,
                vars: &vars,
                areas: areas.clone(),
                step: crate::probe::step_timeout(c.timeout.unwrap_or(s.timeout)),
                bandwidth_url: s.bandwidth_url.as_deref(),
                users: s.users,
            })
            .unwrap_or_default();
        if planned.is_empty() {
            tasks.push(skip(
                if matches!(c.probe, crate::probe::ProbeSpec::QualityBandwidth(_)) {
                    text!("skip.no-bandwidth-url")
                } else {
                    text!("skip.nothing-matches", source = &list.source)
                },
            ));
        }
        for (subject, p) in planned {
            let work = match &p {
                Planned::NetEndpoints(t) => t.untestable().map(Work::Skip),
                _ => None,
            };
            tasks.push(Task {
                check: Arc::clone(&check),
                subject,
                vars: None,
                work: work.unwrap_or(Work::Run(p)),
            });
        }
    }
    Ok(())
}

/// Builds the tasks.
pub fn plan(catalog: &Catalog, s: &Settings) -> Result<Vec<Task>, ConfigError> {
    let selected = select(catalog, &s.only, &s.skip)?;
    let defs: BTreeMap<&str, Arc<CheckDef>> = selected
        .iter()
        .map(|c| (c.id.as_str(), Arc::new((*c).clone())))
        .collect();
    let cloud = &catalog.clouds[&s.cloud];
    let template_err = |check: &CheckDef, e: crate::pattern::TemplateError| ConfigError::Invalid {
        path: check.file.clone().into(),
        message: format!("check `{}`: {e}", check.id),
    };
    // `--skip 'entra.*'` keeps the scan silent towards Microsoft: no other check asks Entra ID
    // then either (dns.verification would, about a missing TXT).
    let ask_entra = !s.skip.iter().any(|p| id_matches(p, "entra.domain"));
    let mut tasks = Vec::new();
    for d in &s.domains {
        let mut vars = vars_for(&d.name, s.initial_domain.as_ref(), cloud);
        if let Some(adfs) = &s.endpoints.adfs {
            // entra.domain compares a federated domain's STS with it.
            vars.set("adfs_host", adfs.host.to_ascii_lowercase());
        }
        let vars = Arc::new(vars);
        let cx = PlanCx {
            domain: &d.name,
            vars: &vars,
            exact: &d.exact,
            hybrid: d.hybrid,
            graph: d.graph.as_ref(),
            cloud: s.cloud,
            mx_gateway: &d.mx_gateway,
            auth: d.auth,
            ask_entra,
        };
        // Questions of every applicable check of this domain, selected or not: the NS comparison
        // covers the domain's records even when run alone.
        let mut siblings = Vec::new();
        for c in &catalog.checks {
            if !c.probe.needs_siblings() && applicability(c, d, s).is_none() {
                let p = c.probe.plan(&cx, &[]).map_err(|e| template_err(c, e))?;
                siblings.extend(p.iter().flat_map(Planned::questions));
            }
        }
        for c in selected
            .iter()
            .filter(|c| c.probe.target() == Target::Domain)
        {
            let work = match applicability(c, d, s) {
                Some(reason) => Work::Skip(reason),
                None => match c
                    .probe
                    .plan(&cx, &siblings)
                    .map_err(|e| template_err(c, e))?
                {
                    Some(p) => Work::Run(p),
                    None => continue,
                },
            };
            tasks.push(Task {
                check: Arc::clone(&defs[c.id.as_str()]),
                subject: d.name.to_string(),
                vars: Some(Arc::clone(&vars)),
                work,
            });
        }
    }
    // Network checks (against Microsoft 365 from here), then the customer's endpoints, check by
    // check, endpoints in configuration order.
    let network: Vec<&&CheckDef> = selected
        .iter()
        .filter(|c| c.probe.target() == Target::Network)
        .collect();
    if !network.is_empty() {
        plan_network(&network, &defs, s, &mut tasks)?;
    }
    plan_directory(&selected, &defs, s, &mut tasks);
    plan_tenant(&selected, &defs, s, &mut tasks);
    for c in selected.iter().filter(|c| {
        !matches!(
            c.probe.target(),
            Target::Domain | Target::Network | Target::Directory | Target::Tenant
        )
    }) {
        let target = c.probe.target();
        let subjects = endpoint_subjects(target, s);
        let check = Arc::clone(&defs[c.id.as_str()]);
        if subjects.is_empty() {
            tasks.push(Task {
                check,
                subject: target.source().to_owned(),
                vars: None,
                work: Work::Skip(text!("skip.no-endpoint", source = target.source())),
            });
            continue;
        }
        for ep in subjects {
            let mut vars = Vars::default();
            vars.set("host", &ep.host);
            vars.set("port", ep.port.to_string());
            let work = match cloud_applicability(c, s) {
                Some(reason) => Work::Skip(reason),
                None => match c.probe.plan_endpoint(&EndpointPlanCx {
                    endpoint: &ep,
                    cert_days: s.cert_days,
                }) {
                    Some(p) => Work::Run(p),
                    None => continue,
                },
            };
            tasks.push(Task {
                check: Arc::clone(&check),
                subject: ep.to_string(),
                vars: Some(Arc::new(vars)),
                work,
            });
        }
    }
    // A shard other than the first runs only its domains' checks: the shared ones (endpoints,
    // network, directory, tenant) run once, in shard 1, so the shards' union is the whole scan.
    if s.shard.is_some_and(|sh| !sh.runs_shared_checks()) {
        tasks.retain(|t| t.check.probe.target() == Target::Domain);
    }
    Ok(tasks)
}

/// The directory checks: one subject (the DC), one shared read for every `directory-objects`
/// check, each check judging its own rules; without `[directory]`, a skip saying so.
fn plan_directory(
    selected: &[&CheckDef],
    defs: &BTreeMap<&str, Arc<CheckDef>>,
    s: &Settings,
    tasks: &mut Vec<Task>,
) {
    use crate::directory::read::{Exclusions, Group, ReadPlan, SharedRead};
    use crate::directory::rules::{Rule, Tenant};
    use crate::probe::{ProbeSpec, directory_forest, directory_objects};
    let checks: Vec<&&CheckDef> = selected
        .iter()
        .filter(|c| c.probe.target() == Target::Directory)
        .collect();
    if checks.is_empty() {
        return;
    }
    let Some(dir) = &s.directory else {
        for c in checks {
            tasks.push(Task {
                check: Arc::clone(&defs[c.id.as_str()]),
                subject: Target::Directory.source().to_owned(),
                vars: None,
                work: Work::Skip(text!("skip.no-directory")),
            });
        }
        return;
    };
    // The tenant's domains: tenant.toml's (or the command line's), its initial
    // `*.onmicrosoft.com` domain, and with `--graph` every domain Graph lists as verified.
    let mut domains: Vec<String> = s.domains.iter().map(|d| d.name.to_string()).collect();
    domains.extend(s.initial_domain.iter().map(ToString::to_string));
    for d in &s.graph_verified {
        if !domains.contains(d) {
            domains.push(d.clone());
        }
    }
    let mut plan = ReadPlan {
        groups: Vec::new(),
        tenant: Tenant { domains },
    };
    let mut objects: Vec<(&str, usize)> = Vec::new();
    for c in &checks {
        if let ProbeSpec::DirectoryObjects(spec) = &c.probe {
            objects.push((c.id.as_str(), plan.groups.len()));
            plan.groups.push(Group {
                check: c.id.clone(),
                rules: spec
                    .rule
                    .iter()
                    .map(|r| Rule {
                        spec: Arc::clone(r),
                    })
                    .collect(),
                exclude: Exclusions {
                    prefixes: spec.exclude.clone(),
                },
            });
        }
    }
    let shared = Arc::new(SharedRead::new(dir.clone(), plan));
    for c in &checks {
        let work = match cloud_applicability(c, s) {
            Some(reason) => Work::Skip(reason),
            None => match &c.probe {
                ProbeSpec::DirectoryObjects(_) => {
                    let group = objects
                        .iter()
                        .find(|(o, _)| *o == c.id)
                        .map_or(0, |(_, g)| *g);
                    Work::Run(Planned::DirectoryObjects(
                        directory_objects::DirectoryObjectsTask {
                            group,
                            shared: Arc::clone(&shared),
                        },
                    ))
                }
                ProbeSpec::DirectoryForest(spec) => Work::Run(Planned::DirectoryForest(
                    directory_forest::DirectoryForestTask {
                        settings: dir.clone(),
                        spec: spec.clone(),
                    },
                )),
                _ => continue,
            },
        };
        tasks.push(Task {
            check: Arc::clone(&defs[c.id.as_str()]),
            subject: dir.url.clone(),
            vars: None,
            work,
        });
    }
}

/// The directory read the tasks share, if any (the directory-csv report reads it after the run).
pub fn directory_read(tasks: &[Task]) -> Option<Arc<crate::directory::read::SharedRead>> {
    tasks.iter().find_map(|t| match &t.work {
        Work::Run(Planned::DirectoryObjects(d)) => Some(Arc::clone(&d.shared)),
        _ => None,
    })
}

/// The checks that read the tenant from Microsoft Graph: one subject (the tenant); without
/// `--graph`, a skip saying how to enable it; a check for services no domain uses, a skip too.
fn plan_tenant(
    selected: &[&CheckDef],
    defs: &BTreeMap<&str, Arc<CheckDef>>,
    s: &Settings,
    tasks: &mut Vec<Task>,
) {
    use crate::probe::ProbeSpec;
    let subject = s
        .initial_domain
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| s.tenant_name.clone())
        .unwrap_or_else(|| "tenant".into());
    for c in selected
        .iter()
        .filter(|c| c.probe.target() == Target::Tenant)
    {
        let services_used = c.services.is_empty()
            || s.domains
                .iter()
                .any(|d| c.services.iter().any(|x| d.services.contains(x)));
        let work = if let Some(reason) = cloud_applicability(c, s) {
            Work::Skip(reason)
        } else if !services_used {
            let names: Vec<&str> = c.services.iter().map(|x| x.as_str()).collect();
            Work::Skip(text!("skip.tenant-service", services = names.join("/")))
        } else if !s.graph {
            Work::Skip(text!("skip.no-graph"))
        } else {
            Work::Run(match &c.probe {
                ProbeSpec::EntraSync(spec) => Planned::EntraSync(spec.clone()),
                ProbeSpec::EntraAdmins(spec) => Planned::EntraAdmins(spec.clone()),
                ProbeSpec::IntuneMdm(spec) => Planned::IntuneMdm(spec.clone()),
                ProbeSpec::EntraMfa(spec) => Planned::EntraMfa(spec.clone()),
                ProbeSpec::EntraLicences(spec) => {
                    Planned::EntraLicences(crate::probe::entra_licences::EntraLicencesTask {
                        spec: spec.clone(),
                        users: s.users,
                    })
                }
                ProbeSpec::EntraServices(spec) => {
                    let mut services: Vec<Service> = s
                        .domains
                        .iter()
                        .flat_map(|d| d.services.iter().copied())
                        .collect();
                    services.sort_unstable();
                    services.dedup();
                    Planned::EntraServices(crate::probe::entra_services::EntraServicesTask {
                        spec: spec.clone(),
                        services,
                    })
                }
                _ => continue,
            })
        };
        tasks.push(Task {
            check: Arc::clone(&defs[c.id.as_str()]),
            subject: subject.clone(),
            vars: None,
            work,
        });
    }
}
