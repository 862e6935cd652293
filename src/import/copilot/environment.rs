//! The Copilot environment manifest beside the service's (`copilot/environments/ENV/manifest.yml`,
//! "Environment manifest", <https://aws.github.io/copilot-cli/docs/manifest/environment/>): the
//! VPC an imported environment names (`network.vpc.id`) with its public and private subnets,
//! and Container Insights (`observability.container_insights`). A VPC Copilot made itself
//! (`network.vpc.cidr`, no id) goes with the Copilot application: nothing to carry.

use super::manifest::{located, yaml_error};
use crate::config::SourceFile;
use crate::error::Error;
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

/// One subnet an environment manifest names: its id, and its zone when it says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subnet {
    pub(crate) id: String,
    pub(crate) az: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EnvManifest {
    pub(crate) path: PathBuf,
    /// `network.vpc.id`: an imported VPC.
    pub(crate) vpc: Option<String>,
    pub(crate) public: Vec<Subnet>,
    pub(crate) private: Vec<Subnet>,
    /// `observability.container_insights` as written (`true`, `false`, `enhanced`).
    pub(crate) container_insights: Option<String>,
    text: String,
}

impl EnvManifest {
    /// An input error at `key` (dotted) of this manifest.
    pub(crate) fn error(&self, key: &str, message: impl Into<String>) -> crate::error::InputError {
        located(
            &SourceFile::new(self.path.clone(), self.text.clone()),
            key,
            message,
        )
    }
}

/// The environment manifest of `env` beside the service manifest at `service`
/// (`copilot/SERVICE/manifest.yml` → `copilot/environments/ENV/manifest.yml`); `None` when
/// there is no such file. One that is there but cannot be read or parsed is an error.
pub(crate) fn beside(service: &Path, env: &str) -> Result<Option<EnvManifest>, Error> {
    let Some(copilot) = service.parent().and_then(Path::parent) else {
        return Ok(None);
    };
    let path = copilot.join("environments").join(env).join("manifest.yml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(crate::import::errors::Usage::ManifestUnreadable { path, source }.into());
        }
    };
    let source = SourceFile::new(path.clone(), text.clone());
    let doc: Value =
        serde_yaml_ng::from_str(&text).map_err(|e| Error::Input(vec![yaml_error(&source, &e)]))?;
    let at = |keys: &[&str]| {
        keys.iter()
            .try_fold(&doc, |v, k| v.get(*k))
            .filter(|v| !v.is_null())
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    let subnets = |kind: &str| -> Vec<Subnet> {
        at(&["network", "vpc", "subnets", kind])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(Subnet {
                    id: s.get("id").map(text_of)?,
                    az: s.get("az").map(text_of),
                })
            })
            .collect()
    };
    Ok(Some(EnvManifest {
        vpc: at(&["network", "vpc", "id"]).map(text_of),
        public: subnets("public"),
        private: subnets("private"),
        container_insights: at(&["observability", "container_insights"]).map(text_of),
        path,
        text,
    }))
}
