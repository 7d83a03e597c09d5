//! `vitals-server`: accepts agents, serves their metrics to Prometheus.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use agent_core::agent::parse_duration;
use anyhow::{Context, Result, anyhow, bail};
use server::{Config, DEFAULT_MAX_CONNECTIONS};

const USAGE: &str = "\
vitals-server: receives samples from vitals agents and serves them to Prometheus

usage: vitals-server [flags]

flags (each also read from the environment variable shown):
  --listen ADDR:PORT        where agents connect              [VITALS_LISTEN, default 0.0.0.0:7450]
  --http ADDR:PORT          where Prometheus scrapes /metrics [VITALS_HTTP, default 0.0.0.0:7451]
  --expire-after DURATION   drop an agent's series this long after its last sample
                            [VITALS_EXPIRE_AFTER, default: 3 of the agent's intervals, 5s to 3h]
  --max-connections N       agents served at once             [VITALS_MAX_CONNECTIONS, default 4096]
  --max-agents N            distinct agents held (label sets); new ids past it are refused
                            [VITALS_MAX_AGENTS, default 20000]
  --max-series N            series held for all agents; a hello or sample past it is refused
                            [VITALS_MAX_SERIES, default 4000000]
  --forget-after DURATION   a gone agent's up/last_seen series stay this long after expiry
                            [VITALS_FORGET_AFTER, default 24h]
  --max-line BYTES          longest line accepted (at most 65536)  [VITALS_MAX_LINE, default 65536]
  --handshake-timeout DURATION  time to say hello (and answer a challenge)
                            [VITALS_HANDSHAKE_TIMEOUT, default 10s]
  --idle-intervals N        close a connection silent for N of its agent's intervals
                            (10s to 3h; the first sample within one interval of hello)
                            [VITALS_IDLE_INTERVALS, default 3]
  --min-interval DURATION   samples an agent sends faster than this (after a burst of 1000)
                            are dropped and counted  [VITALS_MIN_INTERVAL, default 100ms]
  --key-file PATH           agents must prove their id with the key this file gives it
                            (lines `<agent id or pattern with *> <key>`; mode 600)
                            [VITALS_KEY_FILE, default: no authentication]
  -h, --help                this text
  -V, --version             the version

DURATION is a whole number with a unit: 500ms, 10s, 5m, 1h.
";

#[derive(Debug)]
struct Options {
    listen: String,
    http: String,
    expire_after: Option<Duration>,
    max_connections: usize,
    key_file: Option<String>,
    aggregator: server::aggregator::Config,
    limits: server::connection::Limits,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn duration(flag: &str, value: &str) -> Result<Duration> {
    parse_duration(value)
        .ok_or_else(|| anyhow!("{flag}: `{value}` is not a duration like 10s or 500ms"))
}

fn parse_options(args: impl IntoIterator<Item = String>) -> Result<Option<Options>> {
    let mut options = Options {
        listen: env("VITALS_LISTEN").unwrap_or_else(|| "0.0.0.0:7450".into()),
        http: env("VITALS_HTTP").unwrap_or_else(|| "0.0.0.0:7451".into()),
        expire_after: env("VITALS_EXPIRE_AFTER")
            .map(|v| duration("VITALS_EXPIRE_AFTER", &v))
            .transpose()?,
        max_connections: match env("VITALS_MAX_CONNECTIONS") {
            Some(v) => v
                .parse()
                .with_context(|| format!("VITALS_MAX_CONNECTIONS: `{v}` is not a number"))?,
            None => DEFAULT_MAX_CONNECTIONS,
        },
        key_file: env("VITALS_KEY_FILE"),
        aggregator: server::aggregator::Config::default(),
        limits: server::connection::Limits::default(),
    };
    // Flags and their variables, read the same way: the variable first, the flag over it.
    let mut settings: Vec<(String, String)> = [
        ("--max-agents", "VITALS_MAX_AGENTS"),
        ("--max-series", "VITALS_MAX_SERIES"),
        ("--forget-after", "VITALS_FORGET_AFTER"),
        ("--max-line", "VITALS_MAX_LINE"),
        ("--handshake-timeout", "VITALS_HANDSHAKE_TIMEOUT"),
        ("--idle-intervals", "VITALS_IDLE_INTERVALS"),
        ("--min-interval", "VITALS_MIN_INTERVAL"),
    ]
    .into_iter()
    .filter_map(|(flag, var)| env(var).map(|v| (flag.to_owned(), v)))
    .collect();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("vitals-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--listen" => options.listen = value()?,
            "--http" => options.http = value()?,
            "--expire-after" => options.expire_after = Some(duration("--expire-after", &value()?)?),
            "--max-connections" => {
                let v = value()?;
                options.max_connections = v
                    .parse()
                    .with_context(|| format!("--max-connections: `{v}` is not a number"))?;
            }
            "--key-file" => options.key_file = Some(value()?),
            "--max-agents"
            | "--max-series"
            | "--forget-after"
            | "--max-line"
            | "--handshake-timeout"
            | "--idle-intervals"
            | "--min-interval" => settings.push((flag.clone(), value()?)),
            other => bail!("unknown argument `{other}` (see --help)"),
        }
    }
    for (flag, v) in settings {
        let count = |min: u64| -> Result<u64> {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| anyhow!("{flag}: `{v}` is not a whole number of at least {min}"))
        };
        match flag.as_str() {
            "--max-agents" => options.aggregator.max_agents = usize::try_from(count(1)?)?,
            "--max-series" => options.aggregator.max_series = usize::try_from(count(1)?)?,
            "--forget-after" => options.aggregator.forget_after = duration(&flag, &v)?,
            "--min-interval" => options.aggregator.min_interval = duration(&flag, &v)?,
            "--handshake-timeout" => options.limits.handshake_timeout = duration(&flag, &v)?,
            "--idle-intervals" => options.limits.idle_intervals = u32::try_from(count(1)?)?,
            _ => {
                let n = usize::try_from(count(1)?)?;
                if n > agent_core::wire::MAX_LINE {
                    bail!("{flag}: at most {} bytes", agent_core::wire::MAX_LINE);
                }
                options.limits.max_line = n;
            }
        }
    }
    if options.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    Ok(Some(options))
}

/// Descriptors kept for everything but agents: listeners, HTTP scrapes, logs.
const RESERVED_FDS: u64 = 64;

fn run() -> Result<()> {
    let Some(mut options) = parse_options(std::env::args().skip(1))? else {
        return Ok(());
    };
    let keys = options
        .key_file
        .as_deref()
        .map(|path| server::keys::Keys::load(std::path::Path::new(path)).map(Arc::new))
        .transpose()?;
    let fd_limit = server::raise_fd_limit();
    let by_fds = usize::try_from(fd_limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    if by_fds < options.max_connections {
        options.max_connections = by_fds.max(1);
    }
    let agents = TcpListener::bind(&options.listen)
        .with_context(|| format!("cannot listen for agents on {}", options.listen))?;
    let http = TcpListener::bind(&options.http)
        .with_context(|| format!("cannot listen for HTTP on {}", options.http))?;
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, shutdown.clone()).context("cannot handle signals")?;
    }
    server::log!(
        "{}",
        server::startup_line(
            agents.local_addr()?,
            http.local_addr()?,
            options.max_connections,
            fd_limit
        )
    );
    let config = Config {
        aggregator: server::aggregator::Config {
            expire_after: options.expire_after,
            ..options.aggregator
        },
        max_connections: options.max_connections,
        limits: options.limits,
        keys,
    };
    match &options.key_file {
        Some(path) => server::log!("agents must authenticate with the keys in {path}"),
        None => server::log!("no --key-file: any agent may connect, unauthenticated"),
    }
    server::run(agents, http, config, shutdown)?;
    server::log!("stopped");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            server::log!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
