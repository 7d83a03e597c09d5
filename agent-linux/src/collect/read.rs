//! Reading the files of `/proc` and `/sys` into buffers that outlive a sample, so that a
//! sample allocates little.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
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
