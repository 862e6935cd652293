//! What qfleet's own drift checks found: differences, and what could not be checked (never
//! counted as in sync). Filled by the checks of each kind of worker ([`super::compare`] for the
//! fleet, [`super::function`] for a worker function).

use super::{Difference, Source, Unchecked};
use crate::snapshot::Fact;

#[derive(Default)]
pub(super) struct Findings {
    pub(super) differences: Vec<Difference>,
    pub(super) unchecked: Vec<Unchecked>,
}

impl Findings {
    pub(super) fn diff(
        &mut self,
        stack: &str,
        resource: &str,
        property: &str,
        expected: impl ToString,
        actual: impl ToString,
    ) {
        self.differences.push(Difference {
            source: Source::Qfleet,
            stack: stack.into(),
            resource: resource.into(),
            property: property.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }

    pub(super) fn unchecked(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.unchecked.push(Unchecked {
            what: what.into(),
            reason: reason.into(),
        });
    }

    /// The value of a fact, or a note of why it is missing: absent is a difference ("missing"),
    /// unknown is something not checked.
    pub(super) fn need<'a, T>(
        &mut self,
        f: Option<&'a Fact<T>>,
        stack: &str,
        resource: &str,
        expected: &str,
    ) -> Option<&'a T> {
        match f {
            Some(Fact::Known(v)) => Some(v),
            Some(Fact::Absent) => {
                self.diff(stack, resource, "-", expected, "missing");
                None
            }
            Some(Fact::Unknown(why)) => {
                self.unchecked(format!("{stack} {resource}"), why.clone());
                None
            }
            None => {
                self.unchecked(format!("{stack} {resource}"), "not read");
                None
            }
        }
    }
}
