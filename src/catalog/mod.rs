//! The catalogues: check definitions (`checks/*.toml`), the responsibility list
//! (`checks/responsibilities.toml`) and per-cloud values (`checks/clouds.toml`). They are embedded in
//! the binary and can be replaced with `--checks DIR`.
//!
//! Loading is strict (`deny_unknown_fields` everywhere) and followed by [`validate`], so a shipped
//! or user-supplied definition that is wrong fails at start-up with the file, check id and field,
//! never halfway through a scan.

mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;
use crate::outcome::Severity;
use crate::probe::ProbeSpec;
use crate::tenant::{Cloud, Service};

/// The check files shipped in the binary, in report order.
pub const EMBEDDED_CHECKS: &[(&str, &str)] = &[
    ("dns.toml", include_str!("../../checks/dns.toml")),
    ("tls.toml", include_str!("../../checks/tls.toml")),
    ("network.toml", include_str!("../../checks/network.toml")),
    ("quality.toml", include_str!("../../checks/quality.toml")),
    ("entra.toml", include_str!("../../checks/entra.toml")),
    (
        "directory.toml",
        include_str!("../../checks/directory.toml"),
    ),
];
/// The shipped responsibility catalogue.
pub const EMBEDDED_RESPONSIBILITIES: &str = include_str!("../../checks/responsibilities.toml");
/// The shipped per-cloud values.
pub const EMBEDDED_CLOUDS: &str = include_str!("../../checks/clouds.toml");

/// One check definition.
#[derive(Clone, Debug)]
pub struct CheckDef {
    /// Stable dotted id (`dns.mx`).
    pub id: String,
    /// One line for people.
    pub title: String,
    /// Responsibility id it serves.
    pub responsibility: String,
    /// Severity.
    pub severity: Severity,
    /// Only for domains with one of these services (empty = always).
    pub services: Vec<Service>,
    /// Only for these clouds (empty = all).
    pub clouds: Vec<Cloud>,
    /// What to do about a problem (may contain `{templates}`).
    pub remediation: String,
    /// The same in Korean (`--lang ko`), with the same `{templates}`.
    pub remediation_ko: Option<String>,
    /// Documentation link.
    pub docs: Option<String>,
    /// Per-check timeout overriding `--timeout`.
    pub timeout: Option<Duration>,
    /// How to probe.
    pub probe: ProbeSpec,
    /// File it came from (for messages).
    pub file: String,
    /// Defined by the user (`--checks DIR`, `[checks] dirs`), not built in.
    pub custom: bool,
    /// A user's check with a built-in check's id: it replaces that one.
    pub replaces_builtin: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    check: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    title: String,
    responsibility: String,
    severity: Severity,
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default)]
    clouds: Vec<Cloud>,
    remediation: String,
    #[serde(default)]
    remediation_ko: Option<String>,
    docs: Option<String>,
    timeout: Option<String>,
    probe: ProbeSpec,
}

impl Responsibility {
    /// The title in `lang` (Korean: the seed's line, with the corrected one beside it).
    pub fn title_in(&self, lang: crate::output::Lang) -> std::borrow::Cow<'_, str> {
        crate::i18n::title(
            &self.title,
            &self.title_ko,
            self.title_ko_corrected.as_deref(),
            lang,
        )
    }
}

/// One responsibility (a line of the seed).
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Responsibility {
    /// `<phase>.<slug>`.
    pub id: String,
    /// `3694a-NNN`, the seed line.
    pub seed_ref: String,
    /// `general`, `initiate`, `assess`, `remediate`, `enable`.
    pub phase: String,
    /// The line this one is a sub-bullet of.
    #[serde(default)]
    pub parent: Option<String>,
    /// English text.
    pub title: String,
    /// Korean text (the seed's ko-KR line), kept as the seed has it.
    pub title_ko: String,
    /// Where the seed's Korean misleads (3694a-110 calls the FastTrack Engineer 관리자,
    /// "administrator"; 3694a-162 calls migration 구성, "configuration"), a corrected
    /// translation the Korean reports show beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_ko_corrected: Option<String>,
    /// Whether tenant-ready verifies it.
    pub automated: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsibilityFile {
    responsibility: Vec<Responsibility>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudFile {
    cloud: BTreeMap<Cloud, BTreeMap<String, OneOrMany>>,
}

/// Everything loaded and validated.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Checks, in file then definition order.
    pub checks: Vec<CheckDef>,
    /// Responsibilities, in seed order.
    pub responsibilities: Vec<Responsibility>,
    /// Cloud → key → values.
    pub clouds: BTreeMap<Cloud, BTreeMap<String, Vec<String>>>,
    /// Where the definitions came from (`embedded` or the directory).
    pub source: String,
}

impl Catalog {
    /// The name a scan's resolver must resolve before its "does not exist" answers are believed:
    /// the TXT record of the cloud's SPF include, which Microsoft publishes for every tenant
    /// (`spf.protection.outlook.com` worldwide). A scan asks it anyway (`dns.spf`), so it costs
    /// one question that the SPF checks would ask too.
    pub fn resolver_canary(&self, cloud: Cloud) -> Option<crate::probe::dns::Question> {
        let name = self.clouds.get(&cloud)?.get("spf_include")?.first()?;
        Some(crate::probe::dns::Question::new(
            name,
            crate::probe::dns::Rtype::TXT,
        ))
    }
}

/// Template variables for one domain: `{domain}`, `{domain_dashed}`, `{initial_prefix}`,
/// `{initial_domain}`, `{cloud.KEY}` (the planner adds `{adfs_host}`).
pub fn vars_for(
    domain: &crate::domain::DomainName,
    initial: Option<&crate::domain::DomainName>,
    cloud: &BTreeMap<String, Vec<String>>,
) -> crate::pattern::Vars {
    let mut v = crate::pattern::Vars::default();
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

/// The phases in seed order.
pub const PHASES: [&str; 5] = ["general", "initiate", "assess", "remediate", "enable"];

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))
}

/// A directory's files: check files (sorted), and its `responsibilities.toml` and `clouds.toml`
/// when present (`messages.toml`, the report vocabulary, is not a check file).
fn read_dir_files(
    dir: &Path,
) -> Result<
    (
        Vec<(PathBuf, String)>,
        Option<(PathBuf, String)>,
        Option<(PathBuf, String)>,
    ),
    ConfigError,
> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    let (mut resp, mut clouds) = (None, None);
    for p in paths {
        let text = read(&p)?;
        match p.file_name().and_then(|n| n.to_str()) {
            Some("responsibilities.toml") => resp = Some((p, text)),
            Some("clouds.toml") => clouds = Some((p, text)),
            Some("messages.toml") => {}
            _ => files.push((p, text)),
        }
    }
    if files.is_empty() {
        return Err(ConfigError::Invalid {
            path: dir.to_owned(),
            message: "no check files (*.toml) in this directory".into(),
        });
    }
    Ok((files, resp, clouds))
}

/// The `clouds.toml` keys naming hosts that receive a credential: the Microsoft Entra ID sign-in
/// host gets the app registration's client secret (`--graph`, `init --from-graph`), and the
/// Graph host its bearer token. They come only from the built-in catalogue: a check pack's
/// `clouds.toml` that changes one is refused (it could send the secret anywhere).
pub const PINNED_CLOUD_KEYS: [&str; 2] = ["login", "graph"];

/// The built-in value of a pinned key for a cloud.
pub fn pinned_host(cloud: Cloud, key: &str) -> Option<String> {
    static BUILTIN: std::sync::OnceLock<Option<CloudFile>> = std::sync::OnceLock::new();
    let file = BUILTIN
        .get_or_init(|| toml::from_str(EMBEDDED_CLOUDS).ok())
        .as_ref()?;
    match file.cloud.get(&cloud)?.get(key)? {
        OneOrMany::One(v) => Some(v.clone()),
        OneOrMany::Many(v) => v.first().cloned(),
    }
}

/// Refuses a user's `clouds.toml` whose credential hosts ([`PINNED_CLOUD_KEYS`]) differ from the
/// built-in ones.
fn pinned_hosts_unchanged(path: &Path, file: &CloudFile) -> Result<(), ConfigError> {
    for (cloud, kv) in &file.cloud {
        for key in PINNED_CLOUD_KEYS {
            let theirs: Vec<&str> = match kv.get(key) {
                Some(OneOrMany::One(v)) => vec![v.as_str()],
                Some(OneOrMany::Many(v)) => v.iter().map(String::as_str).collect(),
                None => vec![],
            };
            let ours = pinned_host(*cloud, key);
            let same = match (theirs.as_slice(), &ours) {
                ([], _) => true,
                ([one], Some(ours)) => one.trim_end_matches('.').eq_ignore_ascii_case(ours),
                _ => false,
            };
            if !same {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!(
                        "cloud.{}.{key}: `{}` is not the built-in `{}`: the hosts that receive credentials (the Graph client secret and token) come only from the built-in catalogue; remove `{key}` from this file (the built-in value is used) or give the built-in value",
                        cloud.as_str(),
                        crate::escape::terminal(&theirs.join(", ")),
                        ours.as_deref().unwrap_or("none")
                    ),
                });
            }
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

impl Catalog {
    /// The embedded catalogue.
    pub fn embedded() -> Result<Self, ConfigError> {
        let files: Vec<(PathBuf, String)> = EMBEDDED_CHECKS
            .iter()
            .map(|(name, text)| (Path::new("checks").join(name), (*text).to_owned()))
            .collect();
        Self::from_parts(
            &files,
            (
                Path::new("checks/responsibilities.toml"),
                EMBEDDED_RESPONSIBILITIES,
            ),
            (Path::new("checks/clouds.toml"), EMBEDDED_CLOUDS),
            "embedded".into(),
        )
    }

    /// The built-in catalogue extended by the check files of `dirs` (`--checks DIR`, repeatable;
    /// `[checks] dirs`), in order: a check whose id is a built-in one replaces it where it stood,
    /// any other is added. A directory's `responsibilities.toml` / `clouds.toml` replace the
    /// built-in ones. With `builtin` false, only the directories' checks (the behaviour of
    /// `--checks` before 0.2: `--no-builtin-checks`).
    pub fn load(dirs: &[PathBuf], builtin: bool) -> Result<Self, ConfigError> {
        match (dirs, builtin) {
            ([], true) => return Self::embedded(),
            ([], false) => {
                return Err(ConfigError::Usage(
                    "--no-builtin-checks needs at least one --checks DIR (or [checks] dirs)".into(),
                ));
            }
            ([one], false) => return Self::from_dir(one),
            _ => {}
        }
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        if builtin {
            files.extend(
                EMBEDDED_CHECKS
                    .iter()
                    .map(|(name, text)| (Path::new("checks").join(name), (*text).to_owned())),
            );
        }
        let builtin_files = files.len();
        let mut resp = (
            PathBuf::from("checks/responsibilities.toml"),
            EMBEDDED_RESPONSIBILITIES.to_owned(),
        );
        let mut clouds = (
            PathBuf::from("checks/clouds.toml"),
            EMBEDDED_CLOUDS.to_owned(),
        );
        for dir in dirs {
            let (checks, r, c) = read_dir_files(dir)?;
            files.extend(checks);
            if let Some(r) = r {
                resp = r;
            }
            if let Some(c) = c {
                clouds = c;
            }
        }
        let source = std::iter::once(if builtin {
            "embedded".to_owned()
        } else {
            String::new()
        })
        .chain(dirs.iter().map(|d| d.display().to_string()))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" + ");
        Self::build(
            &files,
            builtin_files,
            (&resp.0, &resp.1),
            (&clouds.0, &clouds.1),
            source,
        )
    }

    /// Loads from a directory: every `*.toml` except `responsibilities.toml` and `clouds.toml` is a
    /// check file; those two are taken from the directory when present, else the embedded ones.
    pub fn from_dir(dir: &Path) -> Result<Self, ConfigError> {
        let (files, resp, clouds) = read_dir_files(dir)?;
        let resp = resp.unwrap_or_else(|| {
            (
                "checks/responsibilities.toml".into(),
                EMBEDDED_RESPONSIBILITIES.to_owned(),
            )
        });
        let clouds =
            clouds.unwrap_or_else(|| ("checks/clouds.toml".into(), EMBEDDED_CLOUDS.to_owned()));
        // Every check of the directory is the user's (`--no-builtin-checks`).
        Self::build(
            &files,
            0,
            (&resp.0, &resp.1),
            (&clouds.0, &clouds.1),
            dir.display().to_string(),
        )
    }

    /// Builds and validates a catalogue from file texts (what [`Self::from_dir`] read): check
    /// files, then `responsibilities.toml` and `clouds.toml`, each with the path errors name.
    pub fn from_parts(
        files: &[(PathBuf, String)],
        responsibilities: (&Path, &str),
        clouds: (&Path, &str),
        source: String,
    ) -> Result<Self, ConfigError> {
        Self::build(files, files.len(), responsibilities, clouds, source)
    }

    /// [`Self::from_parts`], where the first `builtin` files are the built-in ones: a later file's
    /// check with a built-in id replaces it (in its place); two user files defining one id is an
    /// error naming both.
    fn build(
        files: &[(PathBuf, String)],
        builtin: usize,
        responsibilities: (&Path, &str),
        clouds: (&Path, &str),
        source: String,
    ) -> Result<Self, ConfigError> {
        let resp: ResponsibilityFile = parse_toml(responsibilities.0, responsibilities.1)?;
        let mut cloud_file: CloudFile = parse_toml(clouds.0, clouds.1)?;
        if clouds.1 != EMBEDDED_CLOUDS {
            pinned_hosts_unchanged(clouds.0, &cloud_file)?;
            // What a check pack leaves out of the pinned keys is the built-in value.
            for (cloud, kv) in &mut cloud_file.cloud {
                for key in PINNED_CLOUD_KEYS {
                    if let (false, Some(v)) = (kv.contains_key(key), pinned_host(*cloud, key)) {
                        kv.insert(key.to_owned(), OneOrMany::One(v));
                    }
                }
            }
        }
        for (cloud, kv) in &cloud_file.cloud {
            if let Some((k, _)) = kv
                .iter()
                .find(|(_, v)| matches!(v, OneOrMany::Many(list) if list.is_empty()))
            {
                return Err(ConfigError::Invalid {
                    path: clouds.0.to_owned(),
                    message: format!(
                        "cloud.{}.{k} is an empty list: give at least one value",
                        cloud.as_str()
                    ),
                });
            }
        }
        let clouds_map = cloud_file
            .cloud
            .into_iter()
            .map(|(c, kv)| {
                let kv = kv
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            OneOrMany::One(s) => vec![s],
                            OneOrMany::Many(v) => v,
                        };
                        (k, v)
                    })
                    .collect();
                (c, kv)
            })
            .collect();
        let mut checks: Vec<CheckDef> = Vec::new();
        for (n, (path, text)) in files.iter().enumerate() {
            let custom = n >= builtin;
            let file: CheckFile = parse_toml(path, text)?;
            for raw in file.check {
                let timeout =
                    match raw.timeout.as_deref() {
                        None => None,
                        Some(t) => Some(humantime::parse_duration(t).map_err(|e| {
                            ConfigError::Invalid {
                                path: path.clone(),
                                message: format!(
                                    "check {}: field timeout: `{t}` is not a duration ({e})",
                                    raw.id
                                ),
                            }
                        })?),
                    };
                if timeout.is_some_and(|t| t.is_zero() || t > crate::settings::MAX_DURATION) {
                    return Err(ConfigError::Invalid {
                        path: path.clone(),
                        message: format!(
                            "check {}: field timeout: must be more than zero and at most {}",
                            raw.id,
                            humantime::format_duration(crate::settings::MAX_DURATION)
                        ),
                    });
                }
                let def = CheckDef {
                    id: raw.id,
                    title: raw.title,
                    responsibility: raw.responsibility,
                    severity: raw.severity,
                    services: raw.services,
                    clouds: raw.clouds,
                    remediation: raw.remediation,
                    remediation_ko: raw.remediation_ko,
                    docs: raw.docs,
                    timeout,
                    probe: raw.probe,
                    file: path.display().to_string(),
                    custom,
                    replaces_builtin: false,
                };
                // Only user checks can replace, and only a built-in one: within the built-in
                // catalogue (or a replacing catalogue), a repeated id stays an error (validate).
                let existing = checks.iter().position(|c| c.id == def.id);
                match existing {
                    Some(i) if custom && !checks[i].custom => {
                        checks[i] = CheckDef {
                            replaces_builtin: true,
                            ..def
                        };
                    }
                    Some(i) if custom && checks[i].custom && builtin > 0 => {
                        return Err(ConfigError::Invalid {
                            path: path.clone(),
                            message: format!(
                                "check `{}` is also defined in {}: give one of them another id",
                                def.id, checks[i].file
                            ),
                        });
                    }
                    _ => checks.push(def),
                }
            }
        }
        let catalog = Self {
            checks,
            responsibilities: resp.responsibility,
            clouds: clouds_map,
            source,
        };
        validate::validate(&catalog, responsibilities.0, clouds.0)?;
        Ok(catalog)
    }

    /// The responsibility with this id.
    pub fn responsibility(&self, id: &str) -> Option<&Responsibility> {
        self.responsibilities.iter().find(|r| r.id == id)
    }
}
