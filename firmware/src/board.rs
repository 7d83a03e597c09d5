//! `board`: the TI Stellaris LM3S6965 (Cortex-M3, 256 KiB flash, 64 KiB SRAM) as QEMU's
//! `lm3s6965evb` emulates it: two UARTs, SysTick as the clock, the stack's high watermark.
//!
//! This is the firmware's only `unsafe` code: volatile reads and writes of the chip's registers
//! at the addresses of its datasheet, and reads of the painted stack. Each use says why it is
//! sound. The core peripherals (SysTick, SCB) go through the `cortex-m` crate's safe API.

use core::cell::Cell;
use core::sync::atomic::{AtomicU8, Ordering};

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};

use crate::link::{Clock, Serial};

/// The core clock out of reset as QEMU models it: its 200 MHz PLL divided by the RCC register's
/// reset SYSDIV + 1 = 16. SysTick counts it.
pub const CORE_HZ: u32 = 12_500_000;
/// SysTick's reload value for one interrupt a millisecond.
const TICK_RELOAD: u32 = CORE_HZ / 1000 - 1;

/// Bytes of SRAM.
pub const RAM_BYTES: u32 = 64 * 1024;
const RAM_START: usize = 0x2000_0000;

/// A 32-bit memory-mapped register of this chip. Only the constants in this module make one.
#[derive(Debug, Clone, Copy)]
struct Register(usize);

impl Register {
    fn read(self) -> u32 {
        // Sound: every `Register` is a register address from the LM3S6965 datasheet (the
        // constants below), 4-byte aligned and mapped for the program's whole life; a volatile
        // read of it has no effect on memory Rust knows about.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::read_volatile(self.0 as *const u32)
        }
    }

    fn write(self, value: u32) {
        // Sound: as for `read`; these registers are not memory Rust knows about, so writing
        // them cannot break a reference.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::write_volatile(self.0 as *mut u32, value)
        }
    }

    fn set_bits(self, bits: u32) {
        self.write(self.read() | bits);
    }
}

// System control: the clock gates of the UARTs and GPIO ports (datasheet §6).
const RCGC1: Register = Register(0x400F_E104);
const RCGC2: Register = Register(0x400F_E108);
// GPIO ports A (UART0 on PA0/PA1) and D (UART1 on PD2/PD3): alternate function, digital enable.
const GPIO_A: usize = 0x4000_4000;
const GPIO_D: usize = 0x4000_7000;
const GPIO_AFSEL: usize = 0x420;
const GPIO_DEN: usize = 0x51C;

// The UARTs are ARM PrimeCell PL011s (datasheet §13).
const UART0: usize = 0x4000_C000;
const UART1: usize = 0x4000_D000;
const UART_DR: usize = 0x000;
const UART_FR: usize = 0x018;
const UART_IBRD: usize = 0x024;
const UART_FBRD: usize = 0x028;
const UART_LCRH: usize = 0x02C;
const UART_CR: usize = 0x030;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// 8 data bits, FIFOs on.
const LCRH_8N1_FIFO: u32 = (0b11 << 5) | (1 << 4);
/// UART, transmitter and receiver on.
const CR_ENABLE: u32 = (1 << 9) | (1 << 8) | 1;

/// The UARTs already handed out, one bit each, so that each has one owner.
static UARTS_TAKEN: AtomicU8 = AtomicU8::new(0);

/// One of the chip's UARTs at 115200 baud, 8N1.
#[derive(Debug)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART0, the board's first serial port (QEMU's first `-serial`): the link to the server.
    /// `None` if it was taken already.
    pub fn uart0() -> Option<Uart> {
        Uart::take(0, UART0, (GPIO_A, 1 << 0), 0b11)
    }

    /// UART1, the second serial port: the console the firmware logs to.
    pub fn uart1() -> Option<Uart> {
        Uart::take(1, UART1, (GPIO_D, 1 << 3), 0b1100)
    }

    /// UART `n` at `base`, its pins `pins` of the GPIO port at `port.0`, whose clock gate in
    /// RCGC2 is `port.1`.
    fn take(n: u8, base: usize, port: (usize, u32), pins: u32) -> Option<Uart> {
        if UARTS_TAKEN.fetch_or(1 << n, Ordering::Relaxed) & (1 << n) != 0 {
            return None;
        }
        let (gpio, gate) = port;
        RCGC1.set_bits(1 << n);
        RCGC2.set_bits(gate);
        Register(gpio + GPIO_AFSEL).set_bits(pins);
        Register(gpio + GPIO_DEN).set_bits(pins);
        let uart = Uart { base };
        uart.reg(UART_CR).write(0);
        // 115200 baud from the 12.5 MHz clock: 12.5e6 / (16 * 115200) = 6.78 = 6 + 50/64.
        uart.reg(UART_IBRD).write(6);
        uart.reg(UART_FBRD).write(50);
        uart.reg(UART_LCRH).write(LCRH_8N1_FIFO);
        uart.reg(UART_CR).write(CR_ENABLE);
        Some(uart)
    }

    fn reg(&self, offset: usize) -> Register {
        Register(self.base + offset)
    }
}

impl Serial for Uart {
    fn write_byte(&mut self, byte: u8) {
        while self.reg(UART_FR).read() & FR_TXFF != 0 {}
        self.reg(UART_DR).write(u32::from(byte));
    }

    fn read_byte(&mut self) -> Option<u8> {
        if self.reg(UART_FR).read() & FR_RXFE != 0 {
            return None;
        }
        // The low 8 bits are the byte; the error flags above them are not ours to act on.
        Some((self.reg(UART_DR).read() & 0xFF) as u8)
    }
}

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for byte in s.bytes() {
            self.write_byte(byte);
        }
        Ok(())
    }
}

/// Milliseconds since SysTick started, counted by its interrupt.
static MILLIS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

/// Starts SysTick interrupting every millisecond; the `SysTick` handler must call [`tick`].
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(TICK_RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Counts a millisecond: the body of the `SysTick` exception handler.
pub fn tick() {
    interrupt::free(|cs| {
        let ms = MILLIS.borrow(cs);
        ms.set(ms.get() + 1);
    });
}

/// Milliseconds since boot (since [`start_clock`]).
pub fn millis() -> u64 {
    interrupt::free(|cs| MILLIS.borrow(cs).get())
}

/// Microseconds since boot, to SysTick's resolution (80 ns).
pub fn micros() -> u64 {
    interrupt::free(|cs| {
        let mut ms = MILLIS.borrow(cs).get();
        let mut current = SYST::get_current();
        // SysTick wrapped while interrupts were off: its millisecond is not counted yet.
        if SCB::is_pendst_pending() {
            ms += 1;
            current = SYST::get_current();
        }
        let into_ms = u64::from(TICK_RELOAD - current.min(TICK_RELOAD));
        ms * 1000 + into_ms * 1000 / u64::from(TICK_RELOAD + 1)
    })
}

/// The SysTick millisecond clock, for the transport.
#[derive(Debug, Clone, Copy, Default)]
pub struct SysTickClock;

impl Clock for SysTickClock {
    fn millis(&self) -> u64 {
        millis()
    }
}

/// Sleeps until the next interrupt (SysTick's, within a millisecond); returns the microseconds
/// slept, the core's idle time.
pub fn sleep() -> u64 {
    let start = micros();
    cortex_m::asm::wfi();
    micros().saturating_sub(start)
}

/// Bits for a session number that differs from one boot to the next: the SysTick counter read
/// after stretches of work whose length in wall time varies (under QEMU, with the host's
/// scheduling and caches). A real board would read its TRNG, or keep a boot counter in flash.
pub fn boot_entropy() -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for round in 0..64u64 {
        let spin = 200 + (state & 0xFF);
        for _ in 0..spin {
            state = mix(state ^ u64::from(SYST::get_current()));
        }
        state = mix(state ^ micros() ^ round);
    }
    state
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// cortex-m-rt's linker script: the stack runs from `_stack_start` (the top of RAM) down to
// `_stack_end` (the end of the statics), and `paint-stack` filled it with STACK_PAINT_VALUE.
#[allow(unsafe_code)]
unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

fn stack_bounds() -> (usize, usize) {
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Bytes of RAM the statics take: `.data`, `.bss` and `.uninit`, all below the stack.
pub fn statics() -> u32 {
    (stack_bounds().0 - RAM_START) as u32
}

/// The deepest the stack has been since boot, in bytes: from its top down to the lowest word
/// that no longer holds the paint.
pub fn stack_peak() -> u32 {
    let (bottom, top) = stack_bounds();
    let mut at = bottom;
    while at < top {
        // Sound: `at` is a 4-byte aligned address in the stack's RAM, between the linker's
        // `_stack_end` and `_stack_start`, readable for the program's whole life, and any bit
        // pattern is a valid `u32`. The words below the stack pointer belong to no live
        // reference; an interrupt may write one as it is read, and then either value is right.
        #[allow(unsafe_code)]
        let word = unsafe { core::ptr::read_volatile(at as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        at += 4;
    }
    (top - at) as u32
}

/// A panic is a bug (agent-core does not panic on any input): start again, as systemd restarts
/// the Linux agent.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    SCB::sys_reset()
}
