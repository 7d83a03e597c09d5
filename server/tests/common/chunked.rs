//! HTTP/1.1's chunked transfer coding, undone: shared by the tests' HTTP client and the
//! benches' scrapes (`benches/common` includes this file).

/// The data of a chunked body: each chunk is its size in hex (and any extension after `;`),
/// CRLF, the bytes, CRLF; a size of 0, or a chunk cut short, ends it.
pub fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(body.len());
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
        let Some(size @ 1..) = size else { break };
        let Some(chunk) = body.get(eol + 2..eol + 2 + size) else {
            break;
        };
        data.extend_from_slice(chunk);
        body = body.get(eol + 2 + size + 2..).unwrap_or_default();
    }
    data
}
