//! Amazon ECR: the repositories of the worker images. Whether a tag was pushed, the login a
//! push needs, the images a repository holds and their deletion, and whether the registry scans
//! a repository's images on push. ECR speaks AWS JSON 1.1 (`json_api::ECR`); each call
//! is documented in the ECR API Reference
//! (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html>).

use super::Result;
use super::error::{AwsError, Kind};
use super::json_api::JsonApi;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::fmt;

#[cfg(test)]
use copy::{Copied, MANIFEST_TYPES, MAX_BLOB_BYTES, PART_BYTES, digest_of, ranges};
pub use copy::{Manifest, blobs, copy_image, manifest};

mod copy;

/// The error codes with which ECR says there is no such image, or no such repository.
const IMAGE_NOT_FOUND: &str = "ImageNotFoundException";
const REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";

/// DescribeImages' answer (the field read).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Described {
    image_details: Vec<serde_json::Value>,
}

/// Whether `repository` holds an image tagged `tag`: DescribeImages of that tag
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html>).
/// `false` when ECR answers `ImageNotFoundException` or `RepositoryNotFoundException`; any
/// other failure, or an answer naming no image, is an error, never "absent".
pub async fn tag_exists(ecr: &JsonApi, repository: &str, tag: &str) -> Result<bool> {
    let what = format!("looking for the tag {tag} in ECR repository {repository}");
    let input = json!({ "repositoryName": repository, "imageIds": [{ "imageTag": tag }] });
    match ecr.call::<Described>(&what, "DescribeImages", &input).await {
        Ok(d) if !d.image_details.is_empty() => Ok(true),
        Ok(_) => Err(AwsError::with_kind(
            format!("{what}: the answer names neither the image nor an error"),
            Kind::Malformed,
        )),
        Err(e) if matches!(e.code(), Some(IMAGE_NOT_FOUND | REPOSITORY_NOT_FOUND)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What `docker login` needs to push to the account's registry in the client's region.
#[derive(Clone, PartialEq)]
pub struct Login {
    /// The registry's host, `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub registry: String,
    /// `AWS`, as ECR issues it.
    pub username: String,
    pub password: String,
    /// When the password expires, in seconds since the epoch (12 hours after it was issued).
    pub expires_at: Option<f64>,
}

/// Without the password.
impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// GetAuthorizationToken's answer.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Authorizations {
    authorization_data: Vec<Authorization>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Authorization {
    authorization_token: Option<String>,
    expires_at: Option<f64>,
    proxy_endpoint: Option<String>,
}

/// Without the token (the answer's type is printed wherever the runtime debugs it).
impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("expires_at", &self.expires_at)
            .field("proxy_endpoint", &self.proxy_endpoint)
            .finish_non_exhaustive()
    }
}

/// The login to the default registry: GetAuthorizationToken, whose token is base64 of
/// `user:password` and whose proxy endpoint is `https://` and the registry's host
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html>,
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_AuthorizationData.html>).
/// An answer without authorization data, endpoint or a token that decodes is an error.
pub async fn login(ecr: &JsonApi) -> Result<Login> {
    let what = "getting an ECR login";
    let out: Authorizations = ecr.call(what, "GetAuthorizationToken", &json!({})).await?;
    let malformed = |why: &str| AwsError::with_kind(format!("{what}: {why}"), Kind::Malformed);
    let Some(data) = out.authorization_data.into_iter().next() else {
        return Err(malformed("the answer has no authorization data"));
    };
    let registry = data
        .proxy_endpoint
        .as_deref()
        .map(|e| {
            e.strip_prefix("https://")
                .unwrap_or(e)
                .trim_end_matches('/')
        })
        .filter(|r| !r.is_empty())
        .ok_or_else(|| malformed("the answer names no registry endpoint"))?
        .to_string();
    // The decoder's own words are left out: they could quote the token.
    let (username, password) = data
        .authorization_token
        .as_deref()
        .and_then(decode_token)
        .ok_or_else(|| malformed("the authorization token is not base64 of user:password"))?;
    Ok(Login {
        registry,
        username,
        password,
        expires_at: data.expires_at,
    })
}

/// `user:password` from its base64.
fn decode_token(token: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| (user.to_string(), password.to_string()))
}

/// One image of a repository: its digest and every tag it carries (none when untagged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    pub digest: String,
    pub tags: Vec<String>,
}

/// A page of ListImages: one entry per digest and tag (one without a tag when untagged).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Listed {
    image_ids: Vec<ListedId>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ListedId {
    image_digest: Option<String>,
    image_tag: Option<String>,
}

/// The images of `repository`, every page of ListImages
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImages.html>), each
/// digest once with all its tags, in the order ECR lists them. `None` when the repository does
/// not exist.
pub async fn images(ecr: &JsonApi, repository: &str) -> Result<Option<Vec<ImageId>>> {
    let what = format!("listing the images of ECR repository {repository}");
    let mut out: Vec<ImageId> = Vec::new();
    // Where each digest is in `out` (a repository holds up to 20,000 images).
    let mut at_of: HashMap<String, usize> = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({ "repositoryName": repository, "maxResults": 1000 });
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page: Listed = match ecr.call(&what, "ListImages", &input).await {
            Ok(p) => p,
            Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => return Ok(None),
            Err(e) => return Err(e),
        };
        for id in page.image_ids {
            let Some(digest) = id.image_digest.filter(|d| !d.is_empty()) else {
                return Err(AwsError::with_kind(
                    format!("{what}: the answer lists an image without its digest"),
                    Kind::Malformed,
                ));
            };
            let at = *at_of.entry(digest.clone()).or_insert_with(|| {
                out.push(ImageId {
                    digest,
                    tags: Vec::new(),
                });
                out.len() - 1
            });
            if let Some(tag) = id.image_tag.filter(|t| !t.is_empty())
                && !out[at].tags.contains(&tag)
            {
                out[at].tags.push(tag);
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(Some(out));
        }
    }
}

/// The most image ids BatchDeleteImage takes at once.
const DELETE_BATCH: usize = 100;

/// BatchDeleteImage's answer (the field read).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Deleted {
    failures: Vec<ImageFailure>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ImageFailure {
    image_id: Option<ListedId>,
    failure_code: Option<String>,
    failure_reason: Option<String>,
}

/// Deletes the images `digests` of `repository` (with all their tags): BatchDeleteImage, 100
/// at a time
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchDeleteImage.html>).
/// An image already gone (failure code `ImageNotFound`) or a repository already gone is
/// deleted; any other failure of an image is an error naming its digest and ECR's reason,
/// once every batch was sent.
pub async fn delete_images(ecr: &JsonApi, repository: &str, digests: &[String]) -> Result<()> {
    let what = format!("deleting images of ECR repository {repository}");
    let mut failed: Vec<String> = Vec::new();
    for batch in digests.chunks(DELETE_BATCH) {
        let ids: Vec<serde_json::Value> =
            batch.iter().map(|d| json!({ "imageDigest": d })).collect();
        let input = json!({ "repositoryName": repository, "imageIds": ids });
        let out: Deleted = match ecr.call(&what, "BatchDeleteImage", &input).await {
            Ok(o) => o,
            Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => return Ok(()),
            Err(e) => return Err(e),
        };
        for f in out.failures {
            if f.failure_code.as_deref() == Some("ImageNotFound") {
                continue;
            }
            let digest = f
                .image_id
                .and_then(|i| i.image_digest.or(i.image_tag))
                .unwrap_or_else(|| "an image".into());
            failed.push(format!(
                "{digest}: {} ({})",
                f.failure_code
                    .as_deref()
                    .unwrap_or("a failure without a code"),
                f.failure_reason.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    match failed.len() {
        0 => Ok(()),
        n => Err(AwsError::new(format!(
            "{what}: {n} could not be deleted: {}",
            failed.join("; ")
        ))),
    }
}

/// Whether ECR scans a repository's images when they are pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOnPush {
    Off,
    /// `scan_type`: `BASIC` or `ENHANCED` (Amazon Inspector).
    On {
        scan_type: String,
    },
}

/// GetRegistryScanningConfiguration's answer.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Scanning {
    scanning_configuration: Option<ScanningConfiguration>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ScanningConfiguration {
    scan_type: Option<String>,
    rules: Vec<ScanningRule>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ScanningRule {
    scan_frequency: String,
    repository_filters: Vec<RepositoryFilter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RepositoryFilter {
    filter: String,
    filter_type: String,
}

/// Whether the registry scans the images pushed to `repository`: its scanning configuration
/// (GetRegistryScanningConfiguration,
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetRegistryScanningConfiguration.html>)
/// has a rule of frequency `SCAN_ON_PUSH` or `CONTINUOUS_SCAN` (enhanced scanning scans a
/// pushed image either way) with a `WILDCARD` filter matching the repository's name
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html>). A
/// repository no such rule matches is scanned manually (basic) or not at all (enhanced): off.
pub async fn scan_on_push(ecr: &JsonApi, repository: &str) -> Result<ScanOnPush> {
    let what = format!("reading the ECR registry's scanning configuration for {repository}");
    let out: Scanning = ecr
        .call(&what, "GetRegistryScanningConfiguration", &json!({}))
        .await?;
    let Some(conf) = out.scanning_configuration else {
        return Ok(ScanOnPush::Off);
    };
    let scanned = conf.rules.iter().any(|r| {
        matches!(
            r.scan_frequency.as_str(),
            "SCAN_ON_PUSH" | "CONTINUOUS_SCAN"
        ) && r
            .repository_filters
            .iter()
            .any(|f| f.filter_type == "WILDCARD" && wildcard_matches(&f.filter, repository))
    });
    if !scanned {
        return Ok(ScanOnPush::Off);
    }
    // BASIC is the registry's scan type unless set otherwise.
    Ok(ScanOnPush::On {
        scan_type: conf.scan_type.unwrap_or_else(|| "BASIC".into()),
    })
}

/// Whether a scanning filter matches a repository name, as ECR's user guide says
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-filters.html>): a
/// filter without `*` matches every name that contains it; with `*`, the whole name must
/// match, each `*` standing for zero or more characters.
fn wildcard_matches(filter: &str, name: &str) -> bool {
    if !filter.contains('*') {
        return name.contains(filter);
    }
    let mut parts = filter.split('*');
    let first = parts.next().unwrap_or_default();
    let mut middle: Vec<&str> = parts.collect();
    let last = middle.pop().unwrap_or_default();
    let Some(rest) = name.strip_prefix(first) else {
        return false;
    };
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };
    // Each part between two `*` at its first place from the left leaves the most room for the
    // next ones.
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// A repository as DescribeRepositories answers it (the fields read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Repository {
    pub repository_arn: String,
    pub repository_name: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Repositories {
    repositories: Vec<Repository>,
}

/// The repository named `name`, `None` when ECR answers `RepositoryNotFoundException`
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html>).
pub async fn repository(ecr: &JsonApi, name: &str) -> Result<Option<Repository>> {
    let what = format!("reading ECR repository {name}");
    let input = json!({ "repositoryNames": [name] });
    match ecr
        .call::<Repositories>(&what, "DescribeRepositories", &input)
        .await
    {
        Ok(r) => match r
            .repositories
            .into_iter()
            .find(|r| r.repository_name == name)
        {
            Some(r) => Ok(Some(r)),
            None => Err(AwsError::with_kind(
                format!("{what}: the answer names neither the repository nor an error"),
                Kind::Malformed,
            )),
        },
        Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the repository `name` with tags that never move (IMMUTABLE), encrypted with
/// `kms_key` (else AES-256, ECR's default) and tagged `tags`
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html>).
pub async fn create_repository(
    ecr: &JsonApi,
    name: &str,
    kms_key: Option<&str>,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Repository> {
    let what = format!("creating ECR repository {name}");
    let encryption = match kms_key {
        Some(k) => json!({ "encryptionType": "KMS", "kmsKey": k }),
        None => json!({ "encryptionType": "AES256" }),
    };
    let tags: Vec<serde_json::Value> = tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    let input = json!({
        "repositoryName": name,
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfiguration": encryption,
        "tags": tags,
    });
    #[derive(Debug, Deserialize)]
    struct Created {
        repository: Repository,
    }
    let c: Created = ecr.call(&what, "CreateRepository", &input).await?;
    Ok(c.repository)
}

/// The repository's tags
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListTagsForResource.html>).
pub async fn tags(ecr: &JsonApi, arn: &str) -> Result<std::collections::BTreeMap<String, String>> {
    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Tag {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Value")]
        value: String,
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Tags {
        tags: Vec<Tag>,
    }
    let what = format!("reading the tags of {arn}");
    let t: Tags = ecr
        .call(&what, "ListTagsForResource", &json!({ "resourceArn": arn }))
        .await?;
    Ok(t.tags.into_iter().map(|t| (t.key, t.value)).collect())
}

/// Sets the repository's lifecycle policy to `text`
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutLifecyclePolicy.html>).
pub async fn put_lifecycle_policy(ecr: &JsonApi, name: &str, text: &str) -> Result<()> {
    let what = format!("setting the lifecycle policy of ECR repository {name}");
    let input = json!({ "repositoryName": name, "lifecyclePolicyText": text });
    ecr.call::<serde_json::Value>(&what, "PutLifecyclePolicy", &input)
        .await
        .map(|_| ())
}

/// Sets the repository's policy to `text`
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html>).
pub async fn set_repository_policy(ecr: &JsonApi, name: &str, text: &str) -> Result<()> {
    let what = format!("setting the policy of ECR repository {name}");
    let input = json!({ "repositoryName": name, "policyText": text });
    ecr.call::<serde_json::Value>(&what, "SetRepositoryPolicy", &input)
        .await
        .map(|_| ())
}

/// Deletes the repository `name`, which must hold no image (no `force`: ECR refuses a
/// repository that still does, `RepositoryNotEmptyException`); `false` when it was gone
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html>).
pub async fn delete_repository(ecr: &JsonApi, name: &str) -> Result<bool> {
    let what = format!("deleting ECR repository {name}");
    let input = json!({ "repositoryName": name });
    match ecr
        .call::<serde_json::Value>(&what, "DeleteRepository", &input)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
