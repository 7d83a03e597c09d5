//! The kernel's clock discipline, read with `adjtimex(2)` as node_exporter's timex collector
//! reads it: whether an NTP daemon keeps the clock synchronised, and how far off it may be.

use agent_core::catalogue::{Series, f};

use super::families::Families;

/// The state `adjtimex(2)` returns while the clock is not synchronised (`TIME_ERROR`).
const TIME_ERROR: i32 = 5;

/// The status bit saying the offset and the PPS jitter are in nanoseconds, not microseconds
/// (`STA_NANO`): the kernel keeps whichever unit the daemon last asked for.
const STA_NANO: i32 = 0x2000;

/// A frequency's scale: parts per million, with 16 bits of fraction (adjtimex(2), NOTES).
const PPM_16: f64 = 1_000_000.0 * 65_536.0;

/// Microseconds and nanoseconds in a second.
const MICROS: f64 = 1_000_000.0;
const NANOS: f64 = 1_000_000_000.0;

/// Reads the clock's discipline at each sample. It is the running kernel's, whatever root the
/// other collectors read, as node_exporter's `--path.rootfs` leaves it too.
#[derive(Debug, Default)]
pub(super) struct TimexCollector {
    /// What the last sample's call gave; `None` when it failed, which leaves no series.
    read: Option<Timex>,
}

impl Families for TimexCollector {
    fn collect(&mut self) {
        self.read = adjtimex();
    }

    fn series(&self, out: &mut dyn Series) {
        if let Some(timex) = &self.read {
            timex.series(out);
        }
    }
}

/// The fields of `struct timex` node_exporter reads, in the kernel's units, and the state the
/// call returned. The C fields are a `long` (32 bits on armv7) or an `int`; they are kept
/// widened, so that the conversions are the same code, and tested, on every target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timex {
    /// The clock's state, `TIME_OK` to `TIME_ERROR`.
    state: i32,
    /// The offset still to correct, in µs, or ns under [`STA_NANO`].
    offset: i64,
    /// The frequency correction, in [`PPM_16`] units.
    freq: i64,
    /// The maximum and estimated errors, in µs.
    maxerror: i64,
    esterror: i64,
    /// The status bits (`STA_*`).
    status: i32,
    /// The phase-locked loop's time constant.
    constant: i64,
    /// The time between clock ticks, in µs.
    tick: i64,
    /// The PPS signal's frequency, in [`PPM_16`] units, and its jitter, in µs or ns as `offset`.
    ppsfreq: i64,
    jitter: i64,
    /// The PPS interval, as a power of two seconds.
    shift: i32,
    /// The PPS stability, in [`PPM_16`] units.
    stabil: i64,
    /// The PPS counts: jitter limit exceeded, calibration intervals, calibration errors,
    /// stability limit exceeded.
    jitcnt: i64,
    calcnt: i64,
    errcnt: i64,
    stbcnt: i64,
    /// TAI's offset from UTC, in seconds.
    tai: i32,
}

impl Timex {
    /// The series, converted as node_exporter converts them, in the catalogue's order.
    fn series(&self, out: &mut dyn Series) {
        let divisor = if self.status & STA_NANO != 0 {
            NANOS
        } else {
            MICROS
        };
        let synchronised = if self.state == TIME_ERROR { 0.0 } else { 1.0 };
        for (family, value) in [
            (f::TIMEX_OFFSET, self.offset as f64 / divisor),
            (f::TIMEX_FREQUENCY, 1.0 + self.freq as f64 / PPM_16),
            (f::TIMEX_MAXERROR, self.maxerror as f64 / MICROS),
            (f::TIMEX_ESTIMATED_ERROR, self.esterror as f64 / MICROS),
            (f::TIMEX_STATUS, f64::from(self.status)),
            (f::TIMEX_LOOP_TIME_CONSTANT, self.constant as f64),
            (f::TIMEX_TICK, self.tick as f64 / MICROS),
            (f::TIMEX_PPS_FREQUENCY, self.ppsfreq as f64 / PPM_16),
            (f::TIMEX_PPS_JITTER, self.jitter as f64 / divisor),
            (f::TIMEX_PPS_SHIFT, f64::from(self.shift)),
            (f::TIMEX_PPS_STABILITY, self.stabil as f64 / PPM_16),
            (f::TIMEX_PPS_JITTER_TOTAL, self.jitcnt as f64),
            (f::TIMEX_PPS_CALIBRATION, self.calcnt as f64),
            (f::TIMEX_PPS_ERROR, self.errcnt as f64),
            (f::TIMEX_PPS_STABILITY_EXCEEDED, self.stbcnt as f64),
            (f::TIMEX_TAI_OFFSET, f64::from(self.tai)),
            (f::TIMEX_SYNC_STATUS, synchronised),
        ] {
            out.add(family, &[], value);
        }
    }
}

/// `adjtimex(2)` with `modes` 0, which changes nothing and needs no privilege; `None` if it
/// fails, as it does (EPERM) under a seccomp filter such as systemd's `ProtectClock=yes`.
///
/// The agent's only `unsafe` code: neither std nor rustix wraps this call.
#[allow(unsafe_code)]
fn adjtimex() -> Option<Timex> {
    // SAFETY: `timex` holds integers only (its `time` too), for which all zeroes is a value;
    // `modes` 0 is the read.
    let mut buf: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a `timex` as this target's C library declares it, ours alone for the
    // call, which only writes into it.
    let state = unsafe { libc::adjtimex(&mut buf) };
    // `as i64` widens a 32-bit `long` (armv7) and leaves a 64-bit one as it is.
    (state >= 0).then_some(Timex {
        state,
        offset: buf.offset as i64,
        freq: buf.freq as i64,
        maxerror: buf.maxerror as i64,
        esterror: buf.esterror as i64,
        status: buf.status,
        constant: buf.constant as i64,
        tick: buf.tick as i64,
        ppsfreq: buf.ppsfreq as i64,
        jitter: buf.jitter as i64,
        shift: buf.shift,
        stabil: buf.stabil as i64,
        jitcnt: buf.jitcnt as i64,
        calcnt: buf.calcnt as i64,
        errcnt: buf.errcnt as i64,
        stbcnt: buf.stbcnt as i64,
        tai: buf.tai,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each series as (family, value); none of these has labels.
    fn series_of(timex: &Timex) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| timex.series(out))
    }

    /// The value of `family` among `series`.
    fn value(series: &[(u16, f64)], family: u16) -> f64 {
        series.iter().find(|(id, _)| *id == family).unwrap().1
    }

    /// A machine chrony keeps synchronised: microseconds (no `STA_NANO`), state `TIME_OK`. The
    /// frequency (+32.89 ppm), errors, time constant and tick are those `adjtimex --print`
    /// showed on one such machine; the offset and TAI's are made up.
    const CHRONY: Timex = Timex {
        state: 0,
        offset: -1_234,
        freq: 2_155_554,
        maxerror: 1_098,
        esterror: 564,
        status: 0,
        constant: 7,
        tick: 9_994,
        ppsfreq: 0,
        jitter: 0,
        shift: 0,
        stabil: 0,
        jitcnt: 0,
        calcnt: 0,
        errcnt: 0,
        stbcnt: 0,
        tai: 37,
    };

    /// A kernel no daemon disciplines, as on the development machine: `STA_UNSYNC` (64), the
    /// errors at their 16 s ceiling, state `TIME_ERROR`.
    const UNSYNCHRONISED: Timex = Timex {
        state: TIME_ERROR,
        offset: 0,
        freq: 0,
        maxerror: 16_000_000,
        esterror: 16_000_000,
        status: 64,
        constant: 2,
        tick: 10_000,
        ppsfreq: 0,
        jitter: 0,
        shift: 0,
        stabil: 0,
        jitcnt: 0,
        calcnt: 0,
        errcnt: 0,
        stbcnt: 0,
        tai: 0,
    };

    #[test]
    fn every_family_in_the_catalogue_order() {
        let families: Vec<u16> = series_of(&CHRONY).iter().map(|s| s.0).collect();
        assert_eq!(
            families,
            [
                f::TIMEX_OFFSET,
                f::TIMEX_FREQUENCY,
                f::TIMEX_MAXERROR,
                f::TIMEX_ESTIMATED_ERROR,
                f::TIMEX_STATUS,
                f::TIMEX_LOOP_TIME_CONSTANT,
                f::TIMEX_TICK,
                f::TIMEX_PPS_FREQUENCY,
                f::TIMEX_PPS_JITTER,
                f::TIMEX_PPS_SHIFT,
                f::TIMEX_PPS_STABILITY,
                f::TIMEX_PPS_JITTER_TOTAL,
                f::TIMEX_PPS_CALIBRATION,
                f::TIMEX_PPS_ERROR,
                f::TIMEX_PPS_STABILITY_EXCEEDED,
                f::TIMEX_TAI_OFFSET,
                f::TIMEX_SYNC_STATUS,
            ]
        );
        let mut sorted = families.clone();
        sorted.sort_unstable();
        assert_eq!(families, sorted);
    }

    #[test]
    fn microseconds_without_sta_nano() {
        let series = series_of(&CHRONY);
        assert_eq!(value(&series, f::TIMEX_OFFSET), -0.001_234);
        assert_eq!(
            value(&series, f::TIMEX_FREQUENCY),
            1.0 + 2_155_554.0 / 65_536_000_000.0
        );
        assert!((value(&series, f::TIMEX_FREQUENCY) - 1.000_032_89).abs() < 1e-8);
        assert_eq!(value(&series, f::TIMEX_MAXERROR), 0.001_098);
        assert_eq!(value(&series, f::TIMEX_ESTIMATED_ERROR), 0.000_564);
        assert_eq!(value(&series, f::TIMEX_STATUS), 0.0);
        assert_eq!(value(&series, f::TIMEX_LOOP_TIME_CONSTANT), 7.0);
        assert_eq!(value(&series, f::TIMEX_TICK), 0.009_994);
        assert_eq!(value(&series, f::TIMEX_TAI_OFFSET), 37.0);
        assert_eq!(value(&series, f::TIMEX_SYNC_STATUS), 1.0);
    }

    /// systemd-timesyncd asks for nanoseconds (`STA_PLL | STA_NANO`): the offset and the PPS
    /// jitter are then in ns; the errors and the tick stay in µs.
    #[test]
    fn nanoseconds_under_sta_nano() {
        let nano = Timex {
            offset: -123_456,
            status: 0x2001,
            jitter: 2_500,
            ..CHRONY
        };
        let series = series_of(&nano);
        assert_eq!(value(&series, f::TIMEX_OFFSET), -0.000_123_456);
        assert_eq!(value(&series, f::TIMEX_PPS_JITTER), 0.000_002_5);
        assert_eq!(value(&series, f::TIMEX_STATUS), 8193.0);
        assert_eq!(value(&series, f::TIMEX_MAXERROR), 0.001_098);
        assert_eq!(value(&series, f::TIMEX_TICK), 0.009_994);

        let micro = Timex {
            status: 0x0001,
            ..nano
        };
        let series = series_of(&micro);
        assert_eq!(value(&series, f::TIMEX_OFFSET), -0.123_456);
        assert_eq!(value(&series, f::TIMEX_PPS_JITTER), 0.002_5);
    }

    #[test]
    fn time_error_is_not_synchronised() {
        let series = series_of(&UNSYNCHRONISED);
        assert_eq!(value(&series, f::TIMEX_SYNC_STATUS), 0.0);
        assert_eq!(value(&series, f::TIMEX_STATUS), 64.0);
        assert_eq!(value(&series, f::TIMEX_MAXERROR), 16.0);
        assert_eq!(value(&series, f::TIMEX_ESTIMATED_ERROR), 16.0);
        assert_eq!(value(&series, f::TIMEX_FREQUENCY), 1.0);
        assert_eq!(value(&series, f::TIMEX_TICK), 0.01);

        // Every other state counts as synchronised, as in node_exporter: TIME_INS to TIME_WAIT
        // (1 to 4) are a leap second's, not a lost reference's.
        for state in [0, 1, 2, 3, 4] {
            let timex = Timex {
                state,
                ..UNSYNCHRONISED
            };
            assert_eq!(value(&series_of(&timex), f::TIMEX_SYNC_STATUS), 1.0);
        }
    }

    /// The PPS fields, as a kernel disciplined by a PPS signal gives them.
    #[test]
    fn pulse_per_second_fields() {
        let pps = Timex {
            ppsfreq: -655_360,
            jitter: 12,
            shift: 8,
            stabil: 32_768,
            jitcnt: 3,
            calcnt: 120,
            errcnt: 1,
            stbcnt: 2,
            ..CHRONY
        };
        let series = series_of(&pps);
        assert_eq!(value(&series, f::TIMEX_PPS_FREQUENCY), -0.000_01);
        assert_eq!(value(&series, f::TIMEX_PPS_JITTER), 0.000_012);
        assert_eq!(value(&series, f::TIMEX_PPS_SHIFT), 8.0);
        assert_eq!(value(&series, f::TIMEX_PPS_STABILITY), 0.000_000_5);
        assert_eq!(value(&series, f::TIMEX_PPS_JITTER_TOTAL), 3.0);
        assert_eq!(value(&series, f::TIMEX_PPS_CALIBRATION), 120.0);
        assert_eq!(value(&series, f::TIMEX_PPS_ERROR), 1.0);
        assert_eq!(value(&series, f::TIMEX_PPS_STABILITY_EXCEEDED), 2.0);
    }

    #[test]
    fn a_failed_call_gives_no_series() {
        let collector = TimexCollector::default();
        assert_eq!(
            super::super::families::listed::unlabelled(|out| collector.series(out)),
            []
        );
    }

    /// The call itself, on this machine's kernel: read-only, so it needs no privilege.
    #[test]
    fn reads_this_kernels_clock() {
        let mut collector = TimexCollector::default();
        collector.collect();
        let timex = collector.read.expect("adjtimex(2) with modes 0");
        assert!((0..=TIME_ERROR).contains(&timex.state), "{timex:?}");
        assert!(timex.tick > 0, "{timex:?}");
        // The kernel bounds the frequency correction to ±500 ppm.
        assert!(timex.freq.abs() <= 500 * 65_536, "{timex:?}");
        let series = super::super::families::listed::unlabelled(|out| collector.series(out));
        assert_eq!(series.len(), 17);
    }
}
