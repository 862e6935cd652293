//! What an import did with each setting: carried over, defaulted, changed in meaning, or not
//! carried (always with why). Printed on stderr in text mode, and in the JSON document.

use serde::Serialize;

/// One setting's fate.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(super) struct Item {
    /// The source setting's dotted path (`count.range.min`), if it has one.
    pub(super) source: Option<String>,
    /// The stack-file key it became (`workers.min`), if any.
    pub(super) qfleet: Option<String>,
    /// The line of the source manifest it is written on, where known.
    #[schemars(range(min = 1))]
    pub(super) line: Option<usize>,
    /// The value written, or why.
    pub(super) note: String,
}

/// The whole report of one import: what was carried over, defaulted, changed in meaning and
/// not carried (with why).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub(crate) struct Report {
    /// The file read.
    pub(super) source_file: String,
    /// The service's name in the source manifest.
    pub(super) service: String,
    /// The source environment imported (`--env`).
    pub(super) applied_environment: Option<String>,
    /// Whether the source manifest overrides settings for that environment (and they were
    /// applied); false: the base manifest was imported for it.
    pub(super) overrides_applied: bool,
    /// The environments the source manifest overrides settings for.
    pub(super) source_environments: Vec<String>,
    /// Every variable reference (`${COPILOT_APPLICATION_NAME}`) substituted, and with what.
    pub(super) resolved: Vec<Item>,
    pub(super) carried: Vec<Item>,
    pub(super) defaulted: Vec<Item>,
    pub(super) changed: Vec<Item>,
    pub(super) not_carried: Vec<Item>,
}

fn item(source: Option<&str>, qfleet: Option<&str>, line: Option<usize>, note: String) -> Item {
    Item {
        source: source.map(str::to_string),
        qfleet: qfleet.map(str::to_string),
        line,
        note,
    }
}

impl Report {
    pub(super) fn carried(
        &mut self,
        src: &str,
        line: Option<usize>,
        key: &str,
        note: impl Into<String>,
    ) {
        self.carried
            .push(item(Some(src), Some(key), line, note.into()));
    }

    pub(super) fn defaulted(&mut self, src: Option<&str>, key: &str, note: impl Into<String>) {
        self.defaulted.push(item(src, Some(key), None, note.into()));
    }

    pub(super) fn changed(
        &mut self,
        src: Option<&str>,
        line: Option<usize>,
        key: Option<&str>,
        note: impl Into<String>,
    ) {
        self.changed.push(item(src, key, line, note.into()));
    }

    pub(super) fn not_carried(&mut self, src: &str, line: Option<usize>, why: impl Into<String>) {
        self.not_carried
            .push(item(Some(src), None, line, why.into()));
    }

    /// The report for people, one item a line under each heading.
    pub(crate) fn text(&self) -> String {
        let mut out = format!(
            "imported Copilot worker service `{}` from {}{}\n",
            self.service,
            self.source_file,
            match &self.applied_environment {
                Some(e) if self.overrides_applied =>
                    format!(" with the overrides of environment `{e}`"),
                Some(e) => format!(" for environment `{e}`"),
                None => String::new(),
            }
        );
        if let Some(e) = &self.applied_environment
            && !self.overrides_applied
        {
            out.push_str(&format!(
                "the manifest overrides no setting for environment `{e}`{}: its base settings imported\n",
                if self.source_environments.is_empty() {
                    String::new()
                } else {
                    format!(" (it overrides {})", self.source_environments.join(", "))
                }
            ));
        }
        if self.applied_environment.is_none() && !self.source_environments.is_empty() {
            out.push_str(&format!(
                "the manifest overrides settings for environment{} {}: none applied; give --env NAME to apply one's\n",
                if self.source_environments.len() == 1 { "" } else { "s" },
                self.source_environments.join(", ")
            ));
        }
        for (heading, items) in [
            ("resolved", &self.resolved),
            ("carried", &self.carried),
            ("defaulted", &self.defaulted),
            ("changed meaning", &self.changed),
            ("NOT carried", &self.not_carried),
        ] {
            if items.is_empty() {
                continue;
            }
            out.push_str(&format!("{heading} ({}):\n", items.len()));
            for i in items {
                out.push_str(&format!("  {}\n", line_of(i)));
            }
        }
        out
    }
}

/// `count.range.min (line 22) → workers.min: 1`.
fn line_of(i: &Item) -> String {
    let src = match (&i.source, i.line) {
        (Some(s), Some(l)) => format!("{s} (line {l})"),
        (Some(s), None) => s.clone(),
        (None, _) => String::new(),
    };
    match (&i.qfleet, src.is_empty()) {
        (Some(k), false) => format!("{src} → {k}: {}", i.note),
        (Some(k), true) => format!("{k}: {}", i.note),
        (None, true) => i.note.clone(),
        (None, false) => format!("{src}: {}", i.note),
    }
}
