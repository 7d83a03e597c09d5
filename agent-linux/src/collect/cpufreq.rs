//! The CPUs' frequencies, `/sys/devices/system/cpu/cpu<N>/cpufreq/`, as node_exporter 1.5's
//! cpufreq collector reads them (procfs 0.8's `SystemCpufreq`). 1.5 has no
//! `node_cpu_scaling_governor`; later versions added it.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_core::catalogue::{Series, f};
use agent_core::sample::MAX_CPUS;

use super::RESCAN;
use super::families::Families;
use super::read::{SYSFS_READ, gone, parse_uint, read_sysfs};

/// The files of a CPU's `cpufreq` that node_exporter reads as numbers and gives, in kHz, with
/// their families, in its order. A file that is missing, or only root may read
/// (`cpuinfo_cur_freq`), gives no series; it also reads `cpuinfo_transition_latency`, which it
/// gives nothing of.
const FILES: [(&str, u16); 6] = [
    ("cpuinfo_cur_freq", f::CPU_FREQUENCY),
    ("cpuinfo_min_freq", f::CPU_FREQUENCY_MIN),
    ("cpuinfo_max_freq", f::CPU_FREQUENCY_MAX),
    ("scaling_cur_freq", f::CPU_SCALING_FREQUENCY),
    ("scaling_min_freq", f::CPU_SCALING_FREQUENCY_MIN),
    ("scaling_max_freq", f::CPU_SCALING_FREQUENCY_MAX),
];

/// The files node_exporter reads as text and gives nothing of: without one of them, it gives
/// no CPU's frequencies. The kernel makes every one for every policy.
const TEXT_FILES: [&str; 5] = [
    "scaling_available_governors",
    "scaling_driver",
    "scaling_governor",
    "related_cpus",
    "scaling_setspeed",
];

/// Reads each CPU's frequencies.
#[derive(Debug)]
pub(super) struct CpufreqCollector {
    /// `sys/devices/system/cpu` under the root.
    dir: PathBuf,
    /// The CPUs with a `cpufreq` the last scan found, by number, at most [`MAX_CPUS`] (the
    /// CPUs a sample holds): the `cpu` label, and the place of its policy in `policies`.
    cpus: Vec<(String, usize)>,
    /// The policies of `cpus`, each read once a sample: the CPUs of a policy share one
    /// directory (a Raspberry Pi's four CPUs all `policy0`), whose files are the same.
    policies: Vec<Policy>,
    /// Whether the last scan found a policy without one of [`TEXT_FILES`].
    broken: bool,
    /// Whether the last sample read every file it could as a number: one that is not (an
    /// `<unknown>` `cpuinfo_cur_freq`) makes node_exporter give no frequency at all.
    read: bool,
    /// When the last scan was; `None` before the first sample.
    scanned: Option<Instant>,
    /// Whether a file was gone at the last sample: the next scans again.
    gone: bool,
}

/// One policy's directory.
#[derive(Debug)]
struct Policy {
    /// Where its directory resolves to, which its CPUs' `cpufreq` links share.
    dir: PathBuf,
    /// The files of [`FILES`] it has that can be read, by place.
    files: [Option<PathBuf>; FILES.len()],
    /// Their values at the last sample, in Hz.
    hertz: [Option<f64>; FILES.len()],
}

impl CpufreqCollector {
    /// Reads `sys/devices/system/cpu` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/devices/system/cpu"),
            cpus: Vec::new(),
            policies: Vec::new(),
            broken: false,
            read: false,
            scanned: None,
            gone: false,
        }
    }

    /// Looks up the CPUs, their policies, and which files each policy has.
    fn scan(&mut self) {
        self.cpus.clear();
        self.policies.clear();
        self.broken = false;
        let mut numbers: Vec<String> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                // The names Go's glob `cpu[0-9]*` matches, and their label, the rest.
                let number = name.strip_prefix("cpu")?;
                number
                    .starts_with(|c: char| c.is_ascii_digit())
                    .then(|| number.to_owned())
            })
            .collect();
        // By number, so that a machine with more CPUs than a sample holds gives its first.
        numbers.sort_unstable_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        let mut buf = [0; SYSFS_READ];
        for number in numbers {
            if self.cpus.len() == MAX_CPUS {
                break;
            }
            let cpufreq = self.dir.join(format!("cpu{number}/cpufreq"));
            match fs::metadata(&cpufreq) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(_) => {
                    self.broken = true;
                    continue;
                }
            }
            let resolved = fs::canonicalize(&cpufreq).unwrap_or_else(|_| cpufreq.clone());
            let place = match self.policies.iter().position(|p| p.dir == resolved) {
                Some(place) => place,
                None => {
                    self.broken |= TEXT_FILES
                        .iter()
                        .any(|file| read_sysfs(&mut buf, &cpufreq.join(file)).is_err());
                    self.policies.push(policy(resolved, &mut buf));
                    self.policies.len() - 1
                }
            };
            self.cpus.push((number, place));
        }
    }
}

impl Families for CpufreqCollector {
    fn collect(&mut self) {
        if self.gone || self.scanned.is_none_or(|at| at.elapsed() >= RESCAN) {
            self.scan();
            self.scanned = Some(Instant::now());
            self.gone = false;
        }
        let mut buf = [0; SYSFS_READ];
        self.read = !self.broken;
        for policy in &mut self.policies {
            for (file, hertz) in policy.files.iter().zip(&mut policy.hertz) {
                let Some(file) = file else {
                    continue;
                };
                *hertz = match read_sysfs(&mut buf, file) {
                    // kHz, multiplied as node_exporter does.
                    Ok(bytes) => match parse_uint(bytes) {
                        Some(khz) => Some(khz as f64 * 1000.0),
                        None => {
                            self.read = false;
                            None
                        }
                    },
                    Err(e) => match e.kind() {
                        ErrorKind::NotFound => {
                            self.gone |= gone(&e, file);
                            None
                        }
                        ErrorKind::PermissionDenied => None,
                        _ => {
                            self.read = false;
                            None
                        }
                    },
                };
            }
        }
    }

    fn series(&self, out: &mut dyn Series) {
        if !self.read {
            return;
        }
        out.section("cpufreq");
        for (cpu, place) in &self.cpus {
            let Some(policy) = self.policies.get(*place) else {
                continue;
            };
            out.identity(cpu);
            for ((_, family), hertz) in FILES.iter().zip(&policy.hertz) {
                if let Some(hertz) = *hertz {
                    out.add(*family, &[cpu], hertz);
                }
            }
        }
    }
}

/// The policy whose directory resolves to `dir`, with the files of [`FILES`] it has that can
/// be read.
fn policy(dir: PathBuf, buf: &mut [u8; SYSFS_READ]) -> Policy {
    let files = FILES.map(|(name, _)| {
        let file = dir.join(name);
        let unreadable = read_sysfs(buf, &file)
            .is_err_and(|e| matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied));
        (!unreadable).then_some(file)
    });
    Policy {
        dir,
        files,
        hertz: [None; FILES.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::golden;

    const FAMILIES: &[&str] = &["node_cpu_frequency_", "node_cpu_scaling_frequency_"];

    fn series_of(collector: &CpufreqCollector) -> Vec<golden::Line> {
        golden::series(FAMILIES, |out| collector.series(out))
    }

    /// A Raspberry Pi 4's four CPUs of one `cpufreq-dt` policy, with `cpuinfo_cur_freq`; a
    /// laptop's `intel_pstate` policy a CPU, without it, and a CPU offline: each as
    /// node_exporter 1.5 gives it for the same tree.
    #[test]
    fn frequencies_as_node_exporter_gives_them() {
        for machine in golden::MACHINES {
            let mut collector = CpufreqCollector::new(&golden::root(machine));
            collector.collect();
            let want = golden::expected(machine, FAMILIES);
            assert!(!want.is_empty(), "{machine}");
            assert_eq!(series_of(&collector), want, "{machine}");
        }
    }

    #[test]
    fn the_cpus_of_a_policy_read_its_files_once() {
        let mut collector = CpufreqCollector::new(&golden::root("pi4"));
        collector.collect();
        assert_eq!(collector.cpus.len(), 4);
        assert_eq!(collector.policies.len(), 1);
        let mut collector = CpufreqCollector::new(&golden::root("laptop"));
        collector.collect();
        assert_eq!(collector.policies.len(), 4, "intel_pstate: a policy a CPU");
    }

    #[test]
    fn a_file_that_is_not_a_number_takes_every_frequency_with_it() {
        let tree = golden::Tree::copy_of("pi4");
        let policy = "sys/devices/system/cpu/cpufreq/policy0";
        let mut collector = CpufreqCollector::new(&tree.0);
        collector.collect();
        assert_eq!(series_of(&collector).len(), 4 * 6);

        // What the kernel prints when the driver cannot say.
        tree.write(&format!("{policy}/cpuinfo_cur_freq"), "<unknown>\n");
        collector.collect();
        assert_eq!(series_of(&collector), []);

        // Without a file it reads as text, nothing either, once the scan sees it.
        tree.write(&format!("{policy}/cpuinfo_cur_freq"), "1500000\n");
        tree.remove(&format!("{policy}/scaling_setspeed"));
        collector.gone = true;
        collector.collect();
        assert_eq!(series_of(&collector), []);

        // Without a file it reads as a number, the rest; the next sample scans again.
        tree.write(&format!("{policy}/scaling_setspeed"), "<unsupported>\n");
        collector.gone = true;
        collector.collect();
        tree.remove(&format!("{policy}/scaling_min_freq"));
        collector.collect();
        assert_eq!(series_of(&collector).len(), 4 * 5);
        assert!(collector.gone);
        collector.collect();
        assert_eq!(series_of(&collector).len(), 4 * 5);
        assert!(!collector.gone, "the layout no longer has it");
    }

    #[test]
    fn without_cpus_nothing() {
        let mut collector = CpufreqCollector::new(Path::new("/nonexistent/vitals/root"));
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }
}
