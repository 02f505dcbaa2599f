//! Finding sentences as data: a message key and its arguments ([`Text`]), rendered in English or
//! Korean from the templates in `checks/messages.toml`.
//!
//! Probes, the planner and the runner never build a customer sentence with `format!`: they return
//! a [`Text`] (usually through the [`text!`](crate::text!) macro), and the runner stores both the
//! English rendering (`message`, as it always was) and the key with its arguments
//! (`message_text`), so `report render --lang ko` of a saved English report can say it again in
//! Korean. Arguments are values (host names, numbers, record text), nested texts (a sentence
//! inside a sentence), lists of texts, or a value the check files give in both languages (`why`
//! and `why_ko`).
//!
//! Templates are filled in one pass: an argument's value is never searched for placeholders, so
//! a TXT record containing `{domain}` stays what it is.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::output::Lang;

/// One sentence (or phrase) as a key and named arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// The template's key in `checks/messages.toml` (`dns-mx.not-exchange`).
    pub key: Cow<'static, str>,
    /// The values of the template's `{placeholders}`, by name.
    // A short list, not a map: a scan of 1,000 domains keeps tens of thousands of these, and a
    // B-tree node per text (with the list grown one push at a time) took peak RSS from 112 to
    // 186 MB in `bench_dns`; exact-size lists keep it within a few MB of no texts at all.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_args",
        deserialize_with = "deserialize_args"
    )]
    #[schemars(with = "BTreeMap<String, Arg>")]
    pub args: Args,
}

/// A text's arguments, in the order given (few: a template has a handful of placeholders).
pub type Args = Vec<(Cow<'static, str>, Arg)>;

/// [`Args`] as JSON: an object keyed by placeholder.
fn serialize_args<S: serde::Serializer>(args: &Args, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(args.len()))?;
    for (k, v) in args {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

fn deserialize_args<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Args, D::Error> {
    let m = BTreeMap::<String, Arg>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
}

/// The value of one placeholder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Arg {
    /// A value shown as it is in every language (a host name, a number, a record).
    Value(String),
    /// Texts shown joined with `, `.
    List(Vec<Text>),
    /// A sentence or phrase of its own.
    Text(Box<Text>),
    /// A value the check files give in both languages (`why` and `why_ko`).
    Local(Box<Local>),
}

/// A value in English and Korean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Local {
    /// English.
    pub en: String,
    /// Korean (falls back to English when empty).
    pub ko: String,
}

impl Text {
    /// A text with no arguments yet.
    pub fn new(key: &'static str) -> Self {
        Self::with_capacity(key, 0)
    }

    /// A text that will get `n` arguments (the [`text!`](crate::text!) macro counts them, so the
    /// list is allocated once, at its final size).
    pub fn with_capacity(key: &'static str, n: usize) -> Self {
        Self {
            key: Cow::Borrowed(key),
            args: Vec::with_capacity(n),
        }
    }

    /// Adds (or replaces) the argument `name`.
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl Into<Arg>) -> Self {
        let value = value.into();
        match self.args.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.args.push((Cow::Borrowed(name), value)),
        }
        self
    }

    /// The text in `lang`; `None` when a key is not in this build's catalogue (a report written
    /// by a newer version), so callers fall back to the stored English `message`.
    pub fn try_render(&self, lang: Lang) -> Option<String> {
        let mut out = String::new();
        self.render_into(lang, &mut out).then_some(out)
    }

    /// The text in `lang`, with an unknown key shown as the key itself.
    pub fn render(&self, lang: Lang) -> String {
        self.try_render(lang)
            .unwrap_or_else(|| self.key.to_string())
    }

    fn render_into(&self, lang: Lang, out: &mut String) -> bool {
        let Some(template) = crate::i18n::template(&self.key, lang) else {
            return false;
        };
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if is_name(&after[..close]) => {
                    let name = &after[..close];
                    match self.args.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
                        Some(a) => {
                            if !a.render_into(lang, out) {
                                return false;
                            }
                        }
                        // A template naming an argument the code did not give: visible, and a
                        // test (`every_finding_renders`) keeps it from shipping.
                        None => out.push_str(&rest[open..open + close + 2]),
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        true
    }

    /// Every key used by this text and the texts inside it.
    pub fn keys(&self) -> Vec<&str> {
        let mut v = vec![self.key.as_ref()];
        for (_, a) in &self.args {
            match a {
                Arg::Text(t) => v.extend(t.keys()),
                Arg::List(l) => l.iter().for_each(|t| v.extend(t.keys())),
                Arg::Value(_) | Arg::Local(_) => {}
            }
        }
        v
    }

    /// Applies `f` to every value string (redaction of secrets).
    pub fn map_values(&mut self, f: &mut dyn FnMut(&mut String)) {
        for (_, a) in &mut self.args {
            match a {
                Arg::Value(s) => f(s),
                Arg::Local(l) => {
                    f(&mut l.en);
                    f(&mut l.ko);
                }
                Arg::Text(t) => t.map_values(f),
                Arg::List(l) => l.iter_mut().for_each(|t| t.map_values(f)),
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Arg {
    fn render_into(&self, lang: Lang, out: &mut String) -> bool {
        match self {
            Self::Value(s) => {
                out.push_str(s);
                true
            }
            Self::Text(t) => t.render_into(lang, out),
            Self::List(l) => {
                for (i, t) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if !t.render_into(lang, out) {
                        return false;
                    }
                }
                true
            }
            Self::Local(l) => {
                out.push_str(match lang {
                    Lang::Ko if !l.ko.is_empty() => &l.ko,
                    _ => &l.en,
                });
                true
            }
        }
    }

    /// A value given in both languages (`ko` may be absent).
    pub fn local(en: &str, ko: Option<&str>) -> Self {
        Self::Local(Box::new(Local {
            en: en.to_owned(),
            ko: ko.unwrap_or_default().to_owned(),
        }))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self::Value(s)
    }
}
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self::Value(s.to_owned())
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Self::Value(s.clone())
    }
}
impl From<Text> for Arg {
    fn from(t: Text) -> Self {
        Self::Text(Box::new(t))
    }
}
impl From<Vec<Text>> for Arg {
    fn from(l: Vec<Text>) -> Self {
        Self::List(l)
    }
}
macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Self::Value(n.to_string())
            }
        }
    )*};
}
number_args!(u8, u16, u32, u64, usize, i32, i64);

/// Builds a [`Text`]: `text!("dns-mx.not-exchange", hosts = list)`.
#[macro_export]
macro_rules! text {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::text::Text::with_capacity($key, <[&str]>::len(&[$(stringify!($name)),*]))
            $(.arg(stringify!($name), $value))*
    };
}

/// Serialises a text as its English rendering (`#[serde(serialize_with = …)]`): evidence keeps
/// the plain sentence it always had while the judge builds its finding from the text.
pub fn serialize_en<S: serde::Serializer>(t: &Text, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.render(Lang::En))
}

/// [`serialize_en`] for an optional text.
pub fn serialize_en_opt<S: serde::Serializer>(t: &Option<Text>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&t.render(Lang::En)),
        None => s.serialize_none(),
    }
}

/// [`serialize_en`] for a list of texts.
pub fn serialize_en_vec<S: serde::Serializer>(t: &[Text], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(t.len()))?;
    for x in t {
        seq.serialize_element(&x.render(Lang::En))?;
    }
    seq.end()
}

/// Sentences joined as one message (`; ` between them, as the reports always did); `None` when a
/// key is not in this build's catalogue.
pub fn join(texts: &[Text], lang: Lang) -> Option<String> {
    let mut out = String::new();
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        if !t.render_into(lang, &mut out) {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_never_expands_values() {
        let t = text!("test.pair", a = "{b}", b = "x");
        assert_eq!(t.render(Lang::En), "{b} and x");
        assert_eq!(t.render(Lang::Ko), "{b} 그리고 x");
    }

    #[test]
    fn unknown_keys_fall_back() {
        assert_eq!(Text::new("no.such.key").try_render(Lang::En), None);
        let nested = text!("test.pair", a = Text::new("no.such.key"), b = "x");
        assert_eq!(nested.try_render(Lang::Ko), None);
        assert_eq!(join(&[nested], Lang::En), None);
    }

    #[test]
    fn json_round_trip_keeps_every_arg_kind() {
        let t = text!(
            "test.pair",
            a = vec![text!("test.pair", a = "1", b = 2u16)],
            b = Arg::local("why", Some("이유")),
        );
        let json = serde_json::to_string(&t).unwrap();
        let back: Text = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.render(Lang::Ko), "1 그리고 2 그리고 이유");
    }
}
