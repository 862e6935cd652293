//! The discrete-time model: one-second steps (tenths of a second for the workers), messages
//! kept as cohorts (arrival time, count, receives) rather than one by one, so that a day of
//! 1,000 instances runs in a fraction of a second. Repeatable: its randomness, each message's
//! processing time and each attempt's failure, comes from a generator seeded by
//! `Params::seed`.

use super::rules;
use crate::config::schema::PollerSpec;
use std::collections::VecDeque;

/// The reference worker's lifecycle poll (`QFLEET_LIFECYCLE_INTERVAL`), seconds.
const LIFECYCLE_POLL: u64 = 5;

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
        /// step policy's `Cooldown` (src/kinds/fargate.rs).
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
    },
}

impl Fleet {
    /// An Auto Scaling group or an ECS service: a count of workers scaled on the backlog per
    /// worker (not a Lambda mapping).
    pub fn is_group(&self) -> bool {
        !matches!(self, Fleet::Lambda { .. })
    }

    /// Seconds a new worker warms up after it is in service (scale-in waits for it): the
    /// group's instance warmup, none for a task, `None` for Lambda.
    pub fn warmup(&self) -> Option<u64> {
        match self {
            Fleet::Ec2 { warmup, .. } => Some(*warmup),
            Fleet::Fargate { .. } => Some(0),
            Fleet::Lambda { .. } => None,
        }
    }
}

/// How a group (or service) scales in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleIn {
    /// Target tracking's own scale-in (`DisableScaleIn: false`): its low alarm, each action
    /// removing a share of the surplus ([`rules::tracking_scale_in`]).
    Tracking,
    /// Target tracking with `DisableScaleIn: true`, and qfleet's own scale-in policy: while
    /// the busy backlog per worker stays below `below` × the target for `minutes` one-minute
    /// datapoints, `percent` of the capacity (at least one) is removed, then nothing for
    /// `cooldown` seconds (EC2: a simple scaling policy, whose cooldown starts once the
    /// terminations finished draining; Fargate: a step scaling policy's `Cooldown`).
    Step {
        percent: u64,
        below: f64,
        minutes: u64,
        cooldown: u64,
    },
}

/// A warm pool as the model runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmPool {
    /// `MinSize`: the pool holds `max` minus the desired capacity, and at least this.
    pub min_size: u64,
    /// Instances wait running (billed as instances) rather than stopped (EBS only).
    pub running: bool,
    /// Instances scaled in go back to the pool.
    pub reuse_on_scale_in: bool,
    /// From leaving the pool to the worker reading the queue.
    pub start_time: u64,
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
}

/// One minute of the timeline, as of its end.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
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

    /// As `percentile_all`, over the messages that arrived once the fleet had caught up
    /// after its first scale-out; `None` when it never did (or nothing arrived since).
    pub fn settled_percentile(&self, p: f64) -> Option<u64> {
        self.settled_at?;
        nearest_rank(&merged(&self.settled_latency, &self.settled_unfinished), p)
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

/// A metric datapoint: the period's backlog per instance (None: no datapoint) and what it
/// was computed from.
#[derive(Debug, Clone, Copy)]
struct Datapoint {
    readable_at: u64,
    metric: Option<f64>,
    /// The one-minute busy backlog per worker qfleet's scale-in alarm reads.
    busy: Option<f64>,
    visible: u64,
    in_service: u64,
}

struct Queue {
    /// New messages, oldest first.
    fresh: VecDeque<Cohort>,
    /// Messages visible again after a failed attempt, in the order they reappeared.
    again: VecDeque<Cohort>,
    hidden: VecDeque<Hidden>,
    visible: u64,
}

impl Queue {
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

/// Instances launched together.
#[derive(Debug, Clone, Copy)]
struct Batch {
    /// When they are in service (pending) or done warming up (in service).
    at: u64,
    count: u64,
}

/// Adds `count` instances due `at` to `pending`, kept in order of their time (a start from
/// the warm pool may be due before a launch asked for earlier).
fn queue_batch(pending: &mut VecDeque<Batch>, at: u64, count: u64) {
    if count == 0 {
        return;
    }
    let i = pending.partition_point(|b| b.at <= at);
    pending.insert(i, Batch { at, count });
}

/// Takes up to `cut` units from the newest batches (the last queued first); returns how many
/// are left to take elsewhere.
fn take_newest(batches: &mut VecDeque<Batch>, mut cut: u64) -> u64 {
    while cut > 0 {
        let Some(b) = batches.back_mut() else { break };
        let n = cut.min(b.count);
        b.count -= n;
        cut -= n;
        if b.count == 0 {
            batches.pop_back();
        }
    }
    cut
}

/// The distribution of one message's processing time in whole ticks: its time W uniform in
/// mean × (1 ± spread) (in ticks), rounded down and then up with the probability of its
/// fraction (what the one-by-one path draws), so P(T = k) is the mean over W of the triangle
/// 1 − |W − k|. Only for times of at least a tick (one message a unit of work) and a small
/// support.
pub(super) struct TickCounts {
    /// The smallest count and the probability of each count from it.
    pub(super) first: u64,
    pub(super) probabilities: Vec<f64>,
}

impl TickCounts {
    /// Fewer messages than this at once go one by one.
    pub(super) const AT_ONCE: u64 = 8;
    /// The most tick counts a distribution spans.
    const MOST: usize = 24;

    pub(super) fn new(mean: f64, spread: f64) -> Option<TickCounts> {
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
    pub(super) fn draw(&self, rng: &mut fastrand::Rng, n: u64, each: &mut dyn FnMut(u64, u64)) {
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
pub(super) fn binomial(rng: &mut fastrand::Rng, n: u64, p: f64) -> u64 {
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

/// Runs the model over per-second arrivals (`arrivals.len()` may be shorter than the run).
pub fn run(p: &Params, arrivals: &[u64]) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(p.seed);
    let mut out = Outcome {
        completions: vec![0; p.duration as usize],
        ..Outcome::default()
    };
    let vt = p.visibility_timeout * TICKS;
    let (batch, per_slot) = match &p.fleet {
        Fleet::Ec2 { per_instance, .. } => (1, (*per_instance).max(1)),
        Fleet::Fargate { per_task, .. } => (1, (*per_task).max(1)),
        Fleet::Lambda { batch_size, .. } => ((*batch_size).max(1), 1),
    };
    // Completions ring, long enough for the slowest unit of work.
    let longest = (p.seconds_per_message * (1.0 + p.spread) * batch as f64 * TICKS as f64).ceil()
        as usize
        + 3;
    let ring_len = longest.next_power_of_two();
    let mut freed = vec![0u64; ring_len];
    let mut done = vec![0u64; ring_len];
    // Messages held by the units of work ending at each tick.
    let mut held = vec![0u64; ring_len];
    let mut in_flight = 0u64;
    let mut busy = 0u64;
    // The batches one unit of work takes in a tick: (cohort received, of it failed).
    let mut parts: Vec<(Cohort, u64)> = Vec::new();
    // Messages whose processing ends after the run: unfinished, by arrival.
    let mut late: Vec<(u64, u64)> = Vec::new();
    let run_end = p.duration * TICKS;
    // One message's processing time in ticks: uniform in mean × (1 ± spread), drawn for
    // each message.
    let mean_ticks = p.seconds_per_message * TICKS as f64;
    // Many single messages taken in one tick from one cohort, with no failure drawn: their
    // tick counts drawn at once, as one multinomial over the few counts they can take
    // (`TickCounts`): the distribution of one-by-one draws (exact binomials for few messages
    // or a small variance, the normal approximation above), at a cost per tick rather than
    // per message.
    let counts = (batch == 1 && p.failure_rate == 0.0)
        .then(|| TickCounts::new(mean_ticks, p.spread))
        .flatten();

    let mut q = Queue {
        fresh: VecDeque::new(),
        again: VecDeque::new(),
        hidden: VecDeque::new(),
        visible: 0,
    };

    // EC2 group state (or the ECS service's desired and running tasks): a fleet at rest at
    // min, warmed up.
    let (mut desired, mut in_service) = match &p.fleet {
        Fleet::Ec2 { min, .. } | Fleet::Fargate { min, .. } => (*min, *min),
        Fleet::Lambda { .. } => (0, 0),
    };
    let mut pending: VecDeque<Batch> = VecDeque::new();
    let mut warming: VecDeque<Batch> = VecDeque::new();
    // The warm pool: instances ready in it, and those launching into it (their bootstrap).
    let warm = match &p.fleet {
        Fleet::Ec2 { warm_pool, .. } => *warm_pool,
        Fleet::Fargate { .. } | Fleet::Lambda { .. } => None,
    };
    // Fargate: when the last scale-in and start-from-zero step happened (their cooldowns),
    // and SQS's one-minute (visible, in flight) that the start alarm reads.
    let mut last_in: Option<u64> = None;
    let mut last_step: Option<u64> = None;
    let mut start_points: Vec<(u64, (u64, u64))> = Vec::new();
    let mut warm_ready = match (&p.fleet, warm) {
        (Fleet::Ec2 { max, .. }, Some(w)) => rules::warm_pool_size(w.min_size, *max, desired),
        _ => 0,
    };
    let mut warm_filling: VecDeque<Batch> = VecDeque::new();
    // The policy's datapoints (one a period), and SQS's one-minute ones, which the
    // scale-from-zero alarm reads (the same series unless the metric is high-resolution).
    let mut datapoints: Vec<Datapoint> = Vec::new();
    let mut sqs_points: Vec<Datapoint> = Vec::new();
    let high_resolution = matches!(
        p.fleet,
        Fleet::Ec2 {
            high_resolution: true,
            ..
        }
    );
    let period = rules::metric_period(high_resolution);
    // SQS's datapoints' delay is an assumption with a range; the publisher's is its own.
    let sqs_delay = p.unknowns.metric_delay;
    let delay = if high_resolution {
        rules::HIGH_RESOLUTION_DELAY
    } else {
        sqs_delay
    };
    let (counts_in_flight, scale_in) = match &p.fleet {
        Fleet::Ec2 {
            counts_in_flight,
            scale_in,
            ..
        }
        | Fleet::Fargate {
            counts_in_flight,
            scale_in,
            ..
        } => (*counts_in_flight, Some(*scale_in)),
        Fleet::Lambda { .. } => (false, None),
    };
    // qfleet's scale-in policy: when its cooldown ends (None: it never acted).
    let mut step_until: Option<u64> = None;
    // The terminations a scale-in starts drain for one processing time at most, and the
    // worker notices its instance terminating within its lifecycle poll
    // (QFLEET_LIFECYCLE_INTERVAL, 5 s): a simple scaling policy's cooldown starts once that
    // activity completed.
    let drain = (p.seconds_per_message * (1.0 + p.spread)).ceil() as u64 + LIFECYCLE_POLL;
    // Whether the fleet has scaled out once yet.
    let mut scaled_out = false;
    // Lambda: the concurrency the mapping allows; in provisioned mode, the minimum pollers'
    // from the start.
    let mut concurrency = match &p.fleet {
        Fleet::Lambda {
            pollers: Some(pollers),
            ..
        } => rules::provisioned_bounds(*pollers).0,
        _ => 0u64,
    };

    let mut minute = Minute::default();
    out.peak_capacity = desired;

    for s in 0..p.duration {
        // Instances whose launch is done go in service and start warming up (a task has no
        // warmup: it counts as running at once).
        if let Some(warmup) = p.fleet.warmup() {
            while let Some(b) = pending.pop_front() {
                if b.at > s {
                    pending.push_front(b);
                    break;
                }
                in_service += b.count;
                warming.push_back(Batch {
                    at: s + warmup,
                    count: b.count,
                });
                // A launch finished: a simple scaling policy's cooldown starts again (EC2).
                if let (Fleet::Ec2 { .. }, Some(ScaleIn::Step { cooldown, .. })) =
                    (&p.fleet, scale_in)
                {
                    step_until = Some(step_until.map_or(s + cooldown, |u| u.max(s + cooldown)));
                }
            }
            while warming.front().is_some_and(|b| b.at <= s) {
                warming.pop_front();
            }
            while warm_filling.front().is_some_and(|b| b.at <= s) {
                warm_ready += warm_filling.pop_front().map_or(0, |b| b.count);
            }
        }
        // Messages whose visibility timeout ended: visible again, or dead-lettered.
        let now_tick = s * TICKS;
        while let Some(hidden) = q.hidden.pop_front() {
            if hidden.until > now_tick {
                q.hidden.push_front(hidden);
                break;
            }
            let h = hidden.cohort;
            if h.receives >= p.max_receive_count {
                out.dead_lettered += h.count;
                minute.dead_lettered += h.count;
            } else {
                q.visible += h.count;
                q.again.push_back(h);
            }
        }
        let n = arrivals.get(s as usize).copied().unwrap_or(0);
        if n > 0 {
            q.fresh.push_back(Cohort {
                arrival: now_tick,
                count: n,
                receives: 0,
            });
            q.visible += n;
            out.arrived += n;
            minute.arrived += n;
        }
        if let Fleet::Lambda {
            max_concurrency,
            pollers: None,
            ..
        } = &p.fleet
        {
            // Pollers find messages: the first five batches start at once.
            if concurrency == 0 && q.visible > 0 {
                concurrency = rules::lambda_next_minute(0, true, *max_concurrency);
            }
        }
        let slots = match &p.fleet {
            Fleet::Ec2 { .. } | Fleet::Fargate { .. } => in_service * per_slot,
            Fleet::Lambda { .. } => concurrency,
        };
        for k in 0..TICKS {
            let tick = now_tick + k;
            let i = (tick as usize) & (ring_len - 1);
            busy -= freed[i];
            freed[i] = 0;
            in_flight -= held[i];
            held[i] = 0;
            out.processed += done[i];
            out.completions[s as usize] += done[i];
            minute.processed += done[i];
            done[i] = 0;
            let free = slots.saturating_sub(busy);
            if free == 0 || q.visible == 0 {
                continue;
            }
            // Free units of work (instances' slots, or invocations), each taking a batch of
            // messages (a batch never spans two cohorts), and more batches in a row while
            // its work is under a tick: processing times below a tenth of a second finish
            // several messages in a tick, at their exact rate.
            let mut units_left = free;
            while let Some(dist) = &counts
                && units_left >= TickCounts::AT_ONCE
            {
                q.pop_empty();
                let Some(c) = q.front() else { break };
                let n = units_left.min(c.count);
                if n < TickCounts::AT_ONCE {
                    break;
                }
                c.count -= n;
                let arrival = c.arrival;
                q.visible -= n;
                units_left -= n;
                dist.draw(&mut rng, n, &mut |k, x| {
                    let end = tick + k;
                    let j = (end as usize) & (ring_len - 1);
                    busy += x;
                    freed[j] += x;
                    in_flight += x;
                    held[j] += x;
                    done[j] += x;
                    if matches!(p.fleet, Fleet::Lambda { .. }) {
                        out.invocations += x;
                        out.invocation_seconds += (x * k) as f64 / TICKS as f64;
                    }
                    if end < run_end {
                        let secs = (end - arrival).div_ceil(TICKS) as usize;
                        if out.latency.len() <= secs {
                            out.latency.resize(secs + 1, 0);
                        }
                        out.latency[secs] += x;
                        if out.settled_at.is_some_and(|at| arrival >= at * TICKS) {
                            if out.settled_latency.len() <= secs {
                                out.settled_latency.resize(secs + 1, 0);
                            }
                            out.settled_latency[secs] += x;
                        }
                    } else {
                        late.push((arrival, x));
                    }
                });
            }
            while units_left > 0 && q.visible > 0 {
                parts.clear();
                let mut work = 0.0f64;
                while q.visible > 0 && (parts.is_empty() || work < 1.0) {
                    q.pop_empty();
                    let Some(c) = q.front() else { break };
                    let m = batch.min(c.count);
                    c.count -= m;
                    let (arrival, receives) = (c.arrival, c.receives + 1);
                    q.visible -= m;
                    // Each message its own processing time, each attempt its own failure,
                    // both from the run's seeded generator.
                    for _ in 0..m {
                        work += if p.spread > 0.0 {
                            mean_ticks * (1.0 + p.spread * (2.0 * rng.f64() - 1.0))
                        } else {
                            mean_ticks
                        };
                    }
                    let failed = if p.failure_rate > 0.0 {
                        (0..m).filter(|_| rng.f64() < p.failure_rate).count() as u64
                    } else {
                        0
                    };
                    parts.push((
                        Cohort {
                            arrival,
                            count: m,
                            receives,
                        },
                        failed,
                    ));
                }
                if parts.is_empty() {
                    break;
                }
                units_left -= 1;
                // Whole ticks, the fraction rounded up with its own probability: exact in
                // expectation (rounding to the nearest tenth ran 0.05 s at half its rate).
                // (A cast truncates a positive number as floor does, without a call to libm's
                // floor, which x86-64's baseline has no instruction for: an eighth of a run.)
                let whole = work as u64;
                let fraction = work - whole as f64;
                let ticks = (whole + u64::from(fraction > 0.0 && rng.f64() < fraction)).max(1);
                let end = tick + ticks;
                let j = (end as usize) & (ring_len - 1);
                busy += 1;
                freed[j] += 1;
                if matches!(p.fleet, Fleet::Lambda { .. }) {
                    out.invocations += parts.len() as u64;
                    out.invocation_seconds += ticks as f64 / TICKS as f64;
                }
                for &(cohort, failed) in &parts {
                    let m = cohort.count;
                    in_flight += m;
                    held[j] += m;
                    let ok = m - failed;
                    if ok > 0 {
                        done[j] += ok;
                        if end < run_end {
                            let secs = (end - cohort.arrival).div_ceil(TICKS) as usize;
                            if out.latency.len() <= secs {
                                out.latency.resize(secs + 1, 0);
                            }
                            out.latency[secs] += ok;
                            if out
                                .settled_at
                                .is_some_and(|at| cohort.arrival >= at * TICKS)
                            {
                                if out.settled_latency.len() <= secs {
                                    out.settled_latency.resize(secs + 1, 0);
                                }
                                out.settled_latency[secs] += ok;
                            }
                        } else {
                            late.push((cohort.arrival, ok));
                        }
                    }
                    if failed > 0 {
                        // Not deleted: hidden until the visibility timeout, counted from the
                        // receive, ends.
                        q.hidden.push_back(Hidden {
                            until: tick + vt,
                            cohort: Cohort {
                                count: failed,
                                ..cohort
                            },
                        });
                    }
                }
            }
        }
        // Caught up after the first scale-out: what it asked for in service, nothing waiting.
        if scaled_out
            && out.settled_at.is_none()
            && pending.is_empty()
            && in_service >= desired
            && q.visible == 0
        {
            out.settled_at = Some(s + 1);
        }
        if p.fleet.is_group() {
            // Instances launching into the pool run their bootstrap; a running pool's
            // instances are billed as instances, a stopped pool's only for their volumes
            // (not priced here).
            let filling: u64 = warm_filling.iter().map(|b| b.count).sum();
            let waiting = if warm.is_some_and(|w| w.running) {
                warm_ready
            } else {
                0
            };
            out.instance_seconds +=
                (in_service + pending.iter().map(|b| b.count).sum::<u64>() + filling + waiting)
                    as f64;
        }

        // The end of a minute: the timeline row; the end of the metric's period: its
        // datapoint and the alarms.
        let t = s + 1;
        let minute_end = t % rules::PERIOD == 0;
        let period_end = t % period == 0;
        if minute_end || period_end {
            let launching: u64 = pending.iter().map(|b| b.count).sum();
            if minute_end {
                minute.minute = t / rules::PERIOD;
                minute.backlog = q.visible;
                minute.in_flight = in_flight;
                minute.oldest_age = q.oldest().map_or(0, |a| (t * TICKS - a) / TICKS);
                match &p.fleet {
                    Fleet::Ec2 { .. } | Fleet::Fargate { .. } => {
                        minute.in_service = in_service;
                        minute.launching = launching;
                        minute.capacity = desired;
                    }
                    Fleet::Lambda { .. } => {
                        minute.in_service = busy;
                        minute.capacity = concurrency;
                    }
                }
            }
            if period_end {
                let busy = rules::busy_backlog_metric(q.visible, in_flight, in_service);
                datapoints.push(Datapoint {
                    readable_at: t + delay,
                    metric: if counts_in_flight && !high_resolution {
                        busy
                    } else {
                        rules::backlog_metric(q.visible, in_flight, in_service, high_resolution)
                    },
                    busy,
                    visible: q.visible,
                    in_service,
                });
            }
            if minute_end && high_resolution {
                sqs_points.push(Datapoint {
                    readable_at: t + sqs_delay,
                    metric: None,
                    busy: rules::busy_backlog_metric(q.visible, in_flight, in_service),
                    visible: q.visible,
                    in_service,
                });
            }
            match &p.fleet {
                Fleet::Ec2 {
                    min,
                    max,
                    target,
                    launch_time,
                    scale_from_zero,
                    ..
                } => {
                    let readable = datapoints.partition_point(|d| d.readable_at <= t);
                    let seen = &datapoints[..readable];
                    let metrics: Vec<Option<f64>> = seen.iter().map(|d| d.metric).collect();
                    let u = &p.unknowns;
                    if let Some(last) = seen.last().filter(|_| period_end) {
                        if rules::high_alarm_of(&metrics, *target, u.high_datapoints) {
                            let before = desired;
                            desired = rules::scale_out(
                                desired,
                                last.in_service,
                                last.metric.unwrap_or(0.0),
                                *target,
                                *max,
                            );
                            scaled_out |= desired > before;
                        } else if scale_in == Some(ScaleIn::Tracking)
                            && rules::low_alarm(&metrics, *target, u.low_ratio)
                            && warming.is_empty()
                            && let Some(d) = rules::tracking_scale_in(
                                desired,
                                rules::capacity_for(
                                    last.in_service,
                                    last.metric.unwrap_or(0.0),
                                    *target,
                                ),
                                *min,
                                u.tracking_share,
                            )
                        {
                            desired = d;
                        }
                    }
                    // The scale-from-zero alarm reads SQS's one-minute metric.
                    let sqs = if high_resolution {
                        &sqs_points
                    } else {
                        &datapoints
                    };
                    let sqs_seen = &sqs[..sqs.partition_point(|d| d.readable_at <= t)];
                    if let Some(last) = sqs_seen.last().filter(|_| minute_end)
                        && *scale_from_zero
                    {
                        let before = desired;
                        desired = rules::scale_from_zero(desired, last.visible, *max);
                        scaled_out |= desired > before;
                    }
                    // qfleet's scale-in policy (a simple scaling policy): its alarm on the
                    // one-minute busy backlog; it waits for any launch to complete and for its
                    // cooldown after the last instance finished launching or terminating
                    // ("After your Auto Scaling group launches or terminates instances, it
                    // waits for a cooldown period to end before any further scaling
                    // activities initiated by simple scaling policies can start", EC2 Auto
                    // Scaling, "Scaling cooldowns"; `step_until` is moved on as instances go in
                    // service, and after its own terminations drained).
                    if let Some(ScaleIn::Step {
                        percent,
                        below,
                        minutes,
                        cooldown,
                    }) = scale_in
                        && minute_end
                        && pending.is_empty()
                        && step_until.is_none_or(|until| t >= until)
                    {
                        let busy: Vec<Option<f64>> = sqs_seen
                            [sqs_seen.len().saturating_sub(minutes as usize)..]
                            .iter()
                            .map(|d| d.busy)
                            .collect();
                        if rules::scale_in_alarm(&busy, *target, below, minutes as usize)
                            && let Some(d) = rules::percent_scale_in(desired, percent, *min)
                        {
                            desired = d;
                            step_until = Some(t + drain + cooldown);
                        }
                    }
                    // The group follows its desired capacity: launch, or terminate (those not
                    // yet in service first, then the newest).
                    let live = in_service + launching;
                    if desired > live {
                        // From the warm pool first: in service after a start, not a launch.
                        let need = desired - live;
                        let from_pool = if let Some(w) = warm {
                            let n = need.min(warm_ready);
                            warm_ready -= n;
                            queue_batch(&mut pending, t + w.start_time.min(*launch_time), n);
                            n
                        } else {
                            0
                        };
                        queue_batch(&mut pending, t + launch_time, need - from_pool);
                    } else if desired < live {
                        let cut = take_newest(&mut pending, live - desired);
                        in_service -= cut;
                        if warm.is_some_and(|w| w.reuse_on_scale_in) {
                            warm_ready += cut;
                        }
                        take_newest(&mut warming, cut);
                    }
                    // The pool is refilled to its size by launches into it.
                    if let Some(w) = warm {
                        let size = rules::warm_pool_size(w.min_size, *max, desired);
                        let have = warm_ready + warm_filling.iter().map(|b| b.count).sum::<u64>();
                        if size > have {
                            warm_filling.push_back(Batch {
                                at: t + launch_time,
                                count: size - have,
                            });
                        }
                    }
                    out.peak_capacity = out.peak_capacity.max(desired);
                }
                Fleet::Fargate {
                    min,
                    max,
                    target,
                    start_time,
                    scale_from_zero,
                    scale_in_cooldown,
                    start_cooldown,
                    ..
                } => {
                    // The service's metrics are one-minute: period_end is minute_end here.
                    // The alarms read at most their last 15 datapoints.
                    let readable = datapoints.partition_point(|d| d.readable_at <= t);
                    let seen = &datapoints[..readable];
                    let recent = readable.saturating_sub(rules::LOW_ALARM_DATAPOINTS);
                    let metrics: Vec<Option<f64>> =
                        seen[recent..].iter().map(|d| d.metric).collect();
                    if let Some(last) = seen.last().filter(|_| period_end) {
                        let want = rules::capacity_for(
                            last.in_service,
                            last.metric.unwrap_or(0.0),
                            *target,
                        );
                        let u = &p.unknowns;
                        if rules::high_alarm_of(&metrics, *target, u.high_datapoints) {
                            // The scale-out cooldown counts what the last scale-out added
                            // in the desired count, which `app_scale_out` compares with.
                            if let Some(d) = rules::app_scale_out(desired, want, *max) {
                                desired = d;
                                scaled_out = true;
                                // A scale-out ends a running scale-in cooldown.
                                last_in = None;
                            }
                        } else if scale_in == Some(ScaleIn::Tracking)
                            && rules::low_alarm(&metrics, *target, u.low_ratio)
                            && let Some(d) = rules::app_scale_in(
                                desired,
                                rules::tracking_scale_in(desired, want, *min, u.tracking_share)
                                    .unwrap_or(desired),
                                *min,
                                last_in,
                                *scale_in_cooldown,
                                t,
                            )
                        {
                            desired = d;
                            last_in = Some(t);
                        } else if let Some(ScaleIn::Step {
                            percent,
                            below,
                            minutes,
                            cooldown,
                        }) = scale_in
                        {
                            // qfleet's step scale-in policy: its `Cooldown` blocks the next
                            // scale-in, and a scale-out ends it (Application Auto Scaling,
                            // "How step scaling works").
                            let busy: Vec<Option<f64>> = seen
                                [seen.len().saturating_sub(minutes as usize)..]
                                .iter()
                                .map(|d| d.busy)
                                .collect();
                            if rules::scale_in_alarm(&busy, *target, below, minutes as usize)
                                && !rules::in_cooldown(last_in, cooldown, t)
                                && let Some(d) = rules::percent_scale_in(desired, percent, *min)
                            {
                                desired = d;
                                last_in = Some(t);
                            }
                        }
                    }
                    if minute_end {
                        start_points.push((t + sqs_delay, (q.visible, in_flight)));
                    }
                    if *scale_from_zero && minute_end {
                        let n = start_points.partition_point(|(at, _)| *at <= t);
                        let from = n.saturating_sub(rules::START_ALARM_DATAPOINTS);
                        let seen: Vec<(u64, u64)> =
                            start_points[from..n].iter().map(|(_, v)| *v).collect();
                        if rules::start_alarm(&seen) {
                            let (d, stepped) =
                                rules::start_step(desired, *max, last_step, *start_cooldown, t);
                            if stepped {
                                desired = d;
                                scaled_out = true;
                                last_step = Some(t);
                                last_in = None;
                            }
                        }
                    }
                    // The service follows its desired count: place tasks, or stop them
                    // (those not yet running first, then the newest).
                    let live = in_service + launching;
                    if desired > live {
                        queue_batch(&mut pending, t + start_time, desired - live);
                    } else if desired < live {
                        in_service -= take_newest(&mut pending, live - desired);
                    }
                    out.peak_capacity = out.peak_capacity.max(desired);
                }
                Fleet::Lambda { .. } if !minute_end => {}
                Fleet::Lambda {
                    max_concurrency,
                    pollers,
                    ..
                } => {
                    concurrency = match pollers {
                        None => {
                            rules::lambda_next_minute(concurrency, q.visible > 0, *max_concurrency)
                        }
                        Some(pollers) => {
                            rules::provisioned_next_minute(concurrency, q.visible > 0, *pollers)
                        }
                    };
                    out.peak_capacity = out.peak_capacity.max(concurrency);
                }
            }
            // The row shows the group after this minute's decision.
            if minute_end {
                if p.fleet.is_group() {
                    minute.launching = pending.iter().map(|b| b.count).sum();
                    minute.capacity = desired;
                } else {
                    minute.capacity = concurrency;
                }
                out.minutes.push(std::mem::take(&mut minute));
            }
        }
    }
    // What never got done: visible, in flight, waiting out a visibility timeout; their
    // ages at the end.
    let waiting = q
        .fresh
        .iter()
        .chain(q.again.iter())
        .map(|c| (c.arrival, c.count));
    let hidden = q.hidden.iter().map(|h| (h.cohort.arrival, h.cohort.count));
    for (arrival, count) in waiting.chain(hidden).chain(late) {
        if count == 0 {
            continue;
        }
        // Whole seconds rounded up, as latencies are: a message 60.9 s old has not met 60 s.
        let age = (run_end - arrival).div_ceil(TICKS) as usize;
        if out.unfinished_ages.len() <= age {
            out.unfinished_ages.resize(age + 1, 0);
        }
        out.unfinished_ages[age] += count;
        out.unfinished += count;
        if out.settled_at.is_some_and(|at| arrival >= at * TICKS) {
            if out.settled_unfinished.len() <= age {
                out.settled_unfinished.resize(age + 1, 0);
            }
            out.settled_unfinished[age] += count;
        }
    }
    if !scaled_out {
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
