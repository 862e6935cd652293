//! A worker image built from source (`workers.image.build`, `workers.lambda.image.build`),
//! known by its tag before anything is built: `src-` and 24 hex digits of the SHA-256 of the
//! build's inputs (the Dockerfile, every file of the context its `.dockerignore` keeps, with
//! its path and mode, the stage, the build arguments and the platform). The same inputs give
//! the same tag, so `deploy` builds and pushes only when the environment's repository lacks it,
//! and a change to any input is a new tag, which the fleet's template names: a new version.
//!
//! `.dockerignore` as Docker reads it
//! (<https://docs.docker.com/build/concepts/context/#dockerignore-files>, and moby's
//! patternmatcher): one pattern per line, `#` starts a comment, a leading `/` is dropped, `*`
//! and `?` do not cross `/`, `**` matches any number of directories, `!` makes an exception,
//! and the last line that matches a path (or one of its parent directories) decides. Braces are
//! literal, and `[!x]` is a class holding `!`. A file the digest covers by mistake only costs a
//! rebuild; none that the engine sends is ever left out, so where the engine may read another
//! ignore file (Docker's `<Dockerfile>.dockerignore`, Podman's `.containerignore`), or a pattern
//! is one the matcher here does not read as Docker does (`**` inside a name, a leading `..`), the
//! digest covers more. Every file and directory counts with its full mode, as the engine sends
//! them.

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The prefix of every tag qfleet gives an image it builds.
pub const TAG_PREFIX: &str = "src-";

/// Hex digits of the digest in a tag.
const TAG_DIGITS: usize = 24;

/// Whether `tag` is one qfleet gives (`src-` and 24 lowercase hex digits).
pub fn is_built_tag(tag: &str) -> bool {
    tag.strip_prefix(TAG_PREFIX).is_some_and(|h| {
        h.len() == TAG_DIGITS && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// What the stack file says about one build, its paths resolved against the stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInputs<'a> {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub target: Option<&'a str>,
    pub args: Vec<(&'a str, &'a str)>,
    /// `linux/amd64` or `linux/arm64`.
    pub platform: &'a str,
}

/// One image to build: where from, how, and its tag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageBuild {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub target: Option<String>,
    pub args: Vec<(String, String)>,
    pub platform: String,
    /// `src-` and 24 hex digits.
    pub tag: String,
    /// Files of the context the digest covers (what the engine is sent).
    pub files: usize,
    /// Their bytes, all told ([`CONTEXT_WARNING_BYTES`]).
    #[serde(skip)]
    pub bytes: u64,
    /// The context was not read ([`ImageBuild::unread`]): `tag` is empty.
    #[serde(skip)]
    pub unread: bool,
}

impl ImageBuild {
    /// A build known from the stack file alone, its context never read: for a command that
    /// neither builds nor renders. Its tag is empty, and nothing may name the image by it.
    pub fn unread(inputs: BuildInputs<'_>) -> ImageBuild {
        ImageBuild {
            context: inputs.context,
            dockerfile: inputs.dockerfile,
            target: inputs.target.map(str::to_string),
            args: inputs
                .args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            platform: inputs.platform.to_string(),
            tag: String::new(),
            files: 0,
            bytes: 0,
            unread: true,
        }
    }
}

/// A build context larger than this (500 MiB) is warned about: every command that renders or
/// builds reads all of it to know the image's tag, and the engine is sent all of it.
pub const CONTEXT_WARNING_BYTES: u64 = 500 * 1024 * 1024;

/// Adds `name`, the length of `bytes` and `bytes` to `h`: one field of the digest.
fn field(h: &mut Sha256, name: &str, bytes: &[u8]) {
    h.update(name.as_bytes());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The field `bytes` of a file's contents, read as a stream in blocks of 64 KiB (memory stays
/// bounded whatever the file's size), and its length. The same digest as [`field`] over the
/// whole file: its length comes first, from its metadata, and a file whose length changes
/// while it is read is an error (the image would not be the one tagged).
fn file_field(h: &mut Sha256, path: &Path) -> Result<u64, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(cannot)?;
    let len = f.metadata().map_err(cannot)?.len();
    h.update(b"bytes");
    h.update(len.to_le_bytes());
    let mut buf = vec![0u8; 64 * 1024];
    let mut read: u64 = 0;
    loop {
        let n = f.read(&mut buf).map_err(cannot)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        if read > len {
            break;
        }
        h.update(&buf[..n]);
    }
    if read != len {
        return Err(format!(
            "{} changed while it was read ({len} bytes, then {read}): build again once it is written",
            path.display()
        ));
    }
    Ok(len)
}

/// A build's inputs read and digested; the error says which input could not be read.
pub fn read(inputs: BuildInputs<'_>) -> Result<ImageBuild, String> {
    if !inputs.context.is_dir() {
        return Err(format!(
            "the build context {} is not a directory",
            inputs.context.display()
        ));
    }
    let dockerfile = std::fs::read(&inputs.dockerfile)
        .map_err(|e| format!("cannot read {}: {e}", inputs.dockerfile.display()))?;
    let ignore = match other_ignore_file(&inputs) {
        // The engine may read that one instead: every file counts.
        Some(_) => Ignore::default(),
        None => match std::fs::read_to_string(inputs.context.join(".dockerignore")) {
            Ok(text) => Ignore::parse(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
            Err(e) => return Err(format!("cannot read the context's .dockerignore: {e}")),
        },
    };
    let mut files = Vec::new();
    walk(&inputs.context, "", &ignore, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let h = &mut h;
    field(h, "qfleet-image-v1", b"");
    field(h, "dockerfile", &dockerfile);
    field(h, "target", inputs.target.unwrap_or_default().as_bytes());
    field(h, "platform", inputs.platform.as_bytes());
    let mut args: Vec<(String, String)> = inputs
        .args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    args.sort();
    for (k, v) in &args {
        field(h, "arg", k.as_bytes());
        field(h, "value", v.as_bytes());
    }
    let mut total: u64 = 0;
    for f in &files {
        field(h, "path", f.path.as_bytes());
        field(h, "kind", f.kind.as_bytes());
        field(h, "mode", &f.mode.to_le_bytes());
        match f.kind {
            "link" => {
                let target = std::fs::read_link(&f.on_disk)
                    .map_err(|e| format!("cannot read {}: {e}", f.on_disk.display()))?;
                field(h, "bytes", target.to_string_lossy().as_bytes());
            }
            "dir" => field(h, "bytes", b""),
            _ => total += file_field(h, &f.on_disk)?,
        }
    }
    let digest: String = std::mem::take(h)
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(ImageBuild {
        context: inputs.context,
        dockerfile: inputs.dockerfile,
        target: inputs.target.map(str::to_string),
        args,
        platform: inputs.platform.to_string(),
        tag: format!("{TAG_PREFIX}{}", &digest[..TAG_DIGITS]),
        files: files.len(),
        bytes: total,
        unread: false,
    })
}

/// An ignore file the engine may read instead of the context's `.dockerignore`: Docker's
/// `<Dockerfile>.dockerignore` beside the Dockerfile
/// (<https://docs.docker.com/build/concepts/context/#filename-and-location>), Podman's
/// `.containerignore` (and its Dockerfile-named one).
fn other_ignore_file(inputs: &BuildInputs<'_>) -> Option<PathBuf> {
    let beside = inputs.dockerfile.parent()?;
    let name = inputs
        .dockerfile
        .file_name()?
        .to_string_lossy()
        .into_owned();
    [
        beside.join(format!("{name}.dockerignore")),
        beside.join(format!("{name}.containerignore")),
        inputs.context.join(".containerignore"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct File {
    /// `/`-separated, relative to the context.
    path: String,
    /// `file`, `dir` or `link`.
    kind: &'static str,
    /// Permission bits (and setuid, setgid, sticky), as the engine sends them.
    mode: u32,
    on_disk: PathBuf,
}

fn walk(dir: &Path, prefix: &str, ignore: &Ignore, out: &mut Vec<File>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = format!("{prefix}{}", e.file_name().to_string_lossy());
        let on_disk = e.path();
        let t = e
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", on_disk.display()))?;
        let excluded = ignore.excludes(&path);
        let mode = mode(&on_disk);
        if t.is_dir() {
            if !excluded {
                out.push(File {
                    path: path.clone(),
                    kind: "dir",
                    mode,
                    on_disk: on_disk.clone(),
                });
            }
            // An excluded directory is entered only when an exception may keep something in it.
            if !excluded || ignore.has_exceptions {
                walk(&on_disk, &format!("{path}/"), ignore, out)?;
            }
        } else if !excluded {
            let kind = if t.is_symlink() { "link" } else { "file" };
            out.push(File {
                path,
                kind,
                mode,
                on_disk,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> u32 {
    0
}

/// A `.dockerignore`'s patterns, in order.
#[derive(Debug, Default)]
struct Ignore {
    rules: Vec<(GlobMatcher, bool)>,
    has_exceptions: bool,
}

impl Ignore {
    fn parse(text: &str) -> Result<Ignore, String> {
        let mut ignore = Ignore::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            // A pattern this matcher would not read as Docker does matches nothing here: the
            // digest then covers more, never less.
            let Some(pattern) = clean(pattern) else {
                continue;
            };
            if pattern.is_empty()
                || pattern
                    .split('/')
                    .any(|seg| seg.contains("**") && seg != "**")
            {
                continue;
            }
            // Docker's braces are literal, and `[!x]` holds `!` (Go's classes negate with `^`).
            let pattern = pattern
                .replace('{', "\\{")
                .replace('}', "\\}")
                .replace("[!", "[\\!");
            let glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!(".dockerignore line {}: {e}", n + 1))?;
            ignore.has_exceptions |= exception;
            ignore.rules.push((glob.compile_matcher(), exception));
        }
        Ok(ignore)
    }

    /// Whether the last pattern matching `path` or one of its parents excludes it.
    fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (glob, exception) in &self.rules {
            let mut prefixes = path
                .match_indices('/')
                .map(|(i, _)| &path[..i])
                .chain([path]);
            if prefixes.any(|p| glob.is_match(p)) {
                excluded = !exception;
            }
        }
        excluded
    }
}

/// A pattern as Go's `filepath.Clean` leaves it, without a leading or trailing `/`; `None` for
/// one that climbs out of the context (`../x`), which matches nothing in it.
fn clean(pattern: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in pattern.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn inputs(dir: &Path) -> BuildInputs<'static> {
        BuildInputs {
            context: dir.to_path_buf(),
            dockerfile: dir.join("Dockerfile"),
            target: None,
            args: vec![],
            platform: "linux/amd64",
        }
    }

    fn tag(dir: &Path) -> String {
        read(inputs(dir)).unwrap().tag
    }

    /// The digest is the one every earlier version gave (an image deployed before is not
    /// built again): each file's bytes read as a stream are the same field as read whole. A
    /// file of 300,000 bytes spans several blocks.
    #[cfg(unix)]
    #[test]
    fn a_files_bytes_read_as_a_stream_keep_the_tag_of_the_bytes_read_whole() {
        use std::os::unix::fs::PermissionsExt;
        let big: String = (0..300_000u32)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let dir = context(&[
            ("Dockerfile", "FROM scratch\n"),
            ("app/main.py", "print(1)\n"),
            ("data/big.txt", &big),
        ]);
        for (p, mode) in [
            ("", 0o755),
            ("Dockerfile", 0o644),
            ("app", 0o755),
            ("app/main.py", 0o644),
            ("data", 0o755),
            ("data/big.txt", 0o644),
        ] {
            std::fs::set_permissions(dir.path().join(p), std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
        let b = read(inputs(dir.path())).unwrap();
        // Computed with the whole-file reading this replaced.
        assert_eq!(b.tag, "src-da63a6932fab30019a6f853f");
        assert_eq!(b.bytes, 300_000 + 9 + 13);
        assert_eq!(b.files, 5);
    }

    #[test]
    fn the_same_inputs_give_the_same_tag_and_any_change_a_new_one() {
        let a = context(&[
            ("Dockerfile", "FROM scratch\n"),
            ("app/main.py", "print(1)\n"),
        ]);
        let b = context(&[
            ("Dockerfile", "FROM scratch\n"),
            ("app/main.py", "print(1)\n"),
        ]);
        let t = tag(a.path());
        assert!(is_built_tag(&t), "{t}");
        assert_eq!(t, tag(b.path()), "the directory's own path is not an input");
        std::fs::write(b.path().join("app/main.py"), "print(2)\n").unwrap();
        assert_ne!(t, tag(b.path()), "a file's bytes");
        let mut i = inputs(a.path());
        i.target = Some("runtime");
        assert_ne!(t, read(i).unwrap().tag, "the stage");
        let mut i = inputs(a.path());
        i.args = vec![("PYTHON", "3.12")];
        assert_ne!(t, read(i).unwrap().tag, "a build argument");
        let mut i = inputs(a.path());
        i.platform = "linux/arm64";
        assert_ne!(t, read(i).unwrap().tag, "the platform");
        std::fs::rename(a.path().join("app/main.py"), a.path().join("app/run.py")).unwrap();
        assert_ne!(t, tag(a.path()), "a file's path");
    }

    #[test]
    fn dockerignore_leaves_files_out_of_the_digest_as_docker_does() {
        let files = [
            ("Dockerfile", "FROM scratch\n"),
            (
                ".dockerignore",
                "# build output\n/target\n**/*.pyc\n.git\ndocs/*\n!docs/keep.md\n",
            ),
            ("app.py", "x"),
        ];
        let a = context(&files);
        // The directories are there first: a new directory is an input of its own.
        for d in [
            "target/debug",
            "src/deep",
            "src/target",
            ".git",
            "docs",
            "docs2",
        ] {
            std::fs::create_dir_all(a.path().join(d)).unwrap();
        }
        let t = tag(a.path());
        let changed = |path: &str| {
            let p = a.path().join(path);
            std::fs::write(&p, format!("{path} changed")).unwrap();
            tag(a.path())
        };
        // Excluded: at the top, anywhere below (**), a directory's contents, one level (docs/*).
        assert_eq!(t, changed("target/debug/app"));
        assert_eq!(t, changed("src/deep/x.pyc"));
        assert_eq!(t, changed(".git/HEAD"));
        assert_eq!(t, changed("docs/notes.md"));
        // Kept: an exception, a pattern that is not anchored elsewhere, the ignore file itself.
        assert_ne!(t, changed("docs/keep.md"));
        let t = tag(a.path());
        assert_ne!(
            t,
            changed("src/target/x"),
            "/target is the context's own only"
        );
        let t = tag(a.path());
        assert_ne!(t, changed("docs2/x"), "docs/* does not match docs2");
    }

    #[test]
    fn the_last_matching_line_decides() {
        let ig = Ignore::parse("*.md\n!README*.md\nREADME-secret.md\n").unwrap();
        assert!(ig.excludes("CHANGES.md"));
        assert!(!ig.excludes("README.md"));
        assert!(ig.excludes("README-secret.md"));
        assert!(!ig.excludes("sub/CHANGES.md"), "* does not cross /");
        let ig = Ignore::parse("./build/\n").unwrap();
        assert!(ig.excludes("build/out.o"));
    }

    #[test]
    fn patterns_docker_reads_otherwise_never_leave_a_file_out() {
        // Braces are literal to Docker; `[!x]` is a class holding `!` and `x`.
        let ig = Ignore::parse("*.{py,txt}\n[!x].md\n").unwrap();
        assert!(!ig.excludes("app.py"), "Docker sends app.py");
        assert!(ig.excludes("a.{py,txt}"));
        assert!(ig.excludes("!.md") && ig.excludes("x.md") && !ig.excludes("y.md"));
        // `**` inside a name and a pattern out of the context match nothing here.
        let ig = Ignore::parse("a**b\n../app.py\n").unwrap();
        assert!(!ig.excludes("axb") && !ig.excludes("app.py"));
    }

    #[test]
    fn another_ignore_file_the_engine_may_read_makes_every_file_count() {
        let a = context(&[
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "notes\n"),
            ("notes", "1"),
        ]);
        let t = tag(a.path());
        std::fs::write(a.path().join("notes"), "2").unwrap();
        assert_eq!(t, tag(a.path()), ".dockerignore alone is followed");
        std::fs::write(a.path().join("Dockerfile.dockerignore"), "other\n").unwrap();
        let t = tag(a.path());
        std::fs::write(a.path().join("notes"), "3").unwrap();
        assert_ne!(
            t,
            tag(a.path()),
            "Docker reads Dockerfile.dockerignore instead"
        );
    }

    #[cfg(unix)]
    #[test]
    fn modes_and_empty_directories_are_inputs() {
        use std::os::unix::fs::PermissionsExt;
        let a = context(&[("Dockerfile", "FROM scratch\n"), ("run.sh", "echo\n")]);
        let t = tag(a.path());
        let f = a.path().join("run.sh");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_ne!(t, tag(a.path()), "a mode the engine sends");
        let t = tag(a.path());
        std::fs::create_dir(a.path().join("data")).unwrap();
        assert_ne!(t, tag(a.path()), "an empty directory COPY creates");
    }

    #[test]
    fn a_missing_context_or_dockerfile_is_said() {
        let a = context(&[("app.py", "x")]);
        let e = read(inputs(a.path())).unwrap_err();
        assert!(e.contains("Dockerfile"), "{e}");
        let mut i = inputs(a.path());
        i.context = a.path().join("nowhere");
        assert!(read(i).unwrap_err().contains("is not a directory"));
        assert!(!is_built_tag("latest") && !is_built_tag("src-ABC"));
    }
}
