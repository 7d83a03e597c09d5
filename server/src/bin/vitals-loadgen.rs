//! `vitals-loadgen`: many simulated agents speaking the real protocol to a vitals server, for
//! load tests and `make bench`; and `--sink`, a do-nothing reader that only counts lines and
//! acknowledges them, the ceiling any server can reach through the same sockets.
//!
//! Each simulated agent connects, says hello, waits for welcome, then sends realistic samples
//! (4 CPUs, 3 filesystems, 3 interfaces, 2 disks, pressure: about 3 KiB a line) whose counters
//! grow between samples, either at `--rate` samples per second or flat out with up to
//! `--window` unacknowledged. With `--reconnect` an agent whose connection ends comes back as the
//! real agent does (backoff from 500 ms to 30 s with jitter, the same session), and numbers its
//! next sample after the `last_seq` of the welcome: it keeps no ring, so what was not merged is
//! sent anew rather than again, and its sequence has no gaps. It stops after `--seconds` and
//! reports what was sent, acknowledged and refused. It speaks protocol v2 (a declaration per
//! connection, then values) unless `--protocol 1` asks for v1's whole samples.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use agent_core::sample::{Sample, bounded};
use agent_core::wire::{
    self, Decoder, FeedResult, Hello, MAX_LINE, Message, SampleMessage, ValuesHeader, ValuesWriter,
};
use server::io::pacer::Pacer;
use server::recorded::Recorded;

const USAGE: &str = "\
vitals-loadgen: simulated vitals agents, or a do-nothing sink to measure against

usage: vitals-loadgen --server HOST:PORT [--agents N] [--rate R | --flat-out [--window W]]
                      [--seconds S] [--threads T] [--prefix NAME] [--reconnect] [--ack-every A]
                      [--protocol 1|2]
       vitals-loadgen --sink ADDR:PORT [--seconds S] [--ack-every A]

  --agents N      simulated agents, each its own connection       [default 100]
  --rate R        samples per second per agent                     [default 1]
  --flat-out      send as fast as acknowledgements allow
  --window W      with --flat-out: unacknowledged samples per agent [default twice
                  --ack-every, what vitals-agent's ring keeps room for]
  --seconds S     stop after S seconds (at most 3600)              [default 10]
  --threads T     sending threads                                  [default 2]
  --prefix NAME   agent ids are NAME-0, NAME-1, ...                [default load]
  --reconnect     an agent whose connection ends connects again, with backoff
  --ack-every A   samples one ack may cover, as the agent's hello says  [default what
                  vitals-agent asks for with these samples and its default --buffer];
                  the sink acks that often
  --protocol V    1: whole samples; 2: a declaration, then values    [default 2]
  --record FILE   protocol 2 with a real machine's series: what `vitals-agent --once` printed
                  there (its declaration, and its values with every counter moving on)
  --sink ADDR     listen there, read every line, acknowledge samples without decoding them
";

#[derive(Debug, Clone)]
struct Options {
    server: Option<String>,
    sink: Option<String>,
    agents: usize,
    rate: f64,
    flat_out: bool,
    window: u64,
    seconds: u64,
    threads: usize,
    prefix: String,
    reconnect: bool,
    ack_every: u64,
    protocol: u32,
    record: Option<Arc<Recorded>>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        server: None,
        sink: None,
        agents: 100,
        rate: 1.0,
        flat_out: false,
        window: 0,
        seconds: 10,
        threads: 2,
        prefix: "load".into(),
        reconnect: false,
        ack_every: 0,
        protocol: wire::PROTOCOL_V2,
        record: None,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("`{v}` is not a number"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--server" => o.server = Some(value()?),
            "--sink" => o.sink = Some(value()?),
            "--agents" => o.agents = number(value()?)? as usize,
            "--rate" => {
                o.rate = value()?
                    .parse()
                    .map_err(|_| "--rate: not a number".to_owned())?
            }
            "--flat-out" => o.flat_out = true,
            "--window" => o.window = number(value()?)?.max(1),
            "--seconds" => o.seconds = number(value()?)?.clamp(1, 3600),
            "--threads" => o.threads = (number(value()?)? as usize).max(1),
            "--prefix" => o.prefix = value()?,
            "--reconnect" => o.reconnect = true,
            "--protocol" => {
                o.protocol = match value()?.as_str() {
                    "1" => wire::PROTOCOL_VERSION,
                    "2" => wire::PROTOCOL_V2,
                    other => return Err(format!("--protocol: 1 or 2, not `{other}`")),
                }
            }
            "--record" => {
                let path = value()?;
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("--record {path}: {e}"))?;
                let recorded =
                    Recorded::parse(&text).map_err(|e| format!("--record {path}: {e}"))?;
                o.record = Some(Arc::new(recorded));
            }
            "--ack-every" => {
                o.ack_every =
                    number(value()?)?.clamp(1, u64::from(agent_core::wire::MAX_ACK_EVERY));
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if o.server.is_none() == o.sink.is_none() {
        return Err("give either --server or --sink (see --help)".into());
    }
    // A period of 1/rate must fit a Duration: Duration::from_secs_f64 panics past it.
    if !(0.001..=1_000_000.0).contains(&o.rate) {
        return Err("--rate must be between 0.001 and 1000000 samples a second".into());
    }
    if o.record.is_some() && o.protocol != wire::PROTOCOL_V2 {
        return Err("--record is a protocol 2 agent's series: not with --protocol 1".into());
    }
    if o.ack_every == 0 {
        o.ack_every = u64::from(match &o.record {
            Some(r) => r.agent_ack_every(),
            None => server::synthetic::agent_ack_every(),
        });
    }
    if o.window == 0 {
        o.window = 2 * o.ack_every;
    }
    if o.flat_out && o.window < o.ack_every {
        return Err(format!(
            "--window {} is less than --ack-every {}: the agents would wait for acks that never come",
            o.window, o.ack_every
        ));
    }
    Ok(Some(o))
}

#[derive(Default)]
struct Totals {
    connected: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    reconnected: AtomicU64,
    bytes: AtomicU64,
}

/// The real agent's backoff: 500 ms doubling per failure up to 30 s, a random point in the
/// upper half.
fn backoff(attempts: u32, rng: &mut u64) -> Duration {
    let base = 500u64.saturating_mul(1 << attempts.min(6)).min(30_000);
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    Duration::from_millis(base / 2 + *rng % (base / 2 + 1))
}

/// One simulated agent.
struct Sim {
    id: String,
    session: u64,
    stream: TcpStream,
    welcomed: bool,
    dead: bool,
    /// With `--reconnect`: when a lost connection is tried again, and failures since a welcome.
    retry_at: Option<Instant>,
    attempts: u32,
    seq: u64,
    acked: u64,
    /// v2: whether this connection has had the declaration.
    declared: bool,
    /// v2: whether the server's welcome said it reads lines that leave values out, and the
    /// last values line sent whole on this connection, with its number: as `vitals-agent`
    /// does, the next line leaves out what it shares with that one while it is not acked.
    same: bool,
    previous: Vec<u8>,
    previous_seq: u64,
    out: Vec<u8>,
    written: usize,
    due: Instant,
    decoder: Box<Decoder<1024>>,
}

fn connect(
    addr: SocketAddr,
    id: &str,
    session: u64,
    ack_every: u64,
    protocol: u32,
) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_nodelay(true)?;
    let hello: Message = Message::Hello(Hello {
        id: bounded(id),
        version: bounded("loadgen"),
        os: bounded("Linux"),
        arch: bounded("x86_64"),
        kernel: bounded("6.1.0"),
        kernel_version: bounded("1 SMP"),
        hostname: bounded(id),
        domainname: bounded("(none)"),
        interval_ms: 1000,
        session,
        ack_every: u32::try_from(ack_every).unwrap_or(1),
        last_sent: 0,
    });
    let mut buf = [0u8; 1024];
    let n = wire::encode_versioned(protocol, &hello, &mut buf).map_err(std::io::Error::other)?;
    stream.write_all(&buf[..n])?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

fn run_agents(
    o: &Options,
    addr: SocketAddr,
    ids: std::ops::Range<usize>,
    totals: &Totals,
    stop: &AtomicBool,
) {
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / o.rate);
    let count = ids.len().max(1);
    let mut sims: Vec<Sim> = Vec::with_capacity(ids.len());
    for (k, i) in ids.enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = format!("{}-{i}", o.prefix);
        let session = start.elapsed().as_nanos() as u64 ^ i as u64;
        match connect(addr, &id, session, o.ack_every, o.protocol) {
            Ok(stream) => {
                totals.connected.fetch_add(1, Ordering::Relaxed);
                sims.push(Sim {
                    id,
                    session,
                    stream,
                    welcomed: false,
                    dead: false,
                    retry_at: None,
                    attempts: 0,
                    seq: 0,
                    acked: 0,
                    declared: false,
                    same: false,
                    previous: Vec::new(),
                    previous_seq: 0,
                    out: Vec::with_capacity(4096),
                    written: 0,
                    // Spread the agents over one period so they do not all send at once.
                    due: start + period.mul_f64(k as f64 / count as f64),
                    decoder: Box::new(Decoder::new()),
                })
            }
            Err(_) => {
                totals.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let mut sample = server::synthetic::sample();
    let mut line = vec![0u8; MAX_LINE + 1];
    let mut delta_line = vec![0u8; MAX_LINE + 1];
    let mut rx = [0u8; 4096];
    let mut rng = start.elapsed().as_nanos() as u64 | 1;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut busy = false;
        if o.reconnect {
            for sim in &mut sims {
                if sim.dead && sim.retry_at.is_none() {
                    // Lost just now: close it, and try again after a backoff.
                    let _ = sim.stream.shutdown(std::net::Shutdown::Both);
                    sim.retry_at = Some(now + backoff(sim.attempts, &mut rng));
                    sim.attempts = sim.attempts.saturating_add(1);
                }
                if sim.retry_at.is_some_and(|at| now >= at) {
                    match connect(addr, &sim.id, sim.session, o.ack_every, o.protocol) {
                        Ok(stream) => {
                            totals.reconnected.fetch_add(1, Ordering::Relaxed);
                            sim.stream = stream;
                            sim.dead = false;
                            sim.welcomed = false;
                            sim.declared = false;
                            sim.previous.clear();
                            sim.retry_at = None;
                            sim.out.clear();
                            sim.written = 0;
                            sim.decoder.reset();
                        }
                        Err(_) => {
                            sim.retry_at = Some(now + backoff(sim.attempts, &mut rng));
                            sim.attempts = sim.attempts.saturating_add(1);
                        }
                    }
                }
            }
        }
        for sim in sims.iter_mut().filter(|s| !s.dead) {
            // Read what the server said.
            loop {
                match sim.stream.read(&mut rx) {
                    Ok(0) => {
                        sim.dead = true;
                        totals.failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Ok(n) => {
                        let mut input = &rx[..n];
                        loop {
                            match sim.decoder.feed::<Sample>(input) {
                                FeedResult::Consumed => break,
                                FeedResult::Message { message, remaining } => {
                                    input = remaining;
                                    match message {
                                        Message::Welcome(w) => {
                                            sim.welcomed = true;
                                            sim.same = w.same == 1;
                                            sim.attempts = 0;
                                            if o.reconnect {
                                                // No ring: go on after what is merged.
                                                sim.seq = w.last_seq;
                                                sim.acked = w.last_seq;
                                            }
                                        }
                                        Message::Ack(a) => {
                                            totals.acked.fetch_add(
                                                a.seq.saturating_sub(sim.acked),
                                                Ordering::Relaxed,
                                            );
                                            sim.acked = sim.acked.max(a.seq);
                                        }
                                        _ => {
                                            totals.rejected.fetch_add(1, Ordering::Relaxed);
                                            sim.dead = true;
                                        }
                                    }
                                }
                                FeedResult::Error { remaining, .. } => {
                                    input = remaining;
                                    totals.rejected.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        if sim.dead {
                            break; // refused: its end of file is no further failure
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        sim.dead = true;
                        totals.failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            if sim.dead || !sim.welcomed {
                continue;
            }
            // Queue a sample when one is due.
            let want = if o.flat_out {
                sim.seq - sim.acked < o.window
            } else {
                now >= sim.due
            };
            if want && sim.out.len() == sim.written {
                sim.seq += 1;
                server::synthetic::advance(&mut sample, sim.seq);
                sim.out.clear();
                sim.written = 0;
                if o.protocol == wire::PROTOCOL_V2 && !sim.declared {
                    // The simulated series never change: one declaration a connection.
                    let declared = match &o.record {
                        Some(r) => {
                            line[..r.declaration().len()].copy_from_slice(r.declaration());
                            Ok(r.declaration().len())
                        }
                        None => wire::encode_declare(1, &mut |out| sample.series(out), &mut line),
                    };
                    if let Ok(n) = declared {
                        sim.out.extend_from_slice(&line[..n]);
                        totals.bytes.fetch_add(n as u64, Ordering::Relaxed);
                        sim.declared = true;
                    }
                }
                let encoded = if o.protocol == wire::PROTOCOL_V2 {
                    let header = ValuesHeader {
                        seq: sim.seq,
                        dropped: 0,
                        g: 1,
                        // The wall clock, so that a store's delays can be measured from it.
                        t: std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(sample.time_ms, |d| d.as_millis() as u64),
                    };
                    let mut values = ValuesWriter::new(&header, &mut line);
                    match &o.record {
                        Some(r) => r.write(sim.seq, &mut values),
                        None => sample.series(&mut values),
                    }
                    values.finish()
                } else {
                    let message = Message::Sample(SampleMessage {
                        seq: sim.seq,
                        dropped: 0,
                        sample: &sample,
                    });
                    wire::encode(&message, &mut line)
                };
                let mut shorter = None;
                if let (Ok(n), true) = (encoded, o.protocol == wire::PROTOCOL_V2) {
                    if sim.same && sim.previous_seq > sim.acked && !sim.previous.is_empty() {
                        shorter = wire::delta(&sim.previous, &line[..n], &mut delta_line);
                    }
                    sim.previous.clear();
                    sim.previous.extend_from_slice(&line[..n]);
                    sim.previous_seq = sim.seq;
                }
                if let Some(n) = shorter {
                    sim.out.extend_from_slice(&delta_line[..n]);
                    totals.sent.fetch_add(1, Ordering::Relaxed);
                    totals.bytes.fetch_add(n as u64, Ordering::Relaxed);
                } else if let Ok(n) = encoded {
                    sim.out.extend_from_slice(&line[..n]);
                    totals.sent.fetch_add(1, Ordering::Relaxed);
                    totals.bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                sim.due += period;
                if sim.due < now {
                    sim.due = now + period;
                }
            }
            // Write what is queued, as far as the socket takes it.
            while sim.written < sim.out.len() {
                match sim.stream.write(&sim.out[sim.written..]) {
                    Ok(n) => {
                        sim.written += n;
                        busy = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        sim.dead = true;
                        totals.failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
        }
        if !busy {
            thread::sleep(Duration::from_micros(if o.flat_out { 50 } else { 2000 }));
        }
    }
}

/// The do-nothing reader: counts lines per connection and acknowledges them without decoding.
/// It is built as the server is (a non-blocking socket per connection, epoll, one thread per
/// core, and the same rest between passes, [`Pacer`]) so that it is the ceiling for the
/// same bytes through the same kernel: what any server could reach if decoding and merging
/// cost nothing.
fn sink(listen: &str, seconds: u64, ack_every: u64) -> Result<(), String> {
    let listener =
        TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    // A whole fleet connects at once: std's accept queue of 128 would drop connections.
    rustix::net::listen(&listener, 4096).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    eprintln!(
        "vitals-loadgen sink on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let lines = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    for _ in 0..workers {
        let listener = listener.try_clone().map_err(|e| e.to_string())?;
        let (lines, bytes) = (lines.clone(), bytes.clone());
        thread::spawn(move || sink_worker(&listener, ack_every, &lines, &bytes));
    }
    thread::sleep(Duration::from_secs(seconds));
    println!(
        "sink: {} lines, {} bytes",
        lines.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed)
    );
    Ok(())
}

/// One sink thread: accepts from the shared listener and serves its connections through epoll.
fn sink_worker(listener: &TcpListener, ack_every: u64, lines: &AtomicU64, bytes: &AtomicU64) {
    use rustix::event::epoll;
    const LISTENER: u64 = u64::MAX;
    let Ok(poll) = epoll::create(epoll::CreateFlags::CLOEXEC) else {
        return;
    };
    let interest = epoll::EventFlags::IN;
    if epoll::add(
        &poll,
        listener,
        epoll::EventData::new_u64(LISTENER),
        interest,
    )
    .is_err()
    {
        return;
    }
    // Each connection: its socket, the lines seen on it (the first is the hello, and in v2 the
    // second the declaration), the sample last acknowledged, and its protocol version.
    let mut conns: std::collections::HashMap<u64, (TcpStream, u64, u64, u32)> = Default::default();
    let mut next = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut ready: Vec<epoll::Event> = Vec::with_capacity(256);
    let mut pacer = Pacer::default();
    loop {
        let pass = Instant::now();
        let mut pass_lines = 0;
        ready.clear();
        if epoll::wait(&poll, rustix::buffer::spare_capacity(&mut ready), None).is_err() {
            continue;
        }
        for event in ready.iter().copied() {
            let token = event.data.u64();
            if token == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    let _ = stream.set_nonblocking(true);
                    let _ = stream.set_nodelay(true);
                    next += 1;
                    if epoll::add(&poll, &stream, epoll::EventData::new_u64(next), interest).is_ok()
                    {
                        conns.insert(next, (stream, 0, 0, 1));
                    }
                }
                continue;
            }
            let Some((stream, seen, acked, version)) = conns.get_mut(&token) else {
                continue;
            };
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    conns.remove(&token);
                    continue;
                }
                Ok(n) => n,
            };
            bytes.fetch_add(n as u64, Ordering::Relaxed);
            let before = *seen;
            *seen += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            lines.fetch_add(*seen - before, Ordering::Relaxed);
            pass_lines += *seen - before;
            // The first line is the hello (and in v2 the second the declaration); every later
            // one is the next sample.
            let mut reply = String::new();
            if before == 0 && *seen > 0 {
                if buf.starts_with(br#"{"v":2,"#) {
                    *version = 2;
                }
                // Saying `same` as a server does, so that v2 agents send the same bytes here.
                let same = if *version == 2 { r#","same":1"# } else { "" };
                reply.push_str(&format!(
                    "{{\"v\":{version},\"kind\":\"welcome\",\"server\":\"sink\",\"last_seq\":0{same}}}\n"
                ));
            }
            let samples = seen.saturating_sub(u64::from(*version));
            // As the server does: one ack for every `ack_every` samples.
            if samples >= *acked + ack_every {
                *acked = samples;
                reply.push_str(&format!(
                    "{{\"v\":{version},\"kind\":\"ack\",\"seq\":{}}}\n",
                    *acked
                ));
            }
            // Acks are tiny: a full socket buffer here would mean the client stopped reading.
            if !reply.is_empty() && stream.write_all(reply.as_bytes()).is_err() {
                conns.remove(&token);
            }
        }
        pacer.pause(pass, usize::try_from(pass_lines).unwrap_or(usize::MAX));
    }
}

fn run() -> Result<(), String> {
    let Some(o) = parse(std::env::args().skip(1))? else {
        return Ok(());
    };
    let limit = server::raise_fd_limit();
    if let Some(listen) = &o.sink {
        return sink(listen, o.seconds, o.ack_every);
    }
    let server = o.server.clone().unwrap_or_default();
    let addr = server
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {server}: {e}"))?
        .next()
        .ok_or(format!("{server} resolves to nothing"))?;
    if o.agents as u64 + 64 > limit {
        return Err(format!(
            "{} agents need more open files than the limit of {limit}",
            o.agents
        ));
    }
    let totals = Arc::new(Totals::default());
    let stop = Arc::new(AtomicBool::new(false));
    let per = o.agents.div_ceil(o.threads);
    let started = Instant::now();
    let workers: Vec<_> = (0..o.threads)
        .map(|t| {
            let (o, totals, stop) = (o.clone(), totals.clone(), stop.clone());
            let ids = (t * per).min(o.agents)..((t + 1) * per).min(o.agents);
            thread::spawn(move || run_agents(&o, addr, ids, &totals, &stop))
        })
        .collect();
    let end = started + Duration::from_secs(o.seconds);
    while Instant::now() < end {
        thread::sleep(
            Duration::from_millis(100).min(end.saturating_duration_since(Instant::now())),
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let secs = started.elapsed().as_secs_f64();
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "agents {} connected {} | sent {} ({:.0}/s, {:.1} MB/s) | acknowledged {} ({:.0}/s) | refused {} | failed {} | reconnected {} | {:.0} B a line | {:.1}s",
        o.agents,
        get(&totals.connected),
        get(&totals.sent),
        get(&totals.sent) as f64 / secs,
        get(&totals.bytes) as f64 / secs / 1e6,
        get(&totals.acked),
        get(&totals.acked) as f64 / secs,
        get(&totals.rejected),
        get(&totals.failed),
        get(&totals.reconnected),
        get(&totals.bytes) as f64 / get(&totals.sent).max(1) as f64,
        secs
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vitals-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
