use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Serialize, Serializer};

use crate::{
    Clock, Error,
    export::{Family, Samples},
    fields::{Build, Field, FieldConfig, FieldKind, GAUGE},
    params,
};

/// The bit pattern that marks "no sample yet": a NaN no arithmetic produces
/// (and the field never stores a NaN otherwise, since it ignores NaN samples).
const EMPTY: u64 = 0x7ff8_dead_beef_0001;

/// An exponentially weighted moving average.
///
/// The first sample becomes the value (unless a `preset` seeded it), then each
/// sample `x` moves it to `alpha * x + (1 - alpha) * value`. `alpha` in
/// `(0, 1]`: near 0 is very smooth, 1 is the latest sample. A NaN or infinite
/// sample is ignored.
///
/// JSON: a number, or `null` before the first sample. Defaults: `alpha` = 0.1,
/// no preset.
///
/// The value is one `f64` in an atomic word, updated by a compare-exchange
/// loop: lock-free, and concurrent updates are each applied exactly once.
///
/// # Examples
///
/// ```
/// use monsta_core::fields::Ewma;
///
/// let cpu = Ewma::new(0.5, None)?;
/// assert_eq!(cpu.get(), None);
/// assert_eq!(serde_json::to_string(&cpu).unwrap(), "null");
/// cpu.update(10.0);
/// cpu.update(20.0);
/// assert_eq!(cpu.get(), Some(15.0));
///
/// let seeded = Ewma::new(0.1, Some(0.0))?;
/// seeded.update(10.0);
/// assert_eq!(seeded.get(), Some(1.0));
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Ewma {
    alpha: f64,
    preset: Option<f64>,
    value: AtomicU64,
}

impl Ewma {
    /// An average with smoothing `alpha` and an optional starting value.
    ///
    /// # Errors
    ///
    /// [`Error::Alpha`] unless `0 < alpha <= 1`; [`Error::NotFinite`] for a
    /// preset that is NaN or infinite.
    pub fn new(alpha: f64, preset: Option<f64>) -> Result<Self, Error> {
        let alpha = params::check_alpha(alpha)?;
        let preset = preset
            .map(|p| params::check_finite("preset", p))
            .transpose()?;
        Ok(Ewma {
            alpha,
            preset,
            value: AtomicU64::new(preset.map_or(EMPTY, f64::to_bits)),
        })
    }

    /// The smoothing factor.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Feeds one sample.
    #[inline]
    pub fn update(&self, x: f64) {
        if !x.is_finite() {
            return;
        }
        // The same operations as `alpha * x + (1 - alpha) * v`, with the
        // parts that do not depend on `v` outside the compare-exchange loop.
        let (ax, beta) = (self.alpha * x, 1.0 - self.alpha);
        // `fetch_update` retries the closure until its compare-exchange wins.
        let _ = self.value.fetch_update(Relaxed, Relaxed, |bits| {
            let next = if bits == EMPTY {
                x
            } else {
                ax + beta * f64::from_bits(bits)
            };
            Some(next.to_bits())
        });
    }

    /// The average, `None` before the first sample (and no preset).
    pub fn get(&self) -> Option<f64> {
        match self.value.load(Relaxed) {
            EMPTY => None,
            bits => Some(f64::from_bits(bits)),
        }
    }

    /// Returns to the preset (or to no value).
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_core::fields::Ewma;
    ///
    /// let e = Ewma::new(0.5, Some(10.0))?;
    /// e.update(20.0);
    /// assert_eq!(e.get(), Some(15.0));
    /// e.reset();
    /// assert_eq!(e.get(), Some(10.0));
    ///
    /// let e = Ewma::new(0.5, None)?;
    /// e.update(20.0);
    /// e.reset();
    /// assert_eq!(e.get(), None);
    /// e.update(4.0); // the first sample after a reset is the value again
    /// assert_eq!(e.get(), Some(4.0));
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn reset(&self) {
        self.value
            .store(self.preset.map_or(EMPTY, f64::to_bits), Relaxed);
    }
}

impl Default for Ewma {
    /// `alpha` = 0.1, no preset.
    fn default() -> Self {
        Ewma {
            alpha: 0.1,
            preset: None,
            value: AtomicU64::new(EMPTY),
        }
    }
}

impl Serialize for Ewma {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl Field for Ewma {
    type Snapshot = Option<f64>;
    const KIND: FieldKind = FieldKind::Ewma;
    /// One gauge, the field's own name, with its unit; no sample before
    /// the first update.
    const FAMILIES: &'static [Family] = GAUGE;
    fn snapshot(&self) -> Option<f64> {
        self.get()
    }
    fn export(&self, out: &mut dyn Samples) {
        if let Some(v) = self.get() {
            out.gauge(0, v);
        }
    }
}

impl Build for Ewma {
    fn build(config: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Self::new(config.alpha.unwrap_or(0.1), config.preset)
    }
}
