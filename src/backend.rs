//! Decisions of the app's backend that more than one process shares: which sealed
//! refresh token a refresh starts from when replicas hand one another their values
//! through a shared store.

use crate::jwe;
use crate::keys::KeyRing;

/// Which of two sealed refresh-token values of the same user a refresh uses: the user's
/// stored value (`stored`, from `app_metadata`, as the app last read it) or the one a
/// shared store holds (`shared`, written by the replica that refreshed last, which may
/// have received a rotated token the app's copy of the user does not show yet).
///
/// The value sealed later (`iat`) wins: a rotation after the user's last login is newer
/// than the stored copy, and a new consent at a later login is newer than anything a
/// replica stored. A value that does not open for `user_id` under `keys` never wins over
/// one that does; on a tie, or when neither opens, `stored` wins (its error is then the
/// one the caller meets). Clocks: `iat` comes from the Action's and the backends'
/// clocks, so two values sealed within their skew of each other can be taken in either
/// order.
#[must_use]
pub fn newer_sealed<'a>(
    stored: &'a str,
    shared: &'a str,
    keys: &KeyRing,
    user_id: &str,
) -> &'a str {
    let sealed_at = |value: &str| {
        jwe::open_with_header(value, keys, user_id)
            .ok()
            .map(|(_, header)| header.iat.unwrap_or(0))
    };
    match (sealed_at(stored), sealed_at(shared)) {
        (Some(a), Some(b)) if b > a => shared,
        (None, Some(_)) => shared,
        _ => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwe::Nonce;
    use crate::test_support::ring;
    use crate::RefreshToken;

    const USER: &str = "google-oauth2|1";

    fn sealed_at(token: &str, iat: u64, keys: &KeyRing, user: &str) -> String {
        let token = RefreshToken::new(token).expect("valid");
        jwe::seal(&token, keys, user, iat, Nonce::from_bytes([1; 12])).expect("seals")
    }

    #[test]
    fn the_later_value_that_opens_wins() {
        let keys = ring(&[("k1", 1)]);
        let old = sealed_at("1//old", 100, &keys, USER);
        let rotated = sealed_at("1//rotated", 200, &keys, USER);
        assert_eq!(newer_sealed(&old, &rotated, &keys, USER), rotated);
        assert_eq!(newer_sealed(&rotated, &old, &keys, USER), rotated);
        assert_eq!(newer_sealed(&old, &old, &keys, USER), old);
        // Another user's value, another ring's, or junk never wins.
        let other_user = sealed_at("1//x", 300, &keys, "auth0|2");
        let other_ring = sealed_at("1//x", 300, &ring(&[("k9", 9)]), USER);
        for bad in [other_user.as_str(), other_ring.as_str(), "junk"] {
            assert_eq!(newer_sealed(&old, bad, &keys, USER), old);
            assert_eq!(newer_sealed(bad, &old, &keys, USER), old);
        }
        assert_eq!(newer_sealed("junk", "also junk", &keys, USER), "junk");
    }
}
