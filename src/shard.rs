//! `--shard K/N`: a deterministic 1/N of the domains, so N machines (a Kubernetes Indexed Job,
//! a CI matrix) each scan one shard and `report merge` joins them into the report one machine
//! would have written.
//!
//! A domain's shard depends on its name alone (SHA-256 of the lower-cased name without the
//! final dot, modulo N): stable however the list is ordered or grows, and the same in every
//! version. K counts from 1, as cargo-nextest's `--partition` does. The checks that are not
//! per domain (endpoints, network, directory, tenant) run in shard 1 only, so the shards'
//! results are disjoint and their union is the whole scan.

use std::fmt;

/// One shard of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1..=count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// `K/N` with 1 ≤ K ≤ N; the error says which part is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("--shard `{s}`: {why} (K/N, the K-th of N shards, 1 ≤ K ≤ N: 1/4 … 4/4)")
        };
        let (k, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| bad("K is not a whole number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if count == 0 {
            return Err(bad("N is 0"));
        }
        if index == 0 || index > count {
            return Err(bad("K is not between 1 and N"));
        }
        Ok(Self { index, count })
    }

    /// Whether `domain` belongs to this shard.
    pub fn contains(&self, domain: &str) -> bool {
        let name = domain.trim_end_matches('.').to_ascii_lowercase();
        let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// Whether this shard also runs the checks that are not per domain.
    pub fn runs_shared_checks(&self) -> bool {
        self.index == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, why) in [
            ("0/0", "N is 0"),
            ("5/4", "K is not between 1 and N"),
            ("0/4", "K is not between 1 and N"),
            ("a/b", "K is not a whole number"),
            ("1/b", "N is not a whole number"),
            ("3", "no `/`"),
            ("-1/4", "K is not a whole number"),
        ] {
            let e = Shard::parse(spec).unwrap_err();
            assert!(e.contains(why), "{spec}: {e}");
            assert!(!e.contains('\n'));
        }
        assert_eq!(Shard::parse("2/4").unwrap().to_string(), "2/4");
    }

    #[test]
    fn every_domain_is_in_exactly_one_shard_whatever_its_spelling() {
        let n = 5;
        let shards: Vec<Shard> = (1..=n).map(|k| Shard { index: k, count: n }).collect();
        let mut sizes = vec![0; n as usize];
        for i in 0..1000 {
            let d = format!("d{i}.example");
            let owners: Vec<usize> = (0..shards.len())
                .filter(|&k| shards[k].contains(&d))
                .collect();
            assert_eq!(owners.len(), 1, "{d}");
            sizes[owners[0]] += 1;
            let upper = format!("{}.", d.to_uppercase());
            assert!(shards[owners[0]].contains(&upper));
        }
        // Roughly even (SHA-256 spreads names): each shard within 30 % of 200.
        assert!(sizes.iter().all(|&s| (140..=260).contains(&s)), "{sizes:?}");
    }
}
