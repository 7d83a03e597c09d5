//! `vitals-server`: accepts agents, serves their metrics to Prometheus.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use agent_core::time::parse_duration;
use anyhow::{Context, Result, anyhow, bail};
use server::{Config, DEFAULT_MAX_CONNECTIONS};

/// `--help`, with the defaults read from the code that applies them, so that the two cannot
/// disagree.
fn usage() -> String {
    let aggregator = server::aggregator::Config::default();
    let limits = server::io::session::Limits::default();
    let http = server::http::Limits::default();
    format!(
        "\
vitals-server: receives samples from vitals agents and serves them to Prometheus

usage: vitals-server [flags]

flags (each also read from the environment variable shown):
  --listen ADDR:PORT        where agents connect              [VITALS_LISTEN, default 0.0.0.0:7450]
  --http ADDR:PORT          where Prometheus scrapes /metrics [VITALS_HTTP, default 0.0.0.0:7451]
  --expire-after DURATION   drop an agent's series this long after its last sample
                            [VITALS_EXPIRE_AFTER, default: 3 of the agent's intervals, {min_expiry} to {max_expiry}]
  --max-connections N       agents served at once             [VITALS_MAX_CONNECTIONS, default {max_connections}]
  --max-agents N            distinct agents held (label sets); new ids past it are refused
                            [VITALS_MAX_AGENTS, default {max_agents}]
  --max-series N            series held for all agents; a hello or sample past it is refused
                            [VITALS_MAX_SERIES, default {max_series}]
  --forget-after DURATION   a gone agent's up/last_seen series stay this long after expiry
                            [VITALS_FORGET_AFTER, default {forget_after}]
  --max-line BYTES          longest line accepted (at most {max_line_cap})  [VITALS_MAX_LINE, default {max_line}]
  --handshake-timeout DURATION  time to say hello (and answer a challenge)
                            [VITALS_HANDSHAKE_TIMEOUT, default {handshake}]
  --idle-intervals N        close a connection silent for N of its agent's intervals
                            ({min_idle} to {max_idle}; the first sample within one interval of hello)
                            [VITALS_IDLE_INTERVALS, default {idle_intervals}]
  --min-interval DURATION   samples an agent sends faster than this (after a burst of {burst})
                            are dropped and counted  [VITALS_MIN_INTERVAL, default {min_interval}]
  --key-file PATH           agents must prove their id with the key this file gives it
                            (lines `<agent id or pattern with *> <key>`; mode 600)
                            [VITALS_KEY_FILE, default: no authentication]

HTTP side (/metrics, /healthz):
  --web-config-file PATH    TLS and basic auth, in the file format of node_exporter's
                            --web.config.file (which is accepted too)
                            [VITALS_WEB_CONFIG_FILE, default: plain HTTP for anyone]
  --http-max-connections N  HTTP connections at once; one waiting on its client makes way
                            for a new one, the excess gets 503  [VITALS_HTTP_MAX_CONNECTIONS, default {http_max}]
  --http-header-timeout DURATION  time for a whole request head (and a TLS handshake)
                            [VITALS_HTTP_HEADER_TIMEOUT, default {http_header}]
  --http-idle-timeout DURATION  time a kept-alive connection waits for its next request
                            [VITALS_HTTP_IDLE_TIMEOUT, default {http_idle}]
  --http-write-timeout DURATION  time to write one whole response
                            [VITALS_HTTP_WRITE_TIMEOUT, default {http_write}]

Remote write (every merged sample to a Prometheus-compatible store, at the agent's timestamp):
  --remote-write URL        POST Prometheus remote write 1.0 here (http:// or https://)
                            [VITALS_REMOTE_WRITE, default: none]
  --remote-write-bearer-token-file PATH  send `Authorization: Bearer` with the file's first line
                            [VITALS_REMOTE_WRITE_BEARER_TOKEN_FILE]
  --remote-write-basic-auth-user NAME  basic auth, with the password in
  --remote-write-password-file PATH    (its first line)  [VITALS_REMOTE_WRITE_BASIC_AUTH_USER,
                            VITALS_REMOTE_WRITE_PASSWORD_FILE]
  --remote-write-ca-file PATH  the CA certificates (PEM) an https store's certificate chains to
                            [VITALS_REMOTE_WRITE_CA_FILE, default: the system's]
  --remote-write-header 'NAME: VALUE'  one more header, such as X-Scope-OrgID (repeatable)
  --remote-write-label NAME=VALUE  a label on every series written, over an agent's own
                            (repeatable; default job=node, as the shipped scrape config)
  --remote-write-shards N   requests in flight at once, each on its own connection (1 to {max_shards})
                            [VITALS_REMOTE_WRITE_SHARDS, default {shards}]

  --health                  ask the /healthz of the server running with these flags (--http,
                            --web-config-file) and exit: 0 when it answers 200, 1 otherwise
                            (a container's health check, where there is no curl)
  -h, --help                this text
  -V, --version             the version

DURATION is a whole number with a unit: 500ms, 10s, 5m, 1h; at most {max_duration}.
",
        min_expiry = human(server::aggregator::MIN_EXPIRY),
        max_expiry = human(server::aggregator::MAX_EXPIRY),
        max_series = aggregator.max_series,
        max_idle = human(server::io::session::MAX_IDLE),
        max_connections = DEFAULT_MAX_CONNECTIONS,
        max_agents = aggregator.max_agents,
        forget_after = human(aggregator.forget_after),
        max_line_cap = agent_core::wire::MAX_LINE,
        max_line = limits.max_line,
        handshake = human(limits.handshake_timeout),
        min_idle = human(server::io::session::MIN_IDLE),
        idle_intervals = limits.idle_intervals,
        burst = server::aggregator::BURST,
        min_interval = human(aggregator.min_interval),
        max_duration = human(MAX_DURATION),
        http_max = http.max_connections,
        http_header = human(http.header_timeout),
        http_idle = human(http.idle_timeout),
        http_write = human(http.write_timeout),
        shards = server::remote::writer::DEFAULT_SHARDS,
        max_shards = server::remote::writer::MAX_SHARDS,
    )
}

/// The longest duration a flag takes: ten years is longer than any server runs, and keeps every
/// sum of durations and instants far from overflowing.
const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A duration as `--help` writes it: the largest unit that divides it.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".into(),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

#[derive(Debug)]
struct Options {
    listen: String,
    http: String,
    expire_after: Option<Duration>,
    max_connections: usize,
    key_file: Option<String>,
    web_config_file: Option<String>,
    aggregator: server::aggregator::Config,
    limits: server::io::session::Limits,
    http_limits: server::http::Limits,
    /// `--health`: ask a running server's `/healthz` instead of serving.
    health: bool,
    /// `--remote-write` and the flags beside it.
    remote: RemoteOptions,
}

/// The remote-write flags, as given.
#[derive(Debug, Default)]
struct RemoteOptions {
    url: Option<String>,
    bearer_token_file: Option<String>,
    basic_auth_user: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    headers: Vec<String>,
    labels: Vec<String>,
    shards: Option<String>,
}

/// The first line of a secret's file, without its line break: what `kubectl create secret`
/// and `echo` leave there.
fn secret(flag: &str, path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{flag}: {path}"))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        bail!("{flag}: {path} is empty");
    }
    Ok(line.to_owned())
}

/// The remote-write configuration the flags describe, if `--remote-write` is given.
fn remote_config(o: &RemoteOptions) -> Result<Option<server::remote::Config>> {
    use server::remote::{self, client};
    let Some(url) = &o.url else {
        let given = o.bearer_token_file.is_some()
            || o.basic_auth_user.is_some()
            || o.password_file.is_some()
            || o.ca_file.is_some()
            || !o.headers.is_empty()
            || !o.labels.is_empty()
            || o.shards.is_some();
        if given {
            bail!("the --remote-write-* flags need --remote-write URL");
        }
        return Ok(None);
    };
    let endpoint = client::Endpoint::parse(url).map_err(|e| anyhow!("--remote-write: {e}"))?;
    let mut headers = Vec::new();
    match (&o.bearer_token_file, &o.basic_auth_user, &o.password_file) {
        (Some(_), Some(_), _) => {
            bail!(
                "--remote-write-bearer-token-file and --remote-write-basic-auth-user: one or the other"
            )
        }
        (Some(path), None, None) => {
            let token = secret("--remote-write-bearer-token-file", path)?;
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        (None, Some(user), Some(path)) => {
            use base64::Engine as _;
            let password = secret("--remote-write-password-file", path)?;
            let both =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            headers.push(("Authorization".to_owned(), format!("Basic {both}")));
        }
        (None, Some(_), None) => {
            bail!("--remote-write-basic-auth-user needs --remote-write-password-file")
        }
        (_, None, Some(_)) => {
            bail!("--remote-write-password-file needs --remote-write-basic-auth-user")
        }
        (None, None, None) => {}
    }
    for header in &o.headers {
        let header =
            remote::parse_header(header).map_err(|e| anyhow!("--remote-write-header: {e}"))?;
        if header.0.eq_ignore_ascii_case("authorization") && !headers.is_empty() {
            bail!("--remote-write-header: Authorization is set by the credentials' flags already");
        }
        headers.push(header);
    }
    let mut labels = vec![("job".to_owned(), remote::DEFAULT_JOB.to_owned())];
    for label in &o.labels {
        let (name, value) =
            remote::parse_label(label).map_err(|e| anyhow!("--remote-write-label: {e}"))?;
        labels.retain(|(n, _)| *n != name);
        labels.push((name, value));
    }
    let tls = match (endpoint.tls, &o.ca_file) {
        (true, ca) => Some(
            client::tls_config(ca.as_deref())
                .map_err(|e| anyhow!("--remote-write-ca-file: {e}"))?,
        ),
        (false, Some(_)) => bail!("--remote-write-ca-file is for an https:// URL"),
        (false, None) => None,
    };
    let shards = match &o.shards {
        None => remote::writer::DEFAULT_SHARDS,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=remote::writer::MAX_SHARDS) => n,
            _ => bail!(
                "--remote-write-shards: `{text}` is not a number from 1 to {}",
                remote::writer::MAX_SHARDS
            ),
        },
    };
    Ok(Some(remote::Config {
        endpoint,
        headers,
        labels,
        tls,
        shards,
    }))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn duration(flag: &str, value: &str) -> Result<Duration> {
    let d = parse_duration(value)
        .ok_or_else(|| anyhow!("{flag}: `{value}` is not a duration like 10s or 500ms"))?;
    if d > MAX_DURATION {
        bail!("{flag}: `{value}` is longer than {}", human(MAX_DURATION));
    }
    Ok(d)
}

/// A duration flag that must not be zero (a zero deadline would refuse everything).
fn positive(flag: &str, value: &str) -> Result<Duration> {
    let d = duration(flag, value)?;
    if d.is_zero() {
        bail!("{flag}: must be longer than 0");
    }
    Ok(d)
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
        web_config_file: env("VITALS_WEB_CONFIG_FILE"),
        aggregator: server::aggregator::Config::default(),
        limits: server::io::session::Limits::default(),
        http_limits: server::http::Limits::default(),
        health: false,
        remote: RemoteOptions {
            url: env("VITALS_REMOTE_WRITE"),
            bearer_token_file: env("VITALS_REMOTE_WRITE_BEARER_TOKEN_FILE"),
            basic_auth_user: env("VITALS_REMOTE_WRITE_BASIC_AUTH_USER"),
            password_file: env("VITALS_REMOTE_WRITE_PASSWORD_FILE"),
            ca_file: env("VITALS_REMOTE_WRITE_CA_FILE"),
            shards: env("VITALS_REMOTE_WRITE_SHARDS"),
            ..RemoteOptions::default()
        },
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
        ("--http-max-connections", "VITALS_HTTP_MAX_CONNECTIONS"),
        ("--http-header-timeout", "VITALS_HTTP_HEADER_TIMEOUT"),
        ("--http-idle-timeout", "VITALS_HTTP_IDLE_TIMEOUT"),
        ("--http-write-timeout", "VITALS_HTTP_WRITE_TIMEOUT"),
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
                print!("{}", usage());
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("vitals-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--health" => options.health = true,
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
            "--remote-write" => options.remote.url = Some(value()?),
            "--remote-write-bearer-token-file" => {
                options.remote.bearer_token_file = Some(value()?);
            }
            "--remote-write-basic-auth-user" => options.remote.basic_auth_user = Some(value()?),
            "--remote-write-password-file" => options.remote.password_file = Some(value()?),
            "--remote-write-ca-file" => options.remote.ca_file = Some(value()?),
            "--remote-write-header" => options.remote.headers.push(value()?),
            "--remote-write-label" => options.remote.labels.push(value()?),
            "--remote-write-shards" => options.remote.shards = Some(value()?),
            // node_exporter's spelling too, so that its unit files and manifests carry over.
            "--web-config-file" | "--web.config.file" => {
                options.web_config_file = Some(value()?);
            }
            "--max-agents"
            | "--max-series"
            | "--forget-after"
            | "--max-line"
            | "--handshake-timeout"
            | "--idle-intervals"
            | "--min-interval"
            | "--http-max-connections"
            | "--http-header-timeout"
            | "--http-idle-timeout"
            | "--http-write-timeout" => settings.push((flag.clone(), value()?)),
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
            "--http-max-connections" => {
                options.http_limits.max_connections = usize::try_from(count(1)?)?;
            }
            "--http-header-timeout" => options.http_limits.header_timeout = positive(&flag, &v)?,
            "--http-idle-timeout" => options.http_limits.idle_timeout = positive(&flag, &v)?,
            "--http-write-timeout" => options.http_limits.write_timeout = positive(&flag, &v)?,
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

/// Descriptors kept for everything but agents and HTTP connections: listeners, epoll and
/// eventfds, logs, files read at start-up.
const OTHER_FDS: u64 = 32;

fn run() -> Result<()> {
    let Some(mut options) = parse_options(std::env::args().skip(1))? else {
        return Ok(());
    };
    if options.health {
        return health(&options);
    }
    let keys = options
        .key_file
        .as_deref()
        .map(|path| server::keys::Keys::load(std::path::Path::new(path)).map(Arc::new))
        .transpose()?;
    let web = match &options.web_config_file {
        Some(path) => server::http::web_config::WebConfig::load(std::path::Path::new(path))?,
        None => server::http::web_config::WebConfig::default(),
    };
    let remote = remote_config(&options.remote)?;
    let fd_limit = server::raise_fd_limit();
    let reserved = OTHER_FDS.saturating_add(options.http_limits.max_connections as u64);
    let by_fds = usize::try_from(fd_limit.saturating_sub(reserved)).unwrap_or(usize::MAX);
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
            web.tls.is_some(),
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
        http: server::http::Config {
            limits: options.http_limits,
            web: Arc::new(web),
        },
        remote,
    };
    match &options.key_file {
        Some(path) => server::log!("agents must authenticate with the keys in {path}"),
        None => server::log!("no --key-file: any agent may connect, unauthenticated"),
    }
    match (&options.web_config_file, &config.http.web) {
        (None, _) => server::log!("no --web-config-file: metrics over plain HTTP, for anyone"),
        (Some(path), web) => server::log!(
            "web config {path}: {}, {}",
            if web.tls.is_some() {
                "TLS"
            } else {
                "plain HTTP (no TLS)"
            },
            match (&web.users, web.tls.is_some()) {
                (Some(_), true) => "basic auth",
                (Some(_), false) => "basic auth, whose passwords cross the network in clear text",
                (None, _) => "no authentication",
            }
        ),
    }
    server::run(agents, http, config, shutdown)?;
    server::log!("stopped");
    Ok(())
}

/// `--health`: the answer of `/healthz` on `--http`, over TLS when the web config asks for it.
fn health(options: &Options) -> Result<()> {
    let tls = match &options.web_config_file {
        Some(path) => server::http::web_config::WebConfig::load(std::path::Path::new(path))?
            .tls
            .is_some(),
        None => false,
    };
    server::http::health::check(&options.http, tls)?;
    Ok(())
}

fn main() -> ExitCode {
    server::heartbeat::exit_on_panic();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            server::log!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>> {
        parse_options(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn the_help_states_the_defaults_the_server_applies() {
        // It said 4096 connections while the server took 16384.
        let help = usage();
        assert!(
            help.contains(&format!("default {DEFAULT_MAX_CONNECTIONS}]")),
            "{help}"
        );
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.max_connections, DEFAULT_MAX_CONNECTIONS);
        for (flag, default) in [
            (
                "VITALS_MAX_AGENTS",
                options.aggregator.max_agents.to_string(),
            ),
            (
                "VITALS_FORGET_AFTER",
                human(options.aggregator.forget_after),
            ),
            (
                "VITALS_MIN_INTERVAL",
                human(options.aggregator.min_interval),
            ),
            (
                "VITALS_HANDSHAKE_TIMEOUT",
                human(options.limits.handshake_timeout),
            ),
            (
                "VITALS_IDLE_INTERVALS",
                options.limits.idle_intervals.to_string(),
            ),
            ("VITALS_MAX_LINE", options.limits.max_line.to_string()),
            (
                "VITALS_HTTP_MAX_CONNECTIONS",
                options.http_limits.max_connections.to_string(),
            ),
            (
                "VITALS_HTTP_HEADER_TIMEOUT",
                human(options.http_limits.header_timeout),
            ),
            (
                "VITALS_HTTP_IDLE_TIMEOUT",
                human(options.http_limits.idle_timeout),
            ),
            (
                "VITALS_HTTP_WRITE_TIMEOUT",
                human(options.http_limits.write_timeout),
            ),
        ] {
            assert!(
                help.contains(&format!("{flag}, default {default}]")),
                "{flag} {default}: {help}"
            );
        }
    }

    #[test]
    fn a_duration_longer_than_ten_years_is_refused_rather_than_overflowing_later() {
        for flag in [
            "--expire-after",
            "--forget-after",
            "--handshake-timeout",
            "--min-interval",
            "--http-header-timeout",
            "--http-idle-timeout",
            "--http-write-timeout",
        ] {
            let error = parse(&[flag, "5124095576030431h"]).unwrap_err().to_string();
            assert!(error.contains("longer than 87600h"), "{error}");
            assert!(parse(&[flag, "87600h"]).is_ok(), "{flag} 87600h");
        }
    }

    #[test]
    fn http_flags_take_node_exporters_spelling_and_refuse_a_zero_deadline() {
        for flag in ["--web-config-file", "--web.config.file"] {
            let options = parse(&[flag, "/etc/vitals/web.yml"]).unwrap().unwrap();
            assert_eq!(
                options.web_config_file.as_deref(),
                Some("/etc/vitals/web.yml")
            );
        }
        let options = parse(&["--http-max-connections=7", "--http-write-timeout", "5s"])
            .unwrap()
            .unwrap();
        assert_eq!(options.http_limits.max_connections, 7);
        assert_eq!(options.http_limits.write_timeout, Duration::from_secs(5));
        for flag in [
            "--http-header-timeout",
            "--http-idle-timeout",
            "--http-write-timeout",
        ] {
            let error = parse(&[flag, "0s"]).unwrap_err().to_string();
            assert!(error.contains("longer than 0"), "{error}");
        }
        assert!(parse(&["--http-max-connections", "0"]).is_err());
    }

    #[test]
    fn durations_are_written_in_their_largest_whole_unit() {
        let cases = [
            (0, "0s"),
            (100, "100ms"),
            (10_000, "10s"),
            (300_000, "5m"),
            (86_400_000, "24h"),
        ];
        for (ms, text) in cases {
            assert_eq!(human(Duration::from_millis(ms)), text);
        }
    }
}
