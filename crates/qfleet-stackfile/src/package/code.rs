//! The Lambda function's code: the stack file's `workers.lambda.code` directory or `.zip`
//! file, or the reference handler. One source file is carried inline (the template's
//! `ZipFile`, which CloudFormation writes as `index.py` or `index.js`), so such deploys need no
//! code bucket and a code change is a template change like any other. A directory with
//! dependencies or several files, or a `.zip` file, is a deployment package
//! ([`crate::package`]) in qfleet's code bucket.
//!
//! It reads files and knows nothing of stack files: config hands it the settings of
//! `workers.lambda` and turns a [`CodeError`] into an error located in the stack file.

use crate::package;
use std::path::Path;

/// The reference handler (`crates/qfleet-runtime/python/qfleet_handler.py`), used when the
/// stack file names no code.
pub const REFERENCE_HANDLER: &str = qfleet_runtime::HANDLER;

/// What the template carries for the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCode {
    /// The source text.
    pub text: String,
    /// The handler as Lambda sees it: `index.<function>` inline, the stack file's
    /// `module.function` in a package.
    pub handler: String,
    /// The deployment package, when the code is not carried inline (`text` is then empty).
    pub package: Option<package::Package>,
}

/// The settings of `workers.lambda` the code is read by.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The directory the stack file is in: `code` is relative to it.
    pub base: &'a Path,
    /// `workers.lambda.code`, when the file names code.
    pub code: Option<&'a Path>,
    /// `workers.lambda.handler`: `module.function`.
    pub handler: &'a str,
    /// `workers.lambda.runtime`.
    pub runtime: &'a str,
}

/// Why the code cannot be read, and the setting (a dotted path of the stack file) to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeError {
    pub field: &'static str,
    pub message: String,
}

/// The function's code, or an error naming `workers.lambda.code` (or `.handler`).
pub fn read(l: Settings) -> Result<FunctionCode, CodeError> {
    let (module, function) = l.handler.split_once('.').unwrap_or((l.handler, "handler"));
    let function = function.to_string();
    let handler = format!("index.{function}");
    let Some(rel) = l.code else {
        if l.runtime.starts_with("python") && l.handler == "qfleet_handler.handler" {
            return Ok(FunctionCode {
                text: REFERENCE_HANDLER.to_string(),
                handler,
                package: None,
            });
        }
        return Err(CodeError {
            field: "workers.lambda.handler",
            message: format!(
                "`{}` needs workers.lambda.code: the reference handler is qfleet_handler.handler on a python runtime",
                l.handler
            ),
        });
    };
    let fail = |message: String| CodeError {
        field: "workers.lambda.code",
        message,
    };
    let dir = l.base.join(rel);
    let python = l.runtime.starts_with("python");
    if rel.extension().is_some_and(|e| e == "zip") {
        let p = package::zip_file(&dir, module, python).map_err(fail)?;
        return Ok(packaged(l, p));
    }
    if let Some(p) = as_package(&dir, module, l.runtime).map_err(fail)? {
        return Ok(packaged(l, p));
    }
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| fail(format!("cannot read the directory {}: {e}", dir.display())))?;
    let ext = if l.runtime.starts_with("python") {
        "py"
    } else {
        "js"
    };
    let mut sources = Vec::new();
    for e in entries {
        let p = e
            .map_err(|e| fail(format!("cannot read {}: {e}", dir.display())))?
            .path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "__pycache__" || n == "node_modules");
        if hidden {
            continue;
        }
        let is_test = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n.starts_with("test_") || n == "conftest.py" || n == "__init__.py" || n.ends_with(".md")
        });
        if p.is_file() && !is_test {
            sources.push(p);
        }
    }
    let wanted = dir.join(format!("{module}.{ext}"));
    if !sources.contains(&wanted) {
        return Err(fail(format!(
            "{} has no {module}.{ext}, the module of workers.lambda.handler `{}`",
            dir.display(),
            l.handler
        )));
    }
    let text = std::fs::read_to_string(&wanted)
        .map_err(|e| fail(format!("cannot read {}: {e}", wanted.display())))?;
    if ext == "js"
        && let Some((n, line)) = es_module_line(&text)
    {
        return Err(fail(format!(
            "{}:{n}: `{}` is ES module syntax; CloudFormation writes inline Node.js code as index.js, which Lambda loads as CommonJS: use require() and exports.{function} = … (or module.exports)",
            wanted.display(),
            line.trim()
        )));
    }
    Ok(FunctionCode {
        text,
        handler,
        package: None,
    })
}

fn packaged(l: Settings, p: package::Package) -> FunctionCode {
    FunctionCode {
        text: String::new(),
        handler: l.handler.to_string(),
        package: Some(p),
    }
}

/// The directory as a deployment package, when it is one: it declares dependencies
/// (`requirements.txt` on a Python runtime, `package.json` on Node.js) or holds more than one
/// packaged file. `None`: one source file, carried inline as before.
fn as_package(dir: &Path, module: &str, runtime: &str) -> Result<Option<package::Package>, String> {
    let python = runtime.starts_with("python");
    let installer = if python && dir.join("requirements.txt").is_file() {
        Some(package::Installer::Pip {
            python_version: runtime.trim_start_matches("python").to_string(),
        })
    } else if !python && dir.join("package.json").is_file() {
        Some(package::Installer::Npm {
            lockfile: dir.join("package-lock.json").is_file(),
        })
    } else {
        None
    };
    let files = package::files_of(dir)?;
    if installer.is_none() && files.len() <= 1 {
        return Ok(None);
    }
    let modules = package::module_files(module, python);
    if !files.iter().any(|(inside, _)| modules.contains(inside)) {
        return Err(format!(
            "{} has no {}, the module of the handler `{module}`",
            dir.display(),
            modules.join(" or ")
        ));
    }
    package::directory(dir, files, runtime, installer).map(Some)
}

/// The first line (1-based) of `text` that is an ES module `import` or `export` statement,
/// which a CommonJS `index.js` cannot hold (Lambda's Node.js handler page: a `.js` file is a
/// CommonJS module unless its package.json says `"type": "module"`, and inline code has none;
/// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html).
fn es_module_line(text: &str) -> Option<(usize, &str)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let t = line.trim_start();
        // `import(…)` (a dynamic import) is allowed in CommonJS; an import statement is not.
        let import = t.starts_with("import ") || t.starts_with("import{");
        let export = t.starts_with("export ") || t.starts_with("export{");
        (import || export).then_some((i + 1, line))
    })
}
