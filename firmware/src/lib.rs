//! The vitals agent on a microcontroller: `agent-core`, unchanged, on a Cortex-M3 (the TI
//! Stellaris LM3S6965 that QEMU's `lm3s6965evb` emulates), talking to `vitals-server` over a UART.
//!
//! - [`link`]: the agent's [`Transport`](agent_core::transport::Transport) over a serial port,
//!   which has no connection to open or to lose: opening one is a fresh start of the line
//!   discipline, and a server that stays silent after we spoke means the link is gone.
//! - [`metrics`]: what a microcontroller has to report (uptime, CPU busy and idle time, RAM and
//!   the stack's high watermark, a sensor), as an agent-core sample with capacities for one
//!   CPU and one sensor.
//! - `board` (built for the target only): the LM3S6965's UARTs, SysTick as the millisecond
//!   clock, the stack measure, the panic handler. The only `unsafe` of the firmware is there.
//!
//! The portable modules are unit-tested on the host (`make firmware-check`); the whole firmware
//! runs end to end in `server/tests/firmware.rs`.
#![cfg_attr(not(test), no_std)]

#[cfg(target_os = "none")]
pub mod board;
pub mod link;
pub mod metrics;
