//! The stack file's schedules as arrivals (`sources.schedules`): one job a run, added to the
//! arrivals of the stage they feed, whatever `--load` says. The simulated run starts at
//! midnight of each schedule's time zone, as `daily:` starts at midnight.
//!
//! - `rate: N unit`: a run at the start, then every N minutes, hours or days. A rate's first
//!   run is not documented by AWS; the start is the earliest it can be.
//! - `cron`: the runs its minutes and hours give, every day; a cron that names days, months or
//!   years is left out and said, since the simulated run has no calendar.
//! - `window`: each run at a moment within it, drawn from the run's seed ("your schedule
//!   invokes its target within the time window", EventBridge Scheduler's flexible time
//!   windows, https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html).
//! - A paused schedule sends nothing.

use crate::config::{Environment, ScheduleSpec};

/// The schedules' runs, per second of the run, and what was left out, with why.
#[derive(Debug, Default, PartialEq)]
pub struct Scheduled {
    /// Runs per second, as long as the run.
    pub runs: Vec<u64>,
    /// `NAME (N runs)` for each schedule simulated.
    pub simulated: Vec<String>,
    /// `NAME: why` for each schedule left out.
    pub left_out: Vec<String>,
}

impl Scheduled {
    /// The words the workload's load gains: `schedules: nightly (1 run); left out: weekly
    /// (names days: not simulated)`; empty without schedules.
    pub fn words(&self) -> String {
        let mut parts = Vec::new();
        if !self.simulated.is_empty() {
            parts.push(format!("schedules: {}", self.simulated.join(", ")));
        }
        if !self.left_out.is_empty() {
            parts.push(format!("left out: {}", self.left_out.join(", ")));
        }
        parts.join("; ")
    }

    /// `arrivals` with the runs added, second by second.
    pub fn add_to(&self, arrivals: &mut [u64]) {
        for (slot, runs) in arrivals.iter_mut().zip(&self.runs) {
            *slot += runs;
        }
    }
}

/// The runs of `env`'s own schedules (its stage's) over `duration` seconds.
pub fn of(env: &Environment, duration: u64, seed: u64) -> Scheduled {
    let mut out = Scheduled {
        runs: vec![0; duration as usize],
        ..Default::default()
    };
    for s in &env.spec.sources.schedules {
        if s.paused {
            out.left_out.push(format!("{}: paused", s.name));
            continue;
        }
        let starts = match starts(s, duration) {
            Ok(starts) => starts,
            Err(why) => {
                out.left_out.push(format!("{}: {why}", s.name));
                continue;
            }
        };
        let mut rng =
            fastrand::Rng::with_seed(seed ^ u64::from(crc32fast::hash(s.name.as_bytes())));
        let window = s.window.map_or(0, |w| w.0);
        let mut n = 0u64;
        for start in starts {
            let at = if window > 0 {
                start + rng.u64(0..window)
            } else {
                start
            };
            if let Some(slot) = out.runs.get_mut(at as usize) {
                *slot += 1;
                n += 1;
            }
        }
        out.simulated.push(format!(
            "{} ({n} {})",
            s.name,
            if n == 1 { "run" } else { "runs" }
        ));
    }
    out
}

/// The seconds each run starts at, before its window: a rate's every period from the start, a
/// cron's minutes and hours every day; why not, for a cron that names days.
fn starts(s: &ScheduleSpec, duration: u64) -> Result<Vec<u64>, String> {
    if let Some(rate) = &s.rate {
        let period = rate_seconds(rate).ok_or("not a rate (validate refuses it)")?;
        return Ok((0..duration).step_by(period as usize).collect());
    }
    let cron = s.cron.as_deref().ok_or("neither cron nor rate")?;
    let cron = crate::config::cron::Cron::parse(cron)
        .map_err(|why| format!("{why} (validate refuses it)"))?;
    let (minutes, hours) = cron
        .daily()
        .ok_or("it names days, months or years; the simulated run has no calendar")?;
    let mut out = Vec::new();
    for day in 0..duration.div_ceil(86_400) {
        for h in hours {
            for m in minutes {
                let t = day * 86_400 + u64::from(*h) * 3_600 + u64::from(*m) * 60;
                if t < duration {
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}

/// `15 minutes`, `1 hour`, `2 days` in seconds.
fn rate_seconds(rate: &str) -> Option<u64> {
    let (n, unit) = rate.trim().split_once(' ')?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let unit = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        _ => return None,
    };
    Some(n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(schedules: &str) -> Environment {
        crate::config::parse(
            "stacks/t.yaml".into(),
            format!("region: eu-west-1\nlab: true\nsources:\n  schedules:\n{schedules}"),
        )
        .unwrap()
        .into_only()
    }

    #[test]
    fn a_rate_runs_from_the_start_every_period() {
        let s = of(&env("    - {name: q, rate: 15 minutes}\n"), 3_600, 1);
        let at: Vec<usize> = (0..3_600).filter(|&t| s.runs[t] > 0).collect();
        assert_eq!(at, [0, 900, 1_800, 2_700]);
        assert_eq!(s.simulated, ["q (4 runs)"]);
        assert!(s.left_out.is_empty());
    }

    #[test]
    fn a_cron_runs_at_its_minutes_and_hours_every_day() {
        let s = of(
            &env(
                "    - {name: n, cron: \"0 2 * * ? *\"}\n    - {name: w, cron: \"0/30 9-10 ? * * *\"}\n",
            ),
            2 * 86_400,
            1,
        );
        let at: Vec<usize> = (0..2 * 86_400).filter(|&t| s.runs[t] > 0).collect();
        let day = [
            2 * 3_600,
            9 * 3_600,
            9 * 3_600 + 1_800,
            10 * 3_600,
            10 * 3_600 + 1_800,
        ];
        let both: Vec<usize> = day
            .iter()
            .copied()
            .chain(day.iter().map(|t| t + 86_400))
            .collect();
        assert_eq!(at, both);
        assert_eq!(s.simulated, ["n (2 runs)", "w (8 runs)"]);
    }

    /// A run within its window: later than its start, before the window ends, the same for a
    /// seed; a paused schedule and one that names days are said, not simulated.
    #[test]
    fn windows_spread_runs_and_what_is_not_simulated_is_said() {
        let e = env(
            "    - {name: w, rate: 1 hour, window: 15m}\n    - {name: p, rate: 1 hour, paused: true}\n    - {name: d, cron: \"0 2 ? * MON-FRI *\"}\n",
        );
        let s = of(&e, 7_200, 7);
        let at: Vec<usize> = (0..7_200).filter(|&t| s.runs[t] > 0).collect();
        assert_eq!(at.len(), 2);
        assert!(at[0] < 900 && (3_600..4_500).contains(&at[1]), "{at:?}");
        assert_eq!(s, of(&e, 7_200, 7));
        assert_eq!(s.left_out.len(), 2, "{:?}", s.left_out);
        assert!(s.left_out[0].starts_with("p: paused"));
        assert!(s.left_out[1].contains("no calendar"), "{:?}", s.left_out);
        assert!(s.words().contains("left out: p: paused"), "{}", s.words());
    }

    #[test]
    fn cron_fields_take_lists_ranges_and_steps() {
        let cron = |c: &str| ScheduleSpec {
            name: "c".into(),
            cron: Some(c.into()),
            rate: None,
            timezone: None,
            window: None,
            body: None,
            paused: false,
            group: None,
        };
        assert_eq!(
            starts(&cron("*/20 0 * * ? *"), 3_600),
            Ok(vec![0, 1_200, 2_400])
        );
        assert_eq!(
            starts(&cron("5,10-12 0 ? * * *"), 3_600),
            Ok(vec![300, 600, 660, 720])
        );
        // 50, 0 and 10, past the hour's end and back: 23:00, 23:10, 23:50.
        assert_eq!(
            starts(&cron("50-10/10 23 * * ?"), 86_400),
            Ok(vec![82_800, 83_400, 85_800])
        );
        assert!(
            starts(&cron("0 2 L * ? *"), 86_400)
                .unwrap_err()
                .contains("no calendar")
        );
        assert!(
            starts(&cron("0 2 * * ? 2030"), 86_400)
                .unwrap_err()
                .contains("no calendar")
        );
        assert_eq!(rate_seconds("2 days"), Some(172_800));
        assert_eq!(rate_seconds("1 week"), None);
    }
}
