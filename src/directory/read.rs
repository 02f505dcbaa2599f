//! One read of the directory for every `directory-objects` check of a scan: a paged subtree
//! search (RFC 2696) of users, contacts and groups with only the attributes the rules need,
//! judged object by object as the pages stream in, so memory holds one page, the counts, the
//! offending values and one 64-bit hash per value that must be unique (never the directory).
//!
//! Duplicates: the first time a value's hash is seen again, the object is an offender and the
//! value is kept; at the end, one equality search per batch of such values finds the objects that
//! held them first (the DC answers from its index). Hashes use a per-run random key, so a value
//! crafted to collide with another cannot be planted.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher as _;
use std::sync::Arc;

use ldap3::controls::{Control, PagedResults, RawControl};
use ldap3::{Ldap, Scope};
use serde::Serialize;

use super::entry::{self, Entry};
use super::rules::{self, ObjectClass, Rule, Tenant, Test};
use super::{Connection, DirectorySettings, Failure};

/// A page of results: Active Directory's MaxPageSize is 1,000; half keeps a page small.
const PAGE: i32 = 500;
/// Offending values kept for the CSV, whatever the directory holds (the counts stay exact).
pub const MAX_KEPT: usize = 200_000;
/// A value is kept (evidence, CSV) up to this many characters; the rest is counted.
pub const MAX_VALUE_CHARS: usize = 512;
/// Values asked about in one duplicate lookup (one `(|(a=v1)(a=v2)…)` filter).
const LOOKUP_BATCH: usize = 50;
/// Pages of one search: 10⁶ pages of 500 is 500 million objects, past any directory; a server
/// that hands out cookies forever ends here.
const MAX_PAGES: usize = 1_000_000;
/// Ranges of one attribute fetched for one object (AD returns 1,500 values per range).
const MAX_RANGES: usize = 1_000;

/// The well-known objects IdFix leaves out (system and service accounts), from the check file.
#[derive(Clone, Debug, Default)]
pub struct Exclusions {
    /// `sAMAccountName` (or `cn`) prefixes, case-insensitive.
    pub prefixes: Vec<String>,
}

impl Exclusions {
    /// Whether IdFix would skip the object: a listed prefix, a name ending in `$` (computer and
    /// trust accounts), a replication conflict (`\0ACNF:` in the DN) or a critical system object.
    pub fn excludes(&self, e: &Entry) -> bool {
        let first = |a: &str| e.first(a);
        let name = first("sAMAccountName")
            .or_else(|| first("cn"))
            .unwrap_or("");
        let lower = name.to_lowercase();
        self.prefixes
            .iter()
            .any(|p| lower.starts_with(&p.to_lowercase()))
            || name.ends_with('$')
            || e.dn.contains("\\0ACNF:")
            || first("isCriticalSystemObject").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    }
}

/// The rules of one check, with its exclusions.
#[derive(Clone, Debug)]
pub struct Group {
    /// The check id (for the CSV's `check` column).
    pub check: String,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Its well-known exclusions.
    pub exclude: Exclusions,
}

/// What one read covers: every directory check's rules, and the tenant they are judged against.
#[derive(Clone, Debug, Default)]
pub struct ReadPlan {
    /// One per `directory-objects` check.
    pub groups: Vec<Group>,
    /// The tenant's domains.
    pub tenant: Tenant,
}

/// One offending value: a row of the CSV (IdFix's columns) and of the evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Offender {
    /// The object.
    pub dn: String,
    /// `user`, `contact`, `group`.
    pub class: ObjectClass,
    /// The attribute.
    pub attribute: String,
    /// The rule id.
    pub rule: String,
    /// The value (at most [`MAX_VALUE_CHARS`] characters, then `…`).
    pub value: String,
    /// The suggested value (IdFix's UPDATE), empty when none.
    pub update: String,
}

impl Offender {
    /// An offending value of `e` under `rule`, kept at most [`MAX_VALUE_CHARS`] characters.
    fn new(e: &Entry, class: ObjectClass, rule: &Rule, value: &str, update: &str) -> Self {
        Self {
            dn: e.dn.clone(),
            class,
            attribute: rule.spec.attribute.clone(),
            rule: rule.spec.id.clone(),
            value: clip(value),
            update: clip(update),
        }
    }
}

/// What one check's rules found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupRead {
    /// Objects judged, per class.
    pub objects: BTreeMap<&'static str, u64>,
    /// Objects left out as well-known system objects.
    pub excluded: u64,
    /// Offending values per rule id.
    pub counts: BTreeMap<String, u64>,
    /// The offending values, in directory order (at most [`MAX_KEPT`] over all groups).
    #[serde(skip)]
    pub offenders: Vec<Offender>,
}

/// The whole read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DirectoryRead {
    /// The DC's URL.
    pub server: String,
    /// Where the search started.
    pub base_dn: String,
    /// Entries the search returned (before exclusions).
    pub entries: u64,
    /// Search references (other domains) that were not followed: the credentials are for this DC.
    pub referrals_not_followed: Vec<String>,
    /// Values not kept (beyond [`MAX_KEPT`]); counted all the same.
    pub offenders_not_kept: u64,
    /// Per check, in plan order.
    pub groups: Vec<GroupRead>,
}

fn class_of(e: &Entry) -> Option<ObjectClass> {
    let has = |c: &str| e.values("objectClass").any(|x| x.eq_ignore_ascii_case(c));
    if has("computer") {
        None
    } else if has("user") || has("inetOrgPerson") {
        Some(ObjectClass::User)
    } else if has("contact") {
        Some(ObjectClass::Contact)
    } else if has("group") {
        Some(ObjectClass::Group)
    } else {
        None
    }
}

/// `proxyAddresses;range=0-1499` → (`proxyAddresses`, `Some(1499)`); `;range=1500-*` → `None` end.
pub fn ranged(key: &str) -> (&str, Option<Option<u64>>) {
    match key.split_once(";range=") {
        Some((attr, range)) => {
            let end = range.split_once('-').map_or("*", |(_, e)| e);
            (attr, Some(end.parse::<u64>().ok()))
        }
        None => (key, None),
    }
}

/// The cookie of the server's paged-results control (`SEQUENCE { size INTEGER, cookie OCTET
/// STRING }`); empty (the last page) when there is none or it is malformed.
pub fn next_cookie(ctrls: &[Control]) -> Vec<u8> {
    use ldap3::asn1::PL;
    let Some(val) = ctrls
        .iter()
        .find(|c| c.1.ctype == "1.2.840.113556.1.4.319")
        .and_then(|c| c.1.val.as_deref())
    else {
        return Vec::new();
    };
    match ldap3::asn1::parse_tag(val) {
        Ok((_, tag)) => match tag.payload {
            PL::C(parts) => match parts.get(1).map(|p| &p.payload) {
                Some(PL::P(cookie)) => cookie.clone(),
                _ => Vec::new(),
            },
            PL::P(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    }
}

/// Whether a search reference points at another domain's data (a child domain, another tree):
/// AD also refers a subtree search of the domain root to the forest's own configuration and DNS
/// application partitions, which hold no users, contacts or groups.
pub fn other_domain(reference: &str) -> bool {
    let path = reference
        .split_once("://")
        .map_or(reference, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, p)| p);
    let dn = crate::percent::decode(path.split('?').next().unwrap_or("")).to_ascii_lowercase();
    !(dn.is_empty()
        || dn.starts_with("cn=configuration,")
        || dn.starts_with("dc=domaindnszones,")
        || dn.starts_with("dc=forestdnszones,"))
}

/// Keeps at most [`MAX_VALUE_CHARS`] characters of an outside value.
pub fn clip(v: &str) -> String {
    if v.chars().count() <= MAX_VALUE_CHARS {
        v.to_owned()
    } else {
        let mut s: String = v.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

/// Reads the rest of a ranged attribute (AD sends at most MaxValRange values per range).
async fn rest_of_range(
    ldap: &mut Ldap,
    dn: &str,
    attr: &str,
    mut next: u64,
    step: std::time::Duration,
    out: &mut Vec<String>,
) -> Result<(), ldap3::LdapError> {
    for _ in 0..MAX_RANGES {
        let want = format!("{attr};range={next}-*");
        let (entries, _) = ldap
            .with_timeout(step)
            .search(dn, Scope::Base, "(objectClass=*)", vec![want.as_str()])
            .await?
            .success()?;
        let Some(e) = entries.first().and_then(|e| entry::entry(&e.0)) else {
            return Ok(());
        };
        let mut more = None;
        for (k, v) in e.attrs {
            let (a, range) = ranged(&k);
            if a.eq_ignore_ascii_case(attr) {
                out.extend(v);
                more = range.flatten();
            }
        }
        match more {
            Some(end) => next = end + 1,
            None => return Ok(()),
        }
    }
    Ok(())
}

struct Judge<'p> {
    plan: &'p ReadPlan,
    seen: Vec<HashMap<u64, u32>>,
    /// Per group: (rule index, duplicate key) → (a value as held, the objects flagged so far).
    dup_values: Vec<HashMap<(usize, String), (String, Vec<String>)>>,
    hasher: std::collections::hash_map::RandomState,
    kept: usize,
    read: DirectoryRead,
}

impl Judge<'_> {
    fn offend(&mut self, g: usize, o: Offender) {
        *self.read.groups[g]
            .counts
            .entry(o.rule.clone())
            .or_default() += 1;
        if self.kept < MAX_KEPT {
            self.kept += 1;
            self.read.groups[g].offenders.push(o);
        } else {
            self.read.offenders_not_kept += 1;
        }
    }

    fn entry(&mut self, e: &Entry, attrs: &HashMap<String, Vec<String>>) {
        let Some(class) = class_of(e) else { return };
        let has_upn = attrs
            .get("userprincipalname")
            .is_some_and(|v| !v.is_empty());
        for (g, group) in self.plan.groups.iter().enumerate() {
            if group.exclude.excludes(e) {
                self.read.groups[g].excluded += 1;
                continue;
            }
            *self.read.groups[g]
                .objects
                .entry(class.as_str())
                .or_default() += 1;
            for (r, rule) in group.rules.iter().enumerate() {
                if !rule.covers(class, has_upn) {
                    continue;
                }
                let Some(values) = attrs.get(&rule.spec.attribute.to_ascii_lowercase()) else {
                    continue;
                };
                // One object holding a value twice (`SMTP:a@x` and `smtp:a@x`) is not two objects.
                let mut own: std::collections::HashSet<String> = std::collections::HashSet::new();
                for value in values {
                    let Some(part) = rules::tested_part(&rule.spec, value) else {
                        continue;
                    };
                    let offends = if rule.spec.test == Test::Duplicate {
                        let key = rules::duplicate_key(&part);
                        if !own.insert(key.clone()) {
                            continue;
                        }
                        let h = self.hasher.hash_one((r, &key));
                        let n = self.seen[g].entry(h).or_insert(0);
                        *n = n.saturating_add(1);
                        if *n >= 2 {
                            self.dup_values[g]
                                .entry((r, key))
                                .or_insert_with(|| (value.clone(), Vec::new()))
                                .1
                                .push(e.dn.clone());
                            true
                        } else {
                            false
                        }
                    } else {
                        rules::breaks(&rule.spec, &part, &self.plan.tenant)
                    };
                    if offends {
                        let update = rules::suggest(&rule.spec, value, &self.plan.tenant);
                        self.offend(g, Offender::new(e, class, rule, value, &update));
                    }
                }
            }
        }
    }
}

/// The attributes to ask for: the rules' and those that classify and exclude objects.
fn attributes(plan: &ReadPlan) -> Vec<String> {
    let mut a: Vec<String> = [
        "objectClass",
        "cn",
        "sAMAccountName",
        "userPrincipalName",
        "isCriticalSystemObject",
    ]
    .map(String::from)
    .into();
    for r in plan.groups.iter().flat_map(|g| &g.rules) {
        if !a.iter().any(|x| x.eq_ignore_ascii_case(&r.spec.attribute)) {
            a.push(r.spec.attribute.clone());
        }
    }
    a
}

/// Users (not computers), contacts and groups: IdFix's scope.
const FILTER: &str =
    "(|(&(objectClass=user)(!(objectClass=computer)))(objectClass=contact)(objectClass=group))";

/// Reads and judges the directory.
pub async fn read(
    settings: &DirectorySettings,
    plan: &ReadPlan,
    tls: &crate::tls::TlsCx,
    step: std::time::Duration,
) -> Result<DirectoryRead, Failure> {
    let mut conn = Connection::open(settings, tls, step).await?;
    let base = conn.base_dn.clone();
    let attrs = attributes(plan);
    let mut judge = Judge {
        plan,
        seen: vec![HashMap::new(); plan.groups.len()],
        dup_values: vec![HashMap::new(); plan.groups.len()],
        hasher: std::collections::hash_map::RandomState::new(),
        kept: 0,
        read: DirectoryRead {
            server: settings.url.clone(),
            base_dn: base.clone(),
            groups: vec![GroupRead::default(); plan.groups.len()],
            ..DirectoryRead::default()
        },
    };
    // Paged by hand (RFC 2696) rather than with ldap3's adapter, which panics on a malformed
    // cookie: the server's control is read by `next_cookie`, which cannot.
    let mut cookie: Vec<u8> = Vec::new();
    for _ in 0..MAX_PAGES {
        let control: RawControl = PagedResults {
            size: PAGE,
            cookie: std::mem::take(&mut cookie),
        }
        .into();
        let mut ldap = conn.ldap.clone();
        let mut stream = ldap
            .with_controls(vec![control])
            .with_timeout(step)
            .streaming_search(&base, Scope::Subtree, FILTER, attrs.clone())
            .await
            .map_err(|e| conn.search_error(&base, &e))?;
        loop {
            let next = match tokio::time::timeout(step, stream.next()).await {
                Ok(r) => r.map_err(|e| conn.search_error(&base, &e))?,
                Err(_) => return Err(conn.stalled()),
            };
            let Some(entry) = next else { break };
            if entry.is_ref() {
                let kept = &mut judge.read.referrals_not_followed;
                let room = 10usize.saturating_sub(kept.len());
                kept.extend(
                    entry::references(&entry.0)
                        .into_iter()
                        .filter(|r| other_domain(r))
                        .take(room),
                );
                continue;
            }
            // Anything but an entry (an intermediate response, a malformed one) is not an object.
            let Some(e) = entry::entry(&entry.0) else {
                continue;
            };
            judge.read.entries += 1;
            let mut by_attr: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in &e.attrs {
                let (a, range) = ranged(k);
                let list = by_attr.entry(a.to_ascii_lowercase()).or_default();
                list.extend(v.iter().cloned());
                if let Some(Some(end)) = range {
                    rest_of_range(&mut conn.ldap, &e.dn, a, end + 1, step, list)
                        .await
                        .map_err(|err| conn.search_error(&e.dn, &err))?;
                }
            }
            judge.entry(&e, &by_attr);
        }
        let done = stream.finish().await;
        if done.rc == 10 {
            return Err(conn.referral(&base, &done.refs));
        }
        if done.rc != 0 {
            return Err(conn.search_error(&base, &ldap3::LdapError::from(done)));
        }
        cookie = next_cookie(&done.ctrls);
        if cookie.is_empty() {
            break;
        }
    }
    first_holders(&mut conn, &mut judge, step).await?;
    conn.close().await;
    Ok(judge.read)
}

/// Finds the objects that held each duplicated value first (the read flagged the later ones).
async fn first_holders(
    conn: &mut Connection,
    judge: &mut Judge<'_>,
    step: std::time::Duration,
) -> Result<(), Failure> {
    let plan = judge.plan;
    for g in 0..plan.groups.len() {
        let dups = std::mem::take(&mut judge.dup_values[g]);
        let mut by_rule: BTreeMap<usize, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for ((r, _), held) in dups {
            by_rule.entry(r).or_default().push(held);
        }
        for (r, values) in by_rule {
            let rule = &plan.groups[g].rules[r];
            let attr = rule.spec.attribute.as_str();
            for batch in values.chunks(LOOKUP_BATCH) {
                let mut filter = String::from("(|");
                for (v, _) in batch {
                    filter.push_str(&format!("({attr}={})", ldap3::ldap_escape(v.as_str())));
                }
                filter.push(')');
                let want = [
                    "objectClass",
                    "cn",
                    "sAMAccountName",
                    "userPrincipalName",
                    "isCriticalSystemObject",
                    attr,
                ];
                let base = conn.base_dn.clone();
                let (entries, _) = conn
                    .ldap
                    .with_timeout(step)
                    .search(&base, Scope::Subtree, &filter, want.to_vec())
                    .await
                    .and_then(ldap3::SearchResult::success)
                    .map_err(|e| conn.search_error(&base, &e))?;
                for e in entries.iter().filter_map(|e| entry::entry(&e.0)) {
                    let Some(class) = class_of(&e) else { continue };
                    let has_upn = e.first("userPrincipalName").is_some();
                    if plan.groups[g].exclude.excludes(&e) || !rule.covers(class, has_upn) {
                        continue;
                    }
                    let held: Vec<&String> = e.values(attr).collect();
                    let mut own = std::collections::HashSet::new();
                    for value in held {
                        let Some(part) = rules::tested_part(&rule.spec, value) else {
                            continue;
                        };
                        let key = rules::duplicate_key(&part);
                        if !own.insert(key.clone()) {
                            continue;
                        }
                        // The later holders are already offenders; this finds the first one.
                        let later = batch.iter().find(|(v, _)| {
                            rules::tested_part(&rule.spec, v)
                                .is_some_and(|p| rules::duplicate_key(&p) == key)
                        });
                        if later.is_none_or(|(_, dns)| dns.contains(&e.dn)) {
                            continue;
                        }
                        judge.offend(g, Offender::new(&e, class, rule, value, ""));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Shares one read between the checks of a scan: the first to ask reads, the others wait.
#[derive(Debug)]
pub struct SharedRead {
    /// Where and how.
    pub settings: DirectorySettings,
    /// What.
    pub plan: ReadPlan,
    cell: tokio::sync::OnceCell<Result<Arc<DirectoryRead>, Failure>>,
}

impl SharedRead {
    /// A read not started yet.
    pub fn new(settings: DirectorySettings, plan: ReadPlan) -> Self {
        Self {
            settings,
            plan,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// The read, done once.
    pub async fn get(
        &self,
        tls: &crate::tls::TlsCx,
        step: std::time::Duration,
    ) -> Result<Arc<DirectoryRead>, Failure> {
        self.cell
            .get_or_init(|| async {
                read(&self.settings, &self.plan, tls, step)
                    .await
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// The read, if it happened (for the CSV report after the scan).
    pub fn done(&self) -> Option<Arc<DirectoryRead>> {
        self.cell.get().and_then(|r| r.as_ref().ok()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_the_forests_own_partitions_are_not_other_domains() {
        assert!(!other_domain(
            "ldaps://contoso.local/CN=Configuration,DC=contoso,DC=local"
        ));
        assert!(!other_domain(
            "ldap://contoso.local/DC=DomainDnsZones,DC=contoso,DC=local"
        ));
        assert!(!other_domain(
            "ldap://x/DC=ForestDnsZones,DC=contoso,DC=local??sub"
        ));
        assert!(other_domain(
            "ldap://emea.contoso.local/DC=emea,DC=contoso,DC=local"
        ));
        assert!(other_domain(
            "ldap://emea.contoso.local/DC=emea%2CDC=contoso"
        ));
        assert!(!other_domain("garbage"));
    }

    /// Active Directory refuses a second object with a UPN in use, so a lab DC cannot hold one:
    /// the reader's own logic is tested here (the lookup of the first holder is the same as for
    /// proxyAddresses, which the Samba tests cover).
    #[test]
    fn a_value_seen_again_flags_every_later_holder_and_remembers_it_for_the_lookup() {
        let spec: rules::RuleSpec = toml::from_str(
            "id = \"upn-duplicate\"\nattribute = \"userPrincipalName\"\ntest = \"duplicate\"\ntitle = \"t\"\ntitle_ko = \"t\"\nsource = \"https://x\"\n",
        )
        .unwrap();
        let plan = ReadPlan {
            groups: vec![Group {
                check: "directory.upn".into(),
                rules: vec![Rule {
                    spec: Arc::new(spec),
                }],
                exclude: Exclusions::default(),
            }],
            tenant: Tenant::default(),
        };
        let mut judge = Judge {
            plan: &plan,
            seen: vec![HashMap::new()],
            dup_values: vec![HashMap::new()],
            hasher: std::collections::hash_map::RandomState::new(),
            kept: 0,
            read: DirectoryRead {
                groups: vec![GroupRead::default()],
                ..DirectoryRead::default()
            },
        };
        for (dn, upn) in [
            ("CN=a", "Ann@X.com"),
            ("CN=b", "ann@x.COM"),
            ("CN=c", "bob@x.com"),
            ("CN=d", "ANN@x.com"),
            // One object holding a value twice is not a duplicate.
            ("CN=e", "zed@x.com\u{0}ZED@x.com"),
        ] {
            let e = Entry {
                dn: dn.into(),
                attrs: vec![
                    ("objectClass".into(), vec!["user".into()]),
                    (
                        "userPrincipalName".into(),
                        upn.split('\u{0}').map(String::from).collect(),
                    ),
                ],
            };
            let by_attr = e
                .attrs
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect();
            judge.entry(&e, &by_attr);
        }
        let group = &judge.read.groups[0];
        assert_eq!(group.counts["upn-duplicate"], 2);
        let flagged: Vec<&str> = group.offenders.iter().map(|o| o.dn.as_str()).collect();
        assert_eq!(flagged, ["CN=b", "CN=d"]);
        // One lookup entry for the value, naming both later holders (the first is found by it).
        assert_eq!(judge.dup_values[0].len(), 1);
        let (_, (value, dns)) = judge.dup_values[0].iter().next().unwrap();
        assert_eq!((value.as_str(), dns.len()), ("ann@x.COM", 2));
        assert_eq!(group.objects["user"], 5);
    }

    #[test]
    fn ranges_cookies_and_clipping() {
        assert_eq!(
            ranged("proxyAddresses;range=0-1499"),
            ("proxyAddresses", Some(Some(1499)))
        );
        assert_eq!(
            ranged("proxyAddresses;range=1500-*"),
            ("proxyAddresses", Some(None))
        );
        assert_eq!(ranged("mail"), ("mail", None));
        assert_eq!(ranged("x;range=garbage"), ("x", Some(None)));
        let ctrl = |val: Option<Vec<u8>>| {
            vec![Control(
                None,
                RawControl {
                    ctype: "1.2.840.113556.1.4.319".into(),
                    crit: false,
                    val,
                },
            )]
        };
        let ours: RawControl = PagedResults {
            size: 0,
            cookie: b"next".to_vec(),
        }
        .into();
        assert_eq!(next_cookie(&ctrl(ours.val)), b"next");
        for bad in [
            None,
            Some(vec![]),
            Some(vec![0x30, 0x80]),
            Some(vec![0x04, 0x01, 0x41]),
        ] {
            assert!(next_cookie(&ctrl(bad)).is_empty());
        }
        assert!(next_cookie(&[]).is_empty());
        let long = "é".repeat(MAX_VALUE_CHARS + 10);
        assert_eq!(clip(&long).chars().count(), MAX_VALUE_CHARS + 1);
        assert_eq!(clip("short"), "short");
    }
}
