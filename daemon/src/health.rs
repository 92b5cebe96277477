//! Which parts of the daemon are up, for `/healthz` and `mm_component_up`.
use std::sync::atomic::{AtomicBool, Ordering};

/// The parts `/healthz` reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The sled store is open.
    Store,
    /// The file watcher runs.
    Watcher,
    /// The milter listener accepts.
    Milter,
    /// The sender (dispatcher) runs.
    Sender,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; 4] = [
        Component::Store,
        Component::Watcher,
        Component::Milter,
        Component::Sender,
    ];

    /// Its name in JSON and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Component::Store => "store",
            Component::Watcher => "watcher",
            Component::Milter => "milter",
            Component::Sender => "sender",
        }
    }
}

/// Up/down flags, one per component.
#[derive(Debug, Default)]
pub struct Health {
    flags: [AtomicBool; 4],
}

impl Health {
    /// Marks a component up or down (and mirrors it into `mm_component_up`).
    pub fn set(&self, c: Component, up: bool) {
        self.flags[c as usize].store(up, Ordering::SeqCst);
        metrics::gauge!("mm_component_up", "component" => c.name()).set(if up { 1.0 } else { 0.0 });
    }

    /// Is the component up?
    pub fn is_up(&self, c: Component) -> bool {
        self.flags[c as usize].load(Ordering::SeqCst)
    }

    /// The components that are down.
    pub fn down(&self) -> Vec<&'static str> {
        Component::ALL
            .iter()
            .filter(|c| !self.is_up(**c))
            .map(|c| c.name())
            .collect()
    }
}
