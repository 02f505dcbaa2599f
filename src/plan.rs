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
    /// Could not be planned (an `error` row, with the reason).
    Error(Text),
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

/// Builds every task at once (tests, benchmarks, the fuzzer): [`Plan`] with a template error in
/// any domain refused rather than turned into an `error` row.
pub fn plan(catalog: &Catalog, s: &Settings) -> Result<Vec<Task>, ConfigError> {
    let plan = Plan::new(catalog, s)?;
    let mut tasks = Vec::with_capacity(plan.len());
    tasks.extend(plan.current);
    for d in s.domains.iter().skip(1) {
        tasks.extend(plan.domains.tasks(d)?);
    }
    tasks.extend(plan.shared);
    Ok(tasks)
}

/// The tasks in report order (domains, then the network, directory, tenant and endpoint checks),
/// planned as the runner takes them. A domain's tasks are built when its turn comes and dropped
/// when they finish: planned up front, 100,000 domains held ~18 KB each of questions, siblings
/// and template values before the first packet (measured with heaptrack, issue 29), now only the
/// domains in flight do. The shared checks are few and planned at once (the directory read and
/// the progress bar's length need them).
pub struct Plan<'a> {
    domains: DomainPlanner<'a>,
    next_domain: usize,
    current: std::vec::IntoIter<Task>,
    shared: Vec<Task>,
    len: usize,
    /// Tasks yielded so far.
    taken: usize,
}

impl<'a> Plan<'a> {
    /// Plans the shared checks and the first domain (so a template error is a usage error before
    /// any packet); the other domains are planned as the iterator reaches them.
    pub fn new(catalog: &'a Catalog, s: &'a Settings) -> Result<Self, ConfigError> {
        let selected = select(catalog, &s.only, &s.skip)?;
        let defs: BTreeMap<&str, Arc<CheckDef>> = selected
            .iter()
            .map(|c| (c.id.as_str(), Arc::new((*c).clone())))
            .collect();
        let domain_checks: Vec<Arc<CheckDef>> = selected
            .iter()
            .filter(|c| c.probe.target() == Target::Domain)
            .map(|c| Arc::clone(&defs[c.id.as_str()]))
            .collect();
        let domains = DomainPlanner {
            catalog,
            s,
            checks: domain_checks,
            // `--skip 'entra.*'` keeps the scan silent towards Microsoft: no other check asks
            // Entra ID then either (dns.verification would, about a missing TXT).
            ask_entra: !s.skip.iter().any(|p| id_matches(p, "entra.domain")),
        };
        let current = match s.domains.first() {
            Some(d) => domains.tasks(d)?,
            None => Vec::new(),
        };
        let shared = plan_shared(&selected, &defs, s)?;
        let len = s.domains.len() * domains.checks.len() + shared.len();
        Ok(Self {
            domains,
            // The first domain is planned already (or there is none).
            next_domain: 1,
            current: current.into_iter(),
            shared,
            len,
            taken: 0,
        })
    }

    /// How many tasks the plan holds (the progress bar's length).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The checks that are not per domain, planned already.
    pub fn shared(&self) -> &[Task] {
        &self.shared
    }
}

impl Iterator for Plan<'_> {
    type Item = Task;

    /// What remains (the runner sizes its result list with it, once).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len.saturating_sub(self.taken);
        (left, Some(left))
    }

    fn next(&mut self) -> Option<Task> {
        loop {
            if let Some(t) = self.current.next() {
                self.taken += 1;
                return Some(t);
            }
            let Some(d) = self.domains.s.domains.get(self.next_domain) else {
                // The shared checks come last, in their planned order.
                if self.shared.is_empty() {
                    return None;
                }
                self.current = std::mem::take(&mut self.shared).into_iter();
                continue;
            };
            self.next_domain += 1;
            self.current = self.domains.tasks_or_errors(d).into_iter();
        }
    }
}

/// Plans one domain's tasks.
struct DomainPlanner<'a> {
    catalog: &'a Catalog,
    s: &'a Settings,
    /// The selected per-domain checks, in catalogue order.
    checks: Vec<Arc<CheckDef>>,
    ask_entra: bool,
}

impl DomainPlanner<'_> {
    /// The template values and planning context of a domain, and the questions of every check
    /// applicable to it (selected or not: the NS comparison covers the domain's records even
    /// when run alone).
    fn context(
        &self,
        d: &DomainSettings,
    ) -> Result<(Arc<Vars>, Vec<crate::probe::dns::Question>), ConfigError> {
        let s = self.s;
        let mut vars = vars_for(
            &d.name,
            s.initial_domain.as_ref(),
            &self.catalog.clouds[&s.cloud],
        );
        if let Some(adfs) = &s.endpoints.adfs {
            // entra.domain compares a federated domain's STS with it.
            vars.set("adfs_host", adfs.host.to_ascii_lowercase());
        }
        let vars = Arc::new(vars);
        let cx = self.cx(d, &vars);
        let mut siblings = Vec::new();
        for c in &self.catalog.checks {
            if !c.probe.needs_siblings() && applicability(c, d, s).is_none() {
                let p = c.probe.plan(&cx, &[]).map_err(|e| template_err(c, &e))?;
                siblings.extend(p.iter().flat_map(Planned::questions));
            }
        }
        Ok((vars, siblings))
    }

    fn cx<'b>(&'b self, d: &'b DomainSettings, vars: &'b Vars) -> PlanCx<'b> {
        PlanCx {
            domain: &d.name,
            vars,
            exact: &d.exact,
            hybrid: d.hybrid,
            graph: d.graph.as_ref(),
            cloud: self.s.cloud,
            mx_gateway: &d.mx_gateway,
            auth: d.auth,
            ask_entra: self.ask_entra,
        }
    }

    /// The domain's tasks; a check whose templates do not expand is refused.
    fn tasks(&self, d: &DomainSettings) -> Result<Vec<Task>, ConfigError> {
        let (vars, siblings) = self.context(d)?;
        self.checks
            .iter()
            .map(|c| self.task(c, d, &vars, &siblings))
            .collect()
    }

    /// [`Self::tasks`] for the lazy plan: the catalogue's validation expanded every template and
    /// the first domain was planned before the scan, so a failure here is not expected; should
    /// one happen, the check's row says so (an `error`) instead of the scan stopping half-way.
    fn tasks_or_errors(&self, d: &DomainSettings) -> Vec<Task> {
        let context = self.context(d).map_err(|e| e.to_string());
        self.checks
            .iter()
            .map(|c| {
                let planned = match &context {
                    Ok((vars, siblings)) => {
                        self.task(c, d, vars, siblings).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.clone()),
                };
                planned.unwrap_or_else(|e| Task {
                    check: Arc::clone(c),
                    subject: d.name.to_string(),
                    vars: None,
                    work: Work::Error(text!("run.plan", error = e)),
                })
            })
            .collect()
    }

    fn task(
        &self,
        c: &Arc<CheckDef>,
        d: &DomainSettings,
        vars: &Arc<Vars>,
        siblings: &[crate::probe::dns::Question],
    ) -> Result<Task, ConfigError> {
        let work = match applicability(c, d, self.s) {
            Some(reason) => Work::Skip(reason),
            None => match c
                .probe
                .plan(&self.cx(d, vars), siblings)
                .map_err(|e| template_err(c, &e))?
            {
                Some(p) => Work::Run(p),
                // Only checks of other targets plan to nothing; a domain check always has a row.
                None => Work::Error(text!("run.plan", error = "nothing to check")),
            },
        };
        Ok(Task {
            check: Arc::clone(c),
            subject: d.name.to_string(),
            vars: Some(Arc::clone(vars)),
            work,
        })
    }
}

fn template_err(check: &CheckDef, e: &crate::pattern::TemplateError) -> ConfigError {
    ConfigError::Invalid {
        path: check.file.clone().into(),
        message: format!("check `{}`: {e}", check.id),
    }
}

/// The checks that are not per domain: network checks (against Microsoft 365 from here), the
/// directory, the tenant, then the customer's endpoints, check by check, endpoints in
/// configuration order.
fn plan_shared(
    selected: &[&CheckDef],
    defs: &BTreeMap<&str, Arc<CheckDef>>,
    s: &Settings,
) -> Result<Vec<Task>, ConfigError> {
    // A shard other than the first runs only its domains' checks: the shared ones run once, in
    // shard 1, so the shards' union is the whole scan.
    if s.shard.is_some_and(|sh| !sh.runs_shared_checks()) {
        return Ok(Vec::new());
    }
    let mut tasks = Vec::new();
    let network: Vec<&&CheckDef> = selected
        .iter()
        .filter(|c| c.probe.target() == Target::Network)
        .collect();
    if !network.is_empty() {
        plan_network(&network, defs, s, &mut tasks)?;
    }
    plan_directory(selected, defs, s, &mut tasks);
    plan_tenant(selected, defs, s, &mut tasks);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ScanArgs;
    use crate::settings::Env;

    fn settings(domains: &[&str], only: &[&str]) -> Settings {
        let args = ScanArgs {
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            only: only.iter().map(|d| (*d).to_owned()).collect(),
            ..ScanArgs::default()
        };
        Settings::resolve(&args, None, &Env::default()).expect("settings")
    }

    /// The lazy plan yields exactly the tasks the eager one builds, in the same order, and its
    /// length (the progress bar's) is their number.
    #[test]
    fn the_lazy_plan_is_the_eager_plan_in_the_same_order() {
        let catalog = Catalog::embedded().expect("catalog");
        for only in [&[][..], &["dns.*"][..], &["net.*", "dns.mx"][..]] {
            let s = settings(&["a.example", "b.example", "c.example"], only);
            let eager = plan(&catalog, &s).expect("plan");
            let lazy = Plan::new(&catalog, &s).expect("plan");
            assert_eq!(lazy.len(), eager.len(), "{only:?}");
            let rows = |t: &Task| (t.check.id.clone(), t.subject.clone());
            let lazy: Vec<_> = lazy.map(|t| rows(&t)).collect();
            let eager: Vec<_> = eager.iter().map(rows).collect();
            assert_eq!(lazy, eager, "{only:?}");
        }
    }

    /// One domain and one per-domain check: one task, nothing shared.
    #[test]
    fn one_domain_and_one_domain_check_plan_one_task() {
        let catalog = Catalog::embedded().expect("catalog");
        let s = settings(&["a.example"], &["dns.mx"]);
        let p = Plan::new(&catalog, &s).expect("plan");
        assert_eq!(p.len(), 1);
        assert!(p.shared().is_empty());
    }
}
