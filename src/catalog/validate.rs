//! Cross-field rules for the catalogues, checked once at load time. Each error names the file,
//! the check or responsibility id, and the field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::vars_for;
use super::{Catalog, PHASES};
use crate::domain::DomainName;
use crate::error::ConfigError;
use crate::level::Level;
use crate::pattern::Vars;
use crate::probe::{PlanCx, ProbeSpec, Target};
use crate::tenant::Cloud;

fn invalid(path: impl Into<PathBuf>, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message,
    }
}

fn valid_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    parts.clone().count() >= 2 && parts.all(ok_part)
}

pub(super) fn validate(
    c: &Catalog,
    resp_path: &Path,
    clouds_path: &Path,
) -> Result<(), ConfigError> {
    // Responsibilities.
    let mut seen = BTreeSet::new();
    for r in &c.responsibilities {
        if !valid_id(&r.id) {
            return Err(invalid(
                resp_path,
                format!(
                    "responsibility `{}`: field id: use <phase>.<slug> in lower case",
                    r.id
                ),
            ));
        }
        if !seen.insert(r.id.as_str()) {
            return Err(invalid(
                resp_path,
                format!("responsibility `{}` is defined twice", r.id),
            ));
        }
        if !PHASES.contains(&r.phase.as_str()) || !r.id.starts_with(&format!("{}.", r.phase)) {
            return Err(invalid(
                resp_path,
                format!(
                    "responsibility `{}`: field phase: `{}` must be one of {} and prefix the id",
                    r.id,
                    r.phase,
                    PHASES.join(", ")
                ),
            ));
        }
        if let Some(p) = &r.parent
            && !seen.contains(p.as_str())
        {
            return Err(invalid(
                resp_path,
                format!(
                    "responsibility `{}`: field parent: `{p}` is not defined before it",
                    r.id
                ),
            ));
        }
    }
    // Clouds: every cloud, same keys.
    let mut keys: Option<BTreeSet<&String>> = None;
    for cloud in Cloud::ALL {
        let Some(kv) = c.clouds.get(&cloud) else {
            return Err(invalid(
                clouds_path,
                format!("[cloud.{}] is missing", cloud.as_str()),
            ));
        };
        let these: BTreeSet<&String> = kv.keys().collect();
        match &keys {
            None => keys = Some(these),
            Some(k) if *k != these => {
                return Err(invalid(
                    clouds_path,
                    format!(
                        "[cloud.{}] must define the same keys as the other clouds",
                        cloud.as_str()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    // Checks.
    let mut ids = BTreeMap::new();
    for check in &c.checks {
        let path = PathBuf::from(&check.file);
        if !valid_id(&check.id) {
            return Err(invalid(
                path,
                format!(
                    "check `{}`: field id: use dotted lower-case words, e.g. dns.mx",
                    check.id
                ),
            ));
        }
        if let Some(first) = ids.insert(check.id.as_str(), check.file.as_str()) {
            return Err(invalid(
                path,
                format!("check `{}` is also defined in {first}", check.id),
            ));
        }
        if c.responsibility(&check.responsibility).is_none() {
            return Err(invalid(
                path,
                format!(
                    "check `{}`: field responsibility: `{}` is not in the responsibility catalogue",
                    check.id, check.responsibility
                ),
            ));
        }
        if let ProbeSpec::DnsRecord(spec) = &check.probe {
            if spec.record.is_empty() {
                return Err(invalid(
                    path,
                    format!(
                        "check `{}`: probe.record: at least one record is needed",
                        check.id
                    ),
                ));
            }
            for r in &spec.record {
                if r.absent && !r.accept.is_empty() {
                    return Err(invalid(
                        path,
                        format!(
                            "check `{}`: record {}: `absent` and `accept` exclude each other",
                            check.id, r.name
                        ),
                    ));
                }
                if !r.absent && r.accept.is_empty() {
                    return Err(invalid(
                        path,
                        format!(
                            "check `{}`: record {}: give `accept` patterns or `absent = true`",
                            check.id, r.name
                        ),
                    ));
                }
                if let Some(problem) = level_problem(r.level, r.why.as_deref(), r.missing_ok) {
                    return Err(invalid(
                        path,
                        format!("check `{}`: record {}: {problem}", check.id, r.name),
                    ));
                }
                if !r.tolerate.is_empty()
                    && (r.absent
                        || r.tolerate_why
                            .as_deref()
                            .is_none_or(|w| w.trim().is_empty()))
                {
                    return Err(invalid(
                        path,
                        format!(
                            "check `{}`: record {}: `tolerate` needs `tolerate_why` (why those values only warn) and is not for `absent` records",
                            check.id, r.name
                        ),
                    ));
                }
            }
            // A per-record `clouds` list must leave every cloud the check runs for something
            // to look at.
            for cloud in Cloud::ALL {
                let runs = check.clouds.is_empty() || check.clouds.contains(&cloud);
                let any = spec
                    .record
                    .iter()
                    .any(|r| r.clouds.is_empty() || r.clouds.contains(&cloud));
                if runs && !any {
                    return Err(invalid(
                        path,
                        format!(
                            "check `{}`: no record applies to cloud {} (each record's `clouds`); limit the check with its own `clouds`",
                            check.id,
                            cloud.as_str()
                        ),
                    ));
                }
            }
        }
        if let Some(field) = exact_fields(&check.probe)
            .into_iter()
            .find(|f| crate::tenant::exact_hint(f).is_none())
        {
            let known: Vec<&str> = crate::settings::EXACT_FIELDS
                .iter()
                .map(|(f, _)| *f)
                .collect();
            return Err(invalid(
                path,
                format!(
                    "check `{}`: exact_from `{field}` is not a [[domain]] field ({})",
                    check.id,
                    known.join(", ")
                ),
            ));
        }
        if let Some(problem) = spec_level_problem(&check.probe) {
            return Err(invalid(path, format!("check `{}`: {problem}", check.id)));
        }
        if check.probe.target() != Target::Domain {
            if let Some(problem) = endpoint_spec_problem(&check.probe) {
                return Err(invalid(&path, format!("check `{}`: {problem}", check.id)));
            }
            let mut vars = Vars::default();
            vars.set("host", "sts.contoso.com");
            vars.set("port", "443");
            vars.expand_text(&check.remediation).map_err(|e| {
                invalid(
                    &path,
                    format!("check `{}`: field remediation: {e} (endpoint checks know {{host}} and {{port}})", check.id),
                )
            })?;
            continue;
        }
        // Every template must expand for every cloud, with and without the tenant's initial domain.
        let domain = DomainName::parse("contoso.com").map_err(|e| invalid(&path, e.to_string()))?;
        for cloud in Cloud::ALL {
            for initial in [None, Some("contoso.onmicrosoft.com")] {
                let initial = initial.and_then(|d| DomainName::parse(d).ok());
                let vars = vars_for(&domain, initial.as_ref(), &c.clouds[&cloud]);
                let exact = BTreeMap::new();
                let cx = PlanCx {
                    domain: &domain,
                    vars: &vars,
                    exact: &exact,
                    hybrid: false,
                    graph: None,
                    cloud,
                    mx_gateway: &[],
                    auth: None,
                    ask_entra: true,
                };
                check.probe.plan(&cx, &[]).map_err(|e| {
                    invalid(
                        &path,
                        format!("check `{}`: {e} (cloud {})", check.id, cloud.as_str()),
                    )
                })?;
                for text in std::iter::once(&check.remediation).chain(&check.remediation_ko) {
                    vars.expand_text(text).map_err(|e| {
                        invalid(
                            &path,
                            format!("check `{}`: field remediation: {e}", check.id),
                        )
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// A level below `required` must say why the item matters (it is what the warning tells the
/// customer); `missing_ok` only makes sense for an optional item.
fn level_problem(level: Level, why: Option<&str>, missing_ok: bool) -> Option<String> {
    if level != Level::Required && why.is_none_or(|w| w.trim().is_empty()) {
        return Some(format!(
            "level `{level}` needs `why` (who needs it and what breaks without it)"
        ));
    }
    (missing_ok && level != Level::Optional)
        .then(|| "missing_ok is only for level = \"optional\"".to_owned())
}

/// The `exact_from` fields a probe table names.
fn exact_fields(p: &ProbeSpec) -> Vec<&str> {
    match p {
        ProbeSpec::DnsRecord(s) => s
            .record
            .iter()
            .filter_map(|r| r.exact_from.as_deref())
            .collect(),
        ProbeSpec::DnsMx(s) => s.exact_from.as_deref().into_iter().collect(),
        _ => vec![],
    }
}

/// The level rules for kinds with one level for the whole record.
fn spec_level_problem(p: &ProbeSpec) -> Option<String> {
    match p {
        ProbeSpec::DnsMx(s) => level_problem(s.level, s.why.as_deref(), false).or_else(|| {
            s.gateway
                .iter()
                .find(|g| g.name.trim().is_empty() || g.hosts.is_empty())
                .map(|g| format!("gateway `{}`: give a name and at least one host", g.name))
        }),
        ProbeSpec::DnsSpf(s) => level_problem(s.level, s.why.as_deref(), false),
        ProbeSpec::DnsDmarc(s) => level_problem(s.level, s.why.as_deref(), false),
        _ => None,
    }
}

/// `[[check.probe.port]]` entries: ports that parse, and the level rules.
fn port_levels_problem(levels: &[crate::level::PortLevel]) -> Option<String> {
    levels.iter().find_map(|l| {
        match crate::endpoint_sets::parse_ports(&l.ports) {
            Err(e) => return Some(format!("port `{}`: {e}", l.ports)),
            Ok(v) if v.is_empty() => return Some("port: `ports` is empty".into()),
            Ok(_) => {}
        }
        if l.informational && l.level != Level::Optional {
            return Some(format!(
                "port `{}`: informational is only for level = \"optional\"",
                l.ports
            ));
        }
        level_problem(l.level, l.why.as_deref(), false).map(|p| format!("port `{}`: {p}", l.ports))
    })
}

/// Limits in endpoint probe tables that would make the check meaningless.
fn endpoint_spec_problem(p: &ProbeSpec) -> Option<String> {
    let bits = |rsa: u32, ec: u32| {
        (rsa < 1024 || ec < 160).then(|| {
            format!(
                "min_rsa_bits ({rsa}) must be at least 1024 and min_ec_bits ({ec}) at least 160"
            )
        })
    };
    match p {
        ProbeSpec::TlsCertificate(s) => bits(s.min_rsa_bits, s.min_ec_bits),
        ProbeSpec::TlsSmtpStarttls(s) => bits(s.min_rsa_bits, s.min_ec_bits),
        ProbeSpec::TlsProtocol(s) => s
            .required
            .is_empty()
            .then(|| "required must list at least one TLS version".to_owned())
            .or_else(|| {
                s.required
                    .iter()
                    .any(|v| s.deprecated.contains(v))
                    .then(|| "a version cannot be both required and deprecated".to_owned())
            }),
        ProbeSpec::NetEndpoints(s) => {
            if let Some(p) = port_levels_problem(&s.port_levels) {
                Some(p)
            } else if s.categories.is_empty() {
                Some("categories must list at least one of Optimize, Allow, Default".into())
            } else if s.probe_timeout_ms == 0 || s.max_ports_per_range == 0 {
                Some("probe_timeout_ms and max_ports_per_range must be positive".into())
            } else {
                None
            }
        }
        ProbeSpec::NetTlsInspection(s) => {
            (s.categories.is_empty() || s.max_hosts == 0 || s.issuers.is_empty())
                .then(|| "categories, max_hosts and issuers must not be empty".into())
        }
        ProbeSpec::NetProxy(s) => (s.categories.is_empty() || s.max_hosts == 0)
            .then(|| "categories and max_hosts must not be empty".into())
            .or_else(|| {
                s.proxy_headers
                    .iter()
                    .any(|h| h.chars().any(|c| c.is_ascii_uppercase()))
                    .then(|| "proxy_headers must be lower-case".into())
            }),
        ProbeSpec::QualityLatency(s) => {
            (s.samples < 2 || s.interval_ms == 0 || s.reply_timeout_ms == 0 || s.sets.is_empty())
                .then(|| {
                    "samples must be at least 2; interval_ms, reply_timeout_ms and sets must be set"
                        .into()
                })
        }
        ProbeSpec::QualityBandwidth(s) => (s.connections == 0
            || s.max_ms <= s.warmup_ms + s.min_ms
            || s.stable_samples < 2
            || s.max_bytes == 0)
            .then(|| "connections > 0, stable_samples >= 2, max_bytes > 0 and max_ms > warmup_ms + min_ms".into()),
        ProbeSpec::NetStun(s) => port_levels_problem(&s.port_levels).or_else(|| {
            (s.sets.is_empty() || s.attempts == 0 || s.first_wait_ms == 0).then(|| {
                "sets must name an endpoint set; attempts and first_wait_ms must be positive".into()
            })
        }),
        ProbeSpec::HttpFederationMetadata(s) => {
            if !s.path.starts_with('/') {
                Some(format!("path `{}` must start with /", s.path))
            } else if !(s.fail_days <= s.renew_days
                && s.renew_days <= s.successor_days
                && s.successor_days <= s.warn_days)
            {
                Some(
                    "thresholds must satisfy fail_days <= renew_days <= successor_days <= warn_days"
                        .into(),
                )
            } else if s.max_bytes == 0 {
                Some("max_bytes must be positive".into())
            } else {
                None
            }
        }
        ProbeSpec::DirectoryObjects(s) => {
            let mut ids = std::collections::HashSet::new();
            s.rule
                .iter()
                .find_map(|r| crate::directory::rules::validate(r).err())
                .or_else(|| s.rule.is_empty().then(|| "list at least one [[check.probe.rule]]".into()))
                .or_else(|| {
                    s.rule
                        .iter()
                        .find(|r| !ids.insert(r.id.as_str()))
                        .map(|r| format!("rule id `{}` is used twice", r.id))
                })
        }
        ProbeSpec::DirectoryForest(s) => (s.recycle_bin_level
            != Level::Required
            && s.recycle_bin_why.as_deref().is_none_or(str::is_empty))
        .then(|| "recycle_bin_why is required below recycle_bin_level = \"required\"".into()),
        ProbeSpec::EntraSync(s) => (s.permission.is_empty()
            || s.cycle_minutes == 0
            || s.warn_after_minutes > s.fail_after_minutes)
            .then(|| "permission must be set, cycle_minutes positive, warn_after_minutes <= fail_after_minutes".into()),
        ProbeSpec::EntraAdmins(s) => (s.permission.is_empty() || s.min > s.max || s.role_template_id.is_empty())
            .then(|| "permission and role_template_id must be set, and min <= max".into()),
        ProbeSpec::IntuneMdm(s) => (s.permission.is_empty() || s.expected.is_empty())
            .then(|| "permission and expected must be set".into()),
        ProbeSpec::EntraMfa(s) => (s.permission.is_empty()
            || s.registration_permission.is_empty()
            || s.admin_roles.is_empty()
            || s.applications.is_empty())
        .then(|| "permission, registration_permission, admin_roles and applications must be set".into()),
        ProbeSpec::EntraLicences(s) => (s.permission.is_empty() || s.seat_plans.is_empty())
            .then(|| "permission and seat_plans must be set".into()),
        ProbeSpec::EntraServices(s) => (s.permission.is_empty()
            || s.service.is_empty()
            || s.service.iter().any(|p| p.plans.is_empty()))
        .then(|| "permission must be set, and every service must list its plans".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn ids() {
        assert!(valid_id("dns.mx"));
        assert!(valid_id("general.program-management.project-manager"));
        assert!(!valid_id("dns"));
        assert!(!valid_id("DNS.mx"));
        assert!(!valid_id("dns..mx"));
        assert!(!valid_id("dns.m x"));
    }
}
