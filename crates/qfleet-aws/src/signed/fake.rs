//! Test support: an HTTP connection that answers a service's requests as a function of the
//! request (its form for EC2's Query protocol, its target and JSON body for AWS JSON), and keeps
//! every request it saw for the test to read.
// Test support, built only for tests (`test-util`): a broken fixture panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A request as it reached the connection.
#[derive(Debug, Clone)]
pub struct Seen {
    pub uri: String,
    body: String,
    /// The body as a form (empty when it is not one).
    pub form: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
}

impl Seen {
    /// The value of form parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The operation an AWS JSON request names (`X-Amz-Target: Prefix.Operation`).
    pub fn target(&self) -> Option<&str> {
        self.headers.get("x-amz-target")?.rsplit('.').next()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// An answer's status, headers and body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

type Answer = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The connection: `answer` gives each request's status and body.
#[derive(Clone)]
pub struct Fake {
    answer: Arc<Answer>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake EC2")
    }
}

impl Fake {
    pub fn new(answer: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Fake {
        Fake::with_headers(move |r| {
            let (status, body) = answer(r);
            (status, Vec::new(), body)
        })
    }

    /// A connection whose answers carry headers too (a REST-JSON service names its error's
    /// type in `X-Amzn-ErrorType`).
    pub fn with_headers(answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
        Fake {
            answer: Arc::new(answer),
            seen: Arc::default(),
        }
    }

    /// Answers each Action with its XML (HTTP 200); any other Action with EC2's error for an
    /// unknown action.
    pub fn by_action(answers: &[(&str, &str)]) -> Fake {
        let answers: BTreeMap<String, String> = answers
            .iter()
            .map(|(a, x)| (a.to_string(), x.to_string()))
            .collect();
        Fake::new(
            move |r| match answers.get(r.param("Action").unwrap_or_default()) {
                Some(xml) => (200, xml.clone()),
                None => (400, error("InvalidAction", "no such action in this test")),
            },
        )
    }

    /// Answers each AWS JSON operation with its document (HTTP 200); any other with an
    /// `UnknownOperationException`.
    pub fn by_target(answers: &[(&str, serde_json::Value)]) -> Fake {
        let answers: BTreeMap<String, String> = answers
            .iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect();
        Fake::new(move |r| match answers.get(r.target().unwrap_or_default()) {
            Some(doc) => (200, doc.clone()),
            None => (
                400,
                json_error("UnknownOperationException", "not in this test"),
            ),
        })
    }

    /// What this connection answers `r` (for a fake that answers some requests itself and
    /// hands the rest to another).
    pub fn answer(&self, r: &Seen) -> (u16, String) {
        let (status, _, body) = (self.answer)(r);
        (status, body)
    }

    pub fn client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// An AWS JSON error document, its type qualified by a namespace as services send it.
pub fn json_error(code: &str, message: &str) -> String {
    serde_json::json!({"__type": format!("com.amazonaws.test#{code}"), "message": message})
        .to_string()
}

/// EC2's error document.
pub fn error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"
    )
}

impl HttpClient for Fake {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Fake {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default();
        let is_form = request
            .headers()
            .get("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let seen = Seen {
            uri: request.uri().to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
            form: if is_form {
                form_urlencoded::parse(body).into_owned().collect()
            } else {
                Vec::new()
            },
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.to_string()))
                .collect(),
        };
        let (status, headers, body) = (self.answer)(&seen);
        self.seen.lock().unwrap().push(seen);
        let status = StatusCode::try_from(status).expect("a valid status");
        let mut response = HttpResponse::new(status, SdkBody::from(body));
        for (k, v) in headers {
            response.headers_mut().insert(k, v);
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}
