//! The families agents describe themselves (a textfile's), by name, as the agents' published
//! layouts hold them: one definition a name, the first agent's, so that a scrape writes one
//! help text and type for the family whatever every agent says.
//!
//! A layout is taken against this table when it is published: a custom family of a name no
//! other published agent has is the agent's own definition; one of a name others have, of the
//! same type, shares theirs; one of another type is left out of the layout (its series stay
//! in the layout's text but are never written) and its series are counted in
//! `vitals_server_custom_series_left_out_total`, until the agent's series are published again
//! (it declares them anew, after a change or a reconnect). So one agent's file never breaks
//! the exposition of another's, and the first to declare a name keeps it.

use std::collections::HashMap;
use std::sync::Arc;

use prometheus::IntCounter;

use crate::exposition::{CustomDef, CustomRange, Layout};

/// The definitions in use, by name.
pub(super) struct Customs {
    /// Each name's definition and how many published layouts hold it.
    by_name: HashMap<String, (Arc<CustomDef>, usize)>,
    /// `vitals_server_custom_series_left_out_total`.
    left_out: IntCounter,
}

impl Customs {
    pub(super) fn new(left_out: IntCounter) -> Self {
        Customs {
            by_name: HashMap::new(),
            left_out,
        }
    }

    /// The layout to publish for an agent whose published layout was `old` and is now to be
    /// `new`: `new` itself when its custom families are those in use (or it has none), else
    /// a copy with the definitions in use, without the families whose type is not theirs.
    pub(super) fn take(&mut self, old: &Layout, new: Arc<Layout>) -> Arc<Layout> {
        // The agent's own definitions first, so that it may change their type or help.
        self.release(old);
        if new.custom.is_empty() {
            return new;
        }
        let mut custom = Vec::with_capacity(new.custom.len());
        let mut left_out = 0;
        for c in &new.custom {
            match self.by_name.get_mut(&c.def.name) {
                None => {
                    self.by_name.insert(c.def.name.clone(), (c.def.clone(), 1));
                    custom.push(c.clone());
                }
                Some((def, users)) if def.kind == c.def.kind => {
                    *users += 1;
                    custom.push(CustomRange {
                        def: def.clone(),
                        range: c.range.clone(),
                    });
                }
                Some(_) => left_out += c.range.len(),
            }
        }
        self.left_out.inc_by(left_out as u64);
        let same = custom.len() == new.custom.len()
            && custom
                .iter()
                .zip(&new.custom)
                .all(|(a, b)| Arc::ptr_eq(&a.def, &b.def));
        if same {
            return new;
        }
        Arc::new(Layout {
            key: new.key.clone(),
            ranges: new.ranges.clone(),
            text: new.text.clone(),
            lines: new.lines.clone(),
            custom,
        })
    }

    /// Lets go of the definitions a published layout held, as it is replaced or forgotten.
    pub(super) fn release(&mut self, layout: &Layout) {
        for c in &layout.custom {
            if let Some((_, users)) = self.by_name.get_mut(&c.def.name) {
                *users -= 1;
                if *users == 0 {
                    self.by_name.remove(&c.def.name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Kind;

    fn layout(families: &[(&str, Kind, &str, usize)]) -> Arc<Layout> {
        let mut at = 0;
        let custom = families
            .iter()
            .map(|&(name, kind, help, series)| {
                at += series;
                CustomRange {
                    def: Arc::new(CustomDef {
                        name: name.into(),
                        kind,
                        help: help.into(),
                    }),
                    range: at - series..at,
                }
            })
            .collect();
        Arc::new(Layout {
            custom,
            ..Layout::default()
        })
    }

    fn names(layout: &Layout) -> Vec<(&str, Kind, &str, usize)> {
        layout
            .custom
            .iter()
            .map(|c| {
                (
                    c.def.name.as_str(),
                    c.def.kind,
                    c.def.help.as_str(),
                    c.range.len(),
                )
            })
            .collect()
    }

    #[test]
    fn the_first_agent_of_a_name_gives_its_type_and_help_and_another_type_is_left_out() {
        let counter = IntCounter::new("left_out", "test").unwrap();
        let mut customs = Customs::new(counter.clone());
        let none = Layout::default();
        let a = customs.take(
            &none,
            layout(&[
                ("backup_age", Kind::Gauge, "A's.", 2),
                ("jobs", Kind::Counter, "", 1),
            ]),
        );
        let b_new = layout(&[
            ("backup_age", Kind::Gauge, "B's.", 3),
            ("jobs", Kind::Gauge, "", 4),
        ]);
        let b = customs.take(&none, b_new.clone());
        assert!(!Arc::ptr_eq(&b, &b_new), "a copy with A's definitions");
        assert_eq!(names(&b), [("backup_age", Kind::Gauge, "A's.", 3)]);
        assert!(Arc::ptr_eq(&a.custom[0].def, &b.custom[0].def));
        assert_eq!(counter.get(), 4, "B's four `jobs` series");
        // Taking a layout again counts its conflicts again.
        let b = customs.take(&b, b_new.clone());
        assert_eq!(counter.get(), 8);
        // A goes: B's next layout is its own, and the name is B's.
        customs.release(&a);
        let b = customs.take(&b, b_new.clone());
        assert!(Arc::ptr_eq(&b, &b_new));
        assert_eq!(counter.get(), 8);
        let c = customs.take(&none, layout(&[("jobs", Kind::Counter, "", 1)]));
        assert!(c.custom.is_empty());
        assert_eq!(counter.get(), 9);
        customs.release(&b);
        customs.release(&c);
        assert!(customs.by_name.is_empty());
    }

    #[test]
    fn an_agent_alone_with_a_name_may_change_its_type_and_help() {
        let counter = IntCounter::new("left_out", "test").unwrap();
        let mut customs = Customs::new(counter.clone());
        let first = customs.take(
            &Layout::default(),
            layout(&[("raid", Kind::Gauge, "Old.", 1)]),
        );
        let changed = layout(&[("raid", Kind::Untyped, "New.", 1)]);
        let now = customs.take(&first, changed.clone());
        assert!(Arc::ptr_eq(&now, &changed));
        assert_eq!(names(&now), [("raid", Kind::Untyped, "New.", 1)]);
        assert_eq!(counter.get(), 0);
        let gone = customs.take(&now, Arc::default());
        assert!(gone.custom.is_empty() && customs.by_name.is_empty());
    }
}
