//! A file of `/proc` (or `/sys`) kept open and read again from its start each sample
//! (`pread`), as netclass keeps its sysfs files: one system call or two, where opening it, reading it to the
//! end and closing it take four, and a walk of its path.

use std::borrow::Cow;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, Mode, OFlags, openat};

use super::read::{LINE, PAGE, read_all, text};

/// A file of `/proc` or `/sys` that a collector reads whole every sample.
///
/// The file is opened at the first read and kept open. A read that fails closes it, and the
/// file is opened again at once, and read once more: an entry removed and made again (a
/// module unloaded and loaded) is then read as a new file would be. One that cannot be opened
/// is tried again each sample, as when it was opened every sample.
///
/// Each file kept open holds a page or two of the kernel's memory (its `seq_file` buffer).
#[derive(Debug)]
pub(super) struct ProcFile {
    /// Where it is.
    path: PathBuf,
    /// It, open; `None` until it opens.
    file: Option<OwnedFd>,
    /// How long a line of it may be: a read shorter than asked for is the end of the file
    /// only when the next line could have fitted in the kernel's page (see [`read_all`]).
    longest_line: usize,
}

impl ProcFile {
    /// The file at `path`, whose lines are shorter than [`LINE`]: all of `/proc`'s that the
    /// agent reads but the mounts' and `/proc/schedstat`'s, and sysfs attributes (which the
    /// kernel gives whole).
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            longest_line: LINE,
        }
    }

    /// The file at `path`, whose lines may be as long as a page: `/proc/schedstat`'s list a
    /// CPU mask of up to 8,192 CPUs each.
    pub(super) fn with_long_lines(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            longest_line: PAGE,
        }
    }

    /// Where it is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads it whole into `buf` and returns it as text, or `None` if it cannot be opened or
    /// read.
    ///
    /// Bytes that are not UTF-8 become U+FFFD, as [`read_text`](super::read::read_text) has
    /// them.
    pub(super) fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> Option<Cow<'b, str>> {
        buf.clear();
        let opened_now = self.file.is_none();
        if opened_now {
            self.file = Some(self.open()?);
        }
        let file = self.file.as_ref()?;
        if read_all(file, buf, self.longest_line).is_err() {
            buf.clear();
            self.file = None;
            if opened_now {
                return None;
            }
            let file = self.file.insert(self.open()?);
            if read_all(file, buf, self.longest_line).is_err() {
                self.file = None;
                return None;
            }
        }
        Some(text(buf))
    }

    fn open(&self) -> Option<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        openat(CWD, &self.path, flags, Mode::empty()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A file read again is read from its start and gives what it holds now; one that cannot
    /// be read is opened again at once; one that cannot be opened gives nothing.
    #[test]
    fn a_kept_file_is_read_again_from_its_start() {
        let dir = std::env::temp_dir().join(format!("vitals-proc-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stat");
        let mut file = ProcFile::new(path.clone());
        let mut buf = Vec::new();
        assert_eq!(file.read(&mut buf), None, "not there yet");

        fs::write(&path, "cpu0 1 2 3 4\n").unwrap();
        assert_eq!(file.read(&mut buf).as_deref(), Some("cpu0 1 2 3 4\n"));
        fs::write(&path, "cpu0 5\n").unwrap();
        assert_eq!(file.read(&mut buf).as_deref(), Some("cpu0 5\n"));

        // Longer than a page, and than the buffer was: read to its end.
        let long = "x".repeat(3 * PAGE + 17);
        fs::write(&path, &long).unwrap();
        assert_eq!(file.read(&mut buf).as_deref(), Some(long.as_str()));

        // A descriptor whose reads fail, as those of a removed /proc entry do.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        file.file = Some(openat(CWD, &dir, flags, Mode::empty()).unwrap());
        fs::write(&path, "again\n").unwrap();
        assert_eq!(file.read(&mut buf).as_deref(), Some("again\n"));

        let mut directory = ProcFile::new(dir.clone());
        assert_eq!(directory.read(&mut buf), None);
        assert!(directory.file.is_none(), "given up, to be opened next time");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// `/proc/kallsyms` is a `seq_file` of short lines that a read gives a page of at most,
    /// so most reads are shorter than asked for without being its end: read whole all the
    /// same, as a plain read has it (its lines do not change while no module loads).
    #[test]
    fn a_seq_file_of_many_pages_is_read_whole() {
        let Ok(plain) = fs::read("/proc/kallsyms") else {
            return;
        };
        let mut file = ProcFile::new(PathBuf::from("/proc/kallsyms"));
        let mut buf = Vec::new();
        let agree = (0..5).any(|_| {
            file.read(&mut buf);
            buf == plain
        });
        assert!(agree, "{} bytes read, {} plainly", buf.len(), plain.len());
    }
}
