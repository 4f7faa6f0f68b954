//! Helpers shared by the unit tests.

use crate::keys::{Key, KeyMaterial, KeyRing};

/// A key ring of `(kid, fill byte)` keys, first one primary; the key bytes are the fill
/// byte repeated, so two rings agree exactly when their fill bytes do.
pub fn ring(kids: &[(&str, u8)]) -> KeyRing {
    KeyRing::from_keys(
        kids.iter()
            .map(|(kid, fill)| Key::new(kid, KeyMaterial::new([*fill; 32])).expect("valid kid"))
            .collect(),
    )
    .expect("distinct kids")
}
