//! `vitals-agent`: samples this machine and sends the samples to a vitals server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_core::agent::{Agent, Config, Event, Lost, Protocol, ack_every, declarations_room};
use agent_core::catalogue::Series;
use agent_core::sample::{Sample, bounded};
use agent_core::time::{Instant, parse_duration};
use agent_core::wire::{
    self, Hello, MAX_LINE, Message, SampleMessage, ValuesHeader, ValuesWriter, encode_declare,
};
use agent_linux::collect::Collector;
use agent_linux::hello::{label_text, session, uname};
use agent_linux::key_file::read_key;
use agent_linux::transport::TcpTransport;

/// Writes one log line to stderr, prefixed `vitals-agent: `, ignoring write errors: a closed
/// stderr must not stop the agent (`eprintln!` would panic).
macro_rules! log {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "vitals-agent: {}", format_args!($($arg)*));
    }};
}

/// Bytes of samples kept until the server acknowledges them, unless `--buffer` says otherwise:
/// about 13 minutes of a 4-CPU machine's samples at the default interval (`vitals-loadgen`
/// sizes its simulated agents' acks for it too: `server::synthetic::AGENT_BUFFER`).
const DEFAULT_BUFFER: usize = 256 * 1024;

/// The longest the main loop sleeps, so that Ctrl-C is answered promptly.
const MAX_NAP: Duration = Duration::from_millis(250);

/// The longest `--interval`: a server refuses a hello that declares more (it sizes its
/// timeouts by the interval, and would otherwise hold a silent connection for days).
const MAX_INTERVAL: Duration = Duration::from_millis(wire::MAX_INTERVAL_MS as u64);

/// The agent's changes of state handled in one turn of the main loop, before it looks at the
/// clock again (each takes the agent to a state that waits, so this is never reached).
const EVENTS_PER_TURN: usize = 8;

const USAGE: &str = "\
vitals-agent: samples this machine and sends the samples to a vitals server

usage: vitals-agent [flags]

flags (each also read from the environment variable shown):
  --server HOST:PORT    a server to send to; repeat for fallbacks, tried in turn
                        [VITALS_SERVER, comma-separated, default 127.0.0.1:7450]
  --id NAME             this agent's identity, the `agent` label of its series
                        [VITALS_ID, default: the host name]
  --interval DURATION   time between samples, 100ms to 1h [VITALS_INTERVAL, default 10s]
  --buffer SIZE         samples kept while the server is unreachable, oldest dropped first
                        [VITALS_BUFFER, default 256KiB]
  --key-file PATH       prove this agent's id with the key in this file (mode 600; the
                        server's key file has the same key for this id), and send only to
                        a server that asks for it      [VITALS_KEY_FILE, default: no key]
  --protocol 1|2        the protocol version to speak: 2 declares the series once and
                        then sends only values; 1 keeps a server that does not speak 2
                        yet fed during a rolling upgrade   [VITALS_PROTOCOL, default 2]
  --textfile-dir DIR    also send the series of the *.prom files in DIR, as
                        node_exporter's textfile collector reads them (protocol 2)
                        [VITALS_TEXTFILE_DIR, default: none]
  --root PATH           read /proc, /sys, the mounts and os-release under PATH, where the
                        host's root is mounted in a container (node_exporter's
                        --path.rootfs)                  [VITALS_ROOT, default /]
  --once                print one sample as the protocol's lines to stdout and exit
                        (version 2: the declaration, then the values)
  -h, --help            this text
  -V, --version         the version

DURATION is a whole number with a unit: 500ms, 10s, 5m, 1h. SIZE is bytes, or a whole
number with KiB or MiB: 64KiB, 4MiB.
An id is 1 to 64 letters, digits, '.', '_', '-' or ':'.
";

/// What the flags and the environment ask for, read once at start by [`parse_options`].
struct Options {
    /// `--server`, in order of preference: the transport tries each in turn.
    servers: Vec<String>,
    /// `--id`; `None` for the host name.
    id: Option<String>,
    /// `--interval`, between 100 ms and [`MAX_INTERVAL`].
    interval: Duration,
    /// `--buffer`: the bytes of the ring that keeps samples until they are acknowledged.
    buffer: usize,
    /// `--key-file`, read by [`read_key`] before the agent starts.
    key_file: Option<String>,
    /// `--protocol`: v2 unless a server of the fleet speaks only v1 (a v2 agent does not fall
    /// back: it logs that the server needs upgrading and retries).
    protocol: Protocol,
    /// `--textfile-dir`: the directory of `*.prom` files whose series go along (v2 only).
    textfile_dir: Option<PathBuf>,
    /// `--root`: where the collectors read `proc/`, `sys/` and the mounts' paths; `/` but in a
    /// container, where it is the host's root mounted read-only. Absolute, and a directory.
    root: PathBuf,
    /// `--once`: print one sample and exit instead of running.
    once: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn size(from: &str, value: &str) -> Result<usize, String> {
    let (number, scale) = if let Some(n) = value.strip_suffix("KiB") {
        (n, 1024)
    } else if let Some(n) = value.strip_suffix("MiB") {
        (n, 1024 * 1024)
    } else {
        (value, 1)
    };
    let bytes = number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale));
    match bytes {
        Some(b) if (MAX_LINE + 1..=1 << 30).contains(&b) => Ok(b),
        Some(_) => Err(format!(
            "{from}: `{value}` is out of range: 65KiB to 1024MiB"
        )),
        None => Err(format!(
            "{from}: `{value}` is not a size like 256KiB or 4MiB"
        )),
    }
}

/// A root to read under: a directory, made absolute so that mount points under it are told
/// (see `Collector::with_root`).
fn root(from: &str, value: &str) -> Result<PathBuf, String> {
    let path = std::path::absolute(value).map_err(|e| format!("{from}: `{value}`: {e}"))?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(format!("{from}: `{value}` is not a directory")),
        Err(e) => Err(format!("{from}: `{value}`: {e}")),
    }
}

fn protocol(from: &str, value: &str) -> Result<Protocol, String> {
    match value {
        "1" => Ok(Protocol::V1),
        "2" => Ok(Protocol::V2),
        _ => Err(format!(
            "{from}: `{value}` is not a protocol version: 1 or 2"
        )),
    }
}

fn interval(from: &str, value: &str) -> Result<Duration, String> {
    match parse_duration(value) {
        Some(d) if d > MAX_INTERVAL => Err(format!(
            "{from}: `{value}` is too long; the most is 1h (a server refuses longer)"
        )),
        Some(d) if d >= Duration::from_millis(100) => Ok(d),
        Some(_) => Err(format!(
            "{from}: `{value}` is too short; the least is 100ms"
        )),
        None => Err(format!(
            "{from}: `{value}` is not a duration like 10s or 500ms"
        )),
    }
}

/// Reads flags over the environment's defaults; `None` when the flags asked only for help.
fn parse_options(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        servers: Vec::new(),
        id: env("VITALS_ID"),
        interval: match env("VITALS_INTERVAL") {
            Some(v) => interval("VITALS_INTERVAL", &v)?,
            None => Duration::from_secs(10),
        },
        buffer: match env("VITALS_BUFFER") {
            Some(v) => size("VITALS_BUFFER", &v)?,
            None => DEFAULT_BUFFER,
        },
        key_file: env("VITALS_KEY_FILE"),
        protocol: match env("VITALS_PROTOCOL") {
            Some(v) => protocol("VITALS_PROTOCOL", &v)?,
            None => Protocol::V2,
        },
        textfile_dir: env("VITALS_TEXTFILE_DIR").map(PathBuf::from),
        root: match env("VITALS_ROOT") {
            Some(v) => root("VITALS_ROOT", &v)?,
            None => PathBuf::from("/"),
        },
        once: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("vitals-agent {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--server" => options.servers.push(value()?),
            "--id" => options.id = Some(value()?),
            "--interval" => options.interval = interval("--interval", &value()?)?,
            "--buffer" => options.buffer = size("--buffer", &value()?)?,
            "--key-file" => options.key_file = Some(value()?),
            "--protocol" => options.protocol = protocol("--protocol", &value()?)?,
            "--textfile-dir" => options.textfile_dir = Some(PathBuf::from(value()?)),
            "--root" => options.root = root("--root", &value()?)?,
            "--once" => options.once = true,
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if options.servers.is_empty() {
        options.servers = env("VITALS_SERVER")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_else(|| vec!["127.0.0.1:7450".into()]);
    }
    Ok(Some(options))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The hello, asking for one ack per as many samples as the ring has room for, at the size of
/// `sample` (and `collector`'s series with it) in the protocol spoken (see
/// [`agent_core::agent::ack_every`]).
fn hello(options: &Options, sample: &Sample, collector: &Collector) -> Result<Hello, String> {
    let u = uname();
    let id = options.id.clone().unwrap_or_else(|| u.nodename.clone());
    if !wire::valid_id(&id) {
        return Err(format!(
            "agent id `{id}` is not valid: use 1 to 64 letters, digits, '.', '_', '-' or ':' (set it with --id)"
        ));
    }
    let line = encode(options.protocol, sample, collector)?
        .last()
        .map_or(0, Vec::len);
    Ok(Hello {
        id: bounded(&id),
        version: bounded(env!("CARGO_PKG_VERSION")),
        os: label_text(&u.sysname),
        arch: label_text(&u.machine),
        kernel: label_text(&u.release),
        kernel_version: label_text(&u.version),
        hostname: label_text(&u.nodename),
        domainname: label_text(&u.domainname),
        interval_ms: u32::try_from(options.interval.as_millis()).unwrap_or(u32::MAX),
        session: session(unix_ms()),
        ack_every: ack_every(options.protocol.ring_room(options.buffer), line),
        last_sent: 0,
    })
}

/// `sample` as the first lines an agent speaking `protocol` sends of it: its `sample` line in
/// v1; its declaration and its `values` line in v2.
fn encode(
    protocol: Protocol,
    sample: &Sample,
    collector: &Collector,
) -> Result<Vec<Vec<u8>>, String> {
    let mut buf = vec![0u8; MAX_LINE + 1];
    let mut line = |encode: &mut dyn FnMut(&mut [u8]) -> Result<usize, wire::EncodeError>| {
        encode(&mut buf)
            .map(|n| buf[..n].to_vec())
            .map_err(|e| format!("cannot encode the sample: {e}"))
    };
    match protocol {
        Protocol::V2 => {
            let declaration =
                line(&mut |buf| encode_declare(1, &mut |out| collector.series(sample, out), buf))?;
            let header = ValuesHeader {
                seq: 1,
                dropped: 0,
                g: 1,
                t: sample.time_ms,
            };
            let values = line(&mut |buf| {
                let mut values = ValuesWriter::new(&header, buf);
                collector.series(sample, &mut values);
                values.finish()
            })?;
            Ok(vec![declaration, values])
        }
        _ => {
            let message = Message::Sample(SampleMessage {
                seq: 1,
                dropped: 0,
                sample,
            });
            Ok(vec![line(&mut |buf| wire::encode(&message, buf))?])
        }
    }
}

/// A collector of this machine, and of `--textfile-dir` if given and the protocol carries its
/// series (from the next sample on); `first` is its first sample. The files' families and
/// series may take what is left of half the storage for declarations after the machine's own
/// series (a v2 agent keeps its current declaration and the one before), so that a
/// declaration always fits.
fn collector(options: &Options) -> Result<(Collector, Sample), String> {
    let mut collector = Collector::with_root(options.root.clone());
    let first = collector.collect(unix_ms());
    let Some(dir) = &options.textfile_dir else {
        return Ok((collector, first));
    };
    if options.protocol != Protocol::V2 {
        log!(
            "--textfile-dir needs protocol 2: the files in {} are not read",
            dir.display()
        );
        return Ok((collector, first));
    }
    let own = encode(Protocol::V2, &first, &collector)?
        .first()
        .map_or(0, Vec::len);
    let budget = (declarations_room(options.buffer) / 2).saturating_sub(own);
    Ok((collector.with_textfile(dir.clone(), budget), first))
}

fn print_once(options: &Options) -> Result<(), String> {
    let (mut collector, _) = collector(options)?;
    let sample = collector.collect(unix_ms());
    let lines = encode(options.protocol, &sample, &collector)?;
    for note in collector.take_notes() {
        log!("{note}");
    }
    for line in lines {
        print!("{}", String::from_utf8_lossy(&line));
    }
    Ok(())
}

/// The log line of `event` from the agent `id`, speaking `protocol` to `server`.
fn describe(event: &Event, server: &str, id: &str, protocol: Protocol) -> String {
    match event {
        Event::Connected => format!("connected to {server}"),
        Event::Ready { pending } => {
            format!("{server} accepted agent {id}; {pending} sample(s) to send")
        }
        Event::Lost {
            reason: Lost::Rejected(code),
            retry_in,
            ..
        } if code == wire::codes::UNSUPPORTED_VERSION && protocol == Protocol::V2 => format!(
            "the server at {server} speaks only protocol v1: upgrade it, or run this agent \
             with --protocol 1; retrying in {:.1}s",
            retry_in.as_secs_f64()
        ),
        Event::Lost {
            reason,
            retry_in,
            was_connected,
        } => {
            let what = if *was_connected {
                "lost connection to"
            } else {
                "cannot connect to"
            };
            format!(
                "{what} {server}: {reason}; retrying in {:.1}s",
                retry_in.as_secs_f64()
            )
        }
    }
}

fn run() -> Result<(), String> {
    let Some(options) = parse_options(std::env::args().skip(1))? else {
        return Ok(());
    };
    if options.once {
        return print_once(&options);
    }
    let (mut collector, first) = collector(&options)?;
    let hello = hello(&options, &first, &collector)?;
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, shutdown.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let start = std::time::Instant::now();
    let now =
        || Instant::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
    let seed = hello.session ^ u64::from(std::process::id()).rotate_left(32);
    let id = hello.id.as_str().to_owned();
    log!(
        "version {}, agent {id}, protocol v{}, sampling every {:?}{}, servers {}",
        env!("CARGO_PKG_VERSION"),
        options.protocol.version(),
        options.interval,
        match options.root.to_str() {
            Some("/") => String::new(),
            _ => format!(" under {}", options.root.display()),
        },
        options.servers.join(", ")
    );
    let key = options.key_file.as_deref().map(read_key).transpose()?;
    // Zeroed heap memory: pages the ring has not reached yet cost no resident memory. In v2 a
    // third of it (at most 128 KiB) holds the declarations: a 64-CPU server's is about
    // 12 KiB, and `--buffer` is at least 65 KiB (see `agent_core::agent::declarations_room`).
    let mut storage = vec![0u8; options.buffer];
    let protocol = options.protocol;
    let mut agent: Agent<TcpTransport> = Agent::with_protocol(
        TcpTransport::new(options.servers),
        &hello,
        Config::new(options.interval, seed),
        protocol,
        &mut storage,
        now(),
    );
    if let Some(key) = key {
        agent = agent.with_key(key);
    }
    // Nothing in this loop waits on the network (the transport never blocks), and the wait at
    // its end ends at the next sample at the latest: a sample is taken every interval, whatever
    // the network does.
    while !shutdown.load(Ordering::Relaxed) {
        if agent.sample_due(now()) {
            let sample = collector.collect(unix_ms());
            let recorded = match protocol {
                Protocol::V2 => {
                    let series = &mut |out: &mut dyn Series| collector.series(&sample, out);
                    agent.record_series(series, sample.time_ms, now())
                }
                _ => agent.record(&sample, now()),
            };
            if let Err(e) = recorded {
                log!("sample dropped: {e}");
            }
        }
        for _ in 0..EVENTS_PER_TURN {
            let Some(event) = agent.poll(now()) else {
                break;
            };
            log!(
                "{}",
                describe(&event, agent.transport().server(), &id, protocol)
            );
        }
        for note in collector.take_notes() {
            log!("{note}");
        }
        let nap = agent
            .poll_timeout()
            .saturating_duration_since(now())
            .min(MAX_NAP);
        agent.transport().wait(nap);
    }
    log!("stopped");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Result<Option<Options>, String> {
        parse_options(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn an_interval_over_an_hour_is_refused_at_start() {
        for long in ["61m", "2h", "3601s", "3600001ms"] {
            let Err(e) = options(&["--interval", long]) else {
                panic!("{long} accepted");
            };
            assert_eq!(
                e,
                format!(
                    "--interval: `{long}` is too long; the most is 1h (a server refuses longer)"
                )
            );
        }
        for fine in ["1h", "60m", "100ms"] {
            assert!(
                options(&["--interval", fine]).is_ok_and(|o| o.is_some()),
                "{fine}"
            );
        }
    }

    #[test]
    fn the_root_is_a_directory_made_absolute() {
        let chosen = |args: &[&str]| options(args).map(|o| o.unwrap().root);
        if std::env::var_os("VITALS_ROOT").is_none() {
            assert_eq!(chosen(&[]), Ok(PathBuf::from("/")));
        }
        assert_eq!(chosen(&["--root", "/"]), Ok(PathBuf::from("/")));
        let here = std::env::current_dir().unwrap();
        assert_eq!(chosen(&["--root=."]), Ok(std::path::absolute(".").unwrap()));
        assert!(chosen(&["--root", "src"]).unwrap().starts_with(&here));
        assert_eq!(
            chosen(&["--root", "Cargo.toml"]),
            Err("--root: `Cargo.toml` is not a directory".to_owned())
        );
        let missing = chosen(&["--root", "/nonexistent/vitals"]).unwrap_err();
        assert!(
            missing.starts_with("--root: `/nonexistent/vitals`: No such file"),
            "{missing}"
        );
    }

    #[test]
    fn the_protocol_is_2_unless_1_is_asked_for() {
        let chosen = |args: &[&str]| options(args).unwrap().unwrap().protocol;
        if std::env::var_os("VITALS_PROTOCOL").is_none() {
            assert_eq!(chosen(&[]), Protocol::V2);
        }
        assert_eq!(chosen(&["--protocol", "1"]), Protocol::V1);
        assert_eq!(chosen(&["--protocol=2"]), Protocol::V2);
        for bad in ["3", "v1", ""] {
            assert_eq!(
                options(&["--protocol", bad]).err(),
                Some(format!(
                    "--protocol: `{bad}` is not a protocol version: 1 or 2"
                ))
            );
        }
        assert_eq!(
            protocol("VITALS_PROTOCOL", "0"),
            Err("VITALS_PROTOCOL: `0` is not a protocol version: 1 or 2".to_owned())
        );
    }

    #[test]
    fn the_textfile_dir_is_a_flag_over_its_variable() {
        let dir = |args: &[&str]| options(args).unwrap().unwrap().textfile_dir;
        if std::env::var_os("VITALS_TEXTFILE_DIR").is_none() {
            assert_eq!(dir(&[]), None);
        }
        assert_eq!(
            dir(&["--textfile-dir", "/var/lib/vitals/textfile"]),
            Some(PathBuf::from("/var/lib/vitals/textfile"))
        );
        assert_eq!(
            dir(&["--textfile-dir=/srv/t"]),
            Some(PathBuf::from("/srv/t"))
        );
        assert_eq!(
            options(&["--textfile-dir"]).err(),
            Some("--textfile-dir needs a value".to_owned())
        );
    }

    #[test]
    fn a_v1_server_refusing_a_v2_agent_is_said_plainly() {
        let refused = Event::Lost {
            reason: Lost::Rejected(bounded(wire::codes::UNSUPPORTED_VERSION)),
            retry_in: Duration::from_millis(1500),
            was_connected: true,
        };
        assert_eq!(
            describe(&refused, "10.0.0.1:7450", "pi", Protocol::V2),
            "the server at 10.0.0.1:7450 speaks only protocol v1: upgrade it, or run this \
             agent with --protocol 1; retrying in 1.5s"
        );
        // Any other refusal, and this one of a v1 agent, are said as before.
        assert_eq!(
            describe(&refused, "10.0.0.1:7450", "pi", Protocol::V1),
            "lost connection to 10.0.0.1:7450: server refused: the protocol version is not the \
             server's (unsupported_version); retrying in 1.5s"
        );
    }

    #[test]
    fn the_once_lines_are_those_of_the_protocol_chosen() {
        let mut collector = Collector::new();
        let sample = collector.collect(1_700_000_000_000);
        let v1 = encode(Protocol::V1, &sample, &collector).unwrap();
        assert_eq!(v1.len(), 1);
        assert!(matches!(
            wire::decode_line::<Sample>(v1[0].trim_ascii_end()),
            Ok(Message::Sample(_))
        ));
        let v2 = encode(Protocol::V2, &sample, &collector).unwrap();
        let [declaration, values] = v2.as_slice() else {
            panic!("{v2:?}");
        };
        let mut declared = 0;
        let g = wire::decode_declare(
            declaration.trim_ascii_end(),
            |_, _| Ok(()),
            |_, _| {
                declared += 1;
                Ok(())
            },
        )
        .unwrap();
        let mut sent = 0;
        let header = wire::decode_values(values.trim_ascii_end(), |_| {
            sent += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((g, header.g, header.seq), (1, 1, 1));
        assert_eq!(header.t, 1_700_000_000_000);
        assert_eq!(declared, sent, "a value for each series declared");
        // v2 names no field: a value costs less than half of what a series costs in v1's line.
        // Per series, as v2 also carries the families v1 has no field for.
        struct Count(usize);
        impl Series for Count {
            fn add(&mut self, _: u16, _: &[&str], _: f64) {
                self.0 += 1;
            }
        }
        let mut in_v1 = Count(0);
        sample.series(&mut in_v1);
        assert!(
            values.len() * in_v1.0 < v1[0].len() * sent / 2,
            "v2: {} bytes for {sent} series, v1: {} for {}",
            values.len(),
            v1[0].len(),
            in_v1.0
        );
    }
}
