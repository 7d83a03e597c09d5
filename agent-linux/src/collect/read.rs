//! Reading the files of `/proc` and `/sys` into buffers that outlive a sample, so that a
//! sample allocates little.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reads `path` into `buf` and returns it as text, or `None` if it cannot be read.
///
/// Bytes that are not UTF-8 become U+FFFD rather than losing the whole file: only a mount point
/// or a name can hold them, and the line that does then fails on its own.
pub(super) fn read_text<'b>(buf: &'b mut Vec<u8>, path: &Path) -> Option<Cow<'b, str>> {
    buf.clear();
    let mut file = File::open(path).ok()?;
    file.read_to_end(buf).ok()?;
    Some(String::from_utf8_lossy(buf))
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
