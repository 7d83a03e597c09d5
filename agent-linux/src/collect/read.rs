//! Reading the files of `/proc` and `/sys` into buffers that outlive a sample, so that a
//! sample allocates little.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::buffer::spare_capacity;
use rustix::fs::{CWD, Mode, OFlags, openat};
use rustix::io::{Errno, pread};

/// Reads `path` into `buf` and returns it as text, or `None` if it cannot be read.
///
/// Bytes that are not UTF-8 become U+FFFD rather than losing the whole file: only a mount point
/// or a name can hold them, and the line that does then fails on its own.
pub(super) fn read_text<'b>(buf: &'b mut Vec<u8>, path: &Path) -> Option<Cow<'b, str>> {
    buf.clear();
    let file = openat(CWD, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    // Any file: read until a read gives nothing. Not `read_to_end`, whose `statx` and `lseek`
    // (for a size that /proc and /sys do not give) were two of its six system calls.
    read_all(&file, buf, PAGE).ok()?;
    Some(text(buf))
}

/// `bytes` as text, bytes that are not UTF-8 as U+FFFD.
///
/// `str::from_utf8` checks ASCII a word at a time where `String::from_utf8_lossy` goes byte by
/// byte: 2.4% of the agent's CPU (`perf record` of collect + series in a loop), for files
/// that are ASCII but for a rare name.
pub(super) fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The least the kernel's buffer of a `seq_file` holds: a page (4 KiB; more on some arm64
/// kernels).
pub(super) const PAGE: usize = 4096;

/// The longest line of a file read with [`ProcFile::new`](super::proc_file::ProcFile::new): the longest of those files' lines
/// (`/proc/diskstats`', at most about 450 bytes) with room to spare.
pub(super) const LINE: usize = 1024;

/// Reads `file` from its start to its end into `buf`.
///
/// A `seq_file` (most of `/proc`) answers a read with as many whole lines as fit in what was
/// asked for and in its own buffer, which holds a page at least; sysctl's files (`/proc/sys`)
/// answer whole. So a read shorter than asked for that left room for a line of
/// `longest_line` in a page is the end of the file, and the read that would have found nothing
/// is spared. That read made some files walk again to find their end: `/proc/net/udp` and
/// `udp6` walk the whole UDP hash table (16,384 slots on the development VM), and that second
/// walk was 4% of the agent's CPU (`perf record -e cpu-clock -g` of `Collector::collect` and
/// `series` in a loop).
pub(super) fn read_all(
    file: &OwnedFd,
    buf: &mut Vec<u8>,
    longest_line: usize,
) -> Result<(), Errno> {
    loop {
        // A page at least, so that a read gives all the lines the kernel has ready.
        buf.reserve(PAGE);
        let (asked, offset) = (buf.capacity() - buf.len(), buf.len() as u64);
        let read = match pread(file, spare_capacity(buf), offset) {
            Ok(read) => read,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        if read == 0 || (read < asked && read + longest_line <= PAGE) {
            return Ok(());
        }
    }
}

/// The text of `bytes` as node_exporter labels it: each run of bytes that is not UTF-8 one
/// U+FFFD (Go's `strings.ToValidUTF8`), white space around it trimmed (`bytes.TrimSpace`).
pub(super) fn go_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut after_invalid = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(chunk.valid());
            after_invalid = false;
        }
        if !chunk.invalid().is_empty() && !after_invalid {
            out.push('\u{fffd}');
            after_invalid = true;
        }
    }
    out.trim().to_owned()
}

/// The names in directory `dir`, sorted, as Go's `os.ReadDir` lists them; `None` when it
/// cannot be listed whole.
pub(super) fn sorted_names(dir: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .ok()?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .ok()?;
    names.sort();
    Some(names)
}

/// The names of the regular files in `dir`, sorted, by each entry's own type (Go's
/// `DirEntry.Type`: a symbolic link is not followed); `None` when it cannot be listed whole.
pub(super) fn regular_files(dir: &Path) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        if entry.file_type().ok()?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Some(names)
}

/// The whole file at `path` as an unsigned number, white space trimmed (Go's
/// `strconv.ParseUint(strings.TrimSpace(text), 10, 64)`, procfs' `ReadUintFromFile`).
pub(super) fn read_uint(buf: &mut Vec<u8>, path: &Path) -> Option<u64> {
    parse_uint(read_text(buf, path)?.as_bytes())
}

/// Sets `path` to `base` joined with `parts`, reusing its allocation.
pub(super) fn join_into(path: &mut PathBuf, base: &Path, parts: &[&str]) {
    path.as_mut_os_string().clear();
    path.push(base);
    for part in parts {
        path.push(part);
    }
}

/// The most bytes [`read_sysfs`] reads: node_exporter's `SysReadFile` buffer.
pub(super) const SYSFS_READ: usize = 128;

/// The bytes one `read(2)` of `path` gives, at most [`SYSFS_READ`], as node_exporter reads a
/// sysfs attribute: a driver that answers `EAGAIN` (some hwmon drivers do) fails the read at
/// once rather than being polled, and the error says why (a missing file, no data).
pub(super) fn read_sysfs<'b>(buf: &'b mut [u8; SYSFS_READ], path: &Path) -> io::Result<&'b [u8]> {
    let n = File::open(path)?.read(buf)?;
    Ok(buf.get(..n).unwrap_or_default())
}

/// Whether a read of `path` that failed with `e` failed because the file is gone (its chip
/// unloaded, its CPU taken offline), so that the files are worth looking up again: not when
/// the file is there and its driver answered `ENOENT`, which looking up cannot mend.
pub(super) fn gone(e: &io::Error, path: &Path) -> bool {
    e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(path).is_err()
}

/// The whole number a file holds, white space around it trimmed, as Go's
/// `strconv.ParseInt(strings.TrimSpace(text), 10, 64)` reads it.
pub(super) fn parse_int(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// As [`parse_int`], for `strconv.ParseUint`, which takes no sign.
pub(super) fn parse_uint(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    text.strip_prefix('+')
        .is_none()
        .then(|| text.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_made_valid_and_trimmed_as_go_does() {
        assert_eq!(go_text(b"  Li-ion\n"), "Li-ion");
        assert_eq!(go_text(b"a\xff\xfeb"), "a\u{fffd}b");
        assert_eq!(go_text(b"a\xffb\xfe"), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn text_is_borrowed_unless_a_byte_is_not_utf8() {
        assert!(matches!(text(b"cpu0 1 2\n"), Cow::Borrowed("cpu0 1 2\n")));
        assert!(matches!(text("/mnt/é".as_bytes()), Cow::Borrowed("/mnt/é")));
        assert_eq!(text(b"/mnt/\xff x"), "/mnt/\u{fffd} x");
    }

    #[test]
    fn a_file_is_gone_when_its_path_is() {
        let not_found = io::Error::from(io::ErrorKind::NotFound);
        assert!(gone(
            &not_found,
            Path::new("/nonexistent/vitals/temp1_input")
        ));
        // A driver that answers ENOENT for a file that is there.
        assert!(!gone(&not_found, Path::new(env!("CARGO_MANIFEST_DIR"))));
        let again = io::Error::from(io::ErrorKind::WouldBlock);
        assert!(!gone(&again, Path::new("/nonexistent/vitals/temp1_input")));
    }
}
