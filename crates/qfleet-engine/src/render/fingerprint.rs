//! The template fingerprint: the SHA-256 of a rendered template, which qfleet deploys as a
//! parameter so that DescribeStacks alone says whether the deployed template is the rendered
//! one (deploy's fast no-op, drift's "template changed"; outputs leave it out).

use sha2::{Digest, Sha256};

/// Name of the template parameter that carries the template's fingerprint. DescribeStacks
/// returns parameter values, so one call tells whether the deployed template is the rendered
/// one, without downloading it.
pub const FINGERPRINT_PARAMETER: &str = "TemplateFingerprint";

pub fn fingerprint(template: &str) -> String {
    let digest = Sha256::digest(template.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_sha256() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
