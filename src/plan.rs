//! The plan: the catalogue's checks × the tenant's domains → concrete [`Task`]s, in a
//! deterministic order (domain, then catalogue order). Selection (`--only`/`--skip`) and
//! applicability (services, cloud) are decided here, so the runner only runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{Catalog, CheckDef};
use crate::domain::DomainName;
use crate::error::ConfigError;
use crate::pattern::{Vars, id_matches};
use crate::probe::{PlanCx, Planned};
use crate::settings::{DomainSettings, Settings};

/// What to do for one (check, subject).
#[derive(Clone, Debug)]
pub enum Work {
    /// Run this probe.
    Run(Planned),
    /// Not applicable, with the reason.
    Skip(String),
}

/// One unit of work and the report row it becomes.
#[derive(Clone, Debug)]
pub struct Task {
    /// The check.
    pub check: Arc<CheckDef>,
    /// The domain or host the result is about.
    pub subject: String,
    /// Remediation text with templates expanded for the subject.
    pub remediation: String,
    /// What to do.
    pub work: Work,
}

/// Template variables for one domain.
pub fn vars_for(
    domain: &DomainName,
    initial: Option<&DomainName>,
    cloud: &BTreeMap<String, Vec<String>>,
) -> Vars {
    let mut v = Vars::default();
    v.set("domain", domain.as_str());
    v.set("domain_dashed", domain.dashed());
    match initial {
        Some(i) => {
            v.set("initial_prefix", i.first_label());
            v.set("initial_domain", i.as_str());
        }
        // Unknown tenant: any single label matches, and the result says so.
        None => v.set("initial_prefix", "*"),
    }
    for (k, values) in cloud {
        v.set_list(format!("cloud.{k}"), values.clone());
    }
    v
}

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

fn applicability(check: &CheckDef, d: &DomainSettings, s: &Settings) -> Option<String> {
    if !check.clouds.is_empty() && !check.clouds.contains(&s.cloud) {
        return Some(format!("not applicable to the {} cloud", s.cloud.as_str()));
    }
    if !check.services.is_empty() && !check.services.iter().any(|x| d.services.contains(x)) {
        let names: Vec<&str> = check.services.iter().map(|x| x.as_str()).collect();
        return Some(format!(
            "not applicable: {} is not configured for {}",
            d.name,
            names.join("/")
        ));
    }
    None
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
    let mut tasks = Vec::new();
    for d in &s.domains {
        let vars = vars_for(&d.name, s.initial_domain.as_ref(), cloud);
        let mut exact = BTreeMap::new();
        if let Some(v) = &d.verification {
            exact.insert("verification", v.clone());
        }
        if let Some(v) = &d.mx {
            exact.insert("mx", v.clone());
        }
        let cx = PlanCx {
            domain: &d.name,
            vars: &vars,
            exact: &exact,
            hybrid: d.hybrid,
        };
        // Questions of every applicable check of this domain, selected or not: the NS comparison
        // covers the domain's records even when run alone.
        let mut siblings = Vec::new();
        for c in &catalog.checks {
            if !c.probe.needs_siblings() && applicability(c, d, s).is_none() {
                let p = c.probe.plan(&cx, &[]).map_err(|e| template_err(c, e))?;
                siblings.extend(p.questions());
            }
        }
        for c in &selected {
            let remediation = vars
                .expand(&c.remediation)
                .map_err(|e| template_err(c, e))?
                .join(" / ");
            let work = match applicability(c, d, s) {
                Some(reason) => Work::Skip(reason),
                None => Work::Run(
                    c.probe
                        .plan(&cx, &siblings)
                        .map_err(|e| template_err(c, e))?,
                ),
            };
            tasks.push(Task {
                check: Arc::clone(&defs[c.id.as_str()]),
                subject: d.name.to_string(),
                remediation,
                work,
            });
        }
    }
    Ok(tasks)
}
