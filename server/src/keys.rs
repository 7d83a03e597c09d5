//! The server's key file: which agent ids may connect, and the pre-shared key of each.
//!
//! ```text
//! # agent id or pattern (`*` matches any run of characters)   key
//! pi-kitchen   6b1f0c...e2
//! pi-*         0d9a77...41
//! ```
//!
//! An exact id wins over a pattern; among patterns the first that matches wins. Each agent
//! reads its own key from a file of its own (`vitals-agent --key-file`). The file holds
//! secrets, so the server refuses to start when anyone but its owner may read it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use agent_core::auth::{Key, MAX_KEY, MIN_KEY};

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Group or others have access to it.
    #[error("{path} may be read by others (mode {mode:03o}); chmod 600 it")]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// It is not a regular file: a FIFO would block the start-up for good, a device or
    /// `/proc` file could be endless.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The file.
        path: String,
    },
    /// It is larger than any key file: a mistake, not keys.
    #[error("{path} is larger than {MAX_FILE} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// A line is not `<id or pattern> <key>`.
    #[error("{path}:{line}: {why}")]
    Line {
        /// The file.
        path: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// No entries.
    #[error("{path} has no keys")]
    Empty {
        /// The file.
        path: String,
    },
}

/// The largest file of secrets read: a million bytes is ten thousand lines of keys.
pub const MAX_FILE: u64 = 1 << 20;

/// Reads a file of secrets, refusing one that group or others may access, and anything but a
/// regular file of at most [`MAX_FILE`] bytes.
///
/// # Errors
/// [`KeyFileError::Read`], [`KeyFileError::Exposed`], [`KeyFileError::NotAFile`] or
/// [`KeyFileError::TooLarge`].
pub fn read_secret(path: &Path) -> Result<String, KeyFileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let shown = path.display().to_string();
    let read_error = |source| KeyFileError::Read {
        path: shown.clone(),
        source,
    };
    // Opened without waiting (a FIFO with no writer would block `open` itself), then looked
    // at through the descriptor, so that what is checked is what is read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0))
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.file_type().is_file() {
        return Err(KeyFileError::NotAFile { path: shown });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed { path: shown, mode });
    }
    let mut text = String::new();
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > MAX_FILE {
        return Err(KeyFileError::TooLarge { path: shown });
    }
    Ok(text)
}

/// The agents that may connect and their keys.
#[derive(Debug, Default)]
pub struct Keys {
    entries: Vec<(String, Key)>,
}

impl Keys {
    /// Loads a key file.
    ///
    /// # Errors
    /// When it cannot be read, others may read it, a line is malformed, or it has no keys.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let text = read_secret(path)?;
        Self::parse(&text)
            .map_err(|(line, why)| KeyFileError::Line {
                path: path.display().to_string(),
                line,
                why,
            })?
            .nonempty(path)
    }

    fn nonempty(self, path: &Path) -> Result<Self, KeyFileError> {
        if self.entries.is_empty() {
            return Err(KeyFileError::Empty {
                path: path.display().to_string(),
            });
        }
        Ok(self)
    }

    /// Reads the text of a key file; an error names the line (from 1) and what is wrong.
    ///
    /// # Errors
    /// A line that is not `<id or pattern> <key>` with a valid pattern and key.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(pattern), Some(key), None) = (words.next(), words.next(), words.next())
            else {
                return Err((n + 1, "expected `<agent id or pattern> <key>`".into()));
            };
            let plain = pattern.replace('*', "a");
            if !agent_core::wire::valid_id(&plain) && pattern != "*" {
                return Err((
                    n + 1,
                    format!(
                        "`{pattern}` is not an agent id or pattern (letters, digits, `.`, `_`, `-`, `:`, `*`)"
                    ),
                ));
            }
            let key = Key::new(key.as_bytes())
                .map_err(|_| (n + 1, format!("a key must be {MIN_KEY} to {MAX_KEY} bytes")))?;
            entries.push((pattern.to_owned(), key));
        }
        Ok(Keys { entries })
    }

    /// The key of agent `id`, if the file lets it in.
    pub fn find(&self, id: &str) -> Option<&Key> {
        self.entries
            .iter()
            .find(|(pattern, _)| pattern == id)
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|(pattern, _)| pattern.contains('*') && matches(pattern, id))
            })
            .map(|(_, key)| key)
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let last = parts.pop();
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    match last {
        None => rest.is_empty(),
        Some(last) => rest.len() >= last.len() && rest.ends_with(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const FILE: &str = "\
# comment
pi-kitchen   kitchen-key-0123456789
pi-*         any-pi-key-0123456789
*-lab-*      lab-key-0123456789abc
";

    #[test]
    fn exact_ids_win_then_the_first_matching_pattern() {
        let keys = Keys::parse(FILE).unwrap();
        let kitchen = Keys::parse("x kitchen-key-0123456789").unwrap();
        let pi = Keys::parse("x any-pi-key-0123456789").unwrap();
        let lab = Keys::parse("x lab-key-0123456789abc").unwrap();
        let proof = |keys: &Keys, id: &str| {
            keys.find(id)
                .map(|k| agent_core::auth::proof(k, &[0; 32], "x", 0))
        };
        let of = |k: &Keys| proof(k, "x");
        assert_eq!(proof(&keys, "pi-kitchen"), of(&kitchen));
        assert_eq!(proof(&keys, "pi-garage"), of(&pi));
        assert_eq!(proof(&keys, "rack-lab-3"), of(&lab));
        assert_eq!(proof(&keys, "laptop"), None);
        assert_eq!(proof(&keys, "pi"), None, "`pi-*` needs the dash");
    }

    #[test]
    fn patterns_match_runs_of_characters() {
        assert!(matches("pi-*", "pi-"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(matches("a*c", "ac"));
        assert!(!matches("a*c", "ab"));
        assert!(!matches("*-x", "-"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(Keys::parse("pi short").unwrap_err().0, 1);
        assert_eq!(Keys::parse("\n\npi").unwrap_err().0, 3);
        assert_eq!(Keys::parse("p\"i key-0123456789abcdef").unwrap_err().0, 1);
        assert_eq!(Keys::parse("pi a-key-0123456789 extra").unwrap_err().0, 1);
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = std::env::temp_dir().join(format!("vitals-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        std::fs::write(&path, FILE).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keys::load(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Keys::load(&path).is_ok());
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(matches!(Keys::load(&path), Err(KeyFileError::Empty { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A FIFO as the key file hung the server at start, in `open`, waiting for a writer.
    #[test]
    fn a_key_file_that_is_a_fifo_a_directory_or_a_device_is_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("vitals-keys-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let fifo = dir.join("keys");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for path in [fifo.clone(), dir.clone(), "/dev/zero".into()] {
            let tx = tx.clone();
            std::thread::spawn(move || tx.send((path.clone(), Keys::load(&path))));
        }
        for _ in 0..3 {
            let (path, result) = rx
                .recv_timeout(std::time::Duration::from_secs(5))
                .expect("refused at once, not blocked");
            assert!(
                matches!(result, Err(KeyFileError::NotAFile { .. })),
                "{}: {result:?}",
                path.display()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_file_larger_than_any_key_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("vitals-keys-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        let line = "pi-kitchen kitchen-key-0123456789\n";
        let lines = usize::try_from(MAX_FILE).unwrap() / line.len() + 1;
        std::fs::write(&path, line.repeat(lines)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            Keys::load(&path),
            Err(KeyFileError::TooLarge { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
