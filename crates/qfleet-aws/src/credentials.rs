//! Where the credentials come from, and which source failed. qfleet uses the SDKs' standard
//! chain, in its order (<https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html>):
//! the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), the shared config and
//! credentials files' profile (static keys, an SSO sign-in, a credential process, a role), a web
//! identity token file (`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`), the container
//! credentials endpoint (ECS, EKS Pod Identity), then the EC2 instance metadata service
//! (IMDS). A source that is not set up is passed over; one that is set up and fails stops the
//! chain, as in every SDK. The SDK's own error then names no source ("could not reach
//! http://127.0.0.1:…" for a token file that does not exist): each source here is wrapped so
//! that its failure says which source it was.
//!
//! - Environment variables: <https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html>
//!   (both keys are needed; one alone is a partial configuration, refused as the AWS CLI does)
//! - Web identity: <https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html>
//! - Container credentials: <https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html>
//! - IMDS: <https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html>
//! - IAM Identity Center (SSO): <https://docs.aws.amazon.com/sdkref/latest/guide/feature-sso-credentials.html>

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, future};
use aws_smithy_types::error::display::DisplayErrorContext;
use std::fmt;

/// How a source's failure begins, wherever the SDK carries it (classified by
/// [`super::error`]).
pub(super) const SOURCE_FAILED: &str = "could not load AWS credentials from ";

/// One source of the standard chain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Environment,
    /// The profile (its name; `None`: `AWS_PROFILE` or `default`).
    Profile(Option<String>),
    WebIdentity,
    Container,
    Imds,
}

impl Source {
    /// The source in words, for a message (`environment` read at the time).
    fn describe(&self, cause: &str) -> String {
        let var = |v: &str| std::env::var(v).unwrap_or_default();
        match self {
            Source::Environment => {
                "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".to_string()
            }
            Source::Profile(name) => {
                let name = name
                    .clone()
                    .or_else(|| std::env::var("AWS_PROFILE").ok())
                    .unwrap_or_else(|| "default".into());
                if cause.to_ascii_lowercase().contains("sso") {
                    format!("profile {name}'s SSO sign-in (`aws sso login --profile {name}`)")
                } else {
                    format!("profile {name} (~/.aws/config, ~/.aws/credentials)")
                }
            }
            Source::WebIdentity => format!(
                "the web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE={}, AWS_ROLE_ARN={})",
                var("AWS_WEB_IDENTITY_TOKEN_FILE"),
                var("AWS_ROLE_ARN")
            ),
            Source::Container => {
                let uri = std::env::var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                    .map(|u| format!("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={u}"))
                    .or_else(|_| {
                        std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                            .map(|u| format!("AWS_CONTAINER_CREDENTIALS_FULL_URI={u}"))
                    })
                    .unwrap_or_default();
                format!("the container credentials endpoint ({uri})")
            }
            Source::Imds => "the EC2 instance metadata service (IMDS)".to_string(),
        }
    }
}

/// A source's failure, as the SDK carries it: `could not load AWS credentials from SOURCE;
/// CAUSE` (a source's words have no `;`).
#[derive(Debug)]
struct SourceFailed {
    source: String,
    cause: String,
}

impl fmt::Display for SourceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SOURCE_FAILED}{}; {}", self.source, self.cause)
    }
}

impl std::error::Error for SourceFailed {}

/// A source of the chain whose failure names it.
#[derive(Debug)]
struct Named<P> {
    source: Source,
    inner: P,
}

impl<P: ProvideCredentials> Named<P> {
    async fn credentials(&self) -> provider::Result {
        match self.inner.provide_credentials().await {
            Ok(c) => Ok(c),
            Err(not_loaded @ CredentialsError::CredentialsNotLoaded(_)) => {
                // Half of the environment's keys: refused, not passed over (the AWS CLI's
                // PartialCredentialsError), or the next source would act as someone else.
                if self.source == Source::Environment
                    && let Some(missing) = partial_keys(
                        std::env::var_os("AWS_ACCESS_KEY_ID").is_some(),
                        std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some(),
                    )
                {
                    return Err(self.failed(&format!("{missing} is not set")));
                }
                // A profile asked for by name that is not there is that source's failure, not
                // a source left unset.
                if let Source::Profile(named) = &self.source
                    && (named.is_some() || std::env::var_os("AWS_PROFILE").is_some())
                {
                    let cause = DisplayErrorContext(&not_loaded).to_string();
                    if cause.contains("not defined") || cause.contains("could not be found") {
                        return Err(self.failed(&cause));
                    }
                }
                Err(not_loaded)
            }
            Err(e) => {
                let cause = DisplayErrorContext(&e).to_string();
                Err(self.failed(&cause))
            }
        }
    }

    fn failed(&self, cause: &str) -> CredentialsError {
        CredentialsError::provider_error(SourceFailed {
            source: self.source.describe(cause),
            cause: plain(cause),
        })
    }
}

/// The SDK's chain of messages without its repetitions and generic links ("an error occurred
/// while loading credentials" said three times), on one line and at most 240 characters.
fn plain(cause: &str) -> String {
    const GENERIC: [&str; 4] = [
        "an error occurred while loading credentials",
        "failed to load credentials",
        "an unknown error occurred",
        "unhandled error",
    ];
    let mut parts: Vec<&str> = Vec::new();
    for part in cause.split(": ").map(str::trim) {
        // A Debug dump the SDK appends (`(ProviderError(ProviderError { source: … }))`).
        let part = match part.find(" (") {
            Some(at) if part[at..].contains('{') => &part[..at],
            _ if part.contains('{') => break,
            _ => part,
        };
        if part.is_empty() || GENERIC.contains(&part) || parts.contains(&part) {
            continue;
        }
        parts.push(part);
    }
    let text = parts.join(": ").replace(['\n', ';'], " ");
    match text.char_indices().nth(240) {
        None => text,
        Some((at, _)) => {
            let cut = text[..at].rfind(' ').unwrap_or(at);
            format!("{}…", &text[..cut])
        }
    }
}

/// Which key is missing when only one of the environment's two is set.
fn partial_keys(access_key: bool, secret_key: bool) -> Option<&'static str> {
    match (access_key, secret_key) {
        (true, false) => Some("AWS_SECRET_ACCESS_KEY"),
        (false, true) => Some("AWS_ACCESS_KEY_ID"),
        _ => None,
    }
}

impl<P: ProvideCredentials> ProvideCredentials for Named<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// The standard chain for `region` (`profile`: `--profile`), each source named.
pub(super) fn chain(
    profile: Option<&str>,
    region: &str,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> CredentialsProviderChain {
    use aws_config::ecs::EcsCredentialsProvider;
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_config::imds::credentials::ImdsCredentialsProvider;
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
    let conf = ProviderConfig::without_region()
        .with_http_client(http)
        .with_region(Some(Region::new(region.to_string())))
        .with_behavior_version(Some(BehaviorVersion::latest()));
    let mut profile_provider = ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(p) = profile {
        profile_provider = profile_provider.profile_name(p);
    }
    CredentialsProviderChain::first_try(
        "Environment",
        Named {
            source: Source::Environment,
            inner: EnvironmentVariableCredentialsProvider::new(),
        },
    )
    .or_else(
        "Profile",
        Named {
            source: Source::Profile(profile.map(str::to_string)),
            inner: profile_provider.build(),
        },
    )
    .or_else(
        "WebIdentityToken",
        Named {
            source: Source::WebIdentity,
            inner: WebIdentityTokenCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        },
    )
    .or_else(
        "EcsContainer",
        Named {
            source: Source::Container,
            inner: EcsCredentialsProvider::builder().configure(&conf).build(),
        },
    )
    .or_else(
        "Ec2InstanceMetadata",
        Named {
            source: Source::Imds,
            inner: ImdsCredentialsProvider::builder().configure(&conf).build(),
        },
    )
}

/// Credentials that always fail with `message` (a Region not enabled in the account: every
/// call there is refused before it is sent, with the reason).
#[derive(Debug)]
pub(super) struct Refused(pub String);

impl ProvideCredentials for Refused {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::provider_error(RegionRefused(
            self.0.clone(),
        ))))
    }
}

/// How [`Refused`]'s failure begins (classified by [`super::error`]).
pub(super) const REGION_REFUSED: &str = "refused before sending: ";

#[derive(Debug)]
struct RegionRefused(String);

impl fmt::Display for RegionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{REGION_REFUSED}{}", self.0)
    }
}

impl std::error::Error for RegionRefused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_said_without_the_sdks_repetitions_on_one_line() {
        assert_eq!(
            plain(
                "an error occurred while loading credentials: an error occurred while loading credentials: an error occurred while loading an access token: failed to read the token file; No such file"
            ),
            "an error occurred while loading an access token: failed to read the token file  No such file"
        );
        assert_eq!(
            plain(
                "failed to load the cached SSO token: ProviderError(ProviderError { source: FailedToLoadToken { source: IoError { what: \"read\" } } })"
            ),
            "failed to load the cached SSO token"
        );
        let long = "word ".repeat(100);
        let p = plain(&long);
        assert!(p.chars().count() <= 241 && p.ends_with('…'), "{p}");
    }

    #[test]
    fn one_environment_key_alone_is_a_partial_configuration() {
        assert_eq!(partial_keys(true, false), Some("AWS_SECRET_ACCESS_KEY"));
        assert_eq!(partial_keys(false, true), Some("AWS_ACCESS_KEY_ID"));
        assert_eq!(partial_keys(true, true), None);
        assert_eq!(partial_keys(false, false), None);
    }

    /// A source that fails says which source it was, in the words the error classifier looks
    /// for; one that is not set up is passed over, as the SDK's chain does.
    #[tokio::test]
    async fn a_failing_source_is_named_and_one_not_set_up_is_passed_over() {
        #[derive(Debug)]
        struct Fails(bool);
        impl ProvideCredentials for Fails {
            fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                future::ProvideCredentials::ready(Err(if self.0 {
                    CredentialsError::provider_error("connection refused")
                } else {
                    CredentialsError::not_loaded("not configured")
                }))
            }
        }
        let e = Named {
            source: Source::Imds,
            inner: Fails(true),
        }
        .credentials()
        .await
        .unwrap_err();
        let text = DisplayErrorContext(&e).to_string();
        assert!(
            text.contains(
                "could not load AWS credentials from the EC2 instance metadata service (IMDS); "
            ),
            "{text}"
        );
        let e = Named {
            source: Source::Imds,
            inner: Fails(false),
        }
        .credentials()
        .await
        .unwrap_err();
        assert!(matches!(e, CredentialsError::CredentialsNotLoaded(_)));
    }
}

/// A Region whose calls reject the token while another Region's accept it is checked against
/// its opt-in status (EC2 DescribeRegions): not enabled is said so, "probably" when the status
/// cannot be read, and an enabled Region leaves the rejection to the credentials (issue 57:
/// such a target was "AWS rejected the credentials … check the access keys").
#[cfg(test)]
mod region_tests {
    use crate::mock::Rules;
    use crate::signed::fake::Fake;
    use crate::{Aws, account};
    use aws_smithy_mocks::mock;
    use aws_smithy_types::error::ErrorMetadata;

    fn caller() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account("111122223333")
                .build()
        })
    }

    fn rejected() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sts::Client::get_caller_identity).then_error(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError::generic(
                ErrorMetadata::builder()
                    .code("InvalidClientTokenId")
                    .message("The security token included in the request is invalid.")
                    .build(),
            )
        })
    }

    /// EC2's DescribeRegions answer for `region` with `status`, or an error document.
    fn regions(region: &'static str, answer: Result<&'static str, &'static str>) -> Fake {
        Fake::new(move |r| {
            assert_eq!(r.param("Action"), Some("DescribeRegions"));
            assert_eq!(r.param("AllRegions"), Some("true"));
            assert_eq!(r.param("RegionName.1"), Some(region));
            match answer {
                Ok(status) => (
                    200,
                    format!(
                        "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><regionInfo><item><regionName>{region}</regionName><regionEndpoint>ec2.{region}.amazonaws.com</regionEndpoint><optInStatus>{status}</optInStatus></item></regionInfo></DescribeRegionsResponse>"
                    ),
                ),
                Err(code) => (
                    403,
                    format!(
                        "<Response><Errors><Error><Code>{code}</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>"
                    ),
                ),
            }
        })
    }

    async fn after_check(ec2: Fake) -> Result<String, crate::AwsError> {
        let (ok, bad) = (caller(), rejected());
        let mut west = Rules {
            sts: vec![&ok],
            ec2: Some(ec2),
            ..Default::default()
        }
        .clients();
        west.region = "eu-west-1".into();
        let mut east = Rules {
            sts: vec![&bad],
            ..Default::default()
        }
        .clients();
        east.region = "ap-east-1".into();
        let aws = Aws::with_clients([
            (("eu-west-1".to_string(), None), west),
            (("ap-east-1".to_string(), None), east),
        ]);
        aws.check_regions(&[
            ("eu-west-1".into(), None),
            ("ap-east-1".into(), None),
            ("eu-west-1".into(), None),
        ])
        .await;
        let east = aws.clients_as("ap-east-1", None).await;
        account::id(&east.sts).await
    }

    #[tokio::test]
    async fn mocked_a_region_not_opted_in_is_said_so_as_aws_documents() {
        let e = after_check(regions("ap-east-1", Ok("not-opted-in")))
            .await
            .unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Credentials);
        assert_eq!(
            e.message,
            "finding the account: Region ap-east-1 is not enabled in account 111122223333 (its opt-in status is not-opted-in), so AWS rejects every token there while eu-west-1 accepts them. Enable it (AWS console: Account, AWS Regions; or `aws account enable-region --region-name ap-east-1`), or deploy this target elsewhere"
        );
    }

    #[tokio::test]
    async fn mocked_a_status_that_cannot_be_read_is_probably_not_enabled() {
        let e = after_check(regions("ap-east-1", Err("UnauthorizedOperation")))
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "finding the account: Region ap-east-1 is probably not enabled in account 111122223333: AWS rejects every token there while eu-west-1 accepts them; its opt-in status could not be read (reading Region ap-east-1's opt-in status: access denied"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn mocked_an_enabled_region_leaves_the_rejection_to_the_credentials() {
        let e = after_check(regions("ap-east-1", Ok("opted-in")))
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("AWS rejected the credentials (InvalidClientTokenId)"),
            "{e}"
        );
    }
}
