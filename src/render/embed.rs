//! Files the user data carries, compressed: EC2 takes at most 16 KB of user data
//! ([`super::USER_DATA_LIMIT`]), and the reference worker alone is most of that in clear. A gzip
//! stream in base64 is about 40 % of the source, and its alphabet has no `$`, so
//! CloudFormation's Fn::Sub leaves it alone. The instance decodes it with coreutils' `base64 -d`
//! and `gunzip`, both in every Amazon Linux 2023 AMI.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

/// Characters per line of the encoded text, as `base64` writes them (`base64 -d` joins them).
const LINE: usize = 76;

/// `text` gzipped (best compression; the gzip header names no file and no time, so the same text
/// always gives the same bytes and an unchanged worker never changes the launch template) and
/// base64-encoded in lines of 76 characters.
pub(super) fn gzip_base64(text: &str) -> String {
    use base64::Engine as _;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(text.as_bytes());
    let bytes = gz.finish().unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for (i, chunk) in encoded.as_bytes().chunks(LINE).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Base64 is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn decode(s: &str) -> String {
        use base64::Engine as _;
        let joined: String = s.lines().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap();
        let mut text = String::new();
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn the_reference_worker_round_trips_and_shrinks_to_under_half() {
        let src = super::super::REFERENCE_WORKER;
        let packed = gzip_base64(src);
        assert_eq!(decode(&packed), src);
        assert!(
            packed.len() * 2 < src.len(),
            "{} of {}",
            packed.len(),
            src.len()
        );
        assert!(packed.lines().all(|l| l.len() <= LINE));
        assert!(!packed.contains('$'), "Fn::Sub would read ${{…}}");
    }

    #[test]
    fn the_same_text_gives_the_same_bytes() {
        assert_eq!(gzip_base64("print(1)\n"), gzip_base64("print(1)\n"));
        assert_ne!(gzip_base64("print(1)\n"), gzip_base64("print(2)\n"));
    }
}
