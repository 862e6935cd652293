//! What qfleet knows about one thing in AWS: known (with its value), absent (AWS said it does not
//! exist), or unknown (the read failed or the answer was malformed, with the reason). Nothing
//! turns unknown into a default: a decision that needs the value has to say what it does then.

use crate::aws::Why;
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    Known(T),
    Absent,
    Unknown(Why),
}

impl<T> Fact<T> {
    pub(crate) fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, Fact::Absent)
    }

    /// The reason, when the value is unknown.
    #[cfg(test)]
    pub(super) fn unknown(&self) -> Option<&str> {
        match self {
            Fact::Unknown(why) => Some(why),
            _ => None,
        }
    }

    /// Chains a read that needs this one's value.
    pub(super) fn and_then<U>(self, f: impl FnOnce(T) -> Fact<U>) -> Fact<U> {
        match self {
            Fact::Known(v) => f(v),
            Fact::Absent => Fact::Absent,
            Fact::Unknown(why) => Fact::Unknown(why),
        }
    }
}

impl<T, E: Into<Why>> From<std::result::Result<Option<T>, E>> for Fact<T> {
    /// `Ok(Some)` is known, `Ok(None)` absent, an error unknown (with its message, and the API
    /// the endpoint does not serve when that is why).
    fn from(r: std::result::Result<Option<T>, E>) -> Self {
        match r {
            Ok(Some(v)) => Fact::Known(v),
            Ok(None) => Fact::Absent,
            Err(e) => Fact::Unknown(e.into()),
        }
    }
}

/// In JSON: `{"state": "known", "value": …}`, `{"state": "absent"}` or
/// `{"state": "unknown", "reason": "…"}`.
impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Fact::Known(v) => {
                m.serialize_entry("state", "known")?;
                m.serialize_entry("value", v)?;
            }
            Fact::Absent => m.serialize_entry("state", "absent")?,
            Fact::Unknown(why) => {
                m.serialize_entry("state", "unknown")?;
                m.serialize_entry("reason", why)?;
            }
        }
        m.end()
    }
}
