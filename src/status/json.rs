//! The status's JSON: `workers` as the kinds read, and each kind's section as the top-level
//! field it has always been (`fleet`, `function`, `service`; `null` when not shown), in its
//! place among the other sections.

use super::{Status, Workers};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// A consumer in the `workers` list: its kind's word.
impl Serialize for Workers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.kind().serialize(s)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Status", 16)?;
        st.serialize_field("environment", &self.environment)?;
        st.serialize_field("region", &self.region)?;
        st.serialize_field("stacks", &self.stacks)?;
        st.serialize_field("workers", &self.workers)?;
        st.serialize_field("fleet", &self.fleet())?;
        st.serialize_field("function", &self.function())?;
        st.serialize_field("service", &self.service())?;
        st.serialize_field("queue", &self.queue)?;
        st.serialize_field("dead_letter_queue", &self.dead_letter_queue)?;
        st.serialize_field("scaling", &self.scaling)?;
        st.serialize_field("alarms", &self.alarms)?;
        st.serialize_field("upload_to_processed", &self.upload_to_processed)?;
        st.serialize_field("latency", &self.latency)?;
        st.serialize_field("unavailable", &self.unavailable)?;
        // Absent for one stage.
        if self.stages.is_empty() {
            st.skip_field("stages")?;
        } else {
            st.serialize_field("stages", &self.stages)?;
        }
        match &self.pipeline {
            None => st.skip_field("pipeline")?,
            Some(p) => st.serialize_field("pipeline", p)?,
        }
        st.end()
    }
}
