//! An image copied from one repository of the account's registry to another by digest: the
//! same manifest bytes, so the same digest, and the same blobs, never rebuilt or recompressed.
//!
//! As the ECR API Reference documents each step
//! (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html>):
//! - BatchGetImage answers the manifest as stored when its type is among `acceptedMediaTypes`
//!   (Docker's v2 and the OCI image manifest; schema 1 is never asked for, which ECR would
//!   convert to); its digest is the SHA-256 of those bytes, checked here;
//! - PutImage needs every blob the manifest names in the target repository
//!   (`LayersNotFoundException`), so BatchCheckLayerAvailability finds the ones it lacks;
//! - each lacking blob is read from the source with GetDownloadUrlForLayer (a presigned URL,
//!   read a range at a time) and written with InitiateLayerUpload, UploadLayerPart and
//!   CompleteLayerUpload, which checks the digest. ECR's quotas for these calls ("Amazon ECR
//!   service quotas", <https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html>):
//!   parts of 5 to 10 MiB (the last may be smaller), at most 4,200 of them, so a layer of at
//!   most [`MAX_BLOB_BYTES`] (42,000 MiB) can be written this way, below the 52,000 MiB a push
//!   may make;
//! - PutImage with the manifest's own bytes, type and digest (`imageDigest`: ECR refuses a
//!   manifest whose digest differs) tags it in the target.
//!
//! Memory: one part ([`PART_BYTES`], 10 MiB) and its base64 at a time, whatever the layer's size.
//! A blob whose upload fails part-way (a part ECR took but whose answer was lost, then retried,
//! is answered `InvalidLayerPartException`) is written once more from its start, with a new
//! upload.
//! Blob mounting (a registry setting, "Blob mounting in Amazon ECR") is not relied on.

use super::REPOSITORY_NOT_FOUND;
use crate::Result;
use crate::error::{AwsError, Kind};
use crate::json_api::JsonApi;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The manifest types qfleet's builds are pushed as, and the only ones a copy takes.
pub(super) const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The bytes of a layer read and written at once: ECR's largest part (its quota "Maximum layer
/// part size", 10 MiB), at least its 5 MiB smallest for a part that is not the last.
pub(super) const PART_BYTES: u64 = 10 * 1024 * 1024;

/// The largest blob a copy writes: 4,200 parts (ECR's quota "Layer parts") of [`PART_BYTES`].
pub(super) const MAX_BLOB_BYTES: u64 = 4_200 * PART_BYTES;

/// The most layer digests BatchCheckLayerAvailability takes at once.
const CHECK_BATCH: usize = 100;

/// An image's manifest as its repository holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:` and 64 hex digits: the SHA-256 of `text`.
    pub digest: String,
    pub media_type: String,
    pub text: String,
}

/// A blob a manifest names: its config or a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
}

/// What a copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Copied {
    /// Blobs the manifest names.
    pub blobs: usize,
    /// Of them, those the target lacked and this copy wrote.
    pub copied: usize,
    /// Their bytes.
    pub bytes: u64,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Got {
    images: Vec<GotImage>,
    failures: Vec<GotFailure>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GotImage {
    image_id: Option<GotId>,
    image_manifest: Option<String>,
    image_manifest_media_type: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GotId {
    image_digest: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GotFailure {
    failure_code: Option<String>,
    failure_reason: Option<String>,
}

/// `sha256:` and the hex of the SHA-256 of `bytes`.
pub(super) fn digest_of(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// The manifest of `repository`'s image `tag` (BatchGetImage,
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html>);
/// `None` when the repository or the tag is not there (`RepositoryNotFoundException`, the
/// failure code `ImageNotFound`). Any other failure, a manifest of another type, or one whose
/// bytes are not its digest, is an error.
pub async fn manifest(ecr: &JsonApi, repository: &str, tag: &str) -> Result<Option<Manifest>> {
    let what = format!("reading the manifest of {repository}:{tag}");
    let input = json!({
        "repositoryName": repository,
        "imageIds": [{ "imageTag": tag }],
        "acceptedMediaTypes": MANIFEST_TYPES,
    });
    let got: Got = match ecr.call(&what, "BatchGetImage", &input).await {
        Ok(g) => g,
        Err(e) if e.code() == Some(REPOSITORY_NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e),
    };
    let malformed = |why: String| AwsError::with_kind(format!("{what}: {why}"), Kind::Malformed);
    if let Some(f) = got.failures.first() {
        return match f.failure_code.as_deref() {
            Some("ImageNotFound") => Ok(None),
            code => Err(AwsError::new(format!(
                "{what}: {} ({})",
                code.unwrap_or("a failure without a code"),
                f.failure_reason.as_deref().unwrap_or("no reason given")
            ))),
        };
    }
    let Some(image) = got.images.into_iter().next() else {
        return Err(malformed(
            "the answer names neither the image nor a failure".into(),
        ));
    };
    let (Some(text), Some(digest)) = (
        image.image_manifest,
        image.image_id.and_then(|i| i.image_digest),
    ) else {
        return Err(malformed("the answer has no manifest or no digest".into()));
    };
    if digest_of(text.as_bytes()) != digest {
        return Err(malformed(format!(
            "the manifest's bytes are not its digest {digest}"
        )));
    }
    let declared: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let media_type = image
        .image_manifest_media_type
        .or_else(|| declared["mediaType"].as_str().map(str::to_string))
        .unwrap_or_default();
    if !MANIFEST_TYPES.contains(&media_type.as_str()) {
        return Err(AwsError::new(format!(
            "{what}: a manifest of type `{media_type}`: an image qfleet copies is one it built, of type {}",
            MANIFEST_TYPES.join(" or ")
        )));
    }
    Ok(Some(Manifest {
        digest,
        media_type,
        text,
    }))
}

/// The blobs a manifest names, its config first: each a `sha256:` digest with a size above 0
/// (the OCI image manifest's descriptors, as Docker's v2 has them) and at most
/// [`MAX_BLOB_BYTES`].
pub fn blobs(m: &Manifest) -> std::result::Result<Vec<Blob>, String> {
    #[derive(Deserialize)]
    struct Descriptor {
        digest: String,
        size: u64,
    }
    #[derive(Deserialize)]
    struct Doc {
        config: Descriptor,
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    let doc: Doc = serde_json::from_str(&m.text)
        .map_err(|e| format!("the manifest {} does not read: {e}", m.digest))?;
    let mut out: Vec<Blob> = Vec::new();
    for d in std::iter::once(doc.config).chain(doc.layers) {
        if !is_digest(&d.digest) || d.size == 0 {
            return Err(format!(
                "the manifest {} names a blob `{}` of {} bytes: not a sha256 digest with a size",
                m.digest, d.digest, d.size
            ));
        }
        if d.size > MAX_BLOB_BYTES {
            return Err(format!(
                "its layer {} is {} MiB: ECR's API writes a layer in at most 4,200 parts of 10 MiB, {} MiB",
                d.digest,
                d.size.div_ceil(1024 * 1024),
                MAX_BLOB_BYTES / (1024 * 1024)
            ));
        }
        if !out.iter().any(|b| b.digest == d.digest) {
            out.push(Blob {
                digest: d.digest,
                size: d.size,
            });
        }
    }
    Ok(out)
}

/// The byte ranges (`first`, `last`, both included) a blob of `size` bytes is read and
/// written in, `part` bytes each but the last.
pub(super) fn ranges(size: u64, part: u64) -> Vec<(u64, u64)> {
    let part = part.max(1);
    (0..size.div_ceil(part))
        .map(|i| (i * part, ((i + 1) * part).min(size) - 1))
        .collect()
}

/// The blobs of `blobs` that `repository` lacks: BatchCheckLayerAvailability
/// (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchCheckLayerAvailability.html>),
/// 100 at a time. A blob is there only when the answer says `AVAILABLE`; a failure of code
/// `MissingLayerDigest`, or a blob the answer leaves out, is one to write (writing a blob that
/// is there is answered `LayerAlreadyExistsException`, which is taken as done).
async fn lacking<'b>(ecr: &JsonApi, repository: &str, blobs: &'b [Blob]) -> Result<Vec<&'b Blob>> {
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Checked {
        layers: Vec<Layer>,
        failures: Vec<LayerFailure>,
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Layer {
        layer_digest: Option<String>,
        layer_availability: Option<String>,
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct LayerFailure {
        layer_digest: Option<String>,
        failure_code: Option<String>,
        failure_reason: Option<String>,
    }
    let what = format!("checking which layers ECR repository {repository} holds");
    let mut there: Vec<String> = Vec::new();
    for batch in blobs.chunks(CHECK_BATCH) {
        let digests: Vec<&str> = batch.iter().map(|b| b.digest.as_str()).collect();
        let input = json!({ "repositoryName": repository, "layerDigests": digests });
        let out: Checked = ecr
            .call(&what, "BatchCheckLayerAvailability", &input)
            .await?;
        for f in &out.failures {
            if f.failure_code.as_deref() != Some("MissingLayerDigest") {
                return Err(AwsError::new(format!(
                    "{what}: {}: {} ({})",
                    f.layer_digest.as_deref().unwrap_or("a layer"),
                    f.failure_code
                        .as_deref()
                        .unwrap_or("a failure without a code"),
                    f.failure_reason.as_deref().unwrap_or("no reason given")
                )));
            }
        }
        there.extend(
            out.layers
                .into_iter()
                .filter(|l| l.layer_availability.as_deref() == Some("AVAILABLE"))
                .filter_map(|l| l.layer_digest),
        );
    }
    Ok(blobs
        .iter()
        .filter(|b| !there.contains(&b.digest))
        .collect())
}

/// The presigned URL of `blob` in `repository` (GetDownloadUrlForLayer,
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html>).
async fn download_url(ecr: &JsonApi, repository: &str, blob: &Blob) -> Result<String> {
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Url {
        download_url: Option<String>,
    }
    let what = format!("reading the layer {} of {repository}", blob.digest);
    let input = json!({ "repositoryName": repository, "layerDigest": blob.digest });
    let u: Url = ecr.call(&what, "GetDownloadUrlForLayer", &input).await?;
    u.download_url.filter(|u| !u.is_empty()).ok_or_else(|| {
        AwsError::with_kind(
            format!("{what}: the answer has no download URL"),
            Kind::Malformed,
        )
    })
}

/// Writes `blob` of `from` into `to`, a part at a time (see the module's steps). A range whose
/// read fails is read once more with a new URL (a presigned URL expires); an upload that fails
/// is made once more from the blob's start.
async fn copy_blob(
    ecr: &JsonApi,
    (from, to): (&str, &str),
    blob: &Blob,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<()> {
    let mut url = download_url(ecr, from, blob).await?;
    match upload_blob(ecr, (from, to), blob, &mut url, progress).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tracing::debug!(target: "qfleet::aws", "writing {} again from its start: {first}", blob.digest);
            upload_blob(ecr, (from, to), blob, &mut url, progress).await
        }
    }
}

/// One upload of `blob` into `to`: InitiateLayerUpload, its parts, CompleteLayerUpload.
async fn upload_blob(
    ecr: &JsonApi,
    (from, to): (&str, &str),
    blob: &Blob,
    url: &mut String,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<()> {
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Initiated {
        upload_id: Option<String>,
    }
    use base64::Engine as _;
    let what = format!("writing the layer {} into {to}", blob.digest);
    let started: Initiated = ecr
        .call(
            &what,
            "InitiateLayerUpload",
            &json!({ "repositoryName": to }),
        )
        .await?;
    let Some(upload) = started.upload_id.filter(|u| !u.is_empty()) else {
        return Err(AwsError::with_kind(
            format!("{what}: the answer has no upload id"),
            Kind::Malformed,
        ));
    };
    let reading = format!("reading the layer {} of {from}", blob.digest);
    for (first, last) in ranges(blob.size, PART_BYTES) {
        let bytes = match ecr.get_range(&reading, url, first, last).await {
            Ok(b) => b,
            Err(_) => {
                *url = download_url(ecr, from, blob).await?;
                ecr.get_range(&reading, url, first, last).await?
            }
        };
        let input = json!({
            "repositoryName": to,
            "uploadId": upload,
            "partFirstByte": first,
            "partLastByte": last,
            "layerPartBlob": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        drop(bytes);
        ecr.call::<serde_json::Value>(&what, "UploadLayerPart", &input)
            .await?;
        progress(format!(
            "{}: {} of {} bytes",
            short(&blob.digest),
            last + 1,
            blob.size
        ));
    }
    let input = json!({ "repositoryName": to, "uploadId": upload, "layerDigests": [blob.digest] });
    match ecr
        .call::<serde_json::Value>(&what, "CompleteLayerUpload", &input)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("LayerAlreadyExistsException") => Ok(()),
        Err(e) => Err(e),
    }
}

/// `sha256:0123456789ab`: a digest as a progress line names it.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

/// Copies the image `m` of `from` into `to` as `tag`: the blobs `to` lacks, then the manifest
/// by its digest (PutImage,
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html>). `to`
/// holding that image under `tag` already (`ImageAlreadyExistsException`) is a copy done; `to`
/// holding `tag` as another image is an error (qfleet's repositories' tags never move).
pub async fn copy_image(
    ecr: &JsonApi,
    (from, to): (&str, &str),
    tag: &str,
    m: &Manifest,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<Copied> {
    let what = format!("copying {from}:{tag} ({}) into {to}", m.digest);
    let blobs = blobs(m).map_err(|why| AwsError::new(format!("{what}: {why}")))?;
    let missing = lacking(ecr, to, &blobs).await?;
    let mut done = Copied {
        blobs: blobs.len(),
        ..Copied::default()
    };
    for blob in missing {
        copy_blob(ecr, (from, to), blob, progress).await?;
        done.copied += 1;
        done.bytes += blob.size;
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Put {
        image: Option<GotImage>,
    }
    let input = json!({
        "repositoryName": to,
        "imageManifest": m.text,
        "imageManifestMediaType": m.media_type,
        "imageTag": tag,
        "imageDigest": m.digest,
    });
    match ecr.call::<Put>(&what, "PutImage", &input).await {
        Ok(p) => {
            let answered = p
                .image
                .and_then(|i| i.image_id)
                .and_then(|i| i.image_digest);
            match answered {
                Some(d) if d != m.digest => Err(AwsError::with_kind(
                    format!("{what}: ECR tagged it as {d}, not {}", m.digest),
                    Kind::Malformed,
                )),
                _ => Ok(done),
            }
        }
        Err(e) if e.code() == Some("ImageAlreadyExistsException") => Ok(done),
        Err(e) => Err(e),
    }
}
