//! Not firmware to run: the same board code as `vitals-firmware` (clock, UARTs, the serial
//! transport, the sample, the console) without the agent, so that `make firmware` can measure
//! agent-core's share of the flash and RAM as the difference between the two.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::hint::black_box;

use agent_core::transport::Transport;
use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use vitals_firmware::board::{self, SysTickClock, Uart};
use vitals_firmware::link::SerialTransport;
use vitals_firmware::metrics::{Collector, Reading};

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        SCB::sys_reset()
    };
    board::start_clock(core.SYST);
    let (Some(mut console), Some(uart)) = (Uart::uart1(), Uart::uart0()) else {
        SCB::sys_reset()
    };
    let session = board::boot_entropy();
    let mut link = SerialTransport::new(uart, SysTickClock, 3000);
    let _ = link.connect();
    let _ = writeln!(
        console,
        "footprint-baseline: session {session:016x}, RAM {} B: statics {} B\r",
        board::RAM_BYTES,
        board::statics(),
    );
    let mut collector = Collector::new();
    let mut idle_us = 0u64;
    let mut next = 0;
    loop {
        let now = board::millis();
        if now >= next {
            next = now + 1000;
            let reading = Reading {
                uptime_us: board::micros(),
                idle_us,
                ram: board::RAM_BYTES,
                statics: board::statics(),
                stack_peak: board::stack_peak(),
            };
            black_box(collector.collect(&reading));
            let _ = writeln!(console, "stack peak {} B\r", reading.stack_peak);
            let _ = link.send(b"\n");
        }
        let mut buf = [0u8; 16];
        let _ = black_box(link.receive(&mut buf));
        idle_us += board::sleep();
    }
}

#[exception]
fn SysTick() {
    board::tick();
}
