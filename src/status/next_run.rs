//! A schedule's next run, as `status` shows it: from the stack file's expression, in its time
//! zone, after now. EventBridge Scheduler reports no next run (GetSchedule returns the
//! expression, its time zone, the window, start and end dates:
//! <https://docs.aws.amazon.com/scheduler/latest/APIReference/API_GetSchedule.html>), so it is
//! computed here.
//!
//! A cron's runs are its expression's minutes in its time zone ([`crate::config::cron`]). A
//! rate's are not computable: "If you do not provide a StartDate for a rate-based schedule,
//! your schedule starts invoking its target immediately" (qfleet sets none,
//! <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based>),
//! and each run after counts from the one before: AWS says so of a rate in days, evaluated
//! "24 hours after the schedule's last invocation" (the same page, daylight saving time),
//! and qfleet takes it to hold for every unit. Scheduler does not report that last run. A run
//! with a flexible window is invoked "within 15 minutes after the scheduled time" for a
//! 15-minute window
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html>).

use crate::config::ScheduleSpec;
use crate::config::cron::Cron;
use jiff::Timestamp;
use serde::Serialize;

/// A cron schedule's next run.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct NextRun {
    /// When it is due, UTC (RFC 3339).
    pub(crate) at: String,
    /// The same moment in the schedule's time zone, such as `2026-11-28 02:00 Europe/Paris`.
    pub(crate) local: String,
    /// With a flexible window: the run starts within this many seconds after `at`.
    pub(crate) window_seconds: Option<u64>,
}

/// The next run of `schedule` after `now`, or why none is shown.
pub(crate) fn next_run(schedule: &ScheduleSpec, now: Timestamp) -> Result<NextRun, String> {
    if schedule.paused {
        return Err("no next run: it is paused".into());
    }
    let cron = match (&schedule.cron, &schedule.rate) {
        (Some(cron), _) => cron,
        (None, Some(rate)) => {
            return Err(format!(
                "no next run shown: a rate of {} counts from its last run, which Scheduler does not report",
                rate.trim()
            ));
        }
        (None, None) => return Err("no cron or rate".into()),
    };
    let cron =
        Cron::parse(cron).map_err(|why| format!("next run unknown: the cron expression {why}"))?;
    let name = schedule.timezone.as_deref().unwrap_or("UTC");
    let zone = crate::config::cron::zone(schedule.timezone.as_deref())
        .map_err(|why| format!("next run unknown: {why}"))?;
    let at = cron
        .next_after(now, &zone)
        .ok_or("no run left before 2200")?;
    let local = zone.to_datetime(at);
    Ok(NextRun {
        at: at.to_string(),
        local: format!("{} {name}", local.strftime("%Y-%m-%d %H:%M")),
        window_seconds: schedule.window.map(|w| w.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::Seconds;

    fn schedule(cron: Option<&str>, rate: Option<&str>, zone: Option<&str>) -> ScheduleSpec {
        ScheduleSpec {
            name: "nightly".into(),
            cron: cron.map(Into::into),
            rate: rate.map(Into::into),
            timezone: zone.map(Into::into),
            window: None,
            body: None,
            paused: false,
            group: None,
        }
    }

    fn now() -> Timestamp {
        "2026-11-27T06:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_cron_schedule_shows_its_next_run_in_utc_and_in_its_zone() {
        let mut s = schedule(Some("0 2 * * ? *"), None, Some("Europe/Paris"));
        s.window = Some(Seconds(900));
        assert_eq!(
            next_run(&s, now()),
            Ok(NextRun {
                at: "2026-11-28T01:00:00Z".into(),
                local: "2026-11-28 02:00 Europe/Paris".into(),
                window_seconds: Some(900),
            })
        );
        let utc = schedule(Some("30 6 * * ? *"), None, None);
        assert_eq!(
            next_run(&utc, now()).map(|n| n.local),
            Ok("2026-11-27 06:30 UTC".into())
        );
    }

    #[test]
    fn a_rate_a_paused_schedule_and_an_unknown_zone_say_why_no_run_is_shown() {
        let rate = schedule(None, Some("15 minutes"), None);
        assert!(
            next_run(&rate, now())
                .unwrap_err()
                .contains("a rate of 15 minutes counts from its last run")
        );
        let mut paused = schedule(Some("0 2 * * ? *"), None, None);
        paused.paused = true;
        assert_eq!(
            next_run(&paused, now()),
            Err("no next run: it is paused".into())
        );
        let nowhere = schedule(Some("0 2 * * ? *"), None, Some("Mars/Olympus_Mons"));
        assert!(
            next_run(&nowhere, now())
                .unwrap_err()
                .contains("next run unknown: `Mars/Olympus_Mons` is not an IANA time zone")
        );
        let past = schedule(Some("0 2 1 1 ? 2020"), None, None);
        assert_eq!(
            next_run(&past, now()),
            Err("no run left before 2200".into())
        );
    }
}
