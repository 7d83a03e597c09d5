//! What a message must be before its texts become labels: every such text passes
//! [`label_text_ok`], and a sample names each series once. Both decoders end in these checks
//! (the fast sample reader reads only texts of printable ASCII, which pass the first), so a
//! receiver never builds two series with one name and labels, nor a label that breaks a log
//! line or a reader of the exposition.

use super::{DecodeError, Hello};
use crate::sample::{Cpu, Sample, label_text_ok};

/// Whether `text` may become a label value: printable ASCII at once (the common case, without
/// decoding characters), anything else by the rule itself.
fn label_ok(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b)) || label_text_ok(text)
}

/// Refuses `field` unless `text` may become a label value.
fn label(text: &str, field: &'static str) -> Result<(), DecodeError> {
    if label_ok(text) {
        Ok(())
    } else {
        Err(DecodeError::BadLabel(field))
    }
}

/// Checks the texts of a hello that become labels (`node_uname_info`, `vitals_agent_info`);
/// the id has its own, narrower rule.
pub(super) fn check_hello(hello: &Hello) -> Result<(), DecodeError> {
    for (text, field) in [
        (&hello.version, "version"),
        (&hello.os, "os"),
        (&hello.arch, "arch"),
        (&hello.kernel, "kernel"),
        (&hello.kernel_version, "kernel_version"),
        (&hello.hostname, "hostname"),
        (&hello.domainname, "domainname"),
    ] {
        label(text, field)?;
    }
    Ok(())
}

/// Checks a sample's label texts.
pub(super) fn check_labels<
    const C: usize,
    const F: usize,
    const N: usize,
    const T: usize,
    const D: usize,
>(
    s: &Sample<C, F, N, T, D>,
) -> Result<(), DecodeError> {
    for fs in &s.filesystems {
        label(&fs.device, "filesystems.device")?;
        label(&fs.fstype, "filesystems.fstype")?;
        label(&fs.mountpoint, "filesystems.mountpoint")?;
    }
    for net in &s.interfaces {
        label(&net.device, "interfaces.device")?;
    }
    for sensor in &s.sensors {
        label(&sensor.chip, "sensors.chip")?;
        label(&sensor.sensor, "sensors.sensor")?;
    }
    for disk in &s.disks {
        label(&disk.device, "disks.device")?;
    }
    Ok(())
}

/// Checks that a sample names no series twice.
pub(super) fn check_unique<
    const C: usize,
    const F: usize,
    const N: usize,
    const T: usize,
    const D: usize,
>(
    s: &Sample<C, F, N, T, D>,
) -> Result<(), DecodeError> {
    let unique = |ok: bool, collection| {
        if ok {
            Ok(())
        } else {
            Err(DecodeError::DuplicateSeries(collection))
        }
    };
    unique(cpus_distinct(&s.cpus), "cpus")?;
    unique(
        distinct(&s.filesystems, |a, b| {
            a.mountpoint == b.mountpoint && a.device == b.device && a.fstype == b.fstype
        }),
        "filesystems",
    )?;
    unique(
        distinct(&s.interfaces, |a, b| a.device == b.device),
        "interfaces",
    )?;
    unique(
        distinct(&s.sensors, |a, b| a.chip == b.chip && a.sensor == b.sensor),
        "sensors",
    )?;
    unique(distinct(&s.disks, |a, b| a.device == b.device), "disks")
}

/// Whether no two CPUs have one number. An agent lists them in ascending order, as
/// `/proc/stat` does, which one pass confirms; any other order is sorted, on the stack (up to
/// `C` numbers), rather than compared pair by pair (2,016 pairs for 64 CPUs).
fn cpus_distinct<const C: usize>(cpus: &heapless::Vec<Cpu, C>) -> bool {
    if cpus
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if a.cpu < b.cpu))
    {
        return true;
    }
    let mut numbers = [0u16; C];
    for (slot, cpu) in numbers.iter_mut().zip(cpus) {
        *slot = cpu.cpu;
    }
    let numbers = numbers.get_mut(..cpus.len()).unwrap_or_default();
    numbers.sort_unstable();
    numbers
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if a != b))
}

/// Whether no two of `items` are `same`: pair by pair, which for the 16 entries a collection
/// other than the CPUs holds by default is at most 120 comparisons of short texts, most of
/// them settled by a length.
fn distinct<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    items.iter().enumerate().all(|(i, a)| {
        items
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .all(|b| !same(a, b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both checks, as the general parser's samples get them.
    fn check(s: &Sample) -> Result<(), DecodeError> {
        check_labels(s)?;
        check_unique(s)
    }
    use crate::sample::{Disk, Filesystem, Interface, Sensor, bounded};

    fn cpus(numbers: &[u16]) -> Sample {
        let mut s: Sample = Sample::default();
        for &cpu in numbers {
            s.cpus
                .push(Cpu {
                    cpu,
                    ..Cpu::default()
                })
                .unwrap();
        }
        s
    }

    #[test]
    fn cpus_in_any_order_are_distinct_unless_a_number_repeats() {
        for ok in [&[][..], &[0], &[0, 1, 2, 3], &[3, 1, 2, 0], &[7, 0]] {
            assert_eq!(check(&cpus(ok)), Ok(()), "{ok:?}");
        }
        let all: heapless::Vec<u16, 64> = (0..64).rev().collect();
        assert_eq!(check(&cpus(&all)), Ok(()));
        for bad in [&[0, 0][..], &[0, 1, 0], &[5, 3, 5, 1], &[1, 2, 2]] {
            assert_eq!(
                check(&cpus(bad)),
                Err(DecodeError::DuplicateSeries("cpus")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_series_named_twice_is_refused_in_every_collection() {
        let fs = |device: &str, fstype: &str, mountpoint: &str| Filesystem {
            device: bounded(device),
            fstype: bounded(fstype),
            mountpoint: bounded(mountpoint),
            ..Filesystem::default()
        };
        let mut s: Sample = Sample::default();
        // One mount point on two devices, or one device on two mount points, is two series.
        for f in [
            fs("/dev/sda1", "ext4", "/"),
            fs("/dev/sda2", "ext4", "/"),
            fs("/dev/sda1", "ext4", "/mnt"),
            fs("/dev/sda1", "xfs", "/"),
        ] {
            s.filesystems.push(f).unwrap();
        }
        assert_eq!(check(&s), Ok(()));
        s.filesystems.push(fs("/dev/sda2", "ext4", "/")).unwrap();
        assert_eq!(check(&s), Err(DecodeError::DuplicateSeries("filesystems")));

        let mut s: Sample = Sample::default();
        for device in ["eth0", "eth1", "eth0"] {
            s.interfaces
                .push(Interface {
                    device: bounded(device),
                    ..Interface::default()
                })
                .unwrap();
        }
        assert_eq!(check(&s), Err(DecodeError::DuplicateSeries("interfaces")));

        let mut s: Sample = Sample::default();
        for (chip, sensor) in [
            ("a", "temp1"),
            ("b", "temp1"),
            ("a", "temp2"),
            ("a", "temp1"),
        ] {
            s.sensors
                .push(Sensor {
                    chip: bounded(chip),
                    sensor: bounded(sensor),
                    celsius: 40.0,
                })
                .unwrap();
        }
        assert_eq!(check(&s), Err(DecodeError::DuplicateSeries("sensors")));

        let mut s: Sample = Sample::default();
        for device in ["sda", "sdb", "sda"] {
            s.disks
                .push(Disk {
                    device: bounded(device),
                    ..Disk::default()
                })
                .unwrap();
        }
        assert_eq!(check(&s), Err(DecodeError::DuplicateSeries("disks")));
    }

    #[test]
    fn every_text_that_becomes_a_label_is_checked() {
        let bad = "a\u{2028}b";
        let mut s: Sample = Sample::default();
        s.filesystems
            .push(Filesystem {
                mountpoint: bounded(bad),
                ..Filesystem::default()
            })
            .unwrap();
        assert_eq!(
            check(&s),
            Err(DecodeError::BadLabel("filesystems.mountpoint"))
        );
        let mut s: Sample = Sample::default();
        s.sensors
            .push(Sensor {
                chip: bounded("ok"),
                sensor: bounded("t\tab"),
                celsius: 1.0,
            })
            .unwrap();
        assert_eq!(check(&s), Err(DecodeError::BadLabel("sensors.sensor")));
        let mut s: Sample = Sample::default();
        s.disks
            .push(Disk {
                device: bounded("\u{1b}[2J"),
                ..Disk::default()
            })
            .unwrap();
        assert_eq!(check(&s), Err(DecodeError::BadLabel("disks.device")));
        let hello = Hello {
            hostname: bounded("caf\u{e9}"),
            domainname: bounded("x\u{7f}"),
            ..Hello::default()
        };
        assert_eq!(
            check_hello(&hello),
            Err(DecodeError::BadLabel("domainname"))
        );
    }
}
