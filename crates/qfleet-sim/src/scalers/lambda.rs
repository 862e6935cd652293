//! Lambda workers: the event source mapping's pollers, which start five batches at once when
//! they find messages and add up to 300 concurrent invocations a minute up to the maximum
//! concurrency (standard mode), or run provisioned mode's pollers from their minimum.

use super::{Row, Scaler, Seen};
use crate::config::PollerSpec;
use crate::rules;

/// The mapping as the model runs it.
#[derive(Debug)]
pub struct Lambda {
    /// The mapping's MaximumConcurrency (standard mode).
    max_concurrency: u64,
    /// Provisioned mode's pollers, instead of `max_concurrency`.
    pollers: Option<PollerSpec>,
    /// Messages per invocation (BatchSize).
    batch_size: u64,
    /// The concurrency the mapping allows; in provisioned mode, the minimum pollers' from
    /// the start.
    concurrency: u64,
    peak: u64,
}

impl Lambda {
    pub fn new(max_concurrency: u64, pollers: Option<PollerSpec>, batch_size: u64) -> Lambda {
        Lambda {
            max_concurrency,
            pollers,
            batch_size: batch_size.max(1),
            concurrency: pollers.map_or(0, |p| rules::provisioned_bounds(p).0),
            peak: 0,
        }
    }
}

impl Scaler for Lambda {
    fn batch(&self) -> u64 {
        self.batch_size
    }

    fn invocations(&self) -> bool {
        true
    }

    fn start_second(&mut self, _s: u64) {}

    fn open(&mut self, visible: u64) -> u64 {
        // Pollers find messages: the first five batches start at once.
        if self.pollers.is_none() && self.concurrency == 0 && visible > 0 {
            self.concurrency = rules::lambda_next_minute(0, true, self.max_concurrency);
        }
        self.concurrency
    }

    fn caught_up(&self) -> bool {
        true
    }

    fn scaled_out(&self) -> bool {
        false
    }

    fn billed(&self) -> Option<u64> {
        None
    }

    /// At the end of a minute the pollers move the concurrency on; the row shows the
    /// invocations running and the concurrency allowed after.
    fn end_second(
        &mut self,
        _t: u64,
        minute_end: bool,
        seen: Seen,
        _u: &rules::Unknowns,
    ) -> Option<Row> {
        if !minute_end {
            return None;
        }
        let waiting = seen.visible > 0;
        self.concurrency = match self.pollers {
            None => rules::lambda_next_minute(self.concurrency, waiting, self.max_concurrency),
            Some(pollers) => rules::provisioned_next_minute(self.concurrency, waiting, pollers),
        };
        self.peak = self.peak.max(self.concurrency);
        Some(Row {
            in_service: seen.busy,
            launching: 0,
            capacity: self.concurrency,
        })
    }

    fn peak(&self) -> u64 {
        self.peak
    }

    /// Idle at the concurrency an empty queue leaves: the standard mapping's five (or its
    /// cap), provisioned mode's minimum pollers'.
    fn at_rest(&self, _t: u64) -> bool {
        match self.pollers {
            None => {
                self.concurrency
                    == rules::lambda_next_minute(self.concurrency, false, self.max_concurrency)
            }
            Some(pollers) => self.concurrency == rules::provisioned_bounds(pollers).0,
        }
    }

    fn resting_row(&self) -> Row {
        Row {
            in_service: 0,
            launching: 0,
            capacity: self.concurrency,
        }
    }
}
