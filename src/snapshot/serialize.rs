//! The snapshot's JSON: each kind's parts as the top-level fields they have always been
//! (`group`, `policies`, `hooks`, `activities`, `function`, `mapping`, `service`; `null` when
//! not read), in their places among the other parts.

use super::Snapshot;
use serde::ser::{Serialize, SerializeStruct, Serializer};

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Snapshot", 22)?;
        st.serialize_field("environment", &self.environment)?;
        st.serialize_field("region", &self.region)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("fleet", &self.fleet)?;
        st.serialize_field("bucket", &self.bucket)?;
        st.serialize_field("bucket_contents", &self.bucket_contents)?;
        st.serialize_field("code_bucket", &self.code_bucket)?;
        st.serialize_field("log_group", &self.log_group)?;
        st.serialize_field("topic", &self.topic)?;
        st.serialize_field("queue", &self.queue)?;
        st.serialize_field("dead_letter_queue", &self.dead_letter_queue)?;
        st.serialize_field("group", &self.group())?;
        st.serialize_field("policies", &self.policies())?;
        st.serialize_field("hooks", &self.hooks())?;
        st.serialize_field("subscription", &self.subscription)?;
        st.serialize_field("notifications", &self.notifications)?;
        st.serialize_field("alarms", &self.alarms)?;
        st.serialize_field("metrics", &self.metrics)?;
        st.serialize_field("activities", &self.activities())?;
        st.serialize_field("function", &self.function())?;
        st.serialize_field("mapping", &self.mapping())?;
        st.serialize_field("service", &self.service())?;
        st.end()
    }
}
