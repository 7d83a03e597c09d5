//! The agent's key file: the key that proves its id to a server that asks (`--key-file`).

use std::io::Read as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use agent_core::auth::Key;

/// The most bytes read of a key file: a key is at most 128 bytes of text.
const MAX_KEY_FILE: u64 = 4096;

/// Reads the agent's key from `path`, refusing anything but a regular file, and a file that
/// group or others may access.
///
/// # Errors
/// A message naming `path`: it cannot be read, is not a regular file, may be read by others,
/// or does not hold a key.
pub fn read_key(path: &str) -> Result<Key, String> {
    // Opened without waiting: opening a FIFO for reading would wait for a writer (forever, at
    // start-up), and a device may do anything. What it is, is asked of the file opened.
    let nonblock = i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "{path} is not a regular file (a key file holds the key as text)"
        ));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{path} may be read by others (mode {mode:03o}); chmod 600 it"
        ));
    }
    let mut text = Vec::new();
    file.take(MAX_KEY_FILE)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    Key::new(&text).map_err(|e| format!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// A directory of the test's own under the temp dir, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "vitals-agent-{name}-{}-{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `read_key(path)`, or a failure if it does not answer within five seconds.
    fn read_key_in_time(path: &std::path::Path) -> Result<Key, String> {
        let path = path.to_str().unwrap().to_owned();
        let (tell, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tell.send(read_key(&path).map_err(|e| e.to_string()));
        });
        answer
            .recv_timeout(Duration::from_secs(5))
            .expect("read_key did not return: it waits on the file")
    }

    #[test]
    fn a_key_file_that_is_not_a_regular_file_is_refused_at_once() {
        let scratch = Scratch::new("key");
        let fifo = scratch.0.join("key.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let dir = scratch.0.join("key.dir");
        std::fs::create_dir(&dir).unwrap();
        for path in [
            fifo.as_path(),
            dir.as_path(),
            std::path::Path::new("/dev/zero"),
        ] {
            match read_key_in_time(path) {
                Err(e) => assert!(
                    e.contains("is not a regular file"),
                    "{}: {e}",
                    path.display()
                ),
                Ok(_) => panic!("{} accepted", path.display()),
            }
        }
        // A regular file is read, through a symbolic link too.
        use std::os::unix::fs::PermissionsExt;
        let file = scratch.0.join("agent.key");
        std::fs::write(&file, "a key of at least sixteen bytes").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = scratch.0.join("link.key");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(read_key_in_time(&file).is_ok());
        assert!(read_key_in_time(&link).is_ok());
    }
}
