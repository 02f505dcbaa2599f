//! Search results read from the BER structure without trusting it. `ldap3`'s own
//! `SearchEntry::construct` and `parse_refs` panic on a malformed entry (a DN that is not UTF-8,
//! a primitive where a sequence belongs); a DC, or anything answering in its place, must not be
//! able to crash a scan, so these return `None` (or skip the part) instead.

use ldap3::asn1::{PL, StructureTag};

/// One search result entry: its DN and its attributes as sent (names as the server spelt them,
/// with any `;range=` option), values as text (invalid UTF-8 replaced, so a rule can still see
/// and show it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// The object's distinguished name.
    pub dn: String,
    /// Attribute name → values.
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// The values of `name` (case-insensitive; every `;range=` part joined).
    pub fn values(&self, name: &str) -> impl Iterator<Item = &String> {
        self.attrs
            .iter()
            .filter(move |(k, _)| super::read::ranged(k).0.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v)
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).next().map(String::as_str)
    }
}

fn text(t: &StructureTag) -> Option<String> {
    match &t.payload {
        PL::P(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        PL::C(_) => None,
    }
}

fn children(t: &StructureTag) -> Option<&[StructureTag]> {
    match &t.payload {
        PL::C(v) => Some(v),
        PL::P(_) => None,
    }
}

/// A SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`, RFC 4511
/// §4.5.2); `None` for anything else or anything malformed.
pub fn entry(t: &StructureTag) -> Option<Entry> {
    if t.id != 4 {
        return None;
    }
    let parts = children(t)?;
    let dn = text(parts.first()?)?;
    let mut attrs = Vec::new();
    for attr in children(parts.get(1)?)? {
        let pair = children(attr)?;
        let name = text(pair.first()?)?;
        let values = children(pair.get(1)?)?.iter().filter_map(text).collect();
        attrs.push((name, values));
    }
    Some(Entry { dn, attrs })
}

/// The URIs of a SearchResultReference (`[APPLICATION 19] SEQUENCE OF URI`); malformed parts
/// are left out.
pub fn references(t: &StructureTag) -> Vec<String> {
    if t.id != 19 {
        return Vec::new();
    }
    children(t)
        .unwrap_or_default()
        .iter()
        .filter_map(text)
        .collect()
}

/// Parses BER bytes as one message part and reads it as an entry or a reference (the fuzz
/// target's door: the bytes a server could send).
pub fn from_ber(bytes: &[u8]) -> (Option<Entry>, Vec<String>) {
    match ldap3::asn1::parse_tag(bytes) {
        Ok((_, tag)) => (entry(&tag), references(&tag)),
        Err(_) => (None, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::TagClass;

    fn p(id: u64, b: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(b.to_vec()),
        }
    }
    fn c(id: u64, v: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class: TagClass::Application,
            id,
            payload: PL::C(v),
        }
    }

    #[test]
    fn entries_and_references_are_read_and_malformed_ones_are_not() {
        let good = c(
            4,
            vec![
                p(4, b"CN=a,DC=x"),
                c(
                    16,
                    vec![c(16, vec![p(4, b"mail"), c(17, vec![p(4, b"a@x.com")])])],
                ),
            ],
        );
        let e = entry(&good).unwrap();
        assert_eq!(e.dn, "CN=a,DC=x");
        assert_eq!(e.first("MAIL"), Some("a@x.com"));
        // A DN that is not UTF-8 is shown, not a panic.
        let bad_dn = c(4, vec![p(4, &[0xff, 0xfe]), c(16, vec![])]);
        assert_eq!(entry(&bad_dn).unwrap().dn, "\u{fffd}\u{fffd}");
        // A primitive where the attribute list belongs, a missing list, another message.
        assert_eq!(entry(&c(4, vec![p(4, b"CN=a"), p(4, b"x")])), None);
        assert_eq!(entry(&c(4, vec![p(4, b"CN=a")])), None);
        assert_eq!(entry(&c(5, vec![])), None);
        let r = c(19, vec![p(4, b"ldap://other/DC=y"), c(16, vec![])]);
        assert_eq!(references(&r), ["ldap://other/DC=y"]);
        assert!(references(&p(19, b"x")).is_empty());
        assert_eq!(from_ber(&[0x64, 0x80]), (None, vec![]));
    }
}
