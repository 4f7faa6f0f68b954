//! The decisions of the app's backend around a refresh, for every binding (the Node
//! module today): which refresh token a refresh sends ([`RefreshStates::begin`]), what a
//! rotated token becomes ([`RefreshStates::finish`]), and which sealed value a refresh
//! starts from when replicas hand one another their values through a shared store
//! ([`newer_sealed`]). The bindings do the I/O: they read the user, call the token
//! endpoint, store what [`RefreshStates::unsaved`] says, and cache access tokens.
//!
//! A refresh token stays inside [`RefreshStates`]: the request body is built here and a
//! rotated token is sealed here, so the host sees sealed values and access tokens only.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::jwe::{self, Nonce};
use crate::keys::KeyRing;
use crate::providers::token_endpoint::{self, AccessGrant, Client, TokenRequest};
use crate::providers::Connection;
use crate::token::RefreshToken;

/// How many replaced refresh tokens a user's state remembers, to recognise a user object
/// the app read before a rotation (its stored value is then one of these).
pub const SUPERSEDED_KEPT: usize = 4;

/// How many users' states one [`RefreshStates`] keeps by default. Past it the states not
/// begun recently are forgotten (down to nine tenths of it, so that forgetting is rare),
/// except those with a refresh under way (begun, not finished: its answer may carry a
/// rotation only that state can seal; a host that gets no answer finishes with status 0)
/// or a rotation waiting to be stored: a long-running backend's memory, and the refresh
/// tokens in it, stay bounded. A forgotten user's next refresh starts again from the
/// stored value, as after a restart.
pub const DEFAULT_MAX_USERS: usize = 10_000;

/// A rotated token's sealed successor that is not stored yet, and the stored value it
/// replaces (for the host's compare-and-set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsaved {
    /// The successor, sealed for the user ([`jwe::seal_rotated`]).
    pub sealed: String,
    /// The sealed value the refresh started from.
    pub replaces: String,
}

/// One user's refresh, as one backend process knows it.
#[derive(Debug)]
struct RefreshState {
    /// The refresh token the next refresh sends.
    refresh_token: RefreshToken,
    /// The sealed value `refresh_token` came from or was sealed as.
    sealed: String,
    /// Tokens this state replaced, newest first.
    superseded: Vec<RefreshToken>,
    /// A rotation not stored yet.
    unsaved: Option<Unsaved>,
    /// When the state was last begun, on [`RefreshStates`]' own counter.
    used: u64,
    /// Begun and not finished: its refresh is under way, and the answer may carry a
    /// rotation that only this state can seal.
    in_flight: bool,
}

/// Every user's refresh state in one backend process for one provider (the token the
/// next refresh sends, the sealed value it came from, the tokens it replaced, a rotation
/// not stored yet), by Auth0 `user_id`.
#[derive(Debug)]
pub struct RefreshStates {
    /// The provider: what its refusals mean, and the binding of its sealed values
    /// ([`Connection::idp`]).
    connection: Connection,
    users: BTreeMap<String, RefreshState>,
    /// Most states kept ([`DEFAULT_MAX_USERS`]).
    max_users: usize,
    /// Counts [`RefreshStates::begin`] calls: the recency of each state.
    clock: u64,
}

/// What [`RefreshStates::finish`] hands back: the grant without its refresh token (which
/// stays in the state), and the rotation to store, if any.
#[derive(Debug)]
pub struct Finished {
    /// The grant; its `refresh_token` is always `None` here.
    pub grant: AccessGrant,
    /// The sealed successor to store when the provider rotated the token.
    pub unsaved: Option<Unsaved>,
}

impl RefreshStates {
    /// No user known yet, for `connection`'s sealed values; at most
    /// [`DEFAULT_MAX_USERS`] states kept.
    #[must_use]
    pub fn new(connection: Connection) -> Self {
        Self::with_max_users(connection, DEFAULT_MAX_USERS)
    }

    /// As [`RefreshStates::new`], keeping at most `max_users` states (at least one).
    #[must_use]
    pub fn with_max_users(connection: Connection, max_users: usize) -> Self {
        Self {
            connection,
            users: BTreeMap::new(),
            max_users: max_users.max(1),
            clock: 0,
        }
    }

    /// How many users' states are kept now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no user's state is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Once the bound is passed, forgets every state without a rotation waiting that was
    /// not begun in the last nine tenths of the bound's worth of begins: at most that many
    /// users were begun since, so the count falls to nine tenths of the bound (plus the
    /// rotations waiting), in one pass and without sorting (which would add its own code
    /// to the module). `current`, just begun, is always among the recent.
    fn bound(&mut self, current: &str) {
        if self.users.len() <= self.max_users {
            return;
        }
        let recent = (self.max_users - self.max_users / 10) as u64;
        let oldest_kept = self.clock.saturating_sub(recent);
        self.users.retain(|id, state| {
            state.used > oldest_kept || state.unsaved.is_some() || state.in_flight || id == current
        });
    }

    /// Decides which refresh token the next refresh of `user_id` sends. `stored` is the
    /// user's sealed value as the app last read it (`None` when there is none), `shared`
    /// the one a shared store holds. The later-sealed of the two opens ([`newer_sealed`]);
    /// if its token is this state's own, or one this state replaced (the app's user object
    /// predates a rotation), the state stays; any other token (a new consent, the first
    /// call) starts a new state from it. Without a stored value nothing is taken from the
    /// store: a cleared value stays cleared.
    ///
    /// # Errors
    /// [`Error::SealedMissing`] without a stored value, or the error of opening it; the
    /// user's state is dropped either way.
    pub fn begin(
        &mut self,
        user_id: &str,
        stored: Option<&str>,
        shared: Option<&str>,
        keys: &KeyRing,
    ) -> Result<()> {
        let idp = self.connection.idp();
        let opened = stored.ok_or(Error::SealedMissing).and_then(|stored| {
            let sealed = shared.map_or(stored, |shared| {
                newer_sealed(stored, shared, keys, (user_id, idp))
            });
            Ok((jwe::open_for(sealed, keys, user_id, idp)?, sealed))
        });
        let (token, sealed) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                self.users.remove(user_id);
                return Err(error);
            }
        };
        self.clock += 1;
        let used = self.clock;
        match self.users.get_mut(user_id) {
            Some(state) if state.refresh_token == token || state.superseded.contains(&token) => {
                state.used = used;
                state.in_flight = true;
            }
            _ => {
                self.users.insert(
                    user_id.to_owned(),
                    RefreshState {
                        refresh_token: token,
                        sealed: sealed.to_owned(),
                        superseded: Vec::new(),
                        unsaved: None,
                        used,
                        in_flight: true,
                    },
                );
                self.bound(user_id);
            }
        }
        Ok(())
    }

    /// The refresh request [`RefreshStates::begin`] decided on, as `client` sends it.
    ///
    /// # Errors
    /// [`Error::SealedMissing`] when `begin` did not succeed for the user.
    pub fn refresh_request(&self, user_id: &str, client: &Client) -> Result<TokenRequest> {
        let state = self.users.get(user_id).ok_or(Error::SealedMissing)?;
        Ok(token_endpoint::refresh_request(
            &state.refresh_token,
            client,
        ))
    }

    /// Reads the token endpoint's answer to the user's refresh. A rotated refresh token
    /// is sealed as the successor of the value the refresh started from before anything
    /// changes (`iv` is called only then), becomes the state's token, and is returned as
    /// [`Unsaved`] until [`RefreshStates::saved`]; this holds for a successful answer
    /// whose other members are unusable too (the error is returned, and
    /// [`RefreshStates::unsaved`] has the rotation for the host to store). A dead token
    /// ([`Error::ReconsentRequired`]) drops the state; any other refusal keeps it.
    ///
    /// # Errors
    /// The refusals of [`token_endpoint::parse_refresh_response`];
    /// [`Error::SealedMissing`] without a state; sealing's errors.
    pub fn finish(
        &mut self,
        user_id: &str,
        (status, body): (u16, &str),
        keys: &KeyRing,
        now: u64,
        iv: impl FnOnce() -> Result<Nonce>,
    ) -> Result<Finished> {
        let provider = self.connection.provider();
        let state = self.users.get_mut(user_id).ok_or(Error::SealedMissing)?;
        state.in_flight = false;
        let parsed = token_endpoint::parse_refresh_response(provider, status, body, now);
        // A rotated refresh token is kept even when the rest of a successful answer is
        // unusable: the provider has consumed the one it was sent.
        let rotated = match &parsed {
            Ok(grant) => grant.refresh_token.clone(),
            Err(_) => token_endpoint::rotated_refresh_token(status, body),
        };
        if let Some(rotated) = rotated.filter(|t| *t != state.refresh_token) {
            let idp = self.connection.idp();
            let successor =
                jwe::seal_rotated(&rotated, &state.sealed, keys, user_id, idp, now, iv()?)?;
            let replaced = core::mem::replace(&mut state.refresh_token, rotated);
            state.superseded.insert(0, replaced);
            state.superseded.truncate(SUPERSEDED_KEPT);
            state.unsaved = Some(Unsaved {
                sealed: successor.clone(),
                replaces: core::mem::replace(&mut state.sealed, successor),
            });
        }
        let mut grant = match parsed {
            Ok(grant) => grant,
            Err(error) => {
                if error == crate::error::RefreshError::ReconsentRequired {
                    self.users.remove(user_id);
                }
                return Err(error.into());
            }
        };
        grant.refresh_token = None; // sealed above, when it was a new one
        Ok(Finished {
            grant,
            unsaved: state.unsaved.clone(),
        })
    }

    /// The rotation of `user_id` not stored yet: the host stores it before anything else.
    #[must_use]
    pub fn unsaved(&self, user_id: &str) -> Option<&Unsaved> {
        self.users.get(user_id)?.unsaved.as_ref()
    }

    /// Records that the host stored (or, by its compare-and-set, chose not to store) the
    /// user's rotation.
    pub fn saved(&mut self, user_id: &str) {
        if let Some(state) = self.users.get_mut(user_id) {
            state.unsaved = None;
        }
    }

    /// The sealed value the user's state stands on, for a shared store.
    #[must_use]
    pub fn sealed(&self, user_id: &str) -> Option<&str> {
        self.users.get(user_id).map(|state| state.sealed.as_str())
    }

    /// Revocation requests (RFC 7009) for every refresh token the user may still hold:
    /// the stored one and this state's, each once, as `client` sends them.
    ///
    /// # Errors
    /// The error of opening a stored value that does not open (another key ring, a
    /// retired key): a token that cannot be revoked must not be cleared as if it were.
    pub fn revoke_requests(
        &self,
        user_id: &str,
        stored: Option<&str>,
        keys: &KeyRing,
        client: &Client,
    ) -> Result<Vec<TokenRequest>> {
        let mut tokens = Vec::new();
        if let Some(sealed) = stored {
            tokens.push(jwe::open_for(sealed, keys, user_id, self.connection.idp())?);
        }
        if let Some(state) = self.users.get(user_id) {
            if !tokens.contains(&state.refresh_token) {
                tokens.push(state.refresh_token.clone());
            }
        }
        Ok(tokens
            .iter()
            .map(|token| token_endpoint::revoke_request(token, client))
            .collect())
    }

    /// Whether another replica's grant standing on `shared` serves `user_id`, whose
    /// stored value is `stored` ([`shared_grant_serves`] for this provider).
    #[must_use]
    pub fn shared_grant_serves(
        &self,
        user_id: &str,
        stored: Option<&str>,
        shared: &str,
        keys: &KeyRing,
    ) -> bool {
        shared_grant_serves(stored, shared, keys, (user_id, self.connection.idp()))
    }

    /// The provider these states are for.
    #[must_use]
    pub const fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Forgets the user.
    pub fn forget(&mut self, user_id: &str) {
        self.users.remove(user_id);
    }
}

/// Which of two sealed refresh-token values of the same user a refresh uses: the user's
/// stored value (`stored`, from `app_metadata`, as the app last read it) or the one a
/// shared store holds (`shared`, written by the replica that refreshed last, which may
/// have received a rotated token the app's copy of the user does not show yet).
///
/// - `shared` is a rotation in `stored`'s line when it was sealed by a backend after a
///   rotation (`src` `rotation`) and carries `stored`'s capture record (a rotation
///   carries its predecessor's record over, [`jwe::seal_rotated`]; a login seals a new
///   token with a new record). It wins unless `stored` was sealed later.
/// - Otherwise the value sealed later (`iat`) wins, and on a tie `stored`: a new consent
///   at a later login is newer than anything a replica stored.
///
/// `binding` is the user and the provider ([`Connection::idp`]) both values must be
/// bound to. A value that does not open for it under `keys` never wins over one that does;
/// when neither opens, `stored` (its error is then the one the caller meets). `iat` comes
/// from the Action's and the backends' clocks, in seconds: the lineage rule is what
/// makes a rotation within the same second as the login that stored its predecessor
/// win, as it must (the predecessor may already be revoked).
#[must_use]
pub fn newer_sealed<'a>(
    stored: &'a str,
    shared: &'a str,
    keys: &KeyRing,
    (user_id, idp): (&str, Option<&str>),
) -> &'a str {
    let header = |value: &str| {
        jwe::open_with_header(value, keys, user_id, idp)
            .ok()
            .map(|(_, header)| header)
    };
    match (header(stored), header(shared)) {
        (Some(a), Some(b)) => {
            let (a_at, b_at) = (a.iat.unwrap_or(0), b.iat.unwrap_or(0));
            let in_line = b.src == Some(jwe::Source::Rotation) && b.capture == a.capture;
            if b_at > a_at || (in_line && b_at == a_at) {
                shared
            } else {
                stored
            }
        }
        (None, Some(_)) => shared,
        _ => stored,
    }
}

/// Whether another replica's shared grant, standing on the sealed value `shared`, serves
/// a user whose stored value is `stored` (`None`: cleared): only when the user has a
/// stored value and `shared` is that value or the newer of the two ([`newer_sealed`]).
/// A cleared user, or one who consented again since the grant, takes nothing from it.
#[must_use]
pub fn shared_grant_serves(
    stored: Option<&str>,
    shared: &str,
    keys: &KeyRing,
    binding: (&str, Option<&str>),
) -> bool {
    stored.is_some_and(|stored| {
        stored == shared || newer_sealed(stored, shared, keys, binding) == shared
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::ring;

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
        assert_eq!(newer_sealed(&old, &rotated, &keys, (USER, None)), rotated);
        assert_eq!(newer_sealed(&rotated, &old, &keys, (USER, None)), rotated);
        assert_eq!(newer_sealed(&old, &old, &keys, (USER, None)), old);
        // A shared grant serves the user only while it stands on the stored value or a
        // later one, and never a cleared user.
        assert!(shared_grant_serves(
            Some(&old),
            &rotated,
            &keys,
            (USER, None)
        ));
        assert!(shared_grant_serves(
            Some(&rotated),
            &rotated,
            &keys,
            (USER, None)
        ));
        assert!(!shared_grant_serves(
            Some(&rotated),
            &old,
            &keys,
            (USER, None)
        ));
        assert!(!shared_grant_serves(None, &rotated, &keys, (USER, None)));
        // A rotation sealed in the same second as the value it replaced wins; an
        // unrelated value of the same second does not.
        let token = RefreshToken::new("1//r1").expect("valid");
        let successor = jwe::seal_rotated(
            &token,
            &old,
            &keys,
            USER,
            None,
            100,
            Nonce::from_bytes([2; 12]),
        )
        .expect("seals");
        assert_eq!(
            newer_sealed(&old, &successor, &keys, (USER, None)),
            successor
        );
        let unrelated = sealed_at("1//other", 100, &keys, USER);
        assert_eq!(newer_sealed(&old, &unrelated, &keys, (USER, None)), old);
        // A stored value sealed later than the rotation (a new consent) still wins.
        let consent = sealed_at("1//consent", 150, &keys, USER);
        let late_rotation = jwe::seal_rotated(
            &token,
            &old,
            &keys,
            USER,
            None,
            120,
            Nonce::from_bytes([3; 12]),
        )
        .expect("seals");
        assert_eq!(
            newer_sealed(&consent, &late_rotation, &keys, (USER, None)),
            consent
        );
        // Another user's value, another ring's, or junk never wins.
        let other_user = sealed_at("1//x", 300, &keys, "auth0|2");
        let other_ring = sealed_at("1//x", 300, &ring(&[("k9", 9)]), USER);
        for bad in [other_user.as_str(), other_ring.as_str(), "junk"] {
            assert_eq!(newer_sealed(&old, bad, &keys, (USER, None)), old);
            assert_eq!(newer_sealed(bad, &old, &keys, (USER, None)), old);
        }
        assert_eq!(
            newer_sealed("junk", "also junk", &keys, (USER, None)),
            "junk"
        );
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;
    use crate::test_support::ring;

    const USER: &str = "google-oauth2|7";
    const NOW: u64 = 1_800_000_000;

    fn seal(token: &str, keys: &KeyRing) -> String {
        jwe::seal(
            &RefreshToken::new(token).expect("valid"),
            keys,
            USER,
            NOW - 10,
            Nonce::from_bytes([2; 12]),
        )
        .expect("seals")
    }

    fn answer(refresh_token: Option<&str>) -> String {
        let rotated = refresh_token.map_or(String::new(), |t| format!(r#","refresh_token":"{t}""#));
        format!(r#"{{"access_token":"ya29.a","expires_in":3600,"token_type":"Bearer"{rotated}}}"#)
    }

    fn body_token(states: &RefreshStates) -> String {
        let request = states
            .refresh_request(USER, &Client::post("c", "s"))
            .expect("a request");
        request
            .body
            .split('&')
            .find_map(|p| p.strip_prefix("refresh_token="))
            .expect("has the token")
            .replace("%2F", "/")
    }

    #[test]
    fn a_rotation_is_sealed_kept_unsaved_and_a_stale_user_still_maps_to_it() {
        let keys = ring(&[("k1", 1)]);
        let s0 = seal("1//r0", &keys);
        let mut states = RefreshStates::new(Connection::google());
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        assert_eq!(body_token(&states), "1//r0");
        let finished = states
            .finish(USER, (200, &answer(Some("1//r1"))), &keys, NOW, || {
                Ok(Nonce::from_bytes([3; 12]))
            })
            .expect("a grant");
        assert_eq!(
            finished.grant.refresh_token, None,
            "the token stays in the state"
        );
        let unsaved = finished.unsaved.expect("a rotation to store");
        assert_eq!(unsaved.replaces, s0);
        assert_eq!(
            jwe::open(&unsaved.sealed, &keys, USER)
                .expect("opens")
                .expose_secret(),
            "1//r1"
        );
        assert_eq!(states.unsaved(USER), Some(&unsaved));
        states.saved(USER);
        assert_eq!(states.unsaved(USER), None);
        // The app's user object still shows s0: it is recognised as replaced.
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        assert_eq!(body_token(&states), "1//r1");
        // A new consent (a token this state never had) starts over from it.
        let s2 = seal("1//r2", &keys);
        states.begin(USER, Some(&s2), None, &keys).expect("opens");
        assert_eq!(body_token(&states), "1//r2");
        assert_eq!(states.sealed(USER), Some(s2.as_str()));
    }

    #[test]
    fn a_rotation_in_an_otherwise_unusable_answer_is_still_kept() {
        // The provider consumed r0 and answered 200 with r1 but no usable access token:
        // the refresh fails, and r1 is sealed and left for the host to store.
        let keys = ring(&[("k1", 1)]);
        let s0 = seal("1//r0", &keys);
        let mut states = RefreshStates::new(Connection::google());
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        let body = r#"{"token_type":"Bearer","refresh_token":"1//r1"}"#;
        let failed = states.finish(USER, (200, body), &keys, NOW, || {
            Ok(Nonce::from_bytes([3; 12]))
        });
        assert_eq!(failed.map(|_| ()), Err(Error::ProviderResponse));
        let unsaved = states.unsaved(USER).expect("the rotation is kept").clone();
        assert_eq!(unsaved.replaces, s0);
        let opened = jwe::open(&unsaved.sealed, &keys, USER).expect("opens");
        assert_eq!(opened.expose_secret(), "1//r1");
        assert_eq!(body_token(&states), "1//r1", "the next refresh sends r1");
    }

    #[test]
    fn no_rotation_draws_no_iv_and_a_dead_token_drops_the_state() {
        let keys = ring(&[("k1", 1)]);
        let s0 = seal("1//r0", &keys);
        let mut states = RefreshStates::new(Connection::google());
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        let finished = states
            .finish(USER, (200, &answer(None)), &keys, NOW, || {
                Err(Error::Random)
            })
            .expect("no IV needed");
        assert!(finished.unsaved.is_none());
        // A wrong client keeps the state; a dead token drops it.
        let refused = states.finish(
            USER,
            (401, r#"{"error":"invalid_client"}"#),
            &keys,
            NOW,
            || Err(Error::Random),
        );
        assert_eq!(refused.map(|_| ()), Err(Error::ClientRejected));
        assert!(states.sealed(USER).is_some());
        let dead = states.finish(
            USER,
            (400, r#"{"error":"invalid_grant"}"#),
            &keys,
            NOW,
            || Err(Error::Random),
        );
        assert_eq!(dead.map(|_| ()), Err(Error::ReconsentRequired));
        assert_eq!(states.sealed(USER), None);
        assert_eq!(
            states
                .refresh_request(USER, &Client::post("c", "s"))
                .map(|_| ()),
            Err(Error::SealedMissing)
        );
    }

    #[test]
    fn nothing_stored_means_nothing_from_the_store_and_a_value_that_does_not_open_drops_the_state()
    {
        let keys = ring(&[("k1", 1)]);
        let s0 = seal("1//r0", &keys);
        let mut states = RefreshStates::new(Connection::google());
        assert_eq!(
            states.begin(USER, None, Some(&s0), &keys),
            Err(Error::SealedMissing)
        );
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        let foreign = seal("1//x", &ring(&[("k9", 9)]));
        assert_eq!(
            states.begin(USER, Some(&foreign), None, &keys),
            Err(Error::KeyUnknown)
        );
        assert_eq!(states.sealed(USER), None);
    }

    #[test]
    fn revocation_covers_the_stored_token_and_the_state_s_once_each() {
        let keys = ring(&[("k1", 1)]);
        let s0 = seal("1//r0", &keys);
        let mut states = RefreshStates::new(Connection::google());
        let bodies = |states: &RefreshStates, stored: Option<&str>| {
            states
                .revoke_requests(USER, stored, &keys, &Client::post("c", "s"))
                .expect("bodies")
        };
        assert_eq!(bodies(&states, Some(&s0)).len(), 1);
        states.begin(USER, Some(&s0), None, &keys).expect("opens");
        assert_eq!(bodies(&states, Some(&s0)).len(), 1);
        states
            .finish(USER, (200, &answer(Some("1//r1"))), &keys, NOW, || {
                Ok(Nonce::from_bytes([4; 12]))
            })
            .expect("a grant");
        let both = bodies(&states, Some(&s0));
        assert_eq!(both.len(), 2);
        assert!(both[1].body.contains("token=1%2F%2Fr1"));
        assert_eq!(bodies(&states, None).len(), 1);
        // A stored value that does not open is an error, never a silent skip.
        let foreign = seal("1//x", &ring(&[("k9", 9)]));
        assert_eq!(
            states
                .revoke_requests(USER, Some(&foreign), &keys, &Client::post("c", "s"))
                .map(|b| b.len()),
            Err(Error::KeyUnknown)
        );
        states.forget(USER);
        assert!(bodies(&states, None).is_empty());
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use crate::test_support::ring;

    fn sealed(user: &str, keys: &KeyRing) -> String {
        let token = RefreshToken::new(&format!("1//{user}")).expect("valid");
        jwe::seal(&token, keys, user, 100, Nonce::from_bytes([4; 12])).expect("seals")
    }

    #[test]
    fn states_are_bounded_the_least_recently_begun_go_first_never_an_unsaved_rotation() {
        let keys = ring(&[("k1", 1)]);
        let mut states = RefreshStates::with_max_users(Connection::google(), 10);
        let users: Vec<String> = (0..10).map(|i| format!("google-oauth2|{i}")).collect();
        // Each refresh begun and answered (a 503 here): none is under way any more.
        let refresh = |states: &mut RefreshStates, user: &str| {
            states
                .begin(user, Some(&sealed(user, &keys)), None, &keys)
                .expect("opens");
            let unavailable = states.finish(user, (503, ""), &keys, 200, || Err(Error::Random));
            assert_eq!(unavailable.map(|_| ()), Err(Error::ProviderUnavailable));
        };
        for user in &users {
            refresh(&mut states, user);
        }
        assert_eq!(states.len(), 10);
        // User 0 is refreshed again (recent); user 1 has a rotation waiting.
        refresh(&mut states, &users[0]);
        states
            .begin(&users[1], Some(&sealed(&users[1], &keys)), None, &keys)
            .expect("opens");
        let rotated = r#"{"access_token":"a","expires_in":3600,"token_type":"Bearer","refresh_token":"1//r"}"#;
        states
            .finish(&users[1], (200, rotated), &keys, 200, || {
                Ok(Nonce::from_bytes([5; 12]))
            })
            .expect("a grant");
        // The eleventh user passes the bound: the states not begun in the last nine begins
        // go (users 2 and 3: users 0 and 1 were begun again), down to nine.
        let eleventh = "google-oauth2|10";
        states
            .begin(eleventh, Some(&sealed(eleventh, &keys)), None, &keys)
            .expect("opens");
        assert_eq!(states.len(), 9);
        assert!(states.sealed(&users[3]).is_none());
        assert!(states.sealed(&users[4]).is_some());
        for kept in [&users[0], &users[1]] {
            assert!(states.sealed(kept).is_some(), "{kept} is kept");
        }
        assert!(states.unsaved(&users[1]).is_some());
        assert!(states.sealed(eleventh).is_some());
        assert!(
            states.sealed(&users[2]).is_none(),
            "the least recent idle state goes"
        );
        // A forgotten user starts again from the stored value.
        states
            .begin(&users[2], Some(&sealed(&users[2], &keys)), None, &keys)
            .expect("opens");
        assert!(states.sealed(&users[2]).is_some());
    }

    #[test]
    fn a_state_whose_refresh_is_under_way_is_never_forgotten() {
        // A's refresh is begun; many other users pass the bound before its answer comes
        // with a rotation, which only A's state can seal.
        let keys = ring(&[("k1", 1)]);
        let mut states = RefreshStates::with_max_users(Connection::google(), 3);
        let a = "google-oauth2|a";
        states
            .begin(a, Some(&sealed(a, &keys)), None, &keys)
            .expect("opens");
        for i in 0..10 {
            let other = format!("google-oauth2|o{i}");
            states
                .begin(&other, Some(&sealed(&other, &keys)), None, &keys)
                .expect("opens");
        }
        assert!(states.sealed(a).is_some(), "kept while under way");
        let rotated = r#"{"access_token":"a","expires_in":3600,"token_type":"Bearer","refresh_token":"1//r"}"#;
        states
            .finish(a, (200, rotated), &keys, 200, || {
                Ok(Nonce::from_bytes([5; 12]))
            })
            .expect("a grant");
        states.saved(a);
        // Finished and stored: an ordinary state again, forgotten once others pass it.
        for i in 10..20 {
            let other = format!("google-oauth2|o{i}");
            states
                .begin(&other, Some(&sealed(&other, &keys)), None, &keys)
                .expect("opens");
            states
                .finish(&other, (503, ""), &keys, 200, || Err(Error::Random))
                .map(|_| ())
                .ok();
        }
        assert!(states.sealed(a).is_none());
    }

    #[test]
    fn the_state_just_begun_is_never_the_one_forgotten() {
        let keys = ring(&[("k1", 1)]);
        let mut states = RefreshStates::with_max_users(Connection::google(), 1);
        let (a, b) = ("google-oauth2|a", "google-oauth2|b");
        states
            .begin(a, Some(&sealed(a, &keys)), None, &keys)
            .expect("opens");
        let rotated = r#"{"access_token":"a","expires_in":3600,"token_type":"Bearer","refresh_token":"1//r"}"#;
        states
            .finish(a, (200, rotated), &keys, 200, || {
                Ok(Nonce::from_bytes([5; 12]))
            })
            .expect("a grant");
        states
            .begin(b, Some(&sealed(b, &keys)), None, &keys)
            .expect("opens");
        assert!(states.unsaved(a).is_some(), "a rotation waiting is kept");
        assert!(states.sealed(b).is_some(), "and so is the state just begun");
    }
}
