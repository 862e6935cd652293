//! Times for people: "3 min ago" instead of RFC 3339 (which JSON keeps).

use std::time::SystemTime;

/// `2025-01-02T03:04:05Z` as "3 min ago" (or "in 2 min" for a clock ahead of this one); for
/// more than a day, the UTC date too. Text that is not RFC 3339 is shown as it is.
pub(crate) fn ago(rfc3339: &str) -> String {
    ago_at(rfc3339, SystemTime::now())
}

fn ago_at(rfc3339: &str, now: SystemTime) -> String {
    let (Ok(then), Ok(now)) = (
        rfc3339.parse::<jiff::Timestamp>(),
        jiff::Timestamp::try_from(now),
    ) else {
        return rfc3339.to_string();
    };
    let secs = now.as_second() - then.as_second();
    let span = |s: i64| match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => {
            let (h, m) = (s / 3600, s % 3600 / 60);
            if m == 0 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
        _ => {
            let d = s / 86_400;
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        }
    };
    let relative = match secs {
        i64::MIN..-5 => format!("in {}", span(-secs)),
        -5..5 => "just now".to_string(),
        _ => format!("{} ago", span(secs)),
    };
    if secs.abs() >= 86_400 {
        let date: String = rfc3339.chars().take(16).collect();
        format!("{} UTC ({relative})", date.replace('T', " "))
    } else {
        relative
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn recent_times_are_relative_and_old_ones_carry_their_date() {
        let t = "2025-01-01T00:00:00Z";
        let base = 1_735_689_600; // 2025-01-01T00:00:00Z
        assert_eq!(ago_at(t, at(base + 2)), "just now");
        assert_eq!(ago_at(t, at(base + 42)), "42 s ago");
        assert_eq!(ago_at(t, at(base + 180)), "3 min ago");
        assert_eq!(ago_at(t, at(base + 7200)), "2 h ago");
        assert_eq!(ago_at(t, at(base + 7260)), "2 h 1 min ago");
        assert_eq!(
            ago_at(t, at(base + 3 * 86_400)),
            "2025-01-01 00:00 UTC (3 days ago)"
        );
        assert_eq!(ago_at(t, at(base - 120)), "in 2 min");
        assert_eq!(ago_at("yesterday", at(base)), "yesterday");
        // AWS's timestamps carry milliseconds, or an offset.
        assert_eq!(
            ago_at("2025-01-01T00:00:00.500Z", at(base + 42)),
            "42 s ago"
        );
        assert_eq!(
            ago_at("2025-01-01T01:00:00+01:00", at(base + 42)),
            "42 s ago"
        );
    }
}
