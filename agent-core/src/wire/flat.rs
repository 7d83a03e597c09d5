//! The agent's reader of server lines: `welcome`, `ack`, `error` and `challenge` are flat
//! objects of strings and integers, read here in one pass, without serde.
//!
//! Why: on a board this is the agent's deepest stack. serde-json-core's derived readers move
//! each 128-byte text through nested results and options; the reader of `error` alone took
//! 2.8 KB of a Cortex-M3's stack, more than the rest of the agent (the stack peak that
//! `cargo test -p server --test firmware -- --nocapture` prints, with that reader in this one's
//! place). This one notes where each member's value lies in the line (a few slices) and copies
//! only the texts of the message it returns.
//!
//! It reads what [`encode`](fn@super::encode) writes and any JSON of the same meaning (spaces,
//! members in any order, escapes, members it does not know, of any type, skipped), and is stricter
//! than serde-json-core where that one is lenient: it refuses a member named twice or with an
//! escape in its name, raw control characters in a string, a number with a leading zero, and
//! anything after the closing brace. Whatever it reads, serde-json-core reads the same (the fuzz
//! target `decode_line` checks this), so the general decoder stays the reference.

use heapless::String;

use super::{
    Ack, Challenge, Code, DecodeError, ErrorMessage, MAX_TEXT, PROTOCOL_V2, PROTOCOL_VERSION,
    ServerMessage, Welcome,
};

/// A server's line as the agent acts on it: its numbers, a challenge's nonce, an error's code.
/// No 128-byte text is kept, so the value is small wherever it is moved. [`ServerMessage`] is
/// the same line with every text, read by the same reader ([`read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerLine {
    Welcome {
        last_seq: u64,
        /// Whether the server reads `values` lines that leave values out.
        same: bool,
    },
    Ack {
        seq: u64,
    },
    /// The nonce in hex, as sent.
    Challenge {
        nonce: String<NONCE_HEX>,
    },
    Error {
        code: Code,
    },
}

impl ServerLine {
    /// The `kind` of the line on the wire.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ServerLine::Welcome { .. } => "welcome",
            ServerLine::Ack { .. } => "ack",
            ServerLine::Challenge { .. } => "challenge",
            ServerLine::Error { .. } => "error",
        }
    }
}

/// The longest nonce the agent reads: `crate::auth::NONCE_LEN` bytes in hex.
const NONCE_HEX: usize = 64;

/// Reads a server line (UTF-8, nesting checked, without its newline) for the agent. It refuses
/// what [`read`] refuses, and a nonce longer than [`NONCE_HEX`].
pub(crate) fn server_line(line: &[u8]) -> Result<ServerLine, DecodeError> {
    let members = members(line)?;
    Ok(match members.kind()? {
        Kind::Welcome => {
            checked(members.server, MAX_TEXT)?;
            ServerLine::Welcome {
                last_seq: number(members.last_seq)?,
                same: same(members.same)?,
            }
        }
        Kind::Ack => ServerLine::Ack {
            seq: number(members.seq)?,
        },
        Kind::Error => {
            checked(members.message, MAX_TEXT)?;
            let mut code = Code::new();
            text(members.code, &mut code)?;
            ServerLine::Error { code }
        }
        Kind::Challenge => {
            let mut nonce = String::new();
            text(members.nonce, &mut nonce)?;
            ServerLine::Challenge { nonce }
        }
    })
}

/// Reads a server line (UTF-8, nesting checked, without its newline) into `out`.
///
/// The message is built where it is to be kept, its texts copied straight into it: every
/// intermediate value of a 128-byte text would be one more on a board's stack.
pub(super) fn read(line: &[u8], out: &mut ServerMessage) -> Result<(), DecodeError> {
    let members = members(line)?;
    match members.kind()? {
        Kind::Welcome => {
            *out = ServerMessage::Welcome(Welcome::default());
            if let ServerMessage::Welcome(welcome) = out {
                welcome.last_seq = number(members.last_seq)?;
                welcome.same = u64::from(same(members.same)?);
                text(members.server, &mut welcome.server)?;
            }
        }
        Kind::Ack => {
            *out = ServerMessage::Ack(Ack {
                seq: number(members.seq)?,
            });
        }
        Kind::Error => {
            *out = ServerMessage::Error(ErrorMessage::default());
            if let ServerMessage::Error(error) = out {
                text(members.code, &mut error.code)?;
                text(members.message, &mut error.message)?;
            }
        }
        Kind::Challenge => {
            *out = ServerMessage::Challenge(Challenge::default());
            if let ServerMessage::Challenge(challenge) = out {
                text(members.nonce, &mut challenge.nonce)?;
            }
        }
    }
    Ok(())
}

/// The members of the line's one object, which nothing may follow.
fn members(line: &[u8]) -> Result<Members<'_>, DecodeError> {
    let mut members = Members::default();
    let mut cursor = Cursor { rest: line };
    cursor.object(&mut members)?;
    cursor.space();
    if !cursor.rest.is_empty() {
        return Err(DecodeError::BadJson);
    }
    Ok(members)
}

/// The kinds a server sends.
enum Kind {
    Welcome,
    Ack,
    Error,
    Challenge,
}

/// A member's value, where it lies in the line: a string's raw text (escapes not yet undone),
/// or a non-negative integer.
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a [u8]),
    Number(u64),
}

/// The members any server message has, each at most once.
#[derive(Default)]
struct Members<'a> {
    v: Option<Value<'a>>,
    kind: Option<Value<'a>>,
    server: Option<Value<'a>>,
    last_seq: Option<Value<'a>>,
    seq: Option<Value<'a>>,
    code: Option<Value<'a>>,
    message: Option<Value<'a>>,
    nonce: Option<Value<'a>>,
    same: Option<Value<'a>>,
}

impl<'a> Members<'a> {
    /// The message's kind, once its version is checked.
    fn kind(&self) -> Result<Kind, DecodeError> {
        match self.v {
            // A server answers in its agent's version; the messages it sends are the same in both.
            Some(Value::Number(v))
                if v == u64::from(PROTOCOL_VERSION) || v == u64::from(PROTOCOL_V2) => {}
            Some(Value::Number(_)) => return Err(DecodeError::UnsupportedVersion),
            _ => return Err(DecodeError::BadJson),
        }
        // Compared as written: a kind spelt with escapes is no kind, as for the general reader.
        match self.kind {
            Some(Value::Text(b"welcome")) => Ok(Kind::Welcome),
            Some(Value::Text(b"ack")) => Ok(Kind::Ack),
            Some(Value::Text(b"error")) => Ok(Kind::Error),
            Some(Value::Text(b"challenge")) => Ok(Kind::Challenge),
            Some(Value::Text(_)) => Err(DecodeError::UnknownKind),
            _ => Err(DecodeError::BadJson),
        }
    }

    /// Where the value of the member named `name` goes; `None` for a member to skip.
    fn slot(&mut self, name: &[u8]) -> Option<&mut Option<Value<'a>>> {
        Some(match name {
            b"v" => &mut self.v,
            b"kind" => &mut self.kind,
            b"server" => &mut self.server,
            b"last_seq" => &mut self.last_seq,
            b"seq" => &mut self.seq,
            b"code" => &mut self.code,
            b"message" => &mut self.message,
            b"nonce" => &mut self.nonce,
            b"same" => &mut self.same,
            _ => return None,
        })
    }
}

/// A welcome's `same`: absent or 0 for a server that reads only whole `values` lines, 1 for
/// one that reads those that leave values out; a later version of it is not this agent's.
fn same(value: Option<Value<'_>>) -> Result<bool, DecodeError> {
    match value {
        None => Ok(false),
        Some(value) => Ok(number(Some(value))? == 1),
    }
}

fn number(value: Option<Value<'_>>) -> Result<u64, DecodeError> {
    match value {
        Some(Value::Number(n)) => Ok(n),
        _ => Err(DecodeError::BadJson),
    }
}

/// A string member's text, its escapes undone, into `out`.
fn text<const N: usize>(value: Option<Value<'_>>, out: &mut String<N>) -> Result<(), DecodeError> {
    out.clear();
    pieces(value, |piece| {
        out.push_str(piece).map_err(|_| DecodeError::BadJson)
    })
}

/// Checks that a string member's text, its escapes undone, fits in `capacity` bytes.
fn checked(value: Option<Value<'_>>, capacity: usize) -> Result<(), DecodeError> {
    let mut len = 0;
    pieces(value, |piece| {
        len += piece.len();
        if len > capacity {
            return Err(DecodeError::BadJson);
        }
        Ok(())
    })
}

/// Hands a string member's text to `take` in pieces, its escapes undone.
fn pieces(
    value: Option<Value<'_>>,
    mut take: impl FnMut(&str) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let Some(Value::Text(mut raw)) = value else {
        return Err(DecodeError::BadJson);
    };
    let utf8 = |bytes| core::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8);
    while let Some(end) = raw.iter().position(|&b| b == b'\\') {
        let (plain, escape) = raw.split_at(end);
        take(utf8(plain)?)?;
        let (c, rest) = unescape(escape).ok_or(DecodeError::BadJson)?;
        take(c.encode_utf8(&mut [0; 4]))?;
        raw = rest;
    }
    take(utf8(raw)?)
}

/// The character an escape (`\n`, `\u00e9`, ...) at the start of `s` stands for, and what
/// follows it. As in serde-json-core, `\u` takes one code point: a surrogate is refused.
fn unescape(s: &[u8]) -> Option<(char, &[u8])> {
    let (&kind, rest) = s.strip_prefix(b"\\")?.split_first()?;
    let c = match kind {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\x08',
        b'f' => '\x0c',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let (hex, rest) = rest.split_at_checked(4)?;
            let code = hex.iter().try_fold(0u32, |code, &b| {
                Some(code * 16 + char::from(b).to_digit(16)?)
            })?;
            return Some((char::from_u32(code)?, rest));
        }
        _ => return None,
    };
    Some((c, rest))
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn space(&mut self) {
        while let [b' ' | b'\t' | b'\n' | b'\r', rest @ ..] = self.rest {
            self.rest = rest;
        }
    }

    /// Takes `byte` after any space.
    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        match self.rest.split_first() {
            Some((&b, rest)) if b == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), DecodeError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(DecodeError::BadJson)
        }
    }

    /// The top-level object: each member it knows is noted once in `members`, the others are
    /// skipped.
    fn object(&mut self, members: &mut Members<'a>) -> Result<(), DecodeError> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.space();
            let name = self.string()?;
            self.expect(b':')?;
            if name.contains(&b'\\') {
                return Err(DecodeError::BadJson);
            }
            match members.slot(name) {
                Some(Some(_)) => return Err(DecodeError::BadJson),
                Some(slot) => *slot = Some(self.value()?),
                None => self.skip()?,
            }
            if !self.eat(b',') {
                return self.expect(b'}');
            }
        }
    }

    /// A string or an integer member's value.
    fn value(&mut self) -> Result<Value<'a>, DecodeError> {
        self.space();
        match self.rest.first() {
            Some(b'"') => self.string().map(Value::Text),
            _ => self.integer().map(Value::Number),
        }
    }

    /// A string's raw text, between its quotes: escapes are checked, not undone.
    fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        let body = self.rest.strip_prefix(b"\"").ok_or(DecodeError::BadJson)?;
        let mut at = 0;
        loop {
            match body.get(at..).unwrap_or_default() {
                [b'"', ..] => break,
                [b'\\', ..] => {
                    let rest = body.get(at..).unwrap_or_default();
                    let (_, after) = unescape(rest).ok_or(DecodeError::BadJson)?;
                    at = body.len() - after.len();
                }
                [c, ..] if *c >= 0x20 => at += 1,
                _ => return Err(DecodeError::BadJson),
            }
        }
        let (text, rest) = body.split_at(at);
        self.rest = rest.get(1..).unwrap_or_default();
        Ok(text)
    }

    /// A non-negative integer in the shortest form: no sign, fraction, exponent or leading zero.
    fn integer(&mut self) -> Result<u64, DecodeError> {
        let digits = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (number, rest) = self.rest.split_at(digits);
        if digits == 0 || (digits > 1 && number.first() == Some(&b'0')) {
            return Err(DecodeError::BadJson);
        }
        if let Some(b'.' | b'e' | b'E') = rest.first() {
            return Err(DecodeError::BadJson);
        }
        self.rest = rest;
        number.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(DecodeError::BadJson)
        })
    }

    /// Skips any JSON value, nested ones included, without recursion: `open` has a bit for
    /// each array or object it is inside, set for an object.
    fn skip(&mut self) -> Result<(), DecodeError> {
        let (mut open, mut depth) = (0u32, 0u32);
        loop {
            self.space();
            match self.rest.first() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'{' | b'[') => {
                    let object = self.rest.first() == Some(&b'{');
                    self.rest = self.rest.get(1..).unwrap_or_default();
                    // The line's nesting is checked before: this is only a guard.
                    if depth >= 31 {
                        return Err(DecodeError::TooDeep);
                    }
                    open = (open << 1) | u32::from(object);
                    depth += 1;
                    let close = if object { b'}' } else { b']' };
                    if self.eat(close) {
                        open >>= 1;
                        depth -= 1;
                    } else {
                        if object {
                            self.member_name()?;
                        }
                        continue;
                    }
                }
                Some(b'-' | b'0'..=b'9') => self.any_number()?,
                _ => self.literal()?,
            }
            // After a value: the next one in the array or object it is in, or their ends.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = open & 1 == 1;
                if self.eat(b',') {
                    if object {
                        self.member_name()?;
                    }
                    break;
                }
                self.expect(if object { b'}' } else { b']' })?;
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// `"name":` in an object being skipped.
    fn member_name(&mut self) -> Result<(), DecodeError> {
        self.space();
        self.string()?;
        self.expect(b':')
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn any_number(&mut self) -> Result<(), DecodeError> {
        let mut rest = self.rest.strip_prefix(b"-").unwrap_or(self.rest);
        let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
        let whole = digits(rest);
        if whole == 0 || (whole > 1 && rest.first() == Some(&b'0')) {
            return Err(DecodeError::BadJson);
        }
        rest = rest.get(whole..).unwrap_or_default();
        if let Some(fraction) = rest.strip_prefix(b".") {
            let n = digits(fraction);
            if n == 0 {
                return Err(DecodeError::BadJson);
            }
            rest = fraction.get(n..).unwrap_or_default();
        }
        if let [b'e' | b'E', exponent @ ..] = rest {
            let exponent = exponent
                .strip_prefix(b"+")
                .or_else(|| exponent.strip_prefix(b"-"))
                .unwrap_or(exponent);
            let n = digits(exponent);
            if n == 0 {
                return Err(DecodeError::BadJson);
            }
            rest = exponent.get(n..).unwrap_or_default();
        }
        self.rest = rest;
        Ok(())
    }

    fn literal(&mut self) -> Result<(), DecodeError> {
        for word in [&b"true"[..], b"false", b"null"] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(());
            }
        }
        Err(DecodeError::BadJson)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::sample::bounded;

    fn read(line: &[u8]) -> Result<ServerMessage, DecodeError> {
        let mut message = ServerMessage::Ack(Ack::default());
        super::read(line, &mut message).map(|()| message)
    }

    fn welcome(server: &str, last_seq: u64) -> ServerMessage {
        ServerMessage::Welcome(Welcome {
            server: bounded(server),
            last_seq,
            same: 0,
        })
    }

    #[test]
    fn reads_what_the_server_writes() {
        let lines: [(&[u8], ServerMessage); 4] = [
            (
                br#"{"v":1,"kind":"welcome","server":"vitals-server 0.1.0","last_seq":42}"#,
                welcome("vitals-server 0.1.0", 42),
            ),
            (
                br#"{"v":1,"kind":"ack","seq":18446744073709551615}"#,
                ServerMessage::Ack(Ack { seq: u64::MAX }),
            ),
            (
                br#"{"v":1,"kind":"error","code":"bad_json","message":"a \"quoted\" word\n"}"#,
                ServerMessage::Error(ErrorMessage {
                    code: bounded("bad_json"),
                    message: bounded("a \"quoted\" word\n"),
                }),
            ),
            (
                br#"{"v":1,"kind":"challenge","nonce":"00ff"}"#,
                ServerMessage::Challenge(Challenge {
                    nonce: bounded("00ff"),
                }),
            ),
        ];
        for (line, expected) in lines {
            assert_eq!(read(line), Ok(expected), "{}", line.escape_ascii());
        }
    }

    #[test]
    fn reads_any_json_of_the_same_meaning() {
        let line = br#" { "last_seq" : 7 , "future" : [1, -2.5e3, {"a": [true, null]}, "x"],
            "server":"caf\u00e9 \/ \\", "kind":"welcome","v":1, "mac": "00" } "#;
        assert_eq!(read(line), Ok(welcome("café / \\", 7)));
        // A seal is one more member: a sealed line reads as the message.
        let sealed = br#"{"v":1,"kind":"ack","seq":3,"mac":"0123"}"#;
        assert_eq!(read(sealed), Ok(ServerMessage::Ack(Ack { seq: 3 })));
    }

    #[test]
    fn refuses_what_is_not_a_server_message() {
        let cases: [(&[u8], DecodeError); 18] = [
            (
                br#"{"v":3,"kind":"ack","seq":1}"#,
                DecodeError::UnsupportedVersion,
            ),
            (br#"{"kind":"ack","seq":1}"#, DecodeError::BadJson),
            (
                br#"{"v":1,"kind":"hello","seq":1}"#,
                DecodeError::UnknownKind,
            ),
            (
                br#"{"v":1,"kind":"ac\u006b","seq":1}"#,
                DecodeError::UnknownKind,
            ),
            (br#"{"v":1,"kind":"ack"}"#, DecodeError::BadJson),
            (
                br#"{"v":1,"kind":"ack","seq":1,"seq":2}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":1,"kind":"ack","s\u0065q":1}"#,
                DecodeError::BadJson,
            ),
            (br#"{"v":1,"kind":"ack","seq":-1}"#, DecodeError::BadJson),
            (br#"{"v":1,"kind":"ack","seq":01}"#, DecodeError::BadJson),
            (br#"{"v":1,"kind":"ack","seq":1.0}"#, DecodeError::BadJson),
            (
                br#"{"v":1,"kind":"ack","seq":18446744073709551616}"#,
                DecodeError::BadJson,
            ),
            (br#"{"v":1,"kind":"ack","seq":"1"}"#, DecodeError::BadJson),
            (br#"{"v":1,"kind":"ack","seq":1} x"#, DecodeError::BadJson),
            (br#"{"v":1,"kind":"ack","seq":1,}"#, DecodeError::BadJson),
            (
                br#"{"v":1,"kind":"ack","seq":1,"x":[1,]}"#,
                DecodeError::BadJson,
            ),
            (
                br#"{"v":1,"kind":"challenge","nonce":"\ud800"}"#,
                DecodeError::BadJson,
            ),
            (
                b"{\"v\":1,\"kind\":\"challenge\",\"nonce\":\"a\tb\"}",
                DecodeError::BadJson,
            ),
            (br#"{"v":1,"kind":"ack","seq":1"#, DecodeError::BadJson),
        ];
        for (line, expected) in cases {
            assert_eq!(read(line), Err(expected), "{}", line.escape_ascii());
        }
    }

    #[test]
    fn the_agent_keeps_what_it_acts_on() {
        let line = br#"{"v":1,"kind":"error","code":"too_many_agents","message":"full"}"#;
        let code = bounded("too_many_agents");
        assert_eq!(server_line(line), Ok(ServerLine::Error { code }));
        let nonce = "ab".repeat(crate::auth::NONCE_LEN);
        assert_eq!(NONCE_HEX, nonce.len());
        let line = std::format!(r#"{{"v":1,"kind":"challenge","nonce":"{nonce}"}}"#);
        let nonce = bounded(&nonce);
        assert_eq!(
            server_line(line.as_bytes()),
            Ok(ServerLine::Challenge { nonce })
        );
        let line = br#"{"v":1,"kind":"welcome","server":"s","last_seq":9,"mac":"00"}"#;
        let welcome = |same| Ok(ServerLine::Welcome { last_seq: 9, same });
        assert_eq!(server_line(line), welcome(false));
        // `same` says whether values may be left out; another version of it is not ours.
        let same = br#"{"v":2,"kind":"welcome","server":"s","last_seq":9,"same":1}"#;
        assert_eq!(server_line(same), welcome(true));
        let later = br#"{"v":2,"kind":"welcome","server":"s","last_seq":9,"same":2}"#;
        assert_eq!(server_line(later), welcome(false));
        let text = br#"{"v":2,"kind":"welcome","server":"s","last_seq":9,"same":"1"}"#;
        assert_eq!(server_line(text), Err(DecodeError::BadJson));
        // It refuses what the full reader refuses, texts it does not keep included.
        for line in [
            &br#"{"v":1,"kind":"welcome","server":7,"last_seq":9}"#[..],
            br#"{"v":1,"kind":"error","code":"x","message":"\q"}"#,
            br#"{"v":1,"kind":"ack","seq":1,"seq":1}"#,
        ] {
            assert_eq!(
                server_line(line),
                Err(DecodeError::BadJson),
                "{}",
                line.escape_ascii()
            );
        }
        let long = std::format!(
            r#"{{"v":1,"kind":"error","code":"x","message":"{}"}}"#,
            "m".repeat(MAX_TEXT + 1)
        );
        assert_eq!(server_line(long.as_bytes()), Err(DecodeError::BadJson));
    }

    #[test]
    fn a_text_longer_than_its_field_is_refused() {
        let challenge = |len: usize| {
            let nonce = std::vec![b'a'; len];
            [
                &br#"{"v":1,"kind":"challenge","nonce":""#[..],
                &nonce,
                br#""}"#,
            ]
            .concat()
        };
        assert!(read(&challenge(128)).is_ok());
        assert_eq!(read(&challenge(129)), Err(DecodeError::BadJson));
    }
}
