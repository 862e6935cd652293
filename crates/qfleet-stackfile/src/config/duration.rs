//! Durations in stack files: a whole number of seconds (`90`) or a number with a unit
//! (`30s`, `15m`, `2h`, `4d`).

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A duration in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub u64);

impl Seconds {
    pub(super) const fn minutes(m: u64) -> Self {
        Seconds(m * 60)
    }
    pub(super) const fn days(d: u64) -> Self {
        Seconds(d * 86_400)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0 && s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s.is_multiple_of(3_600) {
            write!(f, "{}h", s / 3_600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// `1h 5m`, `18m`, `19m 30s`, `45s`: a length of time as a person says it (seconds under an
/// hour are kept; over an hour, minutes).
pub fn say(secs: u64) -> String {
    match (secs / 3_600, secs % 3_600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// Parses `90`, `90s`, `15m`, `2h` or `4d`.
pub fn parse(text: &str) -> Option<Seconds> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1),
        (i, 'm') => (&text[..i], 60),
        (i, 'h') => (&text[..i], 3_600),
        (i, 'd') => (&text[..i], 86_400),
        _ => (text, 1),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(factor).map(Seconds)
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration: whole seconds (90) or a number with s, m, h or d (30s, 15m, 2h, 4d)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(Seconds)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_plain_numbers() {
        assert_eq!(parse("90"), Some(Seconds(90)));
        assert_eq!(parse("30s"), Some(Seconds(30)));
        assert_eq!(parse("15m"), Some(Seconds(900)));
        assert_eq!(parse("2h"), Some(Seconds(7_200)));
        assert_eq!(parse("4d"), Some(Seconds(345_600)));
        assert_eq!(parse("4w"), None);
        assert_eq!(parse("-3s"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(Seconds(345_600).to_string(), "4d");
        assert_eq!(Seconds(900).to_string(), "15m");
        assert_eq!(Seconds(7_200).to_string(), "2h");
        assert_eq!(Seconds(61).to_string(), "61s");
        assert_eq!(Seconds(0).to_string(), "0s");
    }
}
