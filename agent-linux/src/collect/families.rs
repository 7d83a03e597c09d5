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
