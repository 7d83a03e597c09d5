//! `vitals-firmware`: the vitals agent on the LM3S6965 (QEMU's `lm3s6965evb`).
//!
//! UART0 carries the protocol to `vitals-server` (`make firmware-demo` joins it to the server's
//! TCP port); UART1 is a console for the firmware's log. SysTick is the millisecond clock; the
//! core sleeps (`WFI`) between ticks and the UART is polled at each one.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::time::Duration;

use agent_core::agent::{Agent, Config, Event, Lost, Protocol};
use agent_core::sample::bounded;
use agent_core::time::Instant;
use agent_core::transport::TransportError;
use agent_core::wire::Hello;
use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use vitals_firmware::board::{self, SysTickClock, Uart};
use vitals_firmware::link::SerialTransport;
use vitals_firmware::metrics::{Collector, Reading};

/// The `agent` label: `VITALS_ID` when the firmware is built, else the board's name.
const ID: &str = match option_env!("VITALS_ID") {
    Some(id) => id,
    None => "lm3s6965evb",
};
/// Time between samples.
const INTERVAL: Duration = Duration::from_secs(1);
/// The longest line it accepts from the server (a `welcome` or an `error`).
const RX: usize = 256;
/// The storage the agent is lent: its hello line (219 bytes), a third of the rest for its v2
/// declaration (482 bytes), and, encoded, the samples waiting for their ack (a 160-byte values
/// line and a 12-byte header each): seven of them, seven seconds of outage.
const RING: usize = 2048;
/// A server silent this long after we sent something is gone (see `link`). It answers at once.
const SILENCE_MS: u64 = 3000;

type Link = SerialTransport<Uart, SysTickClock>;
type BoardAgent = Agent<'static, Link, RX>;

#[entry]
fn main() -> ! {
    let (agent, console) = start();
    run(agent, console)
}

/// Sets the board and the agent up. Not inlined, so that the temporaries of building the agent
/// (its `hello`, the agent itself before it moves to its static) leave the stack before `run`.
#[inline(never)]
fn start() -> (&'static mut BoardAgent, Uart) {
    let Some(core) = cortex_m::Peripherals::take() else {
        SCB::sys_reset()
    };
    board::start_clock(core.SYST);
    let (Some(mut console), Some(uart)) = (Uart::uart1(), Uart::uart0()) else {
        SCB::sys_reset()
    };
    let session = board::boot_entropy();
    let hello = Hello {
        id: bounded(ID),
        version: bounded(env!("CARGO_PKG_VERSION")),
        os: bounded("none"),
        arch: bounded("thumbv7m"),
        hostname: bounded(ID),
        domainname: bounded("(none)"),
        interval_ms: INTERVAL.as_millis() as u32,
        session,
        ..Hello::default()
    };
    let config = Config {
        interval: INTERVAL,
        backoff_min: Duration::from_millis(500),
        // The link is a wire to one server, not a fleet reconnecting at once: come back soon.
        backoff_max: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(3),
        seed: session,
    };
    let Some(ring) = cortex_m::singleton!(: [u8; RING] = [0; RING]) else {
        SCB::sys_reset()
    };
    let link = SerialTransport::new(uart, SysTickClock, SILENCE_MS);
    let now = Instant::from_millis(board::millis());
    let Some(agent) = cortex_m::singleton!(: BoardAgent = Agent::with_protocol(link, &hello, config, Protocol::V2, ring, now))
    else {
        SCB::sys_reset()
    };
    let _ = writeln!(
        console,
        "vitals-firmware {}: agent {ID}, session {session:016x}, a sample every {} ms\r\n\
         RAM {} B: statics {} B (agent state {} B, ring {} B), the rest the stack's",
        env!("CARGO_PKG_VERSION"),
        INTERVAL.as_millis() as u64,
        board::RAM_BYTES,
        board::statics(),
        core::mem::size_of::<BoardAgent>(),
        RING,
    );
    (agent, console)
}

/// Samples on schedule, runs the agent, and sleeps between SysTick's ticks.
fn run(agent: &'static mut BoardAgent, mut console: Uart) -> ! {
    let mut collector = Collector::new();
    let mut idle_us = 0u64;
    let mut stack_logged = 0;
    loop {
        let now = Instant::from_millis(board::millis());
        if agent.sample_due(now) {
            let reading = Reading {
                uptime_us: board::micros(),
                idle_us,
                ram: board::RAM_BYTES,
                statics: board::statics(),
                stack_peak: board::stack_peak(),
            };
            let sample = collector.collect(&reading);
            let recorded = agent.record_series(&mut |out| sample.series(out), sample.time_ms, now);
            if recorded.is_err() {
                let _ = writeln!(console, "sample dropped: it does not fit\r");
            }
            if reading.stack_peak > stack_logged {
                stack_logged = reading.stack_peak;
                let _ = writeln!(console, "stack peak {} B\r", reading.stack_peak);
            }
        }
        while let Some(event) = agent.poll(now) {
            log(&mut console, &event, agent);
        }
        idle_us += board::sleep();
    }
}

/// One line on the console for each change of the link's state.
fn log(console: &mut Uart, event: &Event, agent: &BoardAgent) {
    let stats = agent.stats();
    let _ = match event {
        Event::Connected => writeln!(
            console,
            "link: hello sent (connection {})\r",
            agent.transport().connects()
        ),
        Event::Ready { pending } => writeln!(
            console,
            "link: welcomed; {pending} samples to send again, {} dropped so far\r",
            stats.dropped
        ),
        Event::Lost {
            reason, retry_in, ..
        } => writeln!(
            console,
            "link: lost ({}); trying again in {} ms\r",
            why(reason),
            retry_in.as_millis() as u64
        ),
    };
}

/// Why the link was lost, in a few words (without agent-core's `Display`, which the firmware
/// does not otherwise need).
fn why(reason: &Lost) -> &str {
    match reason {
        Lost::Transport(TransportError::TimedOut) => "the server went silent",
        Lost::Transport(_) => "transport error",
        Lost::Rejected(code) => code.as_str(),
        Lost::Protocol(_) => "a bad line from the server",
        Lost::Unexpected(kind) => kind,
        Lost::HandshakeTimeout => "no welcome in time",
        Lost::Encode(_) => "a message does not fit",
        _ => "other",
    }
}

#[exception]
fn SysTick() {
    board::tick();
}
