//! One error type for every AWS call: a readable line that says which call failed and why (and,
//! for the common cases, what to do), the kind of failure, and the SDK error kept as its source.

pub(crate) mod rollback_cause;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;

/// What kind of failure an AWS call met; callers decide on this, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// AWS said the thing asked about does not exist.
    NotFound,
    /// AWS asked us to slow down and the retry budget ran out.
    Throttled,
    /// No credentials, expired ones, or ones AWS rejects.
    Credentials,
    /// The caller may not do this.
    AccessDenied,
    /// AWS could not be reached, or did not answer in time.
    Unreachable,
    /// The answer was not a well-formed AWS answer (cut off, HTML, empty, unparsable).
    Malformed,
    /// SQS refused a queue name deleted less than 60 seconds ago (QueueDeletedRecently).
    QueueNameCoolingDown,
    /// Any other error AWS reported.
    Service,
}

/// A failed AWS call (or an AWS operation that ended badly).
#[derive(Debug)]
pub struct AwsError {
    pub(super) message: String,
    pub kind: Kind,
    /// The service's error code, when it sent one (`ValidationError`, `Throttling`, …).
    pub(super) code: Option<String>,
    /// The endpoint answered that it does not serve the API called ([`NotServed`]); `kind`
    /// stays what the answer was (a 404 `Malformed`, a 5xx `Service`), so every decision made
    /// on `kind` is made as before: not served is never "empty". Boxed: every error carries
    /// the field, few have one.
    not_served: Option<Box<NotServed>>,
    /// The endpoint answered that it failed on its side ([`ServerFailed`]); `kind` stays
    /// `Service` and the message the service's own. Boxed, as `not_served`.
    server_failed: Option<Box<ServerFailed>>,
    /// A stack update that failed: what its rollback alarms said ([`crate::rollback`]).
    rollback: Option<Box<rollback_cause::RollbackCause>>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AwsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl AwsError {
    /// A failure that is not an SDK error (an operation that ended in a failed state).
    pub fn new(message: impl Into<String>) -> AwsError {
        AwsError {
            message: message.into(),
            kind: Kind::Service,
            code: None,
            not_served: None,
            server_failed: None,
            rollback: None,
            source: None,
        }
    }

    /// This failure with what the stack's rollback alarms said of it.
    pub fn with_rollback(mut self, cause: rollback_cause::RollbackCause) -> AwsError {
        self.rollback = Some(Box::new(cause));
        self
    }

    /// What the stack's rollback alarms said of this failure, when it is a stack update's.
    pub fn rollback(&self) -> Option<&rollback_cause::RollbackCause> {
        self.rollback.as_deref()
    }

    /// The service's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn with_kind(message: impl Into<String>, kind: Kind) -> AwsError {
        AwsError {
            kind,
            ..AwsError::new(message)
        }
    }

    /// Turns an SDK error of the call described by `what` into one readable line.
    pub fn from_sdk<E>(what: &str, err: SdkError<E, Response>) -> AwsError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        AwsError::from_sdk_as(what, err, not_served_api::<E>())
    }

    /// [`AwsError::from_sdk`] of a call whose error type does not name its API (qfleet's own
    /// calls without a generated crate): `api` names it, so that an endpoint that does not
    /// serve it, or failed on its side, is said as for any other call.
    pub(super) fn from_sdk_as<E>(
        what: &str,
        err: SdkError<E, Response>,
        api: Option<NotServed>,
    ) -> AwsError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let (kind, message, not_served) = classify(what, &err, api.clone());
        let server_failed = match not_served {
            None => server_failed_of(kind, &err, api),
            Some(_) => None,
        };
        AwsError {
            message,
            kind,
            code: error_code(&err),
            not_served: not_served.map(Box::new),
            server_failed: server_failed.map(Box::new),
            rollback: None,
            source: Some(Box::new(err)),
        }
    }

    /// Like [`AwsError::from_sdk`], with the operation's own modeled "no such thing" error
    /// (`is_queue_does_not_exist`, `is_not_found`, …) counted as not found whatever its code.
    pub(super) fn from_sdk_or_missing<E>(
        what: &str,
        err: SdkError<E, Response>,
        missing: impl Fn(&E) -> bool,
    ) -> AwsError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let modeled_missing = matches!(&err, SdkError::ServiceError(e) if missing(e.err()));
        let mut e = AwsError::from_sdk(what, err);
        if modeled_missing && e.kind != Kind::NotFound {
            e.kind = Kind::NotFound;
            e.message = format!("{what}: it does not exist");
        }
        e
    }

    /// `Ok(None)` when AWS said the thing does not exist; any other failure stays an error.
    pub(super) fn into_absent<T>(self) -> super::Result<Option<T>> {
        if self.is_not_found() {
            Ok(None)
        } else {
            Err(self)
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }

    /// The credentials' failure to load (`what`: what qfleet was doing), as a call's would
    /// be classified: which source failed, or that none gave any.
    pub(super) fn from_credentials(
        what: &str,
        err: &aws_credential_types::provider::error::CredentialsError,
    ) -> AwsError {
        let chain = chain_of(err);
        let (kind, message) = credentials_failure(what, "", &chain).unwrap_or_else(|| {
            // Not loaded, whatever else: no source gave credentials.
            (Kind::Credentials, MISSING_CREDENTIALS.message(what, ""))
        });
        AwsError {
            message,
            kind,
            code: None,
            not_served: None,
            server_failed: None,
            rollback: None,
            source: None,
        }
    }
}

/// An API the endpoint does not serve: it answered the call with HTTP 501 (Not Implemented),
/// with AWS's own "no such operation" code, or with a 404 or 500 that is an HTML page rather
/// than an AWS error document. An emulator that leaves an API out answers so; so does a proxy
/// in the way. What the call would have read stays unknown: callers say so, never "empty".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotServed {
    /// `CloudWatch`, `CloudFormation`, `Auto Scaling`, …
    pub service: String,
    /// `DescribeAlarms`, …
    pub operation: String,
}

impl NotServed {
    /// `CloudWatch DescribeAlarms`.
    pub fn api(&self) -> String {
        format!("{} {}", self.service, self.operation)
    }
}

/// The codes with which AWS itself says a request names an operation it does not have: the
/// query protocol's `InvalidAction` ("The action or operation requested is invalid",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html>) and
/// the JSON protocols' `UnknownOperationException`.
const UNKNOWN_OPERATION_CODES: &[&str] = &["InvalidAction", "UnknownOperationException"];

/// Whether an answer says the endpoint does not serve the operation: HTTP 501 Not Implemented
/// (the server "does not support the functionality required to fulfill the request", RFC 9110
/// §15.6.2, <https://www.rfc-editor.org/rfc/rfc9110#name-501-not-implemented>), AWS's own
/// unknown-operation codes, or a 404 or 500 whose body is an HTML page (not AWS's error
/// document: AWS's 5xx carry one, and stay errors of AWS). `code`: the error code read, if
/// any; `html`: the body is an HTML page.
fn says_not_served(status: u16, code: &str, html: bool) -> bool {
    status == 501
        || UNKNOWN_OPERATION_CODES.contains(&code)
        || (code.is_empty() && html && matches!(status, 404 | 500))
}

/// The API of an SDK call whose error type is `E`, when the type names it (qfleet's own calls
/// without a generated crate do not: their `what` names them).
fn not_served_api<E>() -> Option<NotServed> {
    let crate_name = std::any::type_name::<E>().split("::").next()?;
    let sdk = crate_name.strip_prefix("aws_sdk_")?;
    let service = match sdk {
        "autoscaling" => "Auto Scaling",
        "cloudformation" => "CloudFormation",
        "cloudwatch" => "CloudWatch",
        "lambda" => "Lambda",
        "s3" => "S3",
        "sns" => "SNS",
        "sqs" => "SQS",
        "sts" => "STS",
        other => other,
    };
    Some(NotServed {
        service: service.to_string(),
        operation: operation_name::<E>()?.to_string(),
    })
}

/// An answer in which the endpoint said, in an error document of its own, that it failed on
/// its side: HTTP 5xx with an error code (AWS's `InternalFailure` or `ServiceUnavailable`, an
/// emulator's `InternalError`) that is neither throttling nor an API it does not serve. AWS
/// answers so now and then too. What the call would have read stays unknown: a reader that can
/// do without it says so in these words ([`ServerFailed::line`]), never "empty" or zero. The
/// message stays the service's own, for a caller that cannot do without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailed {
    /// `CloudWatch`, `Auto Scaling`, …
    pub service: String,
    /// `GetMetricData`, …
    pub operation: String,
    /// The HTTP status, 500 to 599.
    pub status: u16,
}

impl ServerFailed {
    /// `this endpoint could not answer CloudWatch GetMetricData (HTTP 500, an error on its
    /// side)`: what happened, without the server's own words (its internals: a stack trace's
    /// last line, "please try again").
    pub fn line(&self) -> String {
        format!(
            "this endpoint could not answer {} {} (HTTP {}, an error on its side)",
            self.service, self.operation, self.status
        )
    }
}

/// The server failure an answer was ([`ServerFailed`]), for an error of kind `kind`.
fn server_failed_of<E>(
    kind: Kind,
    err: &SdkError<E, Response>,
    api: Option<NotServed>,
) -> Option<ServerFailed>
where
    E: ProvideErrorMetadata,
{
    let SdkError::ServiceError(e) = err else {
        return None;
    };
    let status = e.raw().status();
    if kind != Kind::Service || !status.is_server_error() || error_code(err).is_none() {
        return None;
    }
    let api = api?;
    Some(ServerFailed {
        service: api.service,
        operation: api.operation,
        status: status.as_u16(),
    })
}

/// The line of a call the endpoint does not serve: `WHAT: this endpoint does not serve API
/// (DETAIL)`.
fn not_served_line(what: &str, api: &NotServed, detail: &str) -> String {
    format!(
        "{what}: this endpoint does not serve {} ({detail})",
        api.api()
    )
}

/// Why something could not be read, kept once its call's error is gone: the error's line, and
/// the API the endpoint does not serve when that is why. Shown as the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    text: String,
    not_served: Option<NotServed>,
    /// Boxed: few have one, and a `Why` is in every fact not read.
    server_failed: Option<Box<ServerFailed>>,
}

impl Why {
    /// The API the endpoint does not serve, when that is why.
    pub fn not_served(&self) -> Option<&NotServed> {
        self.not_served.as_ref()
    }

    /// The endpoint's failure on its side, when that is why.
    pub fn server_failed(&self) -> Option<&ServerFailed> {
        self.server_failed.as_deref()
    }
}

impl std::ops::Deref for Why {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for Why {
    fn from(text: String) -> Why {
        Why {
            text,
            not_served: None,
            server_failed: None,
        }
    }
}

impl From<&str> for Why {
    fn from(text: &str) -> Why {
        Why::from(text.to_string())
    }
}

impl From<&AwsError> for Why {
    fn from(e: &AwsError) -> Why {
        Why {
            text: e.message.clone(),
            not_served: e.not_served.as_deref().cloned(),
            server_failed: e.server_failed.clone(),
        }
    }
}

impl From<AwsError> for Why {
    fn from(e: AwsError) -> Why {
        Why::from(&e)
    }
}

impl From<Why> for String {
    fn from(why: Why) -> String {
        why.text
    }
}

/// In JSON, the line.
impl serde::Serialize for Why {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl schemars::JsonSchema for Why {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
    fn inline_schema() -> bool {
        true
    }
}

/// Whether AWS refused the call's token as invalid: the answer of a Region that is not enabled
/// in the account (or of credentials that are wrong), as opposed to missing or expired ones.
pub(super) fn is_rejected_token(e: &AwsError) -> bool {
    e.kind == Kind::Credentials
        && matches!(
            e.code.as_deref(),
            Some("InvalidClientTokenId" | "UnrecognizedClientException" | "AuthFailure")
        )
}

// The words of credentials failures are qfleet-text's: the output layer tells them once.
pub(crate) use qfleet_text::credentials::{
    EXPIRED_CREDENTIALS, MISSING_CREDENTIALS, REJECTED_CREDENTIALS, SOURCE_FAILED,
};

/// A credentials failure in the chain of an error (`code`: the service's error code, if any):
/// a Region refused before sending, a named source that failed, expired credentials, a role
/// STS refused, a provider that could not reach its service, or none found. `None`: not a
/// credentials failure of those kinds.
fn credentials_failure(what: &str, code: &str, chain: &str) -> Option<(Kind, String)> {
    let lower = chain.to_lowercase();
    // A Region whose opt-in status explains every rejected token there.
    if let Some(at) = chain.find(super::credentials::REGION_REFUSED) {
        let said = &chain[at + super::credentials::REGION_REFUSED.len()..];
        return Some((Kind::Credentials, format!("{what}: {said}")));
    }
    let source = chain.find(super::credentials::SOURCE_FAILED).map(|at| {
        let rest = &chain[at + super::credentials::SOURCE_FAILED.len()..];
        // Short enough to say once: the source, and its own first words.
        rest.replace('\n', " ")
    });
    // Expired before missing: an SSO token that expired fails while loading credentials too,
    // and "expired" is what the user must act on.
    if matches!(
        code,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired"
    ) || lower.contains("token has expired")
        || lower.contains("session has expired")
    {
        let from = source
            .as_deref()
            .and_then(|s| s.split("; ").next())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        return Some((Kind::Credentials, EXPIRED_CREDENTIALS.message(what, &from)));
    }
    if let Some(source) = source {
        return Some((Kind::Credentials, SOURCE_FAILED.message(what, &source)));
    }
    None
}

/// The service's error code, when the service sent one.
pub(super) fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::ServiceError(e) => e.err().code().map(str::to_string),
        _ => None,
    }
}

/// The service's error message, when it sent one.
fn error_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::ServiceError(e) => e.err().message().map(str::to_string),
        _ => None,
    }
}

/// Codes with which AWS says "no such thing" across the services qfleet calls.
const NOT_FOUND_CODES: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NoSuchBucket",
    "NotFound",
    "NoSuchKey",
    "ChangeSetNotFound",
    "NotFoundException",
    "ResourceNotFoundException",
    "StackSetNotFoundException",
    "StackInstanceNotFoundException",
];

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
];

/// The operation an SDK error type belongs to: `GetMetricDataError` → `GetMetricData`; none
/// for qfleet's own error type of the calls it sends without a generated crate
/// ([`super::signed::ApiError`], shared by every operation: the message's `what` names it).
fn operation_name<E>() -> Option<&'static str> {
    let full = std::any::type_name::<E>();
    if full.starts_with(concat!(env!("CARGO_CRATE_NAME"), "::")) {
        return None;
    }
    let last = full.rsplit("::").next().unwrap_or(full);
    last.strip_suffix("Error")
        .filter(|op| !op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// How [`super::trace`] begins the error with which it refuses an answer that is not whole.
const NOT_WHOLE: &str = "the answer was not whole";

/// The reason qfleet's own check of the answer gave (see [`super::trace`]), when it refused it.
fn not_whole_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if let Some(why) = text
            .strip_prefix(NOT_WHOLE)
            .and_then(|r| r.strip_prefix(" ("))
            .and_then(|r| r.strip_suffix(')'))
        {
            // Up to the parser's own words (`JSON that does not parse: EOF while parsing…`).
            let why = why.split_once(": ").map_or(why, |(words, _)| words);
            return Some(why.to_string());
        }
        cur = e.source();
    }
    None
}

/// Every client's retry classifier beside the SDK's: an answer that says the endpoint does not
/// serve the API ([`says_not_served`] without a code: HTTP 501, or a 404 or 500 that is an
/// HTML page) is never retried, since asking again cannot change it. The SDK's standard mode
/// retries a 500 as transient, ten attempts with backoff: about a minute per call that no
/// answer could ever satisfy (drift detection on an emulator that leaves it out).
#[derive(Debug, Default, Clone)]
pub(crate) struct NeverRetryNotServed;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for NeverRetryNotServed {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        match ctx.response() {
            Some(resp) if says_not_served(resp.status().as_u16(), "", is_html(resp)) => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "qfleet::aws::error::NeverRetryNotServed"
    }
}

/// Whether an answer's body is an HTML page.
fn is_html(resp: &Response) -> bool {
    let body = resp.body().bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_lowercase();
    let head = text.trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html") || text.contains("<html")
}

/// What an answer the SDK could not read looked like, in words: never the decoder's own text
/// (`unexpected type 0x3c at position 0: expected map`), which `--debug` logs instead.
fn describe_unreadable(resp: &Response, not_whole: Option<String>) -> String {
    let body = resp.body().bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_lowercase();
    let head = text.trim_start();
    if head.is_empty() {
        return "it was empty".into();
    }
    if is_html(resp) {
        return "it was an HTML page, not the document AWS sends (a proxy, a captive portal, or \
                an endpoint that does not serve this API?)"
            .into();
    }
    if let Some(why) = not_whole {
        return format!("it was cut off or damaged ({why})");
    }
    let looks = if head.starts_with('<') {
        " of XML".to_string()
    } else if head.starts_with('{') || head.starts_with('[') {
        " of JSON".to_string()
    } else {
        match resp.headers().get("content-type") {
            Some(ct) if !ct.is_empty() => format!(" of {ct}"),
            _ => String::new(),
        }
    };
    format!(
        "it was not the document AWS sends ({} bytes{looks}; an endpoint that speaks another \
         protocol, such as an emulator older than the SDK?)",
        body.len()
    )
}

/// The line for an answer the SDK could not read, and its kind: with a success status the call
/// worked but its document did not arrive; with an error status the call failed and its error
/// could not be read either (a 5xx stays AWS's trouble, `Service`).
fn unreadable<E>(
    what: &str,
    resp: &Response,
    chain: &str,
    not_whole: Option<String>,
) -> (Kind, String) {
    let status = resp.status();
    // The decoder's own words (`unexpected type 0x3c at position 0: expected map`) help whoever
    // debugs the endpoint, no one else: logged only where `--debug` (or RUST_LOG) shows them.
    // Not at DEBUG: those lines are one per AWS request, and tools read them as such.
    tracing::warn!(
        target: "qfleet::aws",
        "{what}: the SDK could not read the answer (HTTP {}): {chain}",
        status.as_u16()
    );
    let desc = describe_unreadable(resp, not_whole);
    let op = operation_name::<E>();
    if status.is_success() {
        let answer = op.map_or("the answer".to_string(), |op| format!("the answer to {op}"));
        return (
            Kind::Malformed,
            format!("{what}: {answer} could not be read: {desc}"),
        );
    }
    let kind = if status.is_server_error() {
        Kind::Service
    } else {
        Kind::Malformed
    };
    (
        kind,
        format!(
            "{what}: {} failed (HTTP {}) and its error could not be read: {desc}",
            op.unwrap_or("the call"),
            status.as_u16()
        ),
    )
}

/// The API the endpoint said it does not serve, and how it said so (`HTTP 404 with an HTML
/// page`, `HTTP 501, InternalFailure`), when the answer says so ([`says_not_served`]).
fn not_served_of<E>(
    err: &SdkError<E, Response>,
    api: Option<NotServed>,
) -> Option<(NotServed, String)>
where
    E: ProvideErrorMetadata,
{
    let resp = match err {
        SdkError::ServiceError(e) => e.raw(),
        SdkError::ResponseError(e) => e.raw(),
        _ => return None,
    };
    let status = resp.status().as_u16();
    let code = error_code(err).unwrap_or_default();
    let html = code.is_empty() && is_html(resp);
    if !says_not_served(status, &code, html) {
        return None;
    }
    let detail = match (code.as_str(), html) {
        ("", true) => format!("HTTP {status} with an HTML page"),
        ("", false) => format!("HTTP {status}"),
        (code, _) => format!("HTTP {status}, {code}"),
    };
    Some((api?, detail))
}

/// The kind and line of a failed call, and the API the endpoint does not serve when that is
/// why (said as such: the kind stays the answer's own).
fn classify<E>(
    what: &str,
    err: &SdkError<E, Response>,
    api: Option<NotServed>,
) -> (Kind, String, Option<NotServed>)
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let (kind, message) = classify_words(what, err);
    // Credentials, access, throttling and "no such thing" say more than a missing API would.
    if matches!(kind, Kind::Malformed | Kind::Service)
        && let Some((api, detail)) = not_served_of(err, api)
    {
        return (kind, not_served_line(what, &api, &detail), Some(api));
    }
    (kind, message, None)
}

fn classify_words<E>(what: &str, err: &SdkError<E, Response>) -> (Kind, String)
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let code = error_code(err).unwrap_or_default();
    let msg = error_message(err);
    let chain = chain_text(err);
    let lower = chain.to_lowercase();
    if let Some(found) = credentials_failure(what, &code, &chain) {
        return found;
    }
    // A role qfleet assumes (a target's, or --role-arn) that STS refused (not the base
    // credentials' own AssumeRoleWithWebIdentity, whose fix is elsewhere): the credentials
    // exist, the role's trust or the caller's sts:AssumeRole permission is what to fix.
    if lower.contains("sts:assumerole on resource") {
        let said = chain
            .find("User: ")
            // ASCII lowering keeps the byte offsets `chain` is sliced at (`lower` may not).
            .or_else(|| chain.to_ascii_lowercase().find("not authorized"))
            .map(|at| {
                let rest = &chain[at..];
                // To the end of STS's message: a line's end, or the quote that closes it in
                // the SDK's debug form (`message: Some("User: …"), … }`).
                let end = rest.find(['\n', '"']).unwrap_or(rest.len());
                format!(" ({})", rest[..end].trim_end_matches(['.', ')']))
            })
            .unwrap_or_default();
        return (
            Kind::Credentials,
            format!(
                "{what}: AWS STS refused to let the credentials assume the role{said}. The role's trust policy must name the principal qfleet runs as, and that principal needs sts:AssumeRole on the role (docs/targets.md)"
            ),
        );
    }
    // Credentials that could not be loaded because their provider could not reach its
    // service (STS, assuming a target's role; an SSO portal): the network is what to fix,
    // not the credentials.
    if lower.contains("while loading credentials")
        && (lower.contains("dispatch failure") || lower.contains("timeout"))
    {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".into());
        return (
            Kind::Unreachable,
            format!(
                "{what}: loading the credentials (assuming the role, or signing in) could not reach {endpoint}: {chain}"
            ),
        );
    }
    if lower.contains("no providers in chain provided credentials")
        || lower.contains("failed to load credentials")
        || lower.contains("error occurred while loading credentials")
        || lower.contains("the credential provider was not enabled")
    {
        return (Kind::Credentials, MISSING_CREDENTIALS.message(what, ""));
    }
    if matches!(
        code.as_str(),
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
    ) {
        return (
            Kind::Credentials,
            REJECTED_CREDENTIALS.message(what, &format!(" ({code})")),
        );
    }
    if matches!(
        code.as_str(),
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
    ) {
        return (
            Kind::AccessDenied,
            format!("{what}: access denied: {}", msg.unwrap_or(code)),
        );
    }
    if THROTTLING_CODES.contains(&code.as_str()) {
        return (
            Kind::Throttled,
            format!(
                "{what}: AWS kept throttling the request ({code}) after every retry; run again later or lower --concurrency"
            ),
        );
    }
    if NOT_FOUND_CODES.contains(&code.as_str())
        || (code == "ValidationError"
            && msg.as_deref().is_some_and(|m| m.contains("does not exist")))
    {
        return (
            Kind::NotFound,
            format!("{what}: {code}: {}", msg.unwrap_or_default()),
        );
    }
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".into());
            (
                Kind::Unreachable,
                format!("{what}: cannot reach {endpoint}: {chain}"),
            )
        }
        SdkError::ResponseError(e) => unreadable::<E>(what, e.raw(), &chain, not_whole_reason(err)),
        // No error code: the SDK could not read the answer (a success it could not decode, or an
        // error that is not one AWS sends); its decoder's words are for --debug only.
        SdkError::ServiceError(e) if code.is_empty() => {
            unreadable::<E>(what, e.raw(), &chain, not_whole_reason(err))
        }
        _ if code.is_empty() => (Kind::Service, format!("{what}: {chain}")),
        _ => (
            Kind::Service,
            match msg {
                Some(m) => format!("{what}: {code}: {m}"),
                None => format!("{what}: {code}"),
            },
        ),
    }
}

/// The chain of messages of an SDK error, without the Debug dump of the raw response that
/// `DisplayErrorContext` ends with.
fn chain_text<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    chain_of(err)
}

/// The messages of an error and its sources, each once, joined by `: `.
pub(crate) fn chain_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests;
