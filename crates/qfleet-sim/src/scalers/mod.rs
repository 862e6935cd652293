//! What scales the workers, one type per kind, each with its own rules: EC2's Auto Scaling
//! group ([`ec2`]), Fargate's ECS service under Application Auto Scaling ([`fargate`]), a
//! Lambda function's event source mapping ([`lambda`]). The model's loop hands out messages
//! and asks its [`Scaler`] how many units of work are open, when a second starts and ends,
//! and what its timeline row shows; it never matches on the kind.

pub mod ec2;
pub mod fargate;
pub mod lambda;

use super::rules;
use std::collections::VecDeque;

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

/// The queue and the work at the end of a second, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Messages visible.
    pub visible: u64,
    /// Messages received and not yet deleted or returned.
    pub in_flight: u64,
    /// Units of work running.
    pub busy: u64,
}

/// The workers' part of a minute's timeline row (see `model::Minute`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    pub in_service: u64,
    pub launching: u64,
    pub capacity: u64,
}

/// One kind's scaling, as the model's loop drives it second by second.
pub trait Scaler {
    /// Messages one unit of work takes at once (a Lambda batch; one for a worker's slot).
    fn batch(&self) -> u64;
    /// Whether a unit of work is a billed invocation (Lambda).
    fn invocations(&self) -> bool;
    /// The start of second `s`: workers whose launch is done go in service.
    fn start_second(&mut self, s: u64);
    /// The units of work open this second, the queue's visible messages known (a mapping's
    /// pollers find the first messages).
    fn open(&mut self, visible: u64) -> u64;
    /// Whether what was asked for is in service (nothing launching).
    fn caught_up(&self) -> bool;
    /// Whether the workers have scaled out once yet.
    fn scaled_out(&self) -> bool;
    /// Workers billed by the second this second (`None`: billed by invocation).
    fn billed(&self) -> Option<u64>;
    /// The end of the second before `t`: the metrics' datapoints, the alarms and the scaling
    /// they start; at the end of a minute (`minute_end`), the row after its decision.
    fn end_second(
        &mut self,
        t: u64,
        minute_end: bool,
        seen: Seen,
        u: &rules::Unknowns,
    ) -> Option<Row>;
    /// The highest capacity reached.
    fn peak(&self) -> u64;
    /// At the end of a minute (`t`), the queue empty and no message to come: whether
    /// nothing would ever change again (at `min`, nothing launching, every datapoint an
    /// alarm may still read idle), so that the rest of the run can be counted at once.
    fn at_rest(&self, t: u64) -> bool;
    /// The timeline row of every minute at rest.
    fn resting_row(&self) -> Row;
}

/// The most datapoints an alarm that adds workers reads: target tracking's high alarm (3 at
/// most across the range), the scale-from-zero alarm (1), Fargate's start alarm (2).
const ALARM_READS: usize = 3;

/// Whether every datapoint an alarm that adds workers may still read at `t` or later is
/// idle (no message visible or in flight): those not yet readable, and the last
/// [`ALARM_READS`] readable ones. Datapoints are kept in the order they become readable.
fn idle_from<T>(
    points: &[T],
    t: u64,
    readable_at: impl Fn(&T) -> u64,
    idle: impl Fn(&T) -> bool,
) -> bool {
    let readable = points.partition_point(|d| readable_at(d) <= t);
    points[readable.saturating_sub(ALARM_READS)..]
        .iter()
        .all(idle)
}

/// A count of workers scaled on the backlog per worker (an Auto Scaling group, an ECS
/// service): what it wants, what is in service, what is launching and warming up.
#[derive(Debug)]
struct Workers {
    desired: u64,
    in_service: u64,
    pending: VecDeque<Batch>,
    warming: VecDeque<Batch>,
    /// Messages one worker works on at once.
    per_slot: u64,
    /// Seconds a worker warms up once in service.
    warmup: u64,
    scaled_out: bool,
    peak: u64,
    /// The policy's datapoints (one a period).
    datapoints: Vec<Datapoint>,
}

impl Workers {
    /// A fleet at rest at `min`, warmed up.
    fn at_rest(min: u64, per_slot: u64, warmup: u64) -> Workers {
        Workers {
            desired: min,
            in_service: min,
            pending: VecDeque::new(),
            warming: VecDeque::new(),
            per_slot: per_slot.max(1),
            warmup,
            scaled_out: false,
            peak: min,
            datapoints: Vec::new(),
        }
    }

    /// Workers whose launch is done go in service and start warming up (a task has no
    /// warmup: it counts as running at once); whether any launch finished.
    fn start_second(&mut self, s: u64) -> bool {
        let mut launched = false;
        while let Some(b) = self.pending.pop_front() {
            if b.at > s {
                self.pending.push_front(b);
                break;
            }
            self.in_service += b.count;
            self.warming.push_back(Batch {
                at: s + self.warmup,
                count: b.count,
            });
            launched = true;
        }
        while self.warming.front().is_some_and(|b| b.at <= s) {
            self.warming.pop_front();
        }
        launched
    }

    fn slots(&self) -> u64 {
        self.in_service * self.per_slot
    }

    fn launching(&self) -> u64 {
        self.pending.iter().map(|b| b.count).sum()
    }

    fn caught_up(&self) -> bool {
        self.pending.is_empty() && self.in_service >= self.desired
    }

    /// At `min`, nothing launching, and the policy's datapoints idle from `t` on.
    fn at_min(&self, min: u64, t: u64) -> bool {
        self.desired == min
            && self.in_service == min
            && self.pending.is_empty()
            && idle_from(&self.datapoints, t, |d| d.readable_at, Datapoint::idle)
    }

    /// The policy's datapoint at the end of a period: the backlog per worker (of the visible
    /// messages, or with those in flight when `counts_in_flight`, or qfleet's high-resolution
    /// metric), and the busy backlog qfleet's scale-in alarm reads.
    fn datapoint(
        &mut self,
        readable_at: u64,
        seen: Seen,
        counts_in_flight: bool,
        high_resolution: bool,
    ) {
        let in_service = self.in_service;
        self.datapoints.push(Datapoint {
            readable_at,
            metric: if counts_in_flight && !high_resolution {
                rules::busy_backlog_metric(seen.visible, seen.in_flight, in_service)
            } else {
                rules::backlog_metric(seen.visible, seen.in_flight, in_service, high_resolution)
            },
            visible: seen.visible,
            in_flight: seen.in_flight,
            in_service,
        });
    }

    /// The row after the minute's decision.
    fn row(&self, in_service: u64) -> Row {
        Row {
            in_service,
            launching: self.launching(),
            capacity: self.desired,
        }
    }
}

/// Workers launched together.
#[derive(Debug, Clone, Copy)]
struct Batch {
    /// When they are in service (pending) or done warming up (in service).
    at: u64,
    count: u64,
}

/// A metric datapoint: the period's backlog per instance (None: no datapoint) and what it
/// was computed from.
#[derive(Debug, Clone, Copy)]
struct Datapoint {
    readable_at: u64,
    metric: Option<f64>,
    visible: u64,
    /// Messages in flight: with the visible ones, what qfleet's scale-in alarm reads.
    in_flight: u64,
    in_service: u64,
}

impl Datapoint {
    /// No message visible or in flight.
    fn idle(&self) -> bool {
        self.visible == 0 && self.in_flight == 0
    }
}

/// Adds `count` workers due `at` to `pending`, kept in order of their time (a start from
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

/// What qfleet's scale-in alarm read in the last `minutes` datapoints: the busy backlog per
/// worker, held over the target where a step of `percent` would cross it
/// ([`rules::scale_in_datapoint`]).
fn last_busy(
    seen: &[Datapoint],
    minutes: u64,
    percent: u64,
    (min, target): (u64, f64),
) -> Vec<Option<f64>> {
    seen[seen.len().saturating_sub(minutes as usize)..]
        .iter()
        .map(|d| {
            rules::scale_in_datapoint(d.visible, d.in_flight, d.in_service, percent, min, target)
        })
        .collect()
}
