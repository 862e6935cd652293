//! Whether a deployed stack holds what the stack file renders now: its fingerprint parameter
//! (every deploy sets it to the template's) against the fingerprint of the template the file
//! renders for it (`crate::placement::wanted_templates`; `drift`'s undeployed changes; `status`,
//! before it reads a schedule's next run from the file).

use super::{Fact, StackSnapshot};
use crate::render::{FINGERPRINT_PARAMETER, fingerprint};

/// Whether `stack` holds `template`: `None` when the stack is absent or could not be read; a
/// stack without the fingerprint (deployed otherwise) does not.
pub(crate) fn holds(stack: &StackSnapshot, template: &str) -> Option<bool> {
    match &stack.state {
        Fact::Known(state) => {
            Some(state.parameters.get(FINGERPRINT_PARAMETER) == Some(&fingerprint(template)))
        }
        _ => None,
    }
}
