//! Fargate workers: an ECS service scaled by Application Auto Scaling, target tracking on the
//! backlog per task (SQS's visible messages ÷ ECS's running tasks, one-minute metrics) with
//! its cooldowns, qfleet's step scale-in policy, and the start-from-zero step policy. No warm
//! pool, no instance warmup, no high-resolution metric.

use super::{Row, ScaleIn, Scaler, Seen, Workers, idle_from, last_busy, queue_batch, take_newest};
use crate::rules;

/// The service's settings, as the templates render them (see `model::Fleet::Fargate`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub min: u64,
    pub max: u64,
    pub target: f64,
    pub start_time: u64,
    pub per_task: u64,
    pub scale_from_zero: bool,
    pub scale_in_cooldown: u64,
    pub start_cooldown: u64,
    pub counts_in_flight: bool,
    pub scale_in: ScaleIn,
}

/// The service as the model runs it.
#[derive(Debug)]
pub struct Fargate {
    s: Settings,
    workers: Workers,
    /// When the last scale-in and start-from-zero step happened (their cooldowns).
    last_in: Option<u64>,
    last_step: Option<u64>,
    /// SQS's one-minute (visible, in flight) that the start alarm reads, by when readable.
    start_points: Vec<(u64, (u64, u64))>,
    /// The metrics' period (one minute) and their delay.
    period: u64,
    delay: u64,
}

impl Fargate {
    /// A service at rest at `min` tasks running.
    pub fn new(s: Settings, u: &rules::Unknowns) -> Fargate {
        Fargate {
            workers: Workers::at_rest(s.min, s.per_task, 0),
            last_in: None,
            last_step: None,
            start_points: Vec::new(),
            period: rules::metric_period(false),
            delay: u.metric_delay,
            s,
        }
    }

    /// Target tracking at the end of its period (the alarms read at most their last 15
    /// datapoints), else qfleet's step scale-in policy.
    fn track(&mut self, t: u64, u: &rules::Unknowns) {
        let s = &self.s;
        let w = &mut self.workers;
        let readable = w.datapoints.partition_point(|d| d.readable_at <= t);
        let seen = &w.datapoints[..readable];
        let recent = readable.saturating_sub(rules::LOW_ALARM_DATAPOINTS);
        let metrics: Vec<Option<f64>> = seen[recent..].iter().map(|d| d.metric).collect();
        let Some(last) = seen.last() else { return };
        let want = rules::capacity_for(last.in_service, last.metric.unwrap_or(0.0), s.target);
        if rules::high_alarm_of(&metrics, s.target, u.high_datapoints) {
            // The scale-out cooldown counts what the last scale-out added in the desired
            // count, which `app_scale_out` compares with.
            if let Some(d) = rules::app_scale_out(w.desired, want, s.max) {
                w.desired = d;
                w.scaled_out = true;
                // A scale-out ends a running scale-in cooldown.
                self.last_in = None;
            }
        } else if s.scale_in == ScaleIn::Tracking
            && rules::low_alarm(&metrics, s.target, u.low_ratio)
            && let Some(d) = rules::app_scale_in(
                w.desired,
                rules::tracking_scale_in(w.desired, want, s.min, u.tracking_share)
                    .unwrap_or(w.desired),
                s.min,
                self.last_in,
                s.scale_in_cooldown,
                t,
            )
        {
            w.desired = d;
            self.last_in = Some(t);
        } else if let ScaleIn::Step {
            percent,
            below,
            minutes,
            cooldown,
        } = s.scale_in
        {
            // qfleet's step scale-in policy: its `Cooldown` blocks the next scale-in, and a
            // scale-out ends it (Application Auto Scaling, "How step scaling works").
            let busy = last_busy(seen, minutes, percent, (s.min, s.target));
            if rules::scale_in_alarm(&busy, s.target, below, minutes as usize)
                && !rules::in_cooldown(self.last_in, cooldown, t)
                && let Some(d) = rules::percent_scale_in(w.desired, percent, s.min)
            {
                w.desired = d;
                self.last_in = Some(t);
            }
        }
    }

    /// The start-from-zero step policy on SQS's one-minute visible and in-flight messages.
    fn start_from_zero(&mut self, t: u64, seen: Seen) {
        self.start_points
            .push((t + self.delay, (seen.visible, seen.in_flight)));
        if !self.s.scale_from_zero {
            return;
        }
        let n = self.start_points.partition_point(|(at, _)| *at <= t);
        let from = n.saturating_sub(rules::START_ALARM_DATAPOINTS);
        let points: Vec<(u64, u64)> = self.start_points[from..n].iter().map(|(_, v)| *v).collect();
        if rules::start_alarm(&points) {
            let w = &mut self.workers;
            let (d, stepped) = rules::start_step(
                w.desired,
                self.s.max,
                self.last_step,
                self.s.start_cooldown,
                t,
            );
            if stepped {
                w.desired = d;
                w.scaled_out = true;
                self.last_step = Some(t);
                self.last_in = None;
            }
        }
    }

    /// The service follows its desired count: place tasks, or stop them (those not yet
    /// running first, then the newest).
    fn follow(&mut self, t: u64) {
        let w = &mut self.workers;
        let live = w.in_service + w.launching();
        if w.desired > live {
            queue_batch(&mut w.pending, t + self.s.start_time, w.desired - live);
        } else if w.desired < live {
            w.in_service -= take_newest(&mut w.pending, live - w.desired);
        }
        w.peak = w.peak.max(w.desired);
    }
}

impl Scaler for Fargate {
    fn batch(&self) -> u64 {
        1
    }

    fn invocations(&self) -> bool {
        false
    }

    fn start_second(&mut self, s: u64) {
        self.workers.start_second(s);
    }

    fn open(&mut self, _visible: u64) -> u64 {
        self.workers.slots()
    }

    fn caught_up(&self) -> bool {
        self.workers.caught_up()
    }

    fn scaled_out(&self) -> bool {
        self.workers.scaled_out
    }

    fn billed(&self) -> Option<u64> {
        Some(self.workers.in_service + self.workers.launching())
    }

    fn end_second(
        &mut self,
        t: u64,
        minute_end: bool,
        seen: Seen,
        u: &rules::Unknowns,
    ) -> Option<Row> {
        let period_end = t.is_multiple_of(self.period);
        if !minute_end && !period_end {
            return None;
        }
        let in_service = self.workers.in_service;
        if period_end {
            self.workers
                .datapoint(t + self.delay, seen, self.s.counts_in_flight, false);
            self.track(t, u);
        }
        if minute_end {
            self.start_from_zero(t, seen);
        }
        self.follow(t);
        minute_end.then(|| self.workers.row(in_service))
    }

    fn peak(&self) -> u64 {
        self.workers.peak
    }

    fn at_rest(&self, t: u64) -> bool {
        self.workers.at_min(self.s.min, t)
            && idle_from(
                &self.start_points,
                t,
                |(at, _)| *at,
                |(_, (visible, in_flight))| *visible == 0 && *in_flight == 0,
            )
    }

    fn resting_row(&self) -> Row {
        self.workers.row(self.workers.in_service)
    }
}
