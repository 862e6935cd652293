//! What a teardown says of each environment when it ends: deleted, retained, emptied, refused,
//! cancelled or failed.

use super::TeardownOutcome;
use crate::output::words::count;

/// The environment's closing line, and a note on stderr (the refusal or error) when it was
/// not torn down.
pub fn outcome(o: &TeardownOutcome) -> (String, Option<String>) {
    let secs = o.duration_ms as f64 / 1000.0;
    match &o.error {
        Some(e) => (
            format!("{}: NOT torn down ({secs:.1} s)", o.environment),
            Some(format!(
                "{}: {e}",
                if e.kind == "refused" {
                    "refused"
                } else {
                    "error"
                }
            )),
        ),
        None if o.cancelled => (
            format!(
                "{} ({secs:.1} s)",
                crate::output::progress::cancelled(&o.environment)
            ),
            None,
        ),
        None if o.deleted.is_empty() => (format!("{}: nothing to tear down", o.environment), None),
        None => {
            let mut line = format!("{}: deleted {}", o.environment, o.deleted.join(", "));
            if o.purged_objects > 0 {
                line.push_str(&format!(
                    "; emptied the bucket ({})",
                    count(o.purged_objects, "object", "objects")
                ));
            }
            if !o.retained.is_empty() {
                line.push_str(&format!("; retained: {}", o.retained.join(", ")));
            }
            (format!("{line} ({secs:.1} s)"), None)
        }
    }
}
