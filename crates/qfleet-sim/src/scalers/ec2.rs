//! EC2 workers: an Auto Scaling group with target tracking on the backlog per instance (SQS's
//! one-minute metric, or qfleet's high-resolution one), the scale-from-zero alarm, qfleet's
//! simple scaling scale-in policy with its cooldown, and a warm pool.

use super::{
    Batch, Datapoint, Row, ScaleIn, Scaler, Seen, WarmPool, Workers, idle_from, last_busy,
    queue_batch, take_newest,
};
use crate::rules;
use std::collections::VecDeque;

/// The reference worker's lifecycle poll (`QFLEET_LIFECYCLE_INTERVAL`), seconds.
const LIFECYCLE_POLL: u64 = 5;

/// The group's settings, as the templates render them (see `model::Fleet::Ec2`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub min: u64,
    pub max: u64,
    pub target: f64,
    pub warmup: u64,
    pub launch_time: u64,
    pub per_instance: u64,
    pub scale_from_zero: bool,
    pub warm_pool: Option<WarmPool>,
    pub high_resolution: bool,
    pub counts_in_flight: bool,
    pub scale_in: ScaleIn,
}

/// The group as the model runs it.
#[derive(Debug)]
pub struct Ec2 {
    s: Settings,
    workers: Workers,
    /// The warm pool: instances ready in it, and those launching into it (their bootstrap).
    warm_ready: u64,
    warm_filling: VecDeque<Batch>,
    /// SQS's one-minute datapoints, which the scale-from-zero alarm and the scale-in policy
    /// read when the policy's metric is high-resolution.
    sqs_points: Vec<Datapoint>,
    /// The policy's metric period and its datapoints' delay; SQS's delay.
    period: u64,
    delay: u64,
    sqs_delay: u64,
    /// qfleet's scale-in policy: when its cooldown ends (None: it never acted).
    step_until: Option<u64>,
    /// The terminations a scale-in starts drain for one processing time at most, and the
    /// worker notices its instance terminating within its lifecycle poll
    /// (QFLEET_LIFECYCLE_INTERVAL, 5 s): a simple scaling policy's cooldown starts once that
    /// activity completed.
    drain: u64,
}

impl Ec2 {
    /// A group at rest at `min`, warmed up, its pool full; `longest` is one message's longest
    /// processing time, seconds.
    pub fn new(s: Settings, longest: f64, u: &rules::Unknowns) -> Ec2 {
        let workers = Workers::at_rest(s.min, s.per_instance, s.warmup);
        // SQS's datapoints' delay and the publisher's are assumptions with ranges of their own.
        let sqs_delay = u.metric_delay;
        Ec2 {
            warm_ready: s.warm_pool.map_or(0, |w| {
                rules::warm_pool_size(w.min_size, s.max, workers.desired)
            }),
            warm_filling: VecDeque::new(),
            sqs_points: Vec::new(),
            period: rules::metric_period(s.high_resolution),
            delay: if s.high_resolution {
                u.high_resolution_delay
            } else {
                sqs_delay
            },
            sqs_delay,
            step_until: None,
            drain: longest.ceil() as u64 + LIFECYCLE_POLL,
            workers,
            s,
        }
    }

    /// Target tracking at the end of its period: the high alarm scales out by the documented
    /// formula; its low alarm, when it scales in, removes a share of the surplus once no
    /// instance warms up.
    fn track(&mut self, t: u64, u: &rules::Unknowns) {
        let s = &self.s;
        let w = &mut self.workers;
        let readable = w.datapoints.partition_point(|d| d.readable_at <= t);
        let seen = &w.datapoints[..readable];
        // The alarms read their last datapoints only (15 at most): the same verdicts as
        // over every datapoint, without a day's worth copied at every period's end.
        let recent = readable.saturating_sub(rules::LOW_ALARM_DATAPOINTS.max(u.high_datapoints));
        let metrics: Vec<Option<f64>> = seen[recent..].iter().map(|d| d.metric).collect();
        let Some(last) = seen.last() else { return };
        if rules::high_alarm_of(&metrics, s.target, u.high_datapoints) {
            let before = w.desired;
            w.desired = rules::scale_out(
                w.desired,
                last.in_service,
                last.metric.unwrap_or(0.0),
                s.target,
                s.max,
            );
            w.scaled_out |= w.desired > before;
        } else if s.scale_in == ScaleIn::Tracking
            && rules::low_alarm(&metrics, s.target, u.low_ratio)
            && w.warming.is_empty()
            && let Some(d) = rules::tracking_scale_in(
                w.desired,
                rules::capacity_for(last.in_service, last.metric.unwrap_or(0.0), s.target),
                s.min,
                u.tracking_share,
            )
        {
            w.desired = d;
        }
    }

    /// SQS's one-minute datapoints readable at `t` (the policy's own unless it is
    /// high-resolution).
    fn sqs_seen(&self, t: u64) -> &[Datapoint] {
        let sqs = if self.s.high_resolution {
            &self.sqs_points
        } else {
            &self.workers.datapoints
        };
        &sqs[..sqs.partition_point(|d| d.readable_at <= t)]
    }

    /// The scale-from-zero alarm reads SQS's one-minute metric.
    fn scale_from_zero(&mut self, t: u64) {
        let Some(visible) = self.sqs_seen(t).last().map(|d| d.visible) else {
            return;
        };
        if self.s.scale_from_zero {
            let w = &mut self.workers;
            let before = w.desired;
            w.desired = rules::scale_from_zero(w.desired, visible, self.s.max);
            w.scaled_out |= w.desired > before;
        }
    }

    /// qfleet's scale-in policy (a simple scaling policy): its alarm on the one-minute busy
    /// backlog; it waits for any launch to complete and for its cooldown after the last
    /// instance finished launching or terminating ("After your Auto Scaling group launches
    /// or terminates instances, it waits for a cooldown period to end before any further
    /// scaling activities initiated by simple scaling policies can start", EC2 Auto Scaling,
    /// "Scaling cooldowns"; `step_until` is moved on as instances go in service, and after
    /// its own terminations drained).
    fn step_in(&mut self, t: u64) {
        let ScaleIn::Step {
            percent,
            below,
            minutes,
            cooldown,
        } = self.s.scale_in
        else {
            return;
        };
        if !self.workers.pending.is_empty() || self.step_until.is_some_and(|until| t < until) {
            return;
        }
        let busy = last_busy(
            self.sqs_seen(t),
            minutes,
            percent,
            (self.s.min, self.s.target),
        );
        let w = &mut self.workers;
        if rules::scale_in_alarm(&busy, self.s.target, below, minutes as usize)
            && let Some(d) = rules::percent_scale_in(w.desired, percent, self.s.min)
        {
            w.desired = d;
            self.step_until = Some(t + self.drain + cooldown);
        }
    }

    /// The group follows its desired capacity: launch (from the warm pool first: in service
    /// after a start, not a launch), or terminate (those not yet in service first, then the
    /// newest); the pool is refilled to its size by launches into it.
    fn follow(&mut self, t: u64) {
        let s = &self.s;
        let w = &mut self.workers;
        let live = w.in_service + w.launching();
        if w.desired > live {
            let need = w.desired - live;
            let from_pool = if let Some(pool) = s.warm_pool {
                let n = need.min(self.warm_ready);
                self.warm_ready -= n;
                queue_batch(&mut w.pending, t + pool.start_time.min(s.launch_time), n);
                n
            } else {
                0
            };
            queue_batch(&mut w.pending, t + s.launch_time, need - from_pool);
        } else if w.desired < live {
            let cut = take_newest(&mut w.pending, live - w.desired);
            w.in_service -= cut;
            if s.warm_pool.is_some_and(|pool| pool.reuse_on_scale_in) {
                self.warm_ready += cut;
            }
            take_newest(&mut w.warming, cut);
        }
        if let Some(pool) = s.warm_pool {
            let size = rules::warm_pool_size(pool.min_size, s.max, w.desired);
            let have = self.warm_ready + self.warm_filling.iter().map(|b| b.count).sum::<u64>();
            if size > have {
                self.warm_filling.push_back(Batch {
                    at: t + s.launch_time,
                    count: size - have,
                });
            }
        }
        w.peak = w.peak.max(w.desired);
    }
}

impl Scaler for Ec2 {
    fn batch(&self) -> u64 {
        1
    }

    fn invocations(&self) -> bool {
        false
    }

    fn start_second(&mut self, s: u64) {
        // A launch finished: a simple scaling policy's cooldown starts again.
        if self.workers.start_second(s)
            && let ScaleIn::Step { cooldown, .. } = self.s.scale_in
        {
            self.step_until = Some(
                self.step_until
                    .map_or(s + cooldown, |u| u.max(s + cooldown)),
            );
        }
        while self.warm_filling.front().is_some_and(|b| b.at <= s) {
            self.warm_ready += self.warm_filling.pop_front().map_or(0, |b| b.count);
        }
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

    /// Instances launching into the pool run their bootstrap; a running pool's instances are
    /// billed as instances, a stopped pool's only for their volumes (not priced here).
    fn billed(&self) -> Option<u64> {
        let filling: u64 = self.warm_filling.iter().map(|b| b.count).sum();
        let waiting = if self.s.warm_pool.is_some_and(|w| w.running) {
            self.warm_ready
        } else {
            0
        };
        Some(self.workers.in_service + self.workers.launching() + filling + waiting)
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
            self.workers.datapoint(
                t + self.delay,
                seen,
                self.s.counts_in_flight,
                self.s.high_resolution,
            );
        }
        if minute_end && self.s.high_resolution {
            self.sqs_points.push(Datapoint {
                readable_at: t + self.sqs_delay,
                metric: None,
                visible: seen.visible,
                in_flight: seen.in_flight,
                in_service,
            });
        }
        if period_end {
            self.track(t, u);
        }
        if minute_end {
            self.scale_from_zero(t);
            self.step_in(t);
        }
        self.follow(t);
        minute_end.then(|| self.workers.row(in_service))
    }

    fn peak(&self) -> u64 {
        self.workers.peak
    }

    fn at_rest(&self, t: u64) -> bool {
        let pool_full = self.s.warm_pool.is_none_or(|pool| {
            self.warm_filling.is_empty()
                && self.warm_ready
                    >= rules::warm_pool_size(pool.min_size, self.s.max, self.workers.desired)
        });
        self.workers.at_min(self.s.min, t)
            && pool_full
            && idle_from(&self.sqs_points, t, |d| d.readable_at, Datapoint::idle)
    }

    fn resting_row(&self) -> Row {
        self.workers.row(self.workers.in_service)
    }
}
