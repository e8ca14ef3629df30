//! A file of real messages (`--messages FILE`): one JSON value per line,
//! carried as schemaless values by the codecs whose bytes say what they
//! hold (json, msgpack, cbor). Both processes read the file; the child
//! checks it read the same bytes.

use super::{register, Origin, OwnShape};
use crate::record::{Complexity, ShapeName};
use serde::{Deserialize, Serialize};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// The file a shape's messages come from, as the child is told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    /// Absolute, so the child finds it whatever its directory.
    pub path: PathBuf,
    /// A hash of its bytes: the child refuses a file that changed since.
    pub digest: u64,
    pub messages: usize,
}

/// Why a messages file cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MessagesError {
    #[error("--messages {path}: cannot read it: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("--messages {path}: no messages in it (expected one JSON value per line)")]
    Empty { path: String },
    #[error("--messages {path}: line {line} is not JSON: {message}")]
    NotJson {
        path: String,
        line: usize,
        message: String,
    },
    #[error("--messages {path}: {message}")]
    Other { path: String, message: String },
}

/// The shape name a file's messages go by: its stem, with anything a shape
/// name cannot hold turned into `-` (`lsp traffic.jsonl` is
/// `lsp-traffic`), `msg-` in front when it does not start with a letter,
/// and `-messages` after a built-in shape's name (`log.jsonl` is
/// `log-messages`).
pub fn shape_name(path: &Path) -> Result<ShapeName, String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(30)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name = format!("msg-{name}");
    }
    if Complexity::builtin(&name).is_some() {
        name.push_str("-messages");
    }
    ShapeName::new(&name)
}

/// Reads `path`'s messages: one JSON value per line, blank lines skipped.
pub fn read(path: &Path) -> Result<(Vec<serde_json::Value>, u64), MessagesError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| MessagesError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        MessagesError::NotJson {
            path: shown.clone(),
            line,
            message: "it is not UTF-8 text".to_string(),
        }
    })?;
    let mut messages = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).map_err(|e| MessagesError::NotJson {
            path: shown.clone(),
            line: index + 1,
            message: e.to_string(),
        })?;
        messages.push(value);
    }
    if messages.is_empty() {
        return Err(MessagesError::Empty { path: shown });
    }
    Ok((messages, digest(&bytes)))
}

fn digest(bytes: &[u8]) -> u64 {
    // SipHash with fixed keys: the same in both processes of one build.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

/// Reads `path` and makes its messages a shape of this process (the parent
/// at start-up).
pub fn load(path: &Path) -> Result<Complexity, MessagesError> {
    let other = |message: String| MessagesError::Other {
        path: path.display().to_string(),
        message,
    };
    let absolute = std::path::absolute(path).map_err(|e| other(e.to_string()))?;
    let name = shape_name(&absolute).map_err(other)?;
    let (messages, digest) = read(&absolute)?;
    let file = MessagesFile {
        path: absolute,
        digest,
        messages: messages.len(),
    };
    install(name, file, messages).map_err(other)
}

/// Makes the file the parent named a shape of the child, after checking
/// that the child reads what the parent read.
pub fn load_as_told(name: Complexity, told: &MessagesFile) -> Result<(), String> {
    let Complexity::Own(name) = name else {
        return Err(format!("a messages file for the built-in shape '{name}'"));
    };
    let (messages, digest) = read(&told.path).map_err(|e| e.to_string())?;
    if digest != told.digest || messages.len() != told.messages {
        return Err(format!(
            "{} changed after the parent read it",
            told.path.display()
        ));
    }
    install(name, told.clone(), messages).map(drop)
}

fn install(
    name: ShapeName,
    file: MessagesFile,
    messages: Vec<serde_json::Value>,
) -> Result<Complexity, String> {
    // One reason for every codec left out, so a matrix says it once.
    let shape = OwnShape::new(name, Origin::File(file), messages, true, |_| {
        "a file's messages have no Rust type to read them back with; only json, msgpack and cbor, whose bytes say what they hold, carry them".to_string()
    })?;
    register(shape)?;
    Ok(Complexity::Own(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .suffix(".jsonl")
            .tempfile()
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn names_come_from_the_stem() {
        let name = |p: &str| shape_name(Path::new(p)).map(|n| n.as_str());
        assert_eq!(name("/x/lsp traffic.jsonl"), Ok("lsp-traffic"));
        assert_eq!(name("log.jsonl"), Ok("log-messages"));
        assert_eq!(name("2026-12.jsonl"), Ok("msg-2026-12"));
    }

    #[test]
    fn bad_files_say_which_line() {
        let err = read(file_of("{\"a\":1}\n\n[1,2\n").path()).unwrap_err();
        assert!(
            matches!(err, MessagesError::NotJson { line: 3, .. }),
            "{err}"
        );
        let err = read(file_of("\n  \n").path()).unwrap_err();
        assert!(matches!(err, MessagesError::Empty { .. }), "{err}");
        let err = read(Path::new("/no/such/file.jsonl")).unwrap_err();
        assert!(matches!(err, MessagesError::Unreadable { .. }), "{err}");
        let (messages, _) = read(file_of("1\n\"two\"\n{\"three\":[3]}\n").path()).unwrap();
        assert_eq!(messages.len(), 3);
    }
}
