//! `workers.image`: a container image the EC2 workers run instead of the reference worker.

use serde::Serialize;

/// An image reference, read: where it is pulled from decides what the instance role needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Image {
    uri: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`: a private ECR registry, pulled with the
    /// instance role; `None` for a public registry.
    pub(crate) ecr: Option<Ecr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Ecr {
    pub(super) registry: String,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) repository: String,
}

/// Reads `registry/path[:tag][@sha256:digest]`; the error says what is allowed.
pub(crate) fn parse(uri: &str) -> Result<Image, String> {
    let bad = |why: &str| Err(format!("`{uri}` {why}"));
    if uri.is_empty() || uri.len() > 255 || uri.chars().any(|c| c.is_whitespace()) {
        return bad("is not an image reference");
    }
    let (name, _digest) = match uri.split_once('@') {
        Some((n, d)) => {
            let hex = d.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return bad("has a digest that is not sha256: and 64 hex digits");
            }
            (n, Some(d))
        }
        None => (uri, None),
    };
    // A tag follows the last `:` after the last `/` (a registry's port comes before a `/`).
    let (repo, tag) = match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, Some(t)),
        _ => (name, None),
    };
    if let Some(t) = tag
        && (t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
    {
        return bad("has a tag that is not 1 to 128 letters, digits, _ . -");
    }
    let path_ok = |p: &str| {
        !p.is_empty()
            && p.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            })
    };
    let Some((registry, path)) = repo.split_once('/') else {
        return bad(
            "names no registry: write it in full, such as public.ecr.aws/org/worker:1.4 or 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.4",
        );
    };
    if !registry.contains('.') || !path_ok(path) {
        return bad("is not REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] with a lowercase repository");
    }
    let labels: Vec<&str> = registry.split('.').collect();
    let ecr = match labels[..] {
        [account, "dkr", "ecr", region, "amazonaws", "com", ..] => Some((account, region)),
        _ => None,
    };
    Ok(Image {
        uri: uri.to_string(),
        ecr: match ecr {
            Some((account, region))
                if account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) =>
            {
                Some(Ecr {
                    registry: registry.to_string(),
                    account: account.to_string(),
                    region: region.to_string(),
                    repository: path.to_string(),
                })
            }
            Some(_) => return bad("is an ECR registry without a 12-digit account"),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ecr_public_and_digest_references_read() {
        let i = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/resizer:1.4").unwrap();
        let e = i.ecr.unwrap();
        assert_eq!(
            (e.account.as_str(), e.region.as_str(), e.repository.as_str()),
            ("123456789012", "eu-west-1", "team/resizer")
        );
        assert!(
            parse("public.ecr.aws/acme/worker:latest")
                .unwrap()
                .ecr
                .is_none()
        );
        let digest = format!("docker.io/library/python@sha256:{}", "a".repeat(64));
        assert!(parse(&digest).unwrap().ecr.is_none());
        assert!(parse("registry.example.com:5000/w").unwrap().ecr.is_none());
        for bad in [
            "worker:1.4",
            "python",
            "public.ecr.aws/Acme/worker",
            "public.ecr.aws/acme/worker:",
            "public.ecr.aws/acme/worker@sha256:abc",
            "12345.dkr.ecr.eu-west-1.amazonaws.com/w",
            "public.ecr.aws/acme/ worker",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
