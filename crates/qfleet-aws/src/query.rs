//! The AWS Query protocol, for the services whose generated crate costs far more to build than
//! the few read-only calls qfleet makes of it (Auto Scaling: four; SNS: two), sent as
//! [`super::signed`] calls.
//!
//! The protocol, as AWS documents it:
//! - a request is an HTTP POST of `Action`, `Version` and the parameters, form-urlencoded;
//!   a list parameter is `Name.member.N`, 1-based
//!   (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonParameters.html>,
//!   <https://docs.aws.amazon.com/sns/latest/api/CommonParameters.html>,
//!   <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>);
//! - signed with Signature Version 4 for the service's signing name (`autoscaling`, `sns`);
//! - answered with `<ActionResponse><ActionResult>…</ActionResult></ActionResponse>`, lists as
//!   `member` elements, maps as `entry` elements of `key` and `value`, paged by `NextToken`
//!   (a page that gives back the token it was asked with is an error here, where the SDK's
//!   paginator stopped quietly: the pages after it would be unread)
//!   (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html>,
//!   <https://docs.aws.amazon.com/sns/latest/api/API_GetSubscriptionAttributes.html>);
//! - errors as `<ErrorResponse><Error><Type>…</Type><Code>…</Code><Message>…</Message></Error></ErrorResponse>`
//!   (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html>,
//!   <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization>).

use super::error::AwsError;
use super::signed::{ApiError, Request, Service, Signed, body_text};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_types::error::ErrorMetadata;
use std::sync::Arc;

/// A Query service: its SDK id and signing name, and the API version every request names.
#[derive(Debug, Clone, Copy)]
pub(super) struct Api {
    service: Service,
    version: &'static str,
}

/// Amazon EC2 Auto Scaling (<https://docs.aws.amazon.com/general/latest/gr/as.html>).
pub(super) const AUTO_SCALING: Api = Api {
    service: Service {
        id: "Auto Scaling",
        name: "autoscaling",
    },
    version: "2011-01-01",
};

/// Amazon SNS (<https://docs.aws.amazon.com/general/latest/gr/sns.html>).
pub(super) const SNS: Api = Api {
    service: Service {
        id: "SNS",
        name: "sns",
    },
    version: "2010-03-31",
};

/// A client of one Query service in one region.
#[derive(Clone, Debug)]
pub struct Query {
    signed: Arc<Signed>,
    version: &'static str,
}

/// An element of an answer: its name, its text (empty for a structure) and its child elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Node {
    pub(super) name: String,
    pub(super) text: String,
    pub(super) children: Vec<Node>,
}

impl Node {
    /// The first child element named `name`.
    pub(super) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the child element `name`, if there is one.
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// The `member`s of the list `name` (none when the answer has no such list).
    pub(super) fn members<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Node> {
        self.child(name)
            .into_iter()
            .flat_map(|l| l.children.iter().filter(|m| m.name == "member"))
    }

    /// The map `name` (`entry` elements of `key` and `value`) as pairs.
    pub(super) fn entries(&self, name: &str) -> Vec<(String, String)> {
        self.child(name)
            .into_iter()
            .flat_map(|m| m.children.iter().filter(|e| e.name == "entry"))
            .filter_map(|e| Some((e.text("key")?.to_string(), e.text("value")?.to_string())))
            .collect()
    }
}

impl Query {
    pub(super) fn from_config(api: Api, region: &str, conf: &SdkConfig) -> Query {
        let signed = match fips_in_gov_cloud(region, conf) {
            // Both services' GovCloud endpoints are their FIPS endpoints: no `-fips` host
            // (<https://docs.aws.amazon.com/general/latest/gr/as.html>,
            // <https://docs.aws.amazon.com/general/latest/gr/sns.html>).
            true => Signed::from_config_at(
                api.service,
                region,
                &format!("https://{}.{region}.amazonaws.com", api.service.name),
                conf,
            ),
            false => Signed::from_config(api.service, region, conf),
        };
        Query {
            signed: Arc::new(signed.naming_its_api()),
            version: api.version,
        }
    }

    /// A client whose requests `http_client` answers (tests).
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn with_http_client(
        api: Api,
        region: &str,
        http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> Query {
        Query {
            signed: Arc::new(
                Signed::with_http_client(api.service, region, http_client).naming_its_api(),
            ),
            version: api.version,
        }
    }

    /// The `…Result` element of the answer to `action` with `params`; an error begins with
    /// `what` (the call described for the user).
    pub(super) async fn call(
        &self,
        what: &str,
        action: &'static str,
        params: &[(&str, &str)],
    ) -> Result<Node, AwsError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", self.version);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let request = Request {
            method: "POST",
            path: "/".into(),
            body: form.finish(),
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
        };
        self.signed
            .invoke(what, action, request, move |r| result(r, action))
            .await
    }

    /// The `…Result` of every page of `action`: each page asks with the last one's `NextToken`
    /// until an answer has none.
    pub(super) async fn pages(
        &self,
        what: &str,
        action: &'static str,
        params: &[(&str, &str)],
    ) -> Result<Vec<Node>, AwsError> {
        self.pages_until(what, action, params, |_| false).await
    }

    /// [`Query::pages`], stopping after the first page for which `enough` holds (the pages after
    /// it are not asked for).
    pub(super) async fn pages_until(
        &self,
        what: &str,
        action: &'static str,
        params: &[(&str, &str)],
        enough: impl Fn(&Node) -> bool,
    ) -> Result<Vec<Node>, AwsError> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut p = params.to_vec();
            if let Some(t) = &token {
                p.push(("NextToken", t));
            }
            let page = self.call(what, action, &p).await?;
            let next = page.text("NextToken").filter(|t| !t.is_empty());
            let next = match next {
                // A token equal to the last one would page forever.
                Some(n) if token.as_deref() != Some(n) => Some(n.to_string()),
                Some(_) => {
                    return Err(AwsError::with_kind(
                        format!("{what}: the answer gave back the page token it was asked with"),
                        super::error::Kind::Malformed,
                    ));
                }
                None => None,
            };
            let done = enough(&page);
            pages.push(page);
            match next.filter(|_| !done) {
                Some(n) => token = Some(n),
                None => return Ok(pages),
            }
        }
    }
}

/// FIPS asked for (`use_fips`) in an AWS GovCloud (US) Region, without dual-stack.
fn fips_in_gov_cloud(region: &str, conf: &SdkConfig) -> bool {
    conf.use_fips().unwrap_or(false)
        && !conf.use_dual_stack().unwrap_or(false)
        && region.starts_with("us-gov-")
}

/// A success is the answer's `{action}Result` (empty when the answer has none) in an
/// `{action}Response`; any other status an error document. A success of another document (a
/// proxy's page, an endpoint that does not speak the protocol) is an answer that could not be
/// read, never an empty result.
fn result(resp: &HttpResponse, action: &str) -> Result<Node, OrchestratorError<ApiError>> {
    let text = body_text(resp)?;
    if !resp.status().is_success() {
        return Err(OrchestratorError::operation(ApiError(parse_error(text))));
    }
    let root = parse(text).map_err(|e| OrchestratorError::response(Box::new(e)))?;
    if root.name != format!("{action}Response") {
        return Err(OrchestratorError::response(
            format!(
                "the answer is a <{}> document, not the <{action}Response> AWS sends",
                root.name
            )
            .into(),
        ));
    }
    let name = format!("{action}Result");
    Ok(root
        .children
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_default())
}

/// The document's root element as a tree (names without their namespace prefix).
pub(super) fn parse(xml: &str) -> Result<Node, roxmltree::Error> {
    fn node(e: roxmltree::Node<'_, '_>) -> Node {
        let children: Vec<Node> = e.children().filter(|c| c.is_element()).map(node).collect();
        let text = match children.is_empty() {
            // Text and CDATA only: a comment's text is not the element's.
            true => e
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect::<String>(),
            false => String::new(),
        };
        Node {
            name: e.tag_name().name().to_string(),
            text,
            children,
        }
    }
    Ok(node(roxmltree::Document::parse(xml)?.root_element()))
}

/// The error of an error answer; an answer that is not one reads as an error without a code
/// (a 5xx is retried on its status alone).
fn parse_error(xml: &str) -> ErrorMetadata {
    let mut b = ErrorMetadata::builder();
    let Ok(root) = parse(xml) else {
        return b.build();
    };
    if let Some(error) = root.child("Error") {
        if let Some(c) = error.text("Code") {
            b = b.code(c);
        }
        if let Some(m) = error.text("Message") {
            b = b.message(m);
        }
    }
    b.build()
}

#[cfg(test)]
mod tests;
