//! Collectors whose families only protocol v2 carries.
//!
//! A v1 [`Sample`](agent_core::sample::Sample) has a field for each value, and no room for
//! more; a v2 agent declares whatever series it has. So a collector added since gives its
//! series straight to the declaration and the values: it reads its files in
//! [`Families::collect`], keeps what it read, and hands it over in [`Families::series`], as
//! often as the agent asks (for the declaration, then the values).

use agent_core::catalogue::Series;

/// A collector of families that only v2 carries.
pub(super) trait Families: Send {
    /// Reads this sample's values, keeping them for [`series`](Families::series). A file that
    /// is missing or unreadable leaves no series, never an error.
    fn collect(&mut self);

    /// The series read by the last [`collect`](Families::collect), in a fixed order. A
    /// collector whose series carry labels starts a section and adds each label's text as an
    /// identity part first (see [`Series`]).
    fn series(&self, out: &mut dyn Series);
}

/// What the collectors' tests read of their series.
#[cfg(test)]
pub(super) mod listed {
    use agent_core::catalogue::{Series, family};

    /// A collector's series, as `give` hands them over.
    struct List(Vec<(u16, Vec<String>, f64)>);

    impl Series for List {
        fn add(&mut self, family: u16, labels: &[&str], value: f64) {
            let labels = labels.iter().map(|l| (*l).to_owned()).collect();
            self.0.push((family, labels, value));
        }
    }

    /// Each series `give` hands over, as (family, labels, value).
    pub(in crate::collect) fn series(
        give: impl FnOnce(&mut dyn Series),
    ) -> Vec<(u16, Vec<String>, f64)> {
        let mut list = List(Vec::new());
        give(&mut list);
        list.0
    }

    /// Each series of a collector whose series have no labels, as (family, value).
    pub(in crate::collect) fn unlabelled(give: impl FnOnce(&mut dyn Series)) -> Vec<(u16, f64)> {
        series(give)
            .into_iter()
            .map(|(id, labels, value)| {
                assert!(labels.is_empty(), "{labels:?}");
                (id, value)
            })
            .collect()
    }

    /// As [`series`], each family by its name.
    pub(in crate::collect) fn named(
        give: impl FnOnce(&mut dyn Series),
    ) -> Vec<(&'static str, Vec<String>, f64)> {
        series(give)
            .into_iter()
            .map(|(id, labels, value)| (family(id).map_or("", |f| f.name), labels, value))
            .collect()
    }
}
