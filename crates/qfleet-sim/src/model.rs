//! The discrete-time model: one-second steps (tenths of a second for the workers), messages
//! kept as cohorts (arrival time, count, receives) rather than one by one, so that a day of
//! 1,000 instances runs in a fraction of a second. Repeatable: its randomness, each message's
//! processing time and each attempt's failure, comes from a generator seeded by
//! `Params::seed`. What scales the workers is the fleet's own scaler
//! ([`super::scalers`]), picked once per run: the loop here hands out messages and never
//! matches on the kind; every random draw is made here, in one order.

use super::rules;
use super::scalers::fargate::{self, Fargate};
use super::scalers::lambda::Lambda;
pub use super::scalers::{ScaleIn, WarmPool};
use super::scalers::{
    Scaler, Seen,
    ec2::{self, Ec2},
};
use crate::config::PollerSpec;
use std::collections::VecDeque;

/// Sub-steps of a second in which workers pick up messages.
pub const TICKS: u64 = 10;

/// What consumes the queue, with the settings the templates render.
#[derive(Debug, Clone, PartialEq)]
pub enum Fleet {
    Ec2 {
        min: u64,
        max: u64,
        /// The target tracking target: backlog per instance.
        target: f64,
        /// `workers.instance_warmup` (the group's DefaultInstanceWarmup).
        warmup: u64,
        /// From launch to a worker reading the queue (boot, user data, InService).
        launch_time: u64,
        /// Messages one instance works on at once (the reference worker: one).
        per_instance: u64,
        scale_from_zero: bool,
        /// The group's warm pool (`workers.warm_pool`).
        warm_pool: Option<WarmPool>,
        /// `scaling.metric: high_resolution`: the policy reads qfleet's 10-second backlog
        /// metric (visible + in flight) instead of SQS's one-minute one.
        high_resolution: bool,
        /// SQS's one-minute metric counts the messages in flight as well as the visible
        /// ones (qfleet's policy); `false`: visible only, the policy before, which takes a
        /// fleet that keeps up for an idle one.
        counts_in_flight: bool,
        scale_in: ScaleIn,
    },
    /// Container tasks of an ECS service on Fargate, scaled by Application Auto Scaling:
    /// target tracking on the backlog per task (SQS's visible messages ÷ ECS's running
    /// tasks, one-minute metrics) with its cooldowns, and the start-from-zero step policy.
    /// No warm pool, no instance warmup, no high-resolution metric.
    Fargate {
        min: u64,
        max: u64,
        /// The target tracking target: backlog per task.
        target: f64,
        /// From a task's placement to its worker reading the queue (image pull, start).
        start_time: u64,
        /// Messages one task works on at once (`--messages-per-instance`).
        per_task: u64,
        scale_from_zero: bool,
        /// The policy's `ScaleOutCooldown` and `ScaleInCooldown`, and the start-from-zero
        /// step policy's `Cooldown` (crates/qfleet-stackfile/src/kinds/fargate.rs).
        scale_out_cooldown: u64,
        scale_in_cooldown: u64,
        start_cooldown: u64,
        /// As for EC2: the metric counts the messages in flight.
        counts_in_flight: bool,
        scale_in: ScaleIn,
    },
    Lambda {
        /// The event source mapping's MaximumConcurrency (standard mode).
        max_concurrency: u64,
        /// Provisioned mode's pollers, instead of `max_concurrency`.
        pollers: Option<PollerSpec>,
        /// Messages per invocation (BatchSize).
        batch_size: u64,
        memory_mb: u64,
        /// The function's timeout, seconds (`workers.lambda.timeout`): a batch whose work
        /// runs longer is cut off there and every message of it returns to the queue.
        timeout: u64,
        /// The mapping's `MaximumBatchingWindowInSeconds` (`workers.lambda.batching_window`):
        /// a batch short of `batch_size` waits up to this long for more messages.
        batching_window: u64,
    },
}

impl Fleet {
    /// An Auto Scaling group or an ECS service: a count of workers scaled on the backlog per
    /// worker (not a Lambda mapping).
    pub fn is_group(&self) -> bool {
        !matches!(self, Fleet::Lambda { .. })
    }
}

/// Everything a run depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub fleet: Fleet,
    /// Seconds simulated.
    pub duration: u64,
    /// Mean processing time of one message.
    pub seconds_per_message: f64,
    /// Processing times are uniform in mean × (1 ± spread).
    pub spread: f64,
    /// Share of processing attempts that fail (the message is not deleted).
    pub failure_rate: f64,
    pub seed: u64,
    pub visibility_timeout: u64,
    pub max_receive_count: u64,
    /// What AWS documents no number for (a point of their ranges).
    pub unknowns: rules::Unknowns,
    /// The workers extend a message's visibility while they work on it (the reference
    /// worker's heartbeat); `false`: a receive that outlasts the visibility timeout leaves the
    /// message to come back while it is still being processed.
    pub extends_visibility: bool,
    /// `queue.retry`: a failed attempt's message is hidden from the failure for its wait
    /// rather than for the visibility timeout from the receive. `None`: the visibility
    /// timeout (SQS's own, what a worker that just does not delete the message gets).
    pub retry: Option<crate::config::RetrySpec>,
    /// EC2 and Fargate, `workers.job_timeout`: an attempt longer than this is stopped by the
    /// worker and fails as any failure does (seconds).
    pub job_timeout: Option<u64>,
    /// EC2 and Fargate, `workers.limits`: the most jobs of this stage that run at once, the
    /// smallest of the limits its workers name. A worker over it waits for a slot, its
    /// message held: it is billed, and its message neither waits visible nor is worked on
    /// (the backlog metric counts it in flight, as a visible one would be counted).
    pub limit: Option<u64>,
    /// `queue.priority` with jobs sent to it (`--priority-share` above 0); `None`: one lane,
    /// every message in the ordinary queue.
    pub lanes: Option<Lanes>,
}

/// A stage's priority lane (`queue.priority`): a second queue beside the ordinary one, with
/// the same visibility timeout, retries, receive count and dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanes {
    /// Which arrivals go to the priority lane.
    pub split: Split,
    /// EC2 and Fargate (`queue.priority.weight`): at most this many priority messages in a
    /// row while ordinary ones wait, then one ordinary message; `None`: the priority lane
    /// strictly first. Counted across the fleet, not per worker: the same shares while both
    /// lanes wait.
    pub weight: Option<u64>,
    /// Lambda (`queue.priority.max_concurrency`): the priority lane's own mapping's maximum
    /// concurrency, beside the ordinary mapping's; `None`: the ordinary mapping's.
    pub max_concurrency: Option<u64>,
}

/// How a second's arrivals are split between the lanes.
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    /// Each message goes to the priority lane with this probability (`--priority-share`):
    /// one binomial draw a second, from a generator of its own seeded by the run's seed.
    Share(f64),
    /// The priority messages of each second, at most its arrivals: a later stage of a
    /// pipeline gets the priority jobs the stage before it finished.
    Given(std::sync::Arc<Vec<u64>>),
}

/// The lanes' indices in the queue.
const ORDINARY: usize = 0;
const PRIORITY: usize = 1;

/// Which lane the units of work take their messages from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pick {
    /// The ordinary lane only: one lane, or a Lambda function's job queue mapping.
    Ordinary,
    /// The priority lane only: a Lambda function's mapping on it.
    Priority,
    /// Instances and tasks: the priority lane first, at most `Queue::weight` in a row while
    /// ordinary messages wait.
    PriorityFirst,
}

/// The priority lane's part of a run's figures (the ordinary lane's are the rest:
/// [`Outcome::ordinary`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneOutcome {
    pub arrived: u64,
    pub processed: u64,
    /// Processed messages by latency, as `Outcome::latency`.
    pub latency: Vec<u64>,
    pub dead_lettered: u64,
    pub unfinished: u64,
    /// The unfinished messages by their age at the end, as `Outcome::unfinished_ages`.
    pub unfinished_ages: Vec<u64>,
    /// Messages processed per second of the run, as `Outcome::completions`.
    pub completions: Vec<u64>,
}

impl LaneOutcome {
    /// The latency at percentile `p` (0–100], nearest rank; `None` when nothing was processed.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        nearest_rank(&self.latency, p)
    }

    pub fn max_latency(&self) -> Option<u64> {
        self.latency.iter().rposition(|&n| n > 0).map(|i| i as u64)
    }

    /// The oldest unfinished message's age at the end, seconds (0 when none).
    pub fn oldest_unfinished(&self) -> u64 {
        self.unfinished_ages
            .iter()
            .rposition(|&n| n > 0)
            .map_or(0, |i| i as u64)
    }
}

/// One minute of the timeline, as of its end.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Minute {
    pub minute: u64,
    pub arrived: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    /// Messages visible in the queue.
    pub backlog: u64,
    /// Messages received and not yet deleted or returned.
    pub in_flight: u64,
    /// The oldest visible message's age, seconds (0 when none waits).
    pub oldest_age: u64,
    /// EC2: instances in service; Fargate: tasks running; Lambda: concurrent invocations
    /// running.
    pub in_service: u64,
    /// EC2: instances launched and not yet in service; Fargate: tasks placed and not yet
    /// running; Lambda: 0.
    pub launching: u64,
    /// EC2: the group's desired capacity; Fargate: the service's desired count; Lambda: the
    /// concurrency the mapping allows.
    pub capacity: u64,
}

/// A run's result.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub minutes: Vec<Minute>,
    /// Processed messages by upload-to-processed latency in whole seconds (rounded up).
    pub latency: Vec<u64>,
    pub arrived: u64,
    pub processed: u64,
    /// Messages processed per second of the run, by the second their processing ended (a
    /// pipeline's next stage gets them as its arrivals).
    pub completions: Vec<u64>,
    pub dead_lettered: u64,
    /// Messages not processed when the run ended (visible, in flight or to be retried).
    pub unfinished: u64,
    /// The oldest of those, seconds (0 when none).
    pub oldest_unfinished_age: u64,
    /// Those messages by their age at the end in whole seconds (as `latency`): they are
    /// apart from `latency`, which counts processed messages only.
    pub unfinished_ages: Vec<u64>,
    /// EC2: seconds of instances launched and not terminated, summed; Fargate: of tasks
    /// placed (starting or running) and not stopped.
    pub instance_seconds: f64,
    /// Lambda: seconds of invocations running, summed.
    pub invocation_seconds: f64,
    /// Lambda: invocations started.
    pub invocations: u64,
    /// Highest number of instances (EC2) or allowed concurrency (Lambda) reached.
    pub peak_capacity: u64,
    /// When the fleet had caught up after its first scale-out (the second at which, the
    /// capacity asked for in service, no message was visible); `Some(0)` when it never
    /// scaled out; `None` when it never caught up.
    pub settled_at: Option<u64>,
    /// The latencies (as `latency`) and unfinished ages (as `unfinished_ages`) of the
    /// messages that arrived from `settled_at` on: the load held, the cold start apart.
    pub settled_latency: Vec<u64>,
    pub settled_unfinished: Vec<u64>,
    /// Lambda: invocations cut off by the function's timeout, and the messages they held
    /// (all returned to the queue).
    pub timed_out_invocations: u64,
    pub timed_out_messages: u64,
    /// EC2 and Fargate: receives that outlasted the visibility timeout with a worker that
    /// does not extend it: the message came back while still being processed.
    pub outlasted_visibility: u64,
    /// The billed workers at the run's end (EC2 instances, Fargate tasks).
    pub billed_at_end: u64,
    /// The billed workers on average over the run's second half.
    pub billed_second_half: f64,
    /// `Params::limit`: the most worker slots (messages a fleet could work on at once) that
    /// stood idle at a second's start because the limit was full: slots that had a job in
    /// hand or a message waiting for them, beyond the limit's.
    pub held_by_limit: u64,
    /// The run stopped once it had missed the goal it was given for sure (`run_until`): its
    /// figures are partial, and it did not meet that goal.
    pub missed_early: bool,
    /// Lambda: tenths of a second in which a poller had room and messages were visible, but
    /// it waited for a fuller batch (the batching window).
    pub window_waits: u64,
    /// The second from which the fleet was at rest at its minimum, the queue empty and no
    /// message to come: the rest of the run is counted in closed form, not stepped through
    /// (`None`: stepped to the end).
    pub at_rest_from: Option<u64>,
    /// With a priority lane (`Params::lanes`): its part of the figures above; `None` without.
    pub priority: Option<LaneOutcome>,
}

impl Outcome {
    /// The latency at percentile `p` (0–100], nearest rank; `None` when nothing was processed.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        nearest_rank(&self.latency, p)
    }

    /// The unfinished messages' age at the end at percentile `p`; `None` when none is left.
    pub fn unfinished_age(&self, p: f64) -> Option<u64> {
        nearest_rank(&self.unfinished_ages, p)
    }

    pub fn max_latency(&self) -> Option<u64> {
        self.latency.iter().rposition(|&n| n > 0).map(|i| i as u64)
    }

    /// The latency at percentile `p` of every message that arrived, processed or not: an
    /// unfinished message counts at its age at the end (a lower bound of its latency).
    pub fn percentile_all(&self, p: f64) -> Option<u64> {
        nearest_rank(&merged(&self.latency, &self.unfinished_ages), p)
    }

    /// Whether the message at percentile `p` of all that arrived was dead-lettered: more
    /// than the rest of the messages went to the dead-letter queue, never processed (a
    /// message dead-lettered is not a message on time, whatever its goal).
    pub fn never_at(&self, p: f64) -> bool {
        let counted = self.latency.iter().sum::<u64>() + self.unfinished;
        let total = counted + self.dead_lettered;
        total > 0 && ((p / 100.0) * total as f64).ceil() as u64 > counted
    }

    /// As `percentile_all`, over the messages that arrived once the fleet had caught up
    /// after its first scale-out; `None` when it never did (or nothing arrived since).
    pub fn settled_percentile(&self, p: f64) -> Option<u64> {
        self.settled_at?;
        nearest_rank(&merged(&self.settled_latency, &self.settled_unfinished), p)
    }

    /// The ordinary lane's figures (the run's less the priority lane's); `None` without a
    /// priority lane.
    pub fn ordinary(&self) -> Option<LaneOutcome> {
        let pri = self.priority.as_ref()?;
        let less = |all: &[u64], part: &[u64]| -> Vec<u64> {
            all.iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(part.get(i).copied().unwrap_or(0)))
                .collect()
        };
        Some(LaneOutcome {
            arrived: self.arrived - pri.arrived,
            // (A run stopped early counts its units' latencies as they start, and its
            // processed as they end.)
            processed: self.processed.saturating_sub(pri.processed),
            latency: less(&self.latency, &pri.latency),
            dead_lettered: self.dead_lettered - pri.dead_lettered,
            unfinished: self.unfinished - pri.unfinished,
            unfinished_ages: less(&self.unfinished_ages, &pri.unfinished_ages),
            completions: less(&self.completions, &pri.completions),
        })
    }
}

fn merged(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = a.to_vec();
    if out.len() < b.len() {
        out.resize(b.len(), 0);
    }
    for (i, n) in b.iter().enumerate() {
        out[i] += n;
    }
    out
}

/// The value at percentile `p` (0–100], nearest rank, of counts indexed by whole seconds;
/// `None` when they are all 0.
pub fn nearest_rank(counts: &[u64], p: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (secs, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(secs as u64);
        }
    }
    None
}

/// Messages that arrived in the same tick and were received as often.
#[derive(Debug, Clone, Copy)]
struct Cohort {
    arrival: u64,
    count: u64,
    receives: u64,
}

/// Failed receives waiting for their visibility timeout to end.
#[derive(Debug, Clone, Copy)]
struct Hidden {
    until: u64,
    cohort: Cohort,
}

/// One lane's messages: the ordinary queue, or the priority lane's (`queue.priority`).
struct Lane {
    /// New messages, oldest first.
    fresh: VecDeque<Cohort>,
    /// Messages visible again after a failed attempt, in the order they reappeared.
    again: VecDeque<Cohort>,
    /// Failed receives waiting out their visibility timeout (or retry wait), by its end.
    hidden: VecDeque<Hidden>,
    visible: u64,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            fresh: VecDeque::new(),
            again: VecDeque::new(),
            hidden: VecDeque::new(),
            visible: 0,
        }
    }

    /// The next cohort to hand out: the older front of the two lines.
    fn front(&mut self) -> Option<&mut Cohort> {
        match (self.fresh.front(), self.again.front()) {
            (Some(a), Some(b)) if b.arrival < a.arrival => self.again.front_mut(),
            (Some(_), _) => self.fresh.front_mut(),
            (None, Some(_)) => self.again.front_mut(),
            (None, None) => None,
        }
    }

    fn pop_empty(&mut self) {
        while self.fresh.front().is_some_and(|c| c.count == 0) {
            self.fresh.pop_front();
        }
        while self.again.front().is_some_and(|c| c.count == 0) {
            self.again.pop_front();
        }
    }

    fn oldest(&self) -> Option<u64> {
        let a = self.fresh.iter().find(|c| c.count > 0).map(|c| c.arrival);
        let b = self
            .again
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| c.arrival)
            .min();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The stage's queues: the ordinary lane, and the priority lane (empty without one).
struct Queue {
    lanes: [Lane; 2],
    /// Messages visible in both lanes.
    visible: u64,
    /// Priority messages taken in a row since the last ordinary one (`Pick::PriorityFirst`).
    streak: u64,
    /// The most taken in a row while ordinary messages wait (`Lanes::weight`; `None`: the
    /// priority lane strictly first).
    weight: Option<u64>,
}

impl Queue {
    fn new(weight: Option<u64>) -> Queue {
        Queue {
            lanes: [Lane::new(), Lane::new()],
            visible: 0,
            streak: 0,
            // (The stack file's weight is 1 to 100.)
            weight: weight.map(|w| w.max(1)),
        }
    }

    /// `n` new messages at `tick` in `lane`.
    fn arrive(&mut self, lane: usize, tick: u64, n: u64) {
        if n > 0 {
            let l = &mut self.lanes[lane];
            l.fresh.push_back(Cohort {
                arrival: tick,
                count: n,
                receives: 0,
            });
            l.visible += n;
            self.visible += n;
        }
    }

    /// The messages visible to units of work that take under `pick`.
    #[inline(always)]
    fn visible_to(&self, pick: Pick) -> u64 {
        match pick {
            Pick::Ordinary => self.lanes[ORDINARY].visible,
            Pick::Priority => self.lanes[PRIORITY].visible,
            Pick::PriorityFirst => self.visible,
        }
    }

    /// The lane the next message comes from under `pick`, its empty cohorts popped; `None`
    /// when none is visible there.
    #[inline(always)]
    fn next(&mut self, pick: Pick) -> Option<usize> {
        let lane = match pick {
            Pick::Ordinary if self.lanes[ORDINARY].visible > 0 => ORDINARY,
            Pick::Priority if self.lanes[PRIORITY].visible > 0 => PRIORITY,
            Pick::Ordinary | Pick::Priority => return None,
            Pick::PriorityFirst => {
                let ordinary = self.lanes[ORDINARY].visible;
                if self.lanes[PRIORITY].visible > 0
                    && (ordinary == 0 || self.weight.is_none_or(|w| self.streak < w))
                {
                    PRIORITY
                } else if ordinary > 0 {
                    ORDINARY
                } else {
                    return None;
                }
            }
        };
        self.lanes[lane].pop_empty();
        Some(lane)
    }

    /// The most messages `lane` may give in a row now under `pick` (a weight's turn).
    #[inline]
    fn in_a_row(&self, pick: Pick, lane: usize) -> u64 {
        match pick {
            Pick::PriorityFirst if self.lanes[1 - lane].visible > 0 => match self.weight {
                Some(w) if lane == PRIORITY => w.saturating_sub(self.streak),
                Some(_) => 1,
                None => u64::MAX,
            },
            _ => u64::MAX,
        }
    }

    /// A weight's turns for `units` units of work, one message each, while both lanes wait:
    /// the priority messages and the ordinary ones that one unit after another would take
    /// (`next`), and the streak after them.
    fn turns(&self, units: u64, w: u64) -> (u64, u64, u64) {
        let (mut p, mut o) = (self.lanes[PRIORITY].visible, self.lanes[ORDINARY].visible);
        let (mut priority, mut ordinary, mut streak, mut u) = (0, 0, self.streak, units);
        while u > 0 && (p > 0 || o > 0) {
            if p > 0 && (o == 0 || streak < w) {
                // Priority messages until the weight's turn (or all, none ordinary waiting).
                let run = if o == 0 { p } else { w - streak }.min(p).min(u);
                (priority, p, u, streak) = (priority + run, p - run, u - run, streak + run);
            } else {
                // One ordinary message, then whole turns of w priority and one ordinary.
                (ordinary, o, u, streak) = (ordinary + 1, o - 1, u - 1, 0);
                let turns = (u / (w + 1)).min(p / w).min(o);
                priority += turns * w;
                ordinary += turns;
                (p, o, u) = (p - turns * w, o - turns, u - turns * (w + 1));
            }
        }
        (priority, ordinary, streak)
    }

    /// `n` messages of `lane` received.
    #[inline]
    fn take(&mut self, lane: usize, n: u64) {
        self.lanes[lane].visible -= n;
        self.visible -= n;
        if lane == PRIORITY {
            self.streak += n;
        } else {
            self.streak = 0;
        }
    }

    /// Nothing visible and nothing waiting out a visibility timeout.
    fn is_empty(&self) -> bool {
        self.visible == 0 && self.lanes.iter().all(|l| l.hidden.is_empty())
    }

    /// The oldest visible message's arrival, in the lanes `pick` takes from.
    fn oldest_to(&self, pick: Pick) -> Option<u64> {
        match pick {
            Pick::Ordinary => self.lanes[ORDINARY].oldest(),
            Pick::Priority => self.lanes[PRIORITY].oldest(),
            Pick::PriorityFirst => self.oldest(),
        }
    }

    fn oldest(&self) -> Option<u64> {
        match (self.lanes[ORDINARY].oldest(), self.lanes[PRIORITY].oldest()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The distribution of one message's processing time in whole ticks: its time W uniform in
/// mean × (1 ± spread) (in ticks), rounded down and then up with the probability of its
/// fraction (what the one-by-one path draws), so P(T = k) is the mean over W of the triangle
/// 1 − |W − k|. Only for times of at least a tick (one message a unit of work) and a small
/// support.
pub struct TickCounts {
    /// The smallest count and the probability of each count from it.
    pub first: u64,
    pub probabilities: Vec<f64>,
}

impl TickCounts {
    /// Fewer messages than this at once go one by one.
    pub const AT_ONCE: u64 = 8;
    /// The most tick counts a distribution spans.
    const MOST: usize = 24;

    pub fn new(mean: f64, spread: f64) -> Option<TickCounts> {
        let (a, b) = (mean * (1.0 - spread), mean * (1.0 + spread));
        if a < 1.0 {
            return None;
        }
        let first = a as u64;
        let last = b.ceil() as u64;
        if (last - first) as usize + 1 > Self::MOST {
            return None;
        }
        // The triangle's integral up to x.
        let tri = |x: f64| {
            if x <= -1.0 {
                0.0
            } else if x <= 0.0 {
                (x + 1.0) * (x + 1.0) / 2.0
            } else if x <= 1.0 {
                1.0 - (1.0 - x) * (1.0 - x) / 2.0
            } else {
                1.0
            }
        };
        let probabilities = (first..=last)
            .map(|k| {
                let k = k as f64;
                if b > a {
                    (tri(b - k) - tri(a - k)) / (b - a)
                } else {
                    // No spread: W is the mean.
                    (1.0 - (a - k).abs()).max(0.0)
                }
            })
            .collect();
        Some(TickCounts {
            first,
            probabilities,
        })
    }

    /// Draws the tick counts of `n` messages: calls `each(count, messages)` for each count
    /// drawn, by sequential binomials (exact for few messages or a small variance, the normal
    /// approximation otherwise, well inside the one-second clock).
    pub fn draw(&self, rng: &mut fastrand::Rng, n: u64, each: &mut dyn FnMut(u64, u64)) {
        let (mut left, mut mass) = (n, 1.0f64);
        for (i, &pk) in self.probabilities.iter().enumerate() {
            if left == 0 {
                break;
            }
            let last = i + 1 == self.probabilities.len();
            let x = if last || mass <= pk {
                left
            } else {
                binomial(rng, left, (pk / mass).clamp(0.0, 1.0))
            };
            mass -= pk;
            if x > 0 {
                each((self.first + i as u64).max(1), x);
                left -= x;
            }
        }
    }
}

/// A Binomial(n, p) draw: one Bernoulli each for few trials, inversion for a small variance,
/// the normal approximation (continuity-corrected, clamped) above.
pub fn binomial(rng: &mut fastrand::Rng, n: u64, p: f64) -> u64 {
    if p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // The failures of the other side: (1 − p)^n never underflows for p ≤ 0.5 at these sizes.
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if n <= 16 {
        return (0..n).filter(|_| rng.f64() < p).count() as u64;
    }
    let variance = n as f64 * p * (1.0 - p);
    if variance < 16.0 {
        // Inversion: walk the probabilities from 0.
        let q = 1.0 - p;
        let mut pk = q.powf(n as f64);
        let (mut k, mut cdf, u) = (0u64, pk, rng.f64());
        while u > cdf && k < n {
            pk *= (n - k) as f64 / (k + 1) as f64 * p / q;
            k += 1;
            cdf += pk;
        }
        return k;
    }
    let z = (-2.0 * (1.0 - rng.f64()).ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos();
    (n as f64 * p + variance.sqrt() * z + 0.5)
        .floor()
        .clamp(0.0, n as f64) as u64
}

/// Runs the model over per-second arrivals (`arrivals.len()` may be shorter than the run):
/// the fleet's kind picks its scaler once, and the loop drives it.
#[cfg(test)]
pub fn run(p: &Params, arrivals: &[u64]) -> Outcome {
    run_until(p, arrivals, None, &|| false)
}

/// A goal a run may stop at once missed: more than `allowed` messages known to be over
/// `goal_secs` (processed over it, dead-lettered, or still waiting and already older).
#[derive(Debug, Clone, Copy)]
pub struct Missed {
    pub goal_secs: u64,
    pub allowed: u64,
}

impl Missed {
    /// For a goal in seconds: 99 % of the messages that arrive within the run within it.
    pub fn of(goal: f64, arrivals: &[u64], duration: u64) -> Missed {
        let total: u64 = arrivals.iter().take(duration as usize).sum();
        Missed {
            goal_secs: goal.max(0.0).floor() as u64,
            allowed: total - ((0.99 * total as f64).ceil() as u64).min(total),
        }
    }
}

/// As [`run`], stopping at the end of the first minute at which the run has missed `missed`
/// for sure (`Outcome::missed_early`): a search for what meets a goal needs no more of it.
/// `stop`, asked at the end of every minute: whether the run is no longer wanted (another
/// run of the range missed); it then ends there, said missed early, its figures partial.
pub fn run_until(
    p: &Params,
    arrivals: &[u64],
    missed: Option<Missed>,
    stop: &dyn Fn() -> bool,
) -> Outcome {
    match p.fleet {
        Fleet::Ec2 {
            min,
            max,
            target,
            warmup,
            launch_time,
            per_instance,
            scale_from_zero,
            warm_pool,
            high_resolution,
            counts_in_flight,
            scale_in,
        } => {
            let settings = ec2::Settings {
                min,
                max,
                target,
                warmup,
                launch_time,
                per_instance,
                scale_from_zero,
                warm_pool,
                high_resolution,
                counts_in_flight,
                scale_in,
            };
            let longest = p.seconds_per_message * (1.0 + p.spread);
            drive(
                p,
                arrivals,
                missed,
                stop,
                Ec2::new(settings, longest, &p.unknowns),
                None,
            )
        }
        Fleet::Fargate {
            min,
            max,
            target,
            start_time,
            per_task,
            scale_from_zero,
            scale_out_cooldown: _,
            scale_in_cooldown,
            start_cooldown,
            counts_in_flight,
            scale_in,
        } => {
            let settings = fargate::Settings {
                min,
                max,
                target,
                start_time,
                per_task,
                scale_from_zero,
                scale_in_cooldown,
                start_cooldown,
                counts_in_flight,
                scale_in,
            };
            drive(
                p,
                arrivals,
                missed,
                stop,
                Fargate::new(settings, &p.unknowns),
                None,
            )
        }
        Fleet::Lambda {
            max_concurrency,
            pollers,
            batch_size,
            ..
        } => drive(
            p,
            arrivals,
            missed,
            stop,
            Lambda::new(max_concurrency, pollers, batch_size),
            // The priority lane's own mapping: standard mode, its own maximum concurrency.
            p.lanes.as_ref().map(|l| {
                Lambda::new(
                    l.max_concurrency.unwrap_or(max_concurrency),
                    None,
                    batch_size,
                )
            }),
        ),
    }
}

/// A priority lane's own consumer (a Lambda function's second event source mapping): its
/// scaler, its units of work, and the units it opened this second.
struct Own<S> {
    scaler: S,
    work: Work,
    open: u64,
}

/// Splits each second's arrivals between the lanes (`Params::lanes`).
struct Splitter<'a> {
    split: &'a Split,
    /// Its own generator, apart from the model's.
    rng: fastrand::Rng,
}

impl Splitter<'_> {
    /// "priority" in ASCII: the split's generator's seed is the run's with these bits flipped.
    const SEED: u64 = 0x7072_696f_7269_7479;

    fn new(lanes: &Lanes, seed: u64) -> Splitter<'_> {
        Splitter {
            split: &lanes.split,
            rng: fastrand::Rng::with_seed(seed ^ Self::SEED),
        }
    }

    /// Of the `n` messages arriving in second `s`, those sent to the priority lane.
    fn priority(&mut self, s: u64, n: u64) -> u64 {
        match self.split {
            Split::Share(share) => binomial(&mut self.rng, n, *share),
            Split::Given(given) => given.get(s as usize).copied().unwrap_or(0).min(n),
        }
    }
}

/// The run, second by second: messages reappear after their visibility timeout or are
/// dead-lettered, arrive (split between the lanes), are handed out to the units of work the
/// scaler opens (tenths of a second), and at the second's end the scaler reads its metrics
/// and scales. `own`: the priority lane's own consumer (a Lambda mapping); without it the
/// workers take the priority lane first.
fn drive<S: Scaler>(
    p: &Params,
    arrivals: &[u64],
    missed: Option<Missed>,
    stop: &dyn Fn() -> bool,
    mut scaler: S,
    own: Option<S>,
) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(p.seed);
    let mut out = Outcome {
        completions: vec![0; p.duration as usize],
        priority: p.lanes.as_ref().map(|_| LaneOutcome {
            completions: vec![0; p.duration as usize],
            ..LaneOutcome::default()
        }),
        ..Outcome::default()
    };
    let draw = Draw::of(p, scaler.batch(), scaler.invocations());
    let pick = match (&p.lanes, &own) {
        (Some(_), None) => Pick::PriorityFirst,
        _ => Pick::Ordinary,
    };
    let mut work = Work::new(&draw, p.seconds_per_message, p.spread, pick);
    let mut own = own.map(|scaler| Own {
        scaler,
        work: Work::new(&draw, p.seconds_per_message, p.spread, Pick::Priority),
        open: 0,
    });
    let mut splitter = p.lanes.as_ref().map(|l| Splitter::new(l, p.seed));
    let mut q = Queue::new(p.lanes.as_ref().and_then(|l| l.weight));
    let mut minute = Minute::default();
    // After the last arrival, a fleet back at rest stays there: the rest is closed form.
    let last_arrival = arrivals
        .iter()
        .take(p.duration as usize)
        .rposition(|&n| n > 0)
        .map_or(0, |i| i as u64 + 1);

    // The billed workers over the run's second half: what a held load keeps for the day.
    let half = p.duration / 2;
    let mut billed_at_half: Option<f64> = None;
    for s in 0..p.duration {
        if s == half {
            billed_at_half = Some(out.instance_seconds);
        }
        scaler.start_second(s);
        let now_tick = s * TICKS;
        reappear(&mut q, now_tick, p.max_receive_count, &mut out, &mut minute);
        let n = arrivals.get(s as usize).copied().unwrap_or(0);
        let urgent = splitter.as_mut().map_or(0, |split| split.priority(s, n));
        q.arrive(ORDINARY, now_tick, n - urgent);
        q.arrive(PRIORITY, now_tick, urgent);
        if let Some(pri) = out.priority.as_mut() {
            pri.arrived += urgent;
        }
        out.arrived += n;
        minute.arrived += n;
        let open = scaler.open(q.visible_to(pick));
        if let Some(o) = own.as_mut() {
            o.open = o.scaler.open(q.lanes[PRIORITY].visible);
        }
        // docs/workers.md, "Limits shared across stages": no more jobs run than the limit.
        let slots = p.limit.map_or(open, |limit| open.min(limit));
        // The workers the limit keeps idle: those that have work (a job in hand or a message
        // waiting) beyond its slots.
        let wanted = (work.busy + q.visible_to(pick)).min(open);
        out.held_by_limit = out.held_by_limit.max(wanted.saturating_sub(slots));
        for k in 0..TICKS {
            let tick = now_tick + k;
            let i = work.slot(tick);
            let mut done = work.finish(i);
            if let Some(o) = own.as_mut() {
                done += o.work.finish(i);
            }
            out.processed += done;
            out.completions[s as usize] += done;
            minute.processed += done;
            if work.can_take(slots, &q) {
                let free = slots - work.busy;
                work.serve(tick, free, &draw, &mut q, &mut rng, &mut out);
            }
            if let Some(o) = own.as_mut()
                && o.work.can_take(o.open, &q)
            {
                let free = o.open - o.work.busy;
                o.work.serve(tick, free, &draw, &mut q, &mut rng, &mut out);
            }
        }
        // Caught up after the first scale-out: what it asked for in service, nothing waiting.
        if scaler.scaled_out() && out.settled_at.is_none() && scaler.caught_up() && q.visible == 0 {
            out.settled_at = Some(s + 1);
        }
        if let Some(billed) = scaler.billed() {
            out.instance_seconds += billed as f64;
        }

        end_second(
            s + 1,
            (&mut scaler, own.as_mut()),
            &q,
            &work,
            &p.unknowns,
            &mut minute,
            &mut out,
        );
        let t = s + 1;
        if t.is_multiple_of(rules::PERIOD)
            && (missed.is_some_and(|m| known_over(&out, &q, t, m.goal_secs) > m.allowed) || stop())
        {
            out.missed_early = true;
            break;
        }
        if t.is_multiple_of(rules::PERIOD)
            && t >= last_arrival
            && t < p.duration
            && q.is_empty()
            && work.busy == 0
            && shortcut_allowed()
            && scaler.at_rest(t)
            && own
                .as_ref()
                .is_none_or(|o| o.work.busy == 0 && o.scaler.at_rest(t))
        {
            if billed_at_half.is_none() {
                let billed = scaler.billed().unwrap_or(0) as f64;
                billed_at_half = Some(out.instance_seconds + billed * (half - t) as f64);
            }
            rest_of_run(t, p.duration, (&scaler, own.as_ref()), &mut out);
            break;
        }
    }
    out.billed_at_end = scaler.billed().unwrap_or(0);
    out.billed_second_half =
        (out.instance_seconds - billed_at_half.unwrap_or(0.0)) / (p.duration - half).max(1) as f64;
    let works: Vec<&Work> = match &own {
        Some(o) => vec![&work, &o.work],
        None => {
            out.peak_capacity = scaler.peak();
            vec![&work]
        }
    };
    // (The two mappings' peak is their rows' together, summed as the run went.)
    unfinished(&mut out, &q, &works, draw.run_end);
    if !scaler.scaled_out() {
        out.settled_at = Some(0);
        out.settled_latency = out.latency.clone();
        out.settled_unfinished = out.unfinished_ages.clone();
    }
    out.oldest_unfinished_age = out
        .unfinished_ages
        .iter()
        .rposition(|&n| n > 0)
        .map_or(0, |i| i as u64);
    out
}

/// The messages known at `t` to be over a goal of `goal_secs`: processed over it,
/// dead-lettered, or still visible or waiting out a visibility timeout and already older
/// (their latency can only be longer).
fn known_over(out: &Outcome, q: &Queue, t: u64, goal_secs: u64) -> u64 {
    let processed: u64 = out
        .latency
        .get(goal_secs as usize + 1..)
        .map_or(0, |l| l.iter().sum());
    let oldest_ok = (t * TICKS).saturating_sub(goal_secs * TICKS);
    let old = |c: &Cohort| if c.arrival < oldest_ok { c.count } else { 0 };
    let waiting: u64 = q
        .lanes
        .iter()
        .map(|l| {
            l.fresh
                .iter()
                .take_while(|c| c.arrival < oldest_ok)
                .map(old)
                .sum::<u64>()
                + l.again.iter().map(old).sum::<u64>()
                + l.hidden.iter().map(|h| old(&h.cohort)).sum::<u64>()
        })
        .sum();
    processed + out.dead_lettered + waiting
}

/// From `t` (a minute's end) to the end of the run the fleet stays at rest, the queue empty
/// and no message to come: every second would bill the same workers, every minute's row be
/// the same and nothing be processed, so they are counted at once (the run is the same as
/// stepped through, a test compares both). Whether it settled after its first scale-out is
/// decided in the next second, as the loop would.
fn rest_of_run<S: Scaler>(
    t: u64,
    duration: u64,
    (scaler, own): (&S, Option<&Own<S>>),
    out: &mut Outcome,
) {
    out.at_rest_from = Some(t);
    if scaler.scaled_out() && out.settled_at.is_none() && scaler.caught_up() {
        out.settled_at = Some(t + 1);
    }
    if let Some(billed) = scaler.billed() {
        out.instance_seconds += (billed * (duration - t)) as f64;
    }
    let mut row = scaler.resting_row();
    if let Some(o) = own {
        let own_row = o.scaler.resting_row();
        row.in_service += own_row.in_service;
        row.capacity += own_row.capacity;
    }
    for minute in (t / rules::PERIOD + 1)..=(duration / rules::PERIOD) {
        out.minutes.push(Minute {
            minute,
            in_service: row.in_service,
            launching: row.launching,
            capacity: row.capacity,
            ..Minute::default()
        });
    }
}

#[cfg(test)]
thread_local! {
    /// Tests step through the rest of a run to compare it with the closed form.
    pub static STEP_THROUGH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a run at rest may be counted in closed form.
fn shortcut_allowed() -> bool {
    #[cfg(test)]
    {
        !STEP_THROUGH.with(std::cell::Cell::get)
    }
    #[cfg(not(test))]
    {
        true
    }
}

/// The end of the second before `t`: at the end of a minute, the timeline row; the scaler's
/// datapoints, alarms and scaling. The row shows the workers after this minute's decision.
/// Instances and tasks scale on both lanes' messages together; a priority lane's own
/// mapping (`own`) on its lane's alone, the other mapping on the ordinary lane's, the row
/// summing both.
fn end_second<S: Scaler>(
    t: u64,
    (scaler, own): (&mut S, Option<&mut Own<S>>),
    q: &Queue,
    work: &Work,
    u: &rules::Unknowns,
    minute: &mut Minute,
    out: &mut Outcome,
) {
    let minute_end = t.is_multiple_of(rules::PERIOD);
    if minute_end {
        minute.minute = t / rules::PERIOD;
        minute.backlog = q.visible;
        minute.in_flight = work.in_flight + own.as_ref().map_or(0, |o| o.work.in_flight);
        minute.oldest_age = q.oldest().map_or(0, |a| (t * TICKS - a) / TICKS);
    }
    let seen = Seen {
        visible: q.visible_to(work.pick),
        in_flight: work.in_flight,
        busy: work.busy,
    };
    let mut row = scaler.end_second(t, minute_end, seen, u);
    if let Some(o) = own {
        let seen = Seen {
            visible: q.lanes[PRIORITY].visible,
            in_flight: o.work.in_flight,
            busy: o.work.busy,
        };
        let own_row = o.scaler.end_second(t, minute_end, seen, u);
        if let (Some(r), Some(own_row)) = (row.as_mut(), own_row) {
            r.in_service += own_row.in_service;
            r.launching += own_row.launching;
            r.capacity += own_row.capacity;
            out.peak_capacity = out.peak_capacity.max(r.capacity);
        }
    }
    if let Some(row) = row {
        minute.in_service = row.in_service;
        minute.launching = row.launching;
        minute.capacity = row.capacity;
    }
    if minute_end {
        out.minutes.push(std::mem::take(minute));
    }
}

/// `queue.retry`'s wait after the attempt `receives` failed, seconds: the worker's
/// (`RetrySpec::delay`), within SQS's 12 hours from the receive, none after the last; full
/// jitter drawn from 0 to it as the worker draws it.
fn wait(
    r: &crate::config::RetrySpec,
    receives: u64,
    max_receives: u64,
    rng: &mut fastrand::Rng,
) -> u64 {
    // The last attempt waits none: SQS dead-letters the message at its next receive.
    if receives >= max_receives {
        return 0;
    }
    let d = r.delay(receives).min(rules::VISIBILITY_MAX - 1);
    match r.jitter {
        crate::config::Jitter::None => d,
        crate::config::Jitter::Full => rng.u64(0..=d),
    }
}

/// Messages whose visibility timeout ended by `now_tick`: visible again in their lane, or
/// dead-lettered (both lanes share the dead-letter queue).
fn reappear(
    q: &mut Queue,
    now_tick: u64,
    max_receive_count: u64,
    out: &mut Outcome,
    minute: &mut Minute,
) {
    let mut back = 0;
    for (lane, l) in q.lanes.iter_mut().enumerate() {
        while let Some(&hidden) = l.hidden.front().filter(|h| h.until <= now_tick) {
            l.hidden.pop_front();
            let h = hidden.cohort;
            if h.receives >= max_receive_count {
                out.dead_lettered += h.count;
                minute.dead_lettered += h.count;
                if lane == PRIORITY
                    && let Some(pri) = out.priority.as_mut()
                {
                    pri.dead_lettered += h.count;
                }
            } else {
                l.visible += h.count;
                back += h.count;
                l.again.push_back(h);
            }
        }
    }
    q.visible += back;
}

/// How units of work draw their messages' processing: fixed for the run.
struct Draw {
    /// Messages one unit of work takes at once.
    batch: u64,
    /// A unit of work is a billed invocation (Lambda).
    invocations: bool,
    /// One message's mean processing time, ticks; times are uniform in mean × (1 ± spread).
    mean_ticks: f64,
    spread: f64,
    failure_rate: f64,
    /// The visibility timeout and the run's end, ticks.
    vt: u64,
    run_end: u64,
    /// Lambda: the function's timeout, ticks: a unit of work longer than it is cut off and
    /// its messages return to the queue.
    timeout: Option<u64>,
    /// Lambda: the batching window, ticks: a batch short of `batch` waits until the oldest
    /// visible message has waited this long (0: none).
    window: u64,
    /// EC2 and Fargate with workers that do not extend a message's visibility: a receive
    /// that outlasts the visibility timeout does not delete its message.
    outlasts: bool,
    /// `queue.retry`: the wait after a failed attempt.
    retry: Option<crate::config::RetrySpec>,
    /// After this many receives a failed message waits none: SQS dead-letters it at the next.
    max_receives: u64,
    /// Many single messages taken in one tick from one cohort, with no failure drawn: their
    /// tick counts drawn at once, as one multinomial over the few counts they can take
    /// (`TickCounts`): the distribution of one-by-one draws (exact binomials for few
    /// messages or a small variance, the normal approximation above), at a cost per tick
    /// rather than per message.
    counts: Option<TickCounts>,
}

impl Draw {
    fn of(p: &Params, batch: u64, invocations: bool) -> Draw {
        let mean_ticks = p.seconds_per_message * TICKS as f64;
        let (timeout, window) = match p.fleet {
            Fleet::Lambda {
                timeout,
                batching_window,
                ..
            } => (Some(timeout * TICKS), batching_window * TICKS),
            // The worker stops an attempt at workers.job_timeout.
            _ => (p.job_timeout.map(|t| t * TICKS), 0),
        };
        let vt = p.visibility_timeout * TICKS;
        let outlasts = p.fleet.is_group() && !p.extends_visibility;
        // The longest a unit of work can take: one that never reaches a limit has no need
        // to be checked against it, and may draw its tick counts at once.
        let longest = (mean_ticks * (1.0 + p.spread) * batch as f64).ceil() as u64 + 1;
        let limited = timeout.is_some_and(|t| longest > t) || (outlasts && longest > vt);
        Draw {
            batch,
            invocations,
            mean_ticks,
            spread: p.spread,
            failure_rate: p.failure_rate,
            vt,
            run_end: p.duration * TICKS,
            timeout,
            window,
            outlasts,
            retry: p.retry,
            max_receives: p.max_receive_count,
            counts: (batch == 1 && p.failure_rate == 0.0 && !limited)
                .then(|| TickCounts::new(mean_ticks, p.spread))
                .flatten(),
        }
    }

    /// A Lambda mapping with a batching window still gathers at `tick`: fewer than a batch
    /// visible, and the oldest has waited less than the window. "The maximum amount of time,
    /// in seconds, that Lambda spends gathering records before invoking the function"
    /// (Lambda API Reference, `CreateEventSourceMapping`, MaximumBatchingWindowInSeconds,
    /// <https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>);
    /// the model waits the whole window, its longest, so that what it says holds for
    /// any shorter gathering.
    #[inline(always)]
    fn gathering(&self, q: &Queue, pick: Pick, tick: u64) -> bool {
        self.window > 0
            && q.visible_to(pick) < self.batch
            && q.oldest_to(pick)
                .is_some_and(|arrival| tick - arrival < self.window)
    }
}

/// The units of work under way: rings, by the tick they end, of the units freed, the
/// messages held and the messages done.
struct Work {
    mask: usize,
    freed: Vec<u64>,
    done: Vec<u64>,
    held: Vec<u64>,
    in_flight: u64,
    busy: u64,
    /// The batches one unit of work takes in a tick: (cohort received, of it failed, its
    /// lane), and how many batches (invocations, for Lambda) they make.
    parts: Vec<(Cohort, u64, usize)>,
    batches: u64,
    /// Messages whose processing ends after the run: unfinished, by arrival; and those of
    /// them of the priority lane.
    late: Vec<(u64, u64)>,
    late_priority: Vec<(u64, u64)>,
    /// The lanes its units take from.
    pick: Pick,
}

impl Work {
    /// Rings long enough for the slowest unit of work, its units taking under `pick`.
    fn new(draw: &Draw, seconds_per_message: f64, spread: f64, pick: Pick) -> Work {
        let longest = (seconds_per_message * (1.0 + spread) * draw.batch as f64 * TICKS as f64)
            .ceil() as usize
            + 3;
        let ring_len = longest.next_power_of_two();
        Work {
            mask: ring_len - 1,
            freed: vec![0; ring_len],
            done: vec![0; ring_len],
            held: vec![0; ring_len],
            in_flight: 0,
            busy: 0,
            parts: Vec::new(),
            batches: 0,
            late: Vec::new(),
            late_priority: Vec::new(),
            pick,
        }
    }

    fn slot(&self, tick: u64) -> usize {
        (tick as usize) & self.mask
    }

    /// The units of work ending in ring slot `i` free their units and their messages;
    /// returns the messages done.
    fn finish(&mut self, i: usize) -> u64 {
        self.busy -= self.freed[i];
        self.freed[i] = 0;
        self.in_flight -= self.held[i];
        self.held[i] = 0;
        std::mem::take(&mut self.done[i])
    }

    /// Whether a tick has work for these units: one free (of `open`), a message visible to
    /// them.
    #[inline]
    fn can_take(&self, open: u64, q: &Queue) -> bool {
        open > self.busy && q.visible_to(self.pick) > 0
    }

    /// A tick's free units of work (`free`) take messages from their lanes (some visible to
    /// them: `can_take`); a batching window that still gathers waits.
    #[inline(always)]
    fn serve(
        &mut self,
        tick: u64,
        free: u64,
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
        out: &mut Outcome,
    ) {
        if draw.gathering(q, self.pick, tick) {
            out.window_waits += 1;
            return;
        }
        self.hand_out(tick, free, draw, q, rng, out);
    }

    /// Free units of work (instances' slots, or invocations), each taking a batch of
    /// messages (a batch never spans two cohorts), and more batches in a row while its work
    /// is under a tick: processing times below a tenth of a second finish several messages
    /// in a tick, at their exact rate. A weight's turns, while both lanes wait, are counted
    /// for the tick at once: as many of each lane as one job after another would take.
    #[inline(always)]
    fn hand_out(
        &mut self,
        tick: u64,
        free: u64,
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
        out: &mut Outcome,
    ) {
        let mut units_left = free;
        if self.pick == Pick::PriorityFirst
            && let Some(w) = q.weight
        {
            units_left -= self.take_turns((tick, free, w), draw, q, rng, out);
        }
        self.take_from((self.pick, tick, units_left), draw, q, rng, out);
    }

    /// A weight `w`'s turns while both lanes wait, for `free` units of work taking single
    /// messages drawn at once: the tick's share of each lane taken; returns the units used.
    fn take_turns(
        &mut self,
        (tick, free, w): (u64, u64, u64),
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
        out: &mut Outcome,
    ) -> u64 {
        if draw.counts.is_none()
            || free < TickCounts::AT_ONCE
            || q.lanes.iter().any(|l| l.visible == 0)
        {
            return 0;
        }
        let (priority, ordinary, streak) = q.turns(free, w);
        let left = self.take_from((Pick::Priority, tick, priority), draw, q, rng, out)
            + self.take_from((Pick::Ordinary, tick, ordinary), draw, q, rng, out);
        q.streak = streak;
        priority + ordinary - left
    }

    /// `units` free units of work take messages under `pick`, many single messages of a
    /// cohort drawn at once; returns the units left without one.
    fn take_from(
        &mut self,
        (pick, tick, units): (Pick, u64, u64),
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
        out: &mut Outcome,
    ) -> u64 {
        let mut units_left = units;
        while let Some(dist) = &draw.counts
            && units_left >= TickCounts::AT_ONCE
        {
            let Some(lane) = q.next(pick) else { break };
            let in_a_row = q.in_a_row(pick, lane);
            let Some(c) = q.lanes[lane].front() else {
                break;
            };
            let n = units_left.min(c.count).min(in_a_row);
            if n < TickCounts::AT_ONCE {
                break;
            }
            c.count -= n;
            let arrival = c.arrival;
            q.take(lane, n);
            units_left -= n;
            // The priority lane's part apart: the ordinary lane's draw is the one-lane run's.
            if lane == PRIORITY {
                dist.draw(rng, n, &mut |k, x| {
                    let end = self.started_at_once((tick, k, x), arrival, draw, out);
                    let late = &mut self.late_priority;
                    record_priority(out, late, draw.run_end, end, arrival, x);
                });
            } else {
                dist.draw(rng, n, &mut |k, x| {
                    self.started_at_once((tick, k, x), arrival, draw, out);
                });
            }
        }
        while units_left > 0 && q.visible_to(pick) > 0 {
            let work = self.take_batches(pick, draw, q, rng);
            if self.parts.is_empty() {
                break;
            }
            units_left -= 1;
            self.start_unit(tick, work, draw, q, rng, out);
        }
        units_left
    }

    /// `x` units of work of one message each, started at `tick` for `k` ticks (drawn at once),
    /// their messages arrived at `arrival`; returns the tick they end.
    #[inline(always)]
    fn started_at_once(
        &mut self,
        (tick, k, x): (u64, u64, u64),
        arrival: u64,
        draw: &Draw,
        out: &mut Outcome,
    ) -> u64 {
        let end = tick + k;
        let j = (end as usize) & self.mask;
        self.busy += x;
        self.freed[j] += x;
        self.in_flight += x;
        self.held[j] += x;
        self.done[j] += x;
        if draw.invocations {
            out.invocations += x;
            out.invocation_seconds += (x * k) as f64 / TICKS as f64;
        }
        record(out, &mut self.late, draw.run_end, end, arrival, x);
        end
    }

    /// The batches one unit of work takes: one, and more while its work is under a tick.
    /// Each message its own processing time, each attempt its own failure, both from the
    /// run's seeded generator; returns the unit's work in ticks.
    fn take_batches(
        &mut self,
        pick: Pick,
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
    ) -> f64 {
        self.parts.clear();
        self.batches = 0;
        let mut work = 0.0f64;
        // Messages still to take for the current batch: a batch spans cohorts only with a
        // batching window (the mapping gathers); without one it is what one poll finds.
        let mut room = 0u64;
        while q.visible_to(pick) > 0 && (room > 0 || self.parts.is_empty() || work < 1.0) {
            let Some(lane) = q.next(pick) else { break };
            let Some(c) = q.lanes[lane].front() else {
                break;
            };
            if room == 0 {
                self.batches += 1;
                room = draw.batch;
            }
            let m = room.min(c.count);
            room = if draw.window > 0 { room - m } else { 0 };
            c.count -= m;
            let (arrival, receives) = (c.arrival, c.receives + 1);
            q.take(lane, m);
            for _ in 0..m {
                work += if draw.spread > 0.0 {
                    draw.mean_ticks * (1.0 + draw.spread * (2.0 * rng.f64() - 1.0))
                } else {
                    draw.mean_ticks
                };
            }
            let failed = if draw.failure_rate > 0.0 {
                (0..m).filter(|_| rng.f64() < draw.failure_rate).count() as u64
            } else {
                0
            };
            self.parts.push((
                Cohort {
                    arrival,
                    count: m,
                    receives,
                },
                failed,
                lane,
            ));
        }
        work
    }

    /// One unit of work starts on the batches taken: it ends after its work in whole ticks,
    /// the fraction rounded up with its own probability (exact in expectation: rounding to
    /// the nearest tenth ran 0.05 s at half its rate); what failed is hidden until the
    /// visibility timeout, counted from the receive, ends.
    fn start_unit(
        &mut self,
        tick: u64,
        work: f64,
        draw: &Draw,
        q: &mut Queue,
        rng: &mut fastrand::Rng,
        out: &mut Outcome,
    ) {
        // (A cast truncates a positive number as floor does, without a call to libm's floor,
        // which x86-64's baseline has no instruction for: an eighth of a run.)
        let whole = work as u64;
        let fraction = work - whole as f64;
        let mut ticks = (whole + u64::from(fraction > 0.0 && rng.f64() < fraction)).max(1);
        // A batch that cannot finish within the function's timeout is cut off there: the
        // function returns nothing, so the whole batch fails, partial batch responses or not
        // ("If your function throws an exception, the entire batch is considered a complete
        // failure"; "all messages in that batch return to the queue. After the visibility
        // timeout, the messages become visible to Lambda again": Lambda Developer Guide,
        // "Handling errors for an SQS event source in Lambda",
        // <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>, and
        // "Creating and configuring an Amazon SQS event source mapping",
        // <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>).
        let timed_out = draw.timeout.is_some_and(|t| ticks > t);
        if let Some(t) = draw.timeout.filter(|_| timed_out) {
            ticks = t;
            out.timed_out_invocations += self.batches;
        }
        // A worker that does not extend the message's visibility and works past the visibility
        // timeout: the message is visible again, received again, and the first receipt handle
        // no longer deletes it for sure ("You must provide the most recently received receipt
        // handle when you request to delete the message (otherwise, the request succeeds, but
        // the message might not be deleted)": SQS Developer Guide, "Amazon SQS visibility
        // timeout", <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>).
        // "Might not": the model takes the side that can lose the goal, not deleted.
        let outlasted = draw.outlasts && ticks > draw.vt;
        let end = tick + ticks;
        let j = (end as usize) & self.mask;
        self.busy += 1;
        self.freed[j] += 1;
        if draw.invocations {
            out.invocations += self.batches;
            out.invocation_seconds += ticks as f64 / TICKS as f64;
        }
        for &(cohort, failed, lane) in &self.parts {
            let m = cohort.count;
            self.in_flight += m;
            self.held[j] += m;
            let failed = if timed_out || outlasted { m } else { failed };
            if timed_out {
                out.timed_out_messages += m;
            }
            if outlasted {
                out.outlasted_visibility += m;
            }
            let ok = m - failed;
            if ok > 0 {
                self.done[j] += ok;
                record(out, &mut self.late, draw.run_end, end, cohort.arrival, ok);
                if lane == PRIORITY {
                    let late = &mut self.late_priority;
                    record_priority(out, late, draw.run_end, end, cohort.arrival, ok);
                }
            }
            if failed > 0 {
                // A worker that failed the attempt itself (or stopped it at
                // workers.job_timeout) hides the message for the wait, from the failure; a
                // function cut off by its timeout, or a receive outlasted, returns nothing,
                // and SQS's visibility timeout from the receive stands.
                let by_worker = !(outlasted || (timed_out && draw.invocations));
                let retry = draw.retry.filter(|_| by_worker);
                // Full jitter draws each message's wait: the cohort comes back in up to
                // four parts, each with its own draw.
                let parts = match retry.map(|r| r.jitter) {
                    Some(crate::config::Jitter::Full) => failed.min(4),
                    _ => 1,
                };
                for k in 0..parts {
                    let count = failed / parts + u64::from(k < failed % parts);
                    let until = match &retry {
                        Some(r) => end + wait(r, cohort.receives, draw.max_receives, rng) * TICKS,
                        None => tick + draw.vt,
                    };
                    // Kept in order of their end: waits differ, the visibility timeout
                    // does not.
                    let hidden = &mut q.lanes[lane].hidden;
                    let at = hidden.partition_point(|h| h.until <= until);
                    hidden.insert(
                        at,
                        Hidden {
                            until,
                            cohort: Cohort { count, ..cohort },
                        },
                    );
                }
            }
        }
    }
}

/// `n` messages that arrived at tick `arrival` are done at tick `end`: their latency (and,
/// once the fleet has settled, their settled latency), or unfinished when the run ended
/// first. Those of the priority lane are besides counted by [`record_priority`].
fn record(
    out: &mut Outcome,
    late: &mut Vec<(u64, u64)>,
    run_end: u64,
    end: u64,
    arrival: u64,
    n: u64,
) {
    if end >= run_end {
        late.push((arrival, n));
        return;
    }
    let secs = (end - arrival).div_ceil(TICKS) as usize;
    if out.latency.len() <= secs {
        out.latency.resize(secs + 1, 0);
    }
    out.latency[secs] += n;
    if out.settled_at.is_some_and(|at| arrival >= at * TICKS) {
        if out.settled_latency.len() <= secs {
            out.settled_latency.resize(secs + 1, 0);
        }
        out.settled_latency[secs] += n;
    }
}

/// As [`record`], the priority lane's part: its latency and what it finished each second, or
/// unfinished (`late`) when the run ended first.
fn record_priority(
    out: &mut Outcome,
    late: &mut Vec<(u64, u64)>,
    run_end: u64,
    end: u64,
    arrival: u64,
    n: u64,
) {
    let Some(pri) = out.priority.as_mut() else {
        return;
    };
    if end >= run_end {
        late.push((arrival, n));
        return;
    }
    let secs = (end - arrival).div_ceil(TICKS) as usize;
    if pri.latency.len() <= secs {
        pri.latency.resize(secs + 1, 0);
    }
    pri.latency[secs] += n;
    pri.processed += n;
    if let Some(done) = pri.completions.get_mut((end / TICKS) as usize) {
        *done += n;
    }
}

/// What never got done: visible, in flight, waiting out a visibility timeout; their ages at
/// the end, of all of them and of the priority lane's.
fn unfinished(out: &mut Outcome, q: &Queue, works: &[&Work], run_end: u64) {
    // (arrival, count, whether to count it with all, whether of the priority lane)
    let queued = q.lanes.iter().enumerate().flat_map(|(lane, l)| {
        let priority = lane == PRIORITY;
        let waiting = l
            .fresh
            .iter()
            .chain(l.again.iter())
            .map(move |c| (c.arrival, c.count, true, priority));
        let hidden = l
            .hidden
            .iter()
            .map(move |h| (h.cohort.arrival, h.cohort.count, true, priority));
        waiting.chain(hidden)
    });
    // Ending after the run: all of them, and again those of the priority lane among them.
    let late = works.iter().flat_map(|w| {
        let all = w.late.iter().map(|&(a, n)| (a, n, true, false));
        all.chain(w.late_priority.iter().map(|&(a, n)| (a, n, false, true)))
    });
    let count_in = |ages: &mut Vec<u64>, age: usize, count: u64| {
        if ages.len() <= age {
            ages.resize(age + 1, 0);
        }
        ages[age] += count;
    };
    for (arrival, count, all, priority) in queued.chain(late) {
        if count == 0 {
            continue;
        }
        // Whole seconds rounded up, as latencies are: a message 60.9 s old has not met 60 s.
        let age = (run_end - arrival).div_ceil(TICKS) as usize;
        if all {
            count_in(&mut out.unfinished_ages, age, count);
            out.unfinished += count;
            if out.settled_at.is_some_and(|at| arrival >= at * TICKS) {
                count_in(&mut out.settled_unfinished, age, count);
            }
        }
        if priority && let Some(pri) = out.priority.as_mut() {
            count_in(&mut pri.unfinished_ages, age, count);
            pri.unfinished += count;
        }
    }
}
