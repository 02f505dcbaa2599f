//! RFC 7208 `check_host()`: what a receiver concludes about mail from one address.
//!
//! `dns.spf` judges a record by what it authorises, not by its text: the domain's record is
//! evaluated for addresses of Microsoft's own sending ranges (those of the cloud's SPF include),
//! so a flattened record (Microsoft's ranges copied in as `ip4:`/`ip6:`) passes and a record that
//! names the include after `-all` fails. The evaluation follows §4 and §5 to the letter, with the
//! §4.6.4 limits (10 DNS-querying terms, 2 void lookups, 10 MX hosts) and the §7 macros, and
//! `tests/it/conformance.rs` runs the SPF community's RFC 7208 suite through it.
//!
//! A DNS failure (timeout, SERVFAIL) is `temperror`, as a receiver would conclude; NXDOMAIN and
//! NODATA are answers. The caller decides what a `temperror` means for its verdict.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use serde::Serialize;

use super::dns::{Answer, Question, Resolver, Rtype, can_query};
use crate::spf::{self, Mechanism, Qualifier, in_network};
use crate::spf_macro::{MacroCx, expand};

/// The result of an evaluation (RFC 7208 §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    /// No SPF record (or a domain that cannot have one).
    None,
    /// The record says nothing about the address.
    Neutral,
    /// Authorised.
    Pass,
    /// Not authorised.
    Fail,
    /// Probably not authorised.
    Softfail,
    /// A transient DNS error.
    Temperror,
    /// The record cannot be interpreted.
    Permerror,
}

impl SpfResult {
    /// The lower-case name (`pass`, `softfail`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Neutral => "neutral",
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Softfail => "softfail",
            Self::Temperror => "temperror",
            Self::Permerror => "permerror",
        }
    }

    fn of(q: Qualifier) -> Self {
        match q {
            Qualifier::Pass => Self::Pass,
            Qualifier::Fail => Self::Fail,
            Qualifier::Softfail => Self::Softfail,
            Qualifier::Neutral => Self::Neutral,
        }
    }
}

/// Who sends: the client's address, the MAIL FROM (or `postmaster@` the HELO name) and the HELO.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The SMTP client's address.
    pub ip: IpAddr,
    /// `local-part@domain` (`postmaster` stands in for an empty local part).
    pub sender: String,
    /// The HELO/EHLO name.
    pub helo: String,
}

/// RFC 7208 §4.6.4 limits.
const MAX_TERMS: u32 = 10;
const MAX_VOID: u32 = 2;
const MAX_MX: usize = 10;
const MAX_PTR: usize = 10;

/// Evaluations that share what they fetched: the SPF records of the domains they reach (fetched
/// and parsed once, whatever the number of addresses evaluated) and, through an [`IncludeMemo`],
/// what macro-free includes conclude. `dns.spf` evaluates one domain's record for 32 addresses
/// of Microsoft's ranges: one fetch and one parse of each record instead of 32.
pub struct Evaluator<'a> {
    resolver: &'a Resolver,
    memo: Option<&'a IncludeMemo>,
    records: std::sync::Mutex<std::collections::HashMap<String, Fetched>>,
}

/// A domain's SPF record as an evaluation found it.
#[derive(Clone)]
enum Fetched {
    /// No SPF record (or a domain that cannot have one).
    None,
    /// Several records, or one that does not parse.
    Permerror,
    /// The record.
    Record(std::sync::Arc<spf::SpfRecord>),
}

impl<'a> Evaluator<'a> {
    /// Evaluations through `resolver`, sharing include results through `memo` when given.
    pub fn new(resolver: &'a Resolver, memo: Option<&'a IncludeMemo>) -> Self {
        Self {
            resolver,
            memo,
            records: std::sync::Mutex::default(),
        }
    }

    /// RFC 7208 `check_host(ip, domain, sender)` for `id`.
    pub async fn check_host(&self, id: &Identity, domain: &str) -> SpfResult {
        // "IPv4-mapped IPv6 addresses … MUST be treated as IPv4" (§5.6 and the suite).
        let id = &Identity {
            ip: id.ip.to_canonical(),
            ..id.clone()
        };
        let mut e = Eval {
            ev: self,
            id,
            terms: 0,
            void: 0,
            validated: None,
            macros: false,
        };
        e.host(domain.trim_end_matches('.').to_owned()).await
    }

    fn cached(&self, domain: &str) -> Option<Fetched> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(domain)
            .cloned()
    }

    fn keep(&self, domain: &str, f: Fetched) {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(domain.to_owned(), f);
    }
}

/// One evaluation's counters.
struct Eval<'a> {
    ev: &'a Evaluator<'a>,
    id: &'a Identity,
    terms: u32,
    void: u32,
    /// The `p` macro's value, found once per evaluation.
    validated: Option<String>,
    /// Whether a macro was expanded since this was last cleared (the result then depends on
    /// the sender, and is not shared).
    macros: bool,
}

/// What an `include:` of a record without macros concluded for one address, with the terms and
/// void lookups it used: the same for every domain that includes it, so a scan evaluating 1,000
/// domains for Microsoft's 16 sending ranges evaluates Microsoft's own record once per address.
#[derive(Default)]
pub struct IncludeMemo {
    map: std::sync::Mutex<std::collections::HashMap<(String, IpAddr), (SpfResult, u32, u32)>>,
}

impl std::fmt::Debug for IncludeMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncludeMemo").finish_non_exhaustive()
    }
}

impl IncludeMemo {
    fn get(&self, target: &str, ip: IpAddr) -> Option<(SpfResult, u32, u32)> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(target.to_owned(), ip))
            .copied()
    }

    fn put(&self, target: String, ip: IpAddr, value: (SpfResult, u32, u32)) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((target, ip), value);
    }
}

/// The control flow of an evaluation: a result ends it.
type Step<T> = Result<T, SpfResult>;
type Boxed<'w> = Pin<Box<dyn Future<Output = SpfResult> + Send + 'w>>;

/// Evaluates `domain`'s SPF record for `id` (RFC 7208 `check_host(ip, domain, sender)`) on its
/// own; `memo` shares the results of macro-free includes between evaluations (a scan passes its
/// own; `None` evaluates everything). Several addresses of one domain: [`Evaluator`].
pub async fn check_host(
    resolver: &Resolver,
    id: &Identity,
    domain: &str,
    memo: Option<&IncludeMemo>,
) -> SpfResult {
    Evaluator::new(resolver, memo).check_host(id, domain).await
}

/// Whether `domain` can be evaluated (§4.3): a multi-label name of labels 1 to 63 characters.
pub fn valid_domain(domain: &str) -> bool {
    let d = domain.trim_end_matches('.');
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.len() <= 63)
        && d.len() <= 253
        && can_query(d)
}

impl Eval<'_> {
    /// A DNS question: records, or an empty list for NXDOMAIN/NODATA (whether it was NXDOMAIN is
    /// returned too); a transport failure is `temperror`.
    async fn ask(&self, name: &str, rtype: Rtype) -> Step<(Vec<String>, bool)> {
        if !can_query(name) {
            return Ok((Vec::new(), true));
        }
        match self.ev.resolver.query(&Question::new(name, rtype)).await {
            Ok(l) => Ok(match l.answer {
                Answer::Noerror { records, .. } => (records, false),
                Answer::Nxdomain => (Vec::new(), true),
                Answer::Nodata => (Vec::new(), false),
            }),
            Err(_) => Err(SpfResult::Temperror),
        }
    }

    /// Counts a DNS-querying term; `permerror` past the limit.
    fn count(&mut self) -> Step<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(SpfResult::Permerror);
        }
        Ok(())
    }

    /// Counts a lookup that found nothing; `permerror` past the limit.
    fn void(&mut self) -> Step<()> {
        self.void += 1;
        if self.void > MAX_VOID {
            return Err(SpfResult::Permerror);
        }
        Ok(())
    }

    /// The addresses of `name` in the client's family.
    async fn addresses(&self, name: &str) -> Step<Vec<IpAddr>> {
        let rtype = match self.id.ip {
            IpAddr::V4(_) => Rtype::A,
            IpAddr::V6(_) => Rtype::AAAA,
        };
        let (records, _) = self.ask(name, rtype).await?;
        Ok(records.iter().filter_map(|r| r.parse().ok()).collect())
    }

    /// The names of the client's address that resolve back to it (§5.5), at most 10 tried.
    async fn validated_names(&self) -> Step<Vec<String>> {
        // "If a DNS error occurs while doing the PTR RR lookup, then this mechanism fails to
        // match."
        let Ok((names, _)) = self.ask(&reverse_name(self.id.ip), Rtype::PTR).await else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in names.iter().take(MAX_PTR) {
            if let Ok(addrs) = self.addresses(name).await
                && addrs.contains(&self.id.ip)
            {
                out.push(name.clone());
            }
        }
        Ok(out)
    }

    /// Expands a domain-spec for the current domain; a macro that cannot expand is `permerror`.
    async fn target(&mut self, spec: &str, domain: &str) -> Step<String> {
        if spec.contains('%') {
            self.macros = true;
        }
        if (spec.contains("%{p") || spec.contains("%{P")) && self.validated.is_none() {
            {
                let names = self.validated_names().await?;
                // Prefer a name under the domain, as §7.3 suggests; else any; else "unknown".
                let pick = names
                    .iter()
                    .find(|n| is_under(n, domain))
                    .or_else(|| names.first())
                    .cloned()
                    .unwrap_or_else(|| "unknown".into());
                self.validated = Some(pick);
            }
        }
        let cx = MacroCx {
            sender: &self.id.sender,
            domain,
            ip: self.id.ip,
            helo: &self.id.helo,
            validated: self.validated.as_deref().unwrap_or("unknown"),
        };
        expand(spec, &cx)
            .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
            .map_err(|_| SpfResult::Permerror)
    }

    /// `check_host()` for one domain (recursive through include and redirect).
    fn host(&mut self, domain: String) -> Boxed<'_> {
        Box::pin(async move {
            match self.host_step(&domain).await {
                Ok(r) | Err(r) => r,
            }
        })
    }

    /// The domain's record, fetched and parsed once per [`Evaluator`].
    async fn fetch(&self, domain: &str) -> Step<Fetched> {
        if let Some(f) = self.ev.cached(domain) {
            return Ok(f);
        }
        let f = if valid_domain(domain) {
            let (strings, _) = self.ask(domain, Rtype::TXT).await?;
            let records: Vec<&String> = strings.iter().filter(|t| spf::is_spf(t)).collect();
            match records.as_slice() {
                [] => Fetched::None,
                [one] => match spf::parse(one) {
                    Ok(rec) => Fetched::Record(std::sync::Arc::new(rec)),
                    Err(_) => Fetched::Permerror,
                },
                _ => Fetched::Permerror,
            }
        } else {
            Fetched::None
        };
        self.ev.keep(domain, f.clone());
        Ok(f)
    }

    async fn host_step(&mut self, domain: &str) -> Step<SpfResult> {
        let rec = match self.fetch(domain).await? {
            Fetched::None => return Ok(SpfResult::None),
            Fetched::Permerror => return Ok(SpfResult::Permerror),
            Fetched::Record(r) => r,
        };
        for d in &rec.directives {
            if self.matches(&d.mechanism, domain).await? {
                return Ok(SpfResult::of(d.qualifier));
            }
        }
        // redirect= applies when no mechanism matched and the record has no `all` (§6.1).
        if let (Some(r), None) = (&rec.redirect, rec.all()) {
            self.count()?;
            let target = self.target(r, domain).await?;
            return Ok(match self.host(target).await {
                SpfResult::None => SpfResult::Permerror,
                other => other,
            });
        }
        Ok(SpfResult::Neutral)
    }

    /// Whether one mechanism matches (§5); a result that ends the evaluation is `Err`.
    async fn matches(&mut self, m: &Mechanism, domain: &str) -> Step<bool> {
        Ok(match m {
            Mechanism::All => true,
            Mechanism::Ip4(net, len) => in_network(self.id.ip, IpAddr::V4(*net), *len),
            Mechanism::Ip6(net, len) => in_network(self.id.ip, IpAddr::V6(*net), *len),
            Mechanism::Include(spec) => {
                self.count()?;
                let target = self.target(spec, domain).await?;
                match self.include(target).await? {
                    SpfResult::Pass => true,
                    SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral => false,
                    SpfResult::Temperror => return Err(SpfResult::Temperror),
                    SpfResult::Permerror | SpfResult::None => return Err(SpfResult::Permerror),
                }
            }
            Mechanism::A(spec, cidr) => {
                self.count()?;
                let target = match spec {
                    Some(s) => self.target(s, domain).await?,
                    None => domain.to_owned(),
                };
                let addrs = self.addresses(&target).await?;
                if addrs.is_empty() {
                    self.void()?;
                }
                addrs.iter().any(|a| self.in_cidr(*a, *cidr))
            }
            Mechanism::Mx(spec, cidr) => {
                self.count()?;
                let target = match spec {
                    Some(s) => self.target(s, domain).await?,
                    None => domain.to_owned(),
                };
                let (mx, _) = self.ask(&target, Rtype::MX).await?;
                if mx.is_empty() {
                    self.void()?;
                }
                if mx.len() > MAX_MX {
                    return Err(SpfResult::Permerror);
                }
                let mut hit = false;
                for r in &mx {
                    let host = r.split_once(' ').map_or(r.as_str(), |(_, h)| h);
                    let addrs = self.addresses(host).await?;
                    if addrs.iter().any(|a| self.in_cidr(*a, *cidr)) {
                        hit = true;
                        break;
                    }
                }
                hit
            }
            Mechanism::Ptr(spec) => {
                self.count()?;
                let target = match spec {
                    Some(s) => self.target(s, domain).await?,
                    None => domain.to_owned(),
                };
                let names = self.validated_names().await?;
                if names.is_empty() {
                    self.void()?;
                }
                names.iter().any(|n| is_under(n, &target))
            }
            Mechanism::Exists(spec) => {
                self.count()?;
                let target = self.target(spec, domain).await?;
                // Always an A query, whatever the client's family (§5.7).
                let (records, _) = self.ask(&target, Rtype::A).await?;
                if records.is_empty() {
                    self.void()?;
                }
                !records.is_empty()
            }
        })
    }

    /// Evaluates an included domain, through the memo when its record (and everything it
    /// reaches) uses no macro: its terms and void lookups still count here.
    async fn include(&mut self, target: String) -> Step<SpfResult> {
        let ip = self.id.ip;
        if let Some((result, terms, void)) = self.ev.memo.and_then(|m| m.get(&target, ip)) {
            self.terms += terms;
            self.void += void;
            if self.terms > MAX_TERMS || self.void > MAX_VOID {
                return Err(SpfResult::Permerror);
            }
            return Ok(result);
        }
        let (terms, void, macros) = (self.terms, self.void, self.macros);
        self.macros = false;
        let result = self.host(target.clone()).await;
        // Shared only when it depends on nothing but the address and DNS: no macro, no limit
        // reached, no error.
        if let Some(m) = self.ev.memo
            && !self.macros
            && matches!(
                result,
                SpfResult::Pass | SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral
            )
        {
            m.put(target, ip, (result, self.terms - terms, self.void - void));
        }
        self.macros |= macros;
        Ok(result)
    }

    fn in_cidr(&self, addr: IpAddr, cidr: spf::DualCidr) -> bool {
        let len = match addr {
            IpAddr::V4(_) => cidr.v4,
            IpAddr::V6(_) => cidr.v6,
        };
        in_network(self.id.ip, addr, len)
    }
}

/// Whether `name` is `target` or a name under it.
fn is_under(name: &str, target: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    n == t || n.ends_with(&format!(".{t}"))
}

/// The reverse-lookup name of an address (`3.2.0.192.in-addr.arpa`, nibbles under `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    let forward = crate::spf_macro::ip_text(ip);
    let mut parts: Vec<&str> = forward.split('.').collect();
    parts.reverse();
    match ip {
        IpAddr::V4(_) => format!("{}.in-addr.arpa", parts.join(".")),
        IpAddr::V6(_) => format!("{}.ip6.arpa", parts.join(".")),
    }
}

/// The addresses a record authorises with `+` terms, following `include`s and `redirect`
/// (without macros): the sending ranges of Microsoft's SPF include, as networks. At most
/// `max_terms` includes and redirects are followed; a DNS failure is returned.
pub async fn authorised_networks(
    resolver: &Resolver,
    domain: &str,
    max_terms: u32,
) -> Result<Vec<(IpAddr, u8)>, super::ProbeError> {
    let mut out = Vec::new();
    let mut queue = vec![domain.trim_end_matches('.').to_ascii_lowercase()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(d) = queue.pop() {
        let followed = u32::try_from(seen.len()).unwrap_or(u32::MAX);
        if seen.contains(&d) || followed > max_terms || !can_query(&d) {
            continue;
        }
        seen.push(d.clone());
        let answer = resolver.query(&Question::new(&d, Rtype::TXT)).await?.answer;
        let Some(rec) = answer
            .records()
            .iter()
            .find(|t| spf::is_spf(t))
            .and_then(|t| spf::parse(t).ok())
        else {
            continue;
        };
        for dir in rec
            .directives
            .iter()
            .filter(|d| d.qualifier == Qualifier::Pass)
        {
            match &dir.mechanism {
                Mechanism::Ip4(n, l) => out.push((IpAddr::V4(*n), *l)),
                Mechanism::Ip6(n, l) => out.push((IpAddr::V6(*n), *l)),
                Mechanism::Include(t) if !spf::has_macro(t) => {
                    queue.push(t.trim_end_matches('.').to_ascii_lowercase());
                }
                _ => {}
            }
        }
        if let (Some(r), None) = (&rec.redirect, rec.all())
            && !spf::has_macro(r)
        {
            queue.push(r.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The networks of each SPF include, found once per scan: every domain's record is evaluated for
/// the same ranges of the cloud's include.
#[derive(Default)]
pub struct NetworkMemo {
    cells: std::sync::Mutex<
        std::collections::HashMap<String, std::sync::Arc<tokio::sync::OnceCell<Networks>>>,
    >,
}

/// Networks as (address, prefix length).
pub type Networks = std::sync::Arc<[(IpAddr, u8)]>;

impl std::fmt::Debug for NetworkMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkMemo").finish_non_exhaustive()
    }
}

impl NetworkMemo {
    /// [`authorised_networks`] of `domain`, asked once per scan when it succeeds.
    pub async fn get(
        &self,
        resolver: &Resolver,
        domain: &str,
        max_terms: u32,
    ) -> Result<Networks, super::ProbeError> {
        let cell = {
            // A poisoned lock only means another probe panicked mid-insert; the map is usable.
            let mut map = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::sync::Arc::clone(map.entry(domain.to_ascii_lowercase()).or_default())
        };
        cell.get_or_try_init(|| async {
            Ok::<_, super::ProbeError>(
                authorised_networks(resolver, domain, max_terms)
                    .await?
                    .into(),
            )
        })
        .await
        .cloned()
    }
}

/// The first and the last address of a network: evaluated both, a record that authorises only
/// part of a range (a /16 of a /15) is caught.
pub fn ends_of(net: IpAddr, len: u8) -> [IpAddr; 2] {
    match net {
        IpAddr::V4(n) => {
            let host_bits = 32 - u32::from(len.min(32));
            let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
            let first = u32::from(n) & mask;
            [IpAddr::V4(first.into()), IpAddr::V4((first | !mask).into())]
        }
        IpAddr::V6(n) => {
            let host_bits = 128 - u32::from(len.min(128));
            let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
            let first = u128::from(n) & mask;
            [IpAddr::V6(first.into()), IpAddr::V6((first | !mask).into())]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_names() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            ends_of(ip("40.92.0.0"), 15),
            [ip("40.92.0.0"), ip("40.93.255.255")]
        );
        assert_eq!(ends_of(ip("1.2.3.4"), 32), [ip("1.2.3.4"), ip("1.2.3.4")]);
        assert_eq!(
            ends_of(ip("2a01:111:f400::"), 48),
            [
                ip("2a01:111:f400::"),
                ip("2a01:111:f400:ffff:ffff:ffff:ffff:ffff")
            ]
        );
        assert_eq!(ends_of(ip("0.0.0.0"), 0)[1], ip("255.255.255.255"));
        assert_eq!(reverse_name(ip("192.0.2.3")), "3.2.0.192.in-addr.arpa");
        assert!(reverse_name(ip("2001:db8::1")).ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"));
        assert!(valid_domain("example.com"));
        assert!(!valid_domain("example"));
        assert!(!valid_domain("a..example.com"));
        assert!(!valid_domain(&format!("{}.com", "a".repeat(64))));
        assert!(is_under("mail.example.com", "example.com"));
        assert!(!is_under("badexample.com", "example.com"));
    }
}
