//! Writing responses: the status line and headers, and bodies whole or chunked.

use std::io::{self, Write};

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked` (HTTP/1.1): the length is known only at the end.
    Chunked,
    /// The body ends when the connection closes (an HTTP/1.0 client and a streamed body).
    Close,
}

/// A response's head: status, headers, framing. The server's `Date`-less answers are the same
/// bytes every time, which keeps them cheap.
#[derive(Debug)]
pub struct Head<'a> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'a str,
    /// Headers of this response (`Content-Type`, ...).
    pub headers: &'a [(&'a str, &'a str)],
    /// Headers the web config adds to every response.
    pub extra: &'a [(String, String)],
    /// Body framing.
    pub framing: Framing,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
}

impl Head<'_> {
    /// The head's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        for (name, value) in self.extra {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        match self.framing {
            Framing::Length(n) => {
                let _ = write!(out, "Content-Length: {n}\r\n");
            }
            Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            Framing::Close => {}
        }
        if !self.keep_alive || self.framing == Framing::Close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A body writer that frames what it is given as HTTP/1.1 chunks (or passes it through for
/// [`Framing::Close`]), gathering small writes into chunks of up to [`Chunked::CHUNK`] bytes.
#[derive(Debug)]
pub struct Chunked<W: Write> {
    out: W,
    buf: Vec<u8>,
    chunked: bool,
}

impl<W: Write> Chunked<W> {
    /// The largest chunk written: large enough that the framing costs nothing, small enough
    /// that a gzip body goes out while it is compressed.
    pub const CHUNK: usize = 64 * 1024;

    /// A body writer onto `out`; `chunked` false passes bytes through unframed.
    pub fn new(out: W, chunked: bool) -> Self {
        Chunked {
            out,
            buf: Vec::with_capacity(Self::CHUNK),
            chunked,
        }
    }

    /// Writes `data` as one chunk, without copying it.
    pub fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        self.flush_buf()?;
        self.frame(data)
    }

    fn frame(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.chunked {
            self.out
                .write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
            self.out.write_all(data)?;
            self.out.write_all(b"\r\n")
        } else {
            self.out.write_all(data)
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let result = self.frame(&buf);
        self.buf = buf;
        self.buf.clear();
        result
    }

    /// Writes what is gathered and the last chunk; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_buf()?;
        if self.chunked {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Chunked<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > Self::CHUNK {
            self.flush_buf()?;
        }
        if data.len() >= Self::CHUNK {
            self.frame(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_names_its_framing_and_whether_the_connection_closes() {
        let extra = [("X-Frame-Options".to_owned(), "deny".to_owned())];
        let head = Head {
            status: 200,
            reason: "OK",
            headers: &[("Content-Type", "text/plain")],
            extra: &extra,
            framing: Framing::Length(3),
            keep_alive: true,
        };
        assert_eq!(
            head.to_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Frame-Options: deny\r\n\
              Content-Length: 3\r\n\r\n"
        );
        let head = Head {
            framing: Framing::Chunked,
            keep_alive: false,
            extra: &[],
            ..head
        };
        assert_eq!(
            head.to_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_chunked_body_reads_back_as_what_was_written() {
        let mut body = Chunked::new(Vec::new(), true);
        let big = vec![b'x'; Chunked::<Vec<u8>>::CHUNK + 10];
        body.write_all(b"ab").unwrap();
        body.write_chunk(b"cd").unwrap();
        body.write_all(&big).unwrap();
        body.write_all(b"").unwrap();
        body.write_all(b"ef").unwrap();
        let out = body.finish().unwrap();
        assert!(out.ends_with(b"\r\n0\r\n\r\n"));
        let mut want = b"abcd".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"ef");
        assert_eq!(dechunk(&out), want);
        let mut plain = Chunked::new(Vec::new(), false);
        plain.write_all(b"ab").unwrap();
        plain.write_chunk(b"cd").unwrap();
        assert_eq!(plain.finish().unwrap(), b"abcd");
    }

    fn dechunk(mut body: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let eol = body.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap(), 16);
            let size = size.unwrap();
            if size == 0 {
                return data;
            }
            data.extend_from_slice(&body[eol + 2..eol + 2 + size]);
            assert_eq!(&body[eol + 2 + size..eol + 4 + size], b"\r\n");
            body = &body[eol + 4 + size..];
        }
    }
}
