//! What every SDK client does on every request, whatever the service:
//! - logs one line per attempt (service, operation, the resource it names, HTTP status or
//!   failure, duration, attempt) through `tracing` (`--debug`, or `RUST_LOG=qfleet=debug`), on stderr;
//! - refuses a successful answer that is not whole: XML whose root element never closes, an
//!   HTML page, an empty body from a service that always sends one, JSON that does not parse.
//!   The SDK's parsers read such answers leniently (a cut-off list parses as a shorter list), and
//!   a decision taken on a partial list can lose data.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::time::Instant;

#[derive(Debug, Clone)]
struct AttemptStarted(Instant);

impl Storable for AttemptStarted {
    type Storer = StoreReplace<Self>;
}

/// The resource the request names (see [`super::request_target`]).
#[derive(Debug, Clone)]
struct Target(String);

impl Storable for Target {
    type Storer = StoreReplace<Self>;
}

/// The interceptor every client gets.
#[derive(Debug, Default, Clone)]
pub(super) struct Requests;

/// Services whose successful answers always carry an XML document.
const ALWAYS_XML: &[&str] = &[
    "cloudformation",
    "autoscaling",
    "ec2",
    "sns",
    "CloudFormation",
    "Auto Scaling",
    "EC2",
    "SNS",
];

fn operation(cfg: &ConfigBag) -> (String, String) {
    match cfg.load::<Metadata>() {
        Some(m) => (m.service().to_string(), m.name().to_string()),
        None => ("aws".into(), "request".into()),
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "qfleet::aws::trace::Requests"
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(AttemptStarted(Instant::now()));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !tracing::enabled!(target: "qfleet::aws", tracing::Level::DEBUG) {
            return Ok(());
        }
        let req = ctx.request();
        let (service, _) = operation(cfg);
        let target = super::request_target::of(
            &service,
            req.uri(),
            req.headers().get("host"),
            req.headers().get("content-type").unwrap_or_default(),
            req.body().bytes().unwrap_or_default(),
        );
        if let Some(t) = target {
            cfg.interceptor_state().store_put(Target(t));
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let resp = ctx.response();
        if !resp.status().is_success() {
            // Errors are the SDK's to classify and retry.
            return Ok(());
        }
        let Some(body) = resp.body().bytes() else {
            return Ok(());
        };
        let content_type = resp
            .headers()
            .get("content-type")
            .unwrap_or_default()
            .to_lowercase();
        let (service, _) = operation(cfg);
        match whole_answer(body, &content_type, ALWAYS_XML.contains(&service.as_str())) {
            Ok(()) => Ok(()),
            Err(why) => Err(format!("the answer was not whole ({why})").into()),
        }
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !tracing::enabled!(target: "qfleet::aws", tracing::Level::DEBUG) {
            return Ok(());
        }
        let (service, op) = operation(cfg);
        let ms = cfg
            .load::<AttemptStarted>()
            .map(|s| s.0.elapsed().as_millis())
            .unwrap_or(0);
        let attempt = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        let outcome = match (ctx.response(), ctx.output_or_error()) {
            (_, Some(Ok(_))) => ctx
                .response()
                .map(|r| r.status().as_u16().to_string())
                .unwrap_or_else(|| "ok".into()),
            (Some(r), _) => format!("HTTP {}", r.status().as_u16()),
            // With its sources: "an unknown error occurred" alone hides what failed (a
            // credentials provider that could not reach STS, say).
            (None, Some(Err(e))) => format!("failed: {}", super::error::chain_of(e)),
            (None, None) => "no answer".into(),
        };
        let on = cfg
            .load::<Target>()
            .map(|t| format!(" {}", t.0))
            .unwrap_or_default();
        tracing::debug!(target: "qfleet::aws", "{service}.{op}{on} {outcome} in {ms} ms (attempt {attempt})");
        Ok(())
    }
}

/// Whether a successful answer's body is a whole document.
fn whole_answer(body: &[u8], content_type: &str, always_xml: bool) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let t = text.trim();
    if t.is_empty() {
        return if always_xml {
            Err("an empty body".into())
        } else {
            Ok(())
        };
    }
    let lower_head: String = t.chars().take(100).collect::<String>().to_lowercase();
    if lower_head.starts_with("<!doctype html") || lower_head.starts_with("<html") {
        return Err("an HTML page".into());
    }
    if content_type.contains("json") {
        return serde_json::from_str::<serde::de::IgnoredAny>(t)
            .map(|_| ())
            .map_err(|e| format!("JSON that does not parse: {e}"));
    }
    if content_type.contains("xml") || t.starts_with('<') || always_xml {
        return whole_xml(t);
    }
    Ok(())
}

/// The document's root element closes at its end.
fn whole_xml(t: &str) -> Result<(), String> {
    let mut rest = t;
    // Skip the declaration and any comments before the root.
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after
                .split_once("?>")
                .map(|(_, r)| r)
                .ok_or("XML cut off in its declaration")?;
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after
                .split_once("-->")
                .map(|(_, r)| r)
                .ok_or("XML cut off in a comment")?;
        } else {
            break;
        }
    }
    let Some(after) = rest.strip_prefix('<') else {
        return Err("a body that is not XML".into());
    };
    let name: String = after
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    if name.is_empty() {
        return Err("XML without a root element".into());
    }
    let open_end = after.find('>').ok_or("XML cut off in its root element")?;
    if after[..open_end].ends_with('/') && after[open_end + 1..].trim().is_empty() {
        return Ok(());
    }
    if rest.ends_with(&format!("</{name}>")) {
        Ok(())
    } else {
        Err(format!(
            "XML that ends before its root element <{name}> closes"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_xml_answer_passes() {
        let b = br#"<?xml version="1.0"?><DescribeStacksResponse xmlns="x"><A/></DescribeStacksResponse>"#;
        assert_eq!(whole_answer(b, "text/xml", true), Ok(()));
        assert_eq!(
            whole_answer(b"<ListBucketResult/>", "application/xml", false),
            Ok(())
        );
    }

    #[test]
    fn a_cut_off_xml_answer_is_refused() {
        let b = br#"<?xml version="1.0"?><DescribeStackResourcesResponse><StackResources><member>"#;
        let e = whole_answer(b, "text/xml", true).unwrap_err();
        assert!(e.contains("<DescribeStackResourcesResponse> closes"), "{e}");
    }

    #[test]
    fn html_and_empty_answers_are_refused() {
        assert_eq!(
            whole_answer(b"<!DOCTYPE html><html></html>", "text/html", false),
            Err("an HTML page".into())
        );
        assert_eq!(
            whole_answer(b"", "text/xml", true),
            Err("an empty body".into())
        );
        assert_eq!(
            whole_answer(b"", "", false),
            Ok(()),
            "S3 HeadBucket has no body"
        );
    }

    #[test]
    fn cut_off_json_is_refused() {
        assert!(
            whole_answer(
                br#"{"Attributes": {"A": "1""#,
                "application/x-amz-json-1.0",
                false
            )
            .is_err()
        );
        assert_eq!(
            whole_answer(
                br#"{"Attributes": {}}"#,
                "application/x-amz-json-1.0",
                false
            ),
            Ok(())
        );
    }
}
