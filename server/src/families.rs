//! The per-agent metric families: the catalogue's (`agent_core::catalogue`), and the labels the
//! server adds from an agent's hello.
//!
//! Both sides of the server use the catalogue: an I/O thread flattens each sample it decodes
//! into values in emission order ([`Sample::series`], through
//! [`crate::shared::Decoded::fill`]), and the aggregator labels an agent's series from the same
//! order when they change, adding the agent's own series (from its hello and its counts)
//! around them.
//!
//! [`Sample::series`]: agent_core::sample::Sample::series

use agent_core::wire::Hello;

use crate::exposition::{Def, join_identity};

/// Every per-agent family: the catalogue's, numbered by place.
pub const DEFS: &[Def] = agent_core::catalogue::FAMILIES;

/// Family numbers as the exposition builder takes them.
#[allow(non_snake_case)]
pub mod F {
    use agent_core::catalogue::f;

    pub const UP: usize = f::UP as usize;
    pub const TARGET_UP: usize = f::TARGET_UP as usize;
    pub const LAST_SEEN: usize = f::LAST_SEEN as usize;
    pub const UNAME: usize = f::UNAME as usize;
    pub const AGENT_INFO: usize = f::AGENT_INFO as usize;
    pub const SAMPLES: usize = f::SAMPLES as usize;
    pub const SAMPLES_DROPPED: usize = f::SAMPLES_DROPPED as usize;
    pub const SEQUENCE_GAPS: usize = f::SEQUENCE_GAPS as usize;
    pub const INTERVAL: usize = f::INTERVAL as usize;
}

/// The labels of `node_uname_info` after `agent`, from the hello.
pub fn uname(hello: &Hello) -> [&str; 6] {
    [
        hello.domainname.as_str(),
        &hello.arch,
        &hello.hostname,
        &hello.kernel,
        &hello.os,
        &hello.kernel_version,
    ]
}

/// The labels of `vitals_agent_info` after `agent`, from the hello and its protocol version
/// (see [`protocol_label`]).
pub fn agent_info<'a>(hello: &'a Hello, protocol: &'a str) -> [&'a str; 6] {
    [
        hello.arch.as_str(),
        &hello.hostname,
        &hello.kernel,
        &hello.os,
        protocol,
        &hello.version,
    ]
}

/// A protocol version as `vitals_agent_info`'s `protocol` label: which agents still speak v1
/// while a fleet is upgraded.
pub fn protocol_label(version: u32) -> &'static str {
    match version {
        1 => "1",
        2 => "2",
        _ => "other",
    }
}

/// The identity parts an agent's hello adds before its sample's: every text of the hello
/// that becomes a label.
pub fn hello_identity(hello: &Hello, protocol: &str) -> Vec<u8> {
    join_identity(
        "hello",
        uname(hello)
            .into_iter()
            .chain([hello.version.as_str(), protocol]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Builder;
    use agent_core::sample::Sample;

    #[test]
    fn cpu_numbers_are_written_as_their_labels() {
        let numbers = [0u16, 7, 10, 63, 999, 65535];
        let mut sample: Sample = Sample::default();
        for cpu in numbers {
            let _ = sample.cpus.push(agent_core::sample::Cpu {
                cpu,
                ..Default::default()
            });
        }
        let mut b = Builder::default();
        b.start_rebuild();
        sample.series(&mut b);
        let layout = b.layout("a", DEFS);
        for n in numbers {
            // As `fmt` writes the number.
            let label = format!("{{instance=\"a\",cpu=\"{n}\",mode=\"user\"}} ");
            assert!(layout.text.contains(&label), "{label} in {}", layout.text);
        }
    }
}
