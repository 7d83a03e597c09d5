//! A real machine's series for load tests (`vitals-loadgen --record`): the declaration and
//! values a `vitals-agent --once` printed, replayed with every counter moving on each sample,
//! so that simulated agents have the shape of a real agent at full coverage rather than the
//! fixed synthetic sample's. Given what two runs a second apart printed, only what changed
//! between them changes: counters move on, gauges go back and forth.

use agent_core::agent::Protocol;
use agent_core::catalogue::{FAMILIES, Kind};
use agent_core::wire::{MAX_LINE, ValuesHeader, ValuesWriter, decode_declare, decode_values};

use crate::synthetic::AGENT_BUFFER;

/// The recorded declaration and values.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The `declare` line, newline included, as the agent wrote it.
    declaration: Vec<u8>,
    /// The recorded value of each declared series, in order.
    values: Vec<f64>,
    /// Whether each series is a counter's (which moves on each sample).
    counter: Vec<bool>,
    /// The values of a second run, when there was one: a series whose value is the same in
    /// both stays.
    second: Option<Vec<f64>>,
}

impl Recorded {
    /// Reads what `vitals-agent --once` printed in protocol 2: a `declare` line, then a
    /// `values` line with as many values.
    ///
    /// # Errors
    /// What is missing or does not decode, said in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let line = |kind: &str| {
            text.lines()
                .find(|l| l.contains(&format!(r#""kind":"{kind}""#)))
                .ok_or(format!(
                    "no `{kind}` line (vitals-agent --once, protocol 2)"
                ))
        };
        let declare = line("declare")?;
        let mut counter = Vec::new();
        // The kinds of the families the agent describes itself (its textfiles'), by number.
        let custom = std::cell::RefCell::new(Vec::new());
        decode_declare(
            declare.as_bytes(),
            |family, c| {
                custom.borrow_mut().push((family, c.kind));
                Ok(())
            },
            |family, _| {
                let kind = FAMILIES
                    .get(usize::from(family))
                    .map(|f| f.kind)
                    .or_else(|| {
                        let custom = custom.borrow();
                        custom.iter().find(|(n, _)| *n == family).map(|(_, k)| *k)
                    });
                counter.push(kind == Some(Kind::Counter));
                Ok(())
            },
        )
        .map_err(|e| format!("the declaration: {e}"))?;
        let mut runs = Vec::new();
        for line in text
            .lines()
            .filter(|l| l.contains(r#""kind":"values""#))
            .take(2)
        {
            let mut values = Vec::new();
            decode_values(line.as_bytes(), |v| {
                values.push(v);
                Ok(())
            })
            .map_err(|e| format!("the values: {e}"))?;
            if values.len() != counter.len() {
                return Err(format!(
                    "{} values for {} declared series",
                    values.len(),
                    counter.len()
                ));
            }
            runs.push(values);
        }
        let mut runs = runs.into_iter();
        let values = runs
            .next()
            .ok_or("no `values` line (vitals-agent --once, protocol 2)")?;
        let second = runs.next();
        let mut declaration = declare.as_bytes().to_vec();
        declaration.push(b'\n');
        Ok(Recorded {
            declaration,
            values,
            counter,
            second,
        })
    }

    /// The declaration line, newline included.
    pub fn declaration(&self) -> &[u8] {
        &self.declaration
    }

    /// The `ack_every` that `vitals-agent` asks for with its default `--buffer` and values
    /// lines of this size.
    pub fn agent_ack_every(&self) -> u32 {
        let mut line = vec![0u8; MAX_LINE + 1];
        let header = ValuesHeader {
            seq: 1,
            dropped: 0,
            g: 1,
            t: 1_700_000_000_000,
        };
        let mut values = ValuesWriter::new(&header, &mut line);
        self.write(1, &mut values);
        let len = values.finish().unwrap_or(MAX_LINE);
        agent_core::agent::ack_every(Protocol::V2.ring_room(AGENT_BUFFER), len)
    }

    /// Series declared.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing was declared.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Writes sample `step`'s values: each counter `step` times its own small increment on from
    /// its recorded value, in hundredths (as the agent's CPU seconds are) where it had a fraction;
    /// gauges as recorded. Each value is computed afresh, so its text stays as short as a real
    /// agent's.
    ///
    /// With a second run, a series whose values were the same in both stays, and a gauge that
    /// changed has its first value on even steps and its second on odd ones.
    pub fn write(&self, step: u64, out: &mut ValuesWriter<'_>) {
        for (i, (&value, &counter)) in self.values.iter().zip(&self.counter).enumerate() {
            let second = self.second.as_ref().and_then(|s| s.get(i)).copied();
            match second {
                Some(other) if other == value => {
                    out.push(value);
                    continue;
                }
                Some(other) if !counter => {
                    out.push(if step % 2 == 0 { value } else { other });
                    continue;
                }
                None if !counter => {
                    out.push(value);
                    continue;
                }
                _ => {}
            }
            let increment = (i % 7 + 1) as f64 * step as f64;
            out.push(if value.fract() == 0.0 {
                value + increment
            } else {
                ((value * 100.0).round() + increment) / 100.0
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONCE: &str = concat!(
        r#"{"v":2,"kind":"declare","g":1,"families":[[0,"cpu","mode"],[1]],"#,
        r#""series":[[0,"0","user"],[0,"0","idle"],[1]]}"#,
        "\n",
        r#"{"v":2,"kind":"values","seq":1,"dropped":0,"g":1,"t":1700000000000,"#,
        r#""x":[12.34,100,0.5]}"#,
        "\n"
    );

    fn values(r: &Recorded, step: u64) -> Vec<f64> {
        let mut line = vec![0u8; MAX_LINE + 1];
        let header = ValuesHeader {
            seq: step.max(1),
            dropped: 0,
            g: 1,
            t: 1,
        };
        let mut w = ValuesWriter::new(&header, &mut line);
        r.write(step, &mut w);
        let n = w.finish().unwrap();
        let mut out = Vec::new();
        decode_values(&line[..n - 1], |v| {
            out.push(v);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn counters_move_on_in_short_steps_and_gauges_stay() {
        let r = Recorded::parse(ONCE).unwrap();
        assert_eq!(r.len(), 3);
        assert!(r.declaration().ends_with(b"]]}\n"));
        assert_eq!(values(&r, 0), [12.34, 100.0, 0.5]);
        // node_cpu_seconds_total (a counter) moves by its increment in hundredths; node_load1
        // (a gauge) stays.
        assert_eq!(values(&r, 1000), [22.34, 2100.0, 0.5]);
    }

    #[test]
    fn with_a_second_run_only_what_changed_in_it_changes() {
        let second = ONCE
            .replace("seq\":1", "seq\":2")
            .replace("[12.34,100,0.5]", "[12.34,101,0.75]");
        let twice = format!("{ONCE}{second}");
        let r = Recorded::parse(&twice).unwrap();
        // CPU 0's user time stayed, so it stays; its idle time moves on; the load swings.
        assert_eq!(values(&r, 1000), [12.34, 2100.0, 0.5]);
        assert_eq!(values(&r, 1001), [12.34, 2102.0, 0.75]);
    }

    #[test]
    fn what_is_not_an_agents_output_is_refused_in_words() {
        for bad in ["", "{}", &ONCE.replace("[12.34,100,0.5]", "[1,2]")] {
            assert!(Recorded::parse(bad).is_err(), "{bad:?}");
        }
    }
}
