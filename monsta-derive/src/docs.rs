//! The doc comments of the generated inherent methods.

/// The doc comments of the inherent methods.
pub struct InherentDocs {
    pub new: String,
    pub try_new: String,
    pub with_clock: String,
    pub try_with_clock: String,
    pub snapshot: String,
    pub transaction: String,
}

impl InherentDocs {
    pub fn new(name: &str, snapshot: &str, tx: &str) -> Self {
        InherentDocs {
            new: format!(
                "Builds the state, every field from its `#[monsta(...)]` attributes, on the \
                 system clock.\n\n\
                 # Panics\n\n\
                 If a check that only run time can make fails: a time zone (`tz`) missing \
                 from the run-time time zone database, or a JSON key of a flattened \
                 hand-written `AppState` that another field also has. Every other parameter, \
                 and every other key, was checked when `{name}` was compiled. \
                 [`{name}::try_new`] returns the error instead."
            ),
            try_new: format!(
                "Builds the state, every field from its `#[monsta(...)]` attributes, on the \
                 system clock.\n\n\
                 # Errors\n\n\
                 A field whose parameters fail a check that only run time can make (a time \
                 zone missing from the run-time database), or a duplicate JSON key that only \
                 run time can see (one of a flattened hand-written `AppState`); the rest was \
                 checked when `{name}` was compiled."
            ),
            with_clock: format!(
                "Builds the state on `clock` (such as a `ManualClock`'s, in tests).\n\n\
                 # Panics\n\n\
                 As [`{name}::new`]; [`{name}::try_with_clock`] returns the error instead."
            ),
            try_with_clock: format!(
                "Builds the state on `clock`.\n\n# Errors\n\nAs [`{name}::try_new`]."
            ),
            snapshot: format!(
                "A consistent copy of every field, a [`{snapshot}`]: taken while no \
                 transaction of this state is in progress."
            ),
            transaction: format!(
                "Runs `f` with this state's lock held, handing it a [`{tx}`] that derefs to \
                 the state: no snapshot (and so no JSON) observes part of what `f` does, and \
                 transactions of other threads wait. A panic in `f` propagates and releases \
                 the lock, without poisoning the state."
            ),
        }
    }
}
