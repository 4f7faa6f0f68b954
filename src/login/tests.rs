//! Tests of the login decision, one rule of `plan_login`'s contract at a time.

use serde_json::{json, Value};

use crate::json::Json;

use super::*;
use crate::test_support::ring;

const GOOGLE_PROVIDER: &str = crate::providers::google::GOOGLE.auth0_provider;

const USER_ID: &str = "google-oauth2|1001";
const TOKEN: &str = "1//0g-first-refresh-token";
const NEW_TOKEN: &str = "1//0g-second-refresh-token";
const NOW: u64 = 1_763_000_000;

/// A plan's JSON as serde_json, for comparisons with `json!` literals.
fn sj(value: &Json) -> Value {
    serde_json::from_str(&value.to_text()).expect("our JSON is JSON")
}

fn primary() -> KeyRing {
    ring(&[("k1", 1)])
}

fn seal_for(token: &str, keys: &KeyRing, sub: &str) -> String {
    jwe::seal(
        &RefreshToken::new(token).expect("valid"),
        keys,
        sub,
        NOW - 100,
        Nonce::from_bytes([5; 12]),
    )
    .expect("seals")
}

/// A value of another provider's, sealed without provenance (as `seal()` would for
/// Google), bound to that provider.
fn seal_as(token: &str, keys: &KeyRing, sub: &str, idp: &str) -> String {
    jwe::seal_with(
        &RefreshToken::new(token).expect("valid"),
        keys,
        sub,
        Some(idp),
        NOW - 100,
        Nonce::from_bytes([5; 12]),
        &jwe::Provenance::default(),
    )
    .expect("seals")
}

fn google_identity(token: Option<&str>) -> Value {
    let mut identity = json!({"provider": "google-oauth2", "connection": "google-oauth2", "user_id": "1001", "isSocial": true});
    if let Some(token) = token {
        identity["refresh_token"] = json!(token);
        identity["access_token"] = json!("ya29.access");
    }
    identity
}

fn user(token: Option<&str>, app_metadata: Value) -> Value {
    json!({"user_id": USER_ID, "email": "ada@example.com", "identities": [google_identity(token)], "app_metadata": app_metadata})
}

/// Builds the input the way a shim sends it, then plans.
fn plan_with(keys: &KeyRing, input: Value) -> Result<LoginPlan> {
    plan_login(
        &LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON"))
            .expect("valid input"),
        Ok(keys),
        NOW,
        || Ok(Nonce::from_bytes([7; 12])),
    )
}

fn plan(input: Value) -> LoginPlan {
    plan_with(&primary(), input).expect("plans")
}

/// The sealed Google value a plan writes, opened.
fn written_token(plan: &LoginPlan, keys: &KeyRing, sub: &str) -> String {
    let write = plan
        .metadata_writes
        .iter()
        .find(|w| w.key == SEALED_KEY)
        .expect("writes the sealed value");
    let sealed = write.value[GOOGLE_PROVIDER].as_str().expect("a string");
    jwe::open(sealed, keys, sub)
        .expect("opens")
        .expose_secret()
        .to_owned()
}

#[test]
fn first_token_is_sealed_and_bound_to_the_user() {
    let p = plan(json!({"user": user(Some(TOKEN), json!({})), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Sealed);
    assert_eq!(written_token(&p, &primary(), USER_ID), TOKEN);
    let sealed = p.metadata_writes[0].value[GOOGLE_PROVIDER]
        .as_str()
        .expect("string");
    let header = jwe::inspect(sealed).expect("valid");
    assert_eq!(
        (header.sub.as_str(), header.kid.as_str(), header.iat),
        (USER_ID, "k1", Some(NOW))
    );
    assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
    assert!(!p.read_user);
    // The value records where it came from: Auth0's copy, fingerprinted.
    assert_eq!(header.src, Some(jwe::Source::Login));
    let capture = header.capture.expect("a capture record");
    let token = RefreshToken::new(TOKEN).expect("valid");
    assert_eq!(capture.matches(&token, &primary()), Some(true));
}

#[test]
fn same_token_again_changes_nothing() {
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let p = plan(json!({"user": user(Some(TOKEN), stored), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Unchanged);
    assert!(p.metadata_writes.is_empty());
    assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
}

#[test]
fn randomness_is_drawn_only_for_a_seal() {
    let keys = primary();
    let draws = std::cell::Cell::new(0);
    let plan_drawing = |input: Value, result: Result<Nonce>| {
        let input = LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON"))
            .expect("valid input");
        let mut result = Some(result);
        plan_login(&input, Ok(&keys), NOW, || {
            draws.set(draws.get() + 1);
            // One seal per plan here; a second draw would fail the plan.
            result.take().unwrap_or(Err(Error::Random))
        })
    };
    // Keeping what is stored needs no IV, so a broken RNG cannot fail that login.
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &keys, USER_ID)}});
    let kept = plan_drawing(
        json!({"user": user(Some(TOKEN), stored.clone()), "read": "never"}),
        Err(Error::Random),
    );
    assert_eq!(kept.map(|p| p.outcome), Ok(Outcome::Unchanged));
    let nothing = plan_drawing(json!({"user": user(None, json!({}))}), Err(Error::Random));
    assert_eq!(nothing.map(|p| p.outcome), Ok(Outcome::Missing));
    assert_eq!(draws.get(), 0, "no seal, no draw");
    // A seal draws once, and a failed draw fails the plan (nothing half-done to carry out).
    let sealed = plan_drawing(
        json!({"user": user(Some(NEW_TOKEN), stored), "read": "never", "loginsCount": 1}),
        Ok(Nonce::from_bytes([9; 12])),
    );
    assert_eq!(sealed.map(|p| p.outcome), Ok(Outcome::Replaced));
    assert_eq!(draws.get(), 1);
    let failed = plan_drawing(
        json!({"user": user(Some(TOKEN), json!({})), "read": "never"}),
        Err(Error::Random),
    );
    assert_eq!(failed.map(|p| p.outcome), Err(Error::Random));
    assert_eq!(draws.get(), 2);
}

/// The sealed value a Rule login with `token` on the identity stores.
fn captured_from(token: &str) -> String {
    let p = plan(json!({"user": user(Some(token), json!({})), "read": "never"}));
    p.metadata_writes[0].value[GOOGLE_PROVIDER]
        .as_str()
        .expect("sealed")
        .to_owned()
}

/// What a backend stores after the provider rotated `previous`'s token to `rotated`.
fn rotated_by_backend(previous: &str, rotated: &str) -> String {
    jwe::seal_rotated(
        &RefreshToken::new(rotated).expect("valid"),
        previous,
        &primary(),
        USER_ID,
        None,
        NOW - 10,
        Nonce::from_bytes([6; 12]),
    )
    .expect("seals")
}

#[test]
fn a_token_auth0_received_since_the_capture_replaces_the_stored_one() {
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: captured_from(TOKEN)}});
    let p = plan(json!({"user": user(Some(NEW_TOKEN), stored), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Replaced);
    assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
}

#[test]
fn a_stale_copy_never_replaces_a_newer_token() {
    // Captured T1; the backend's refresh rotated it to T2; Auth0's identity still holds T1.
    const T2: &str = "1//0g-rotated-by-the-backend";
    let t2 = rotated_by_backend(&captured_from(TOKEN), T2);
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: t2.clone()}});
    for extra in [
        json!({"read": "never"}),
        json!({"read": "always", "connectionStrategy": "google-oauth2", "loginsCount": 8}),
        json!({"protocol": "oauth2-refresh-token"}),
        // Even a consent login: Auth0's copy is the one the value was captured from, so
        // Google issued nothing new in it.
        json!({"authorizeQuery": {"prompt": "consent"}}),
    ] {
        let mut input = json!({"user": user(Some(TOKEN), stored.clone())});
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        let p = plan(input);
        assert_eq!(p.outcome, Outcome::Unchanged, "{extra}");
        assert!(p.metadata_writes.is_empty(), "{extra}");
        assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
    }
    // A consent login that brought T3 replaces T2.
    let p = plan(
        json!({"user": user(Some(NEW_TOKEN), stored), "authorizeQuery": {"prompt": "consent"}}),
    );
    assert_eq!(p.outcome, Outcome::Replaced);
    assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
}

#[test]
fn a_value_without_a_capture_record_is_replaced_only_when_a_new_token_can_come() {
    // Sealed by an earlier version (or by seal()): nothing says which token it came from.
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let kept = plan(
        json!({"user": user(Some(NEW_TOKEN), stored.clone()), "read": "never", "loginsCount": 5}),
    );
    assert_eq!(kept.outcome, Outcome::Unchanged);
    assert!(kept.metadata_writes.is_empty());
    for carrying in [
        json!({"loginsCount": 1}),
        json!({"authorizeQuery": {"prompt": "consent"}}),
        json!({"authorizeQuery": {"connection_scope": "https://www.googleapis.com/auth/drive.file"}}),
        json!({"transactionPrompt": ["consent"]}),
    ] {
        let mut input = json!({"user": user(Some(NEW_TOKEN), stored.clone()), "read": "never"});
        for (k, v) in carrying.as_object().expect("object") {
            input[k] = v.clone();
        }
        let p = plan(input);
        assert_eq!(p.outcome, Outcome::Replaced, "{carrying}");
        assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
    }
    // A refresh token exchange carries no new token, whatever its query said.
    let p = plan(
        json!({"user": user(Some(NEW_TOKEN), stored), "read": "never", "loginsCount": 1,
                        "protocol": "oauth2-refresh-token"}),
    );
    assert_eq!(p.outcome, Outcome::Unchanged);
    // A record under a retired key cannot be checked: the same rule as no record.
    let old = ring(&[("k1", 1)]);
    let rotated_ring = ring(&[("k2", 2)]);
    let under_old = plan_with(
        &old,
        json!({"user": user(Some(TOKEN), json!({})), "read": "never"}),
    )
    .expect("plans");
    let value = sj(&under_old.metadata_writes[0].value[GOOGLE_PROVIDER]);
    let both = ring(&[("k2", 2), ("k1", 1)]);
    let resealed = plan_with(
        &both,
        json!({"user": user(None, json!({SEALED_KEY: {GOOGLE_PROVIDER: value}})), "read": "never"}),
    )
    .expect("plans");
    assert_eq!(resealed.outcome, Outcome::Rotated);
    let moved = sj(&resealed.metadata_writes[0].value);
    let header = jwe::inspect(moved[GOOGLE_PROVIDER].as_str().expect("sealed")).expect("header");
    assert_eq!(
        (
            header.kid.as_str(),
            header.capture.as_ref().map(|c| c.kid.as_str())
        ),
        ("k2", Some("k1")),
        "lazy rotation keeps the record it cannot recompute"
    );
    let p = plan_with(
        &rotated_ring,
        json!({"user": user(Some(NEW_TOKEN), json!({SEALED_KEY: moved.clone()})), "read": "never"}),
    )
    .expect("plans");
    assert_eq!(
        p.outcome,
        Outcome::Unchanged,
        "record unverifiable, no consent: kept"
    );
    let p = plan_with(
        &both,
        json!({"user": user(Some(TOKEN), json!({SEALED_KEY: moved})), "read": "never"}),
    )
    .expect("plans");
    assert_eq!(
        p.outcome,
        Outcome::Unchanged,
        "checked under k1: the captured copy itself"
    );
}

#[test]
fn no_token_never_deletes_or_overwrites() {
    let sealed = seal_for(TOKEN, &primary(), USER_ID);
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: sealed}});
    for identity_token in [None, Some("")] {
        let mut u = user(None, stored.clone());
        if let Some(t) = identity_token {
            u["identities"][0]["refresh_token"] = json!(t);
        }
        let p = plan(json!({"user": u, "read": "never"}));
        assert!(p.metadata_writes.is_empty(), "{identity_token:?}");
        assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
    }
    // An explicit null token is "no token", not a notice.
    let mut u = user(None, stored);
    u["identities"][0]["refresh_token"] = Value::Null;
    let p = plan(json!({"user": u, "read": "never"}));
    assert!(p.metadata_writes.is_empty() && p.notices.is_empty());
}

#[test]
fn invalid_fresh_tokens_are_notices_not_failures() {
    let sealed = seal_for(TOKEN, &primary(), USER_ID);
    for bad in [
        json!(42),
        json!({"a": 1}),
        json!("x".repeat(1 << 20)),
        json!("bad\ntoken"),
    ] {
        let mut u = user(None, json!({SEALED_KEY: {GOOGLE_PROVIDER: sealed.clone()}}));
        u["identities"][0]["refresh_token"] = bad;
        let p = plan(json!({"user": u, "read": "never"}));
        assert!(p.metadata_writes.is_empty());
        assert_eq!(p.notices, ["ERR_TOKEN_INVALID"]);
        assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
    }
}

#[test]
fn other_providers_entries_are_kept() {
    let stored = json!({SEALED_KEY: {"github": "opaque-other-value"}, "plan": "pro"});
    let p = plan(json!({"user": user(Some(TOKEN), stored), "read": "never"}));
    assert_eq!(p.metadata_writes[0].value["github"], "opaque-other-value");
    assert_eq!(p.metadata_writes.len(), 1, "only what changes is written");
}

#[test]
fn lazy_rotation_reseals_under_the_primary_without_a_read() {
    let old = ring(&[("k1", 1)]);
    let rotated = ring(&[("k2", 2), ("k1", 1)]);
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &old, USER_ID)}});
    let p = plan_with(
        &rotated,
        json!({"user": user(None, stored.clone()), "connectionStrategy": "google-oauth2", "loginsCount": 9}),
    )
    .expect("plans");
    assert_eq!(p.outcome, Outcome::Rotated);
    assert!(!p.read_user);
    assert_eq!(written_token(&p, &rotated, USER_ID), TOKEN);
    let sealed = p.metadata_writes[0].value[GOOGLE_PROVIDER]
        .as_str()
        .expect("string");
    assert_eq!(jwe::inspect(sealed).expect("valid").kid, "k2");
    // The same token arriving fresh is also re-sealed.
    let p = plan_with(
        &rotated,
        json!({"user": user(Some(TOKEN), stored), "read": "never"}),
    )
    .expect("plans");
    assert_eq!(p.outcome, Outcome::Rotated);
}

#[test]
fn an_unreadable_stored_value_is_kept_and_reported() {
    let other_key = ring(&[("k1", 9)]);
    let cases: [(Value, &str); 5] = [
        (json!(seal_for(TOKEN, &other_key, USER_ID)), "ERR_DECRYPT"),
        (
            json!(seal_for(TOKEN, &ring(&[("gone", 1)]), USER_ID)),
            "ERR_KEY_UNKNOWN",
        ),
        (
            json!(seal_for(TOKEN, &primary(), "google-oauth2|someone-else")),
            "ERR_SUBJECT_MISMATCH",
        ),
        (json!("not-a-jwe"), "ERR_SEALED_MALFORMED"),
        (json!(17), "ERR_SEALED_MALFORMED"),
    ];
    for (stored, code) in cases {
        let md = json!({SEALED_KEY: {GOOGLE_PROVIDER: stored}});
        // No fresh token: nothing is written, the value stays, the status says missing.
        let p = plan(json!({"user": user(None, md.clone()), "read": "never"}));
        assert!(p.metadata_writes.is_empty(), "{code}");
        assert_eq!(p.notices, [code]);
        assert_eq!(p.offline_access, Some(OfflineAccess::Missing));
        assert_eq!(p.outcome, Outcome::Missing);
        // A token read for this user replaces it.
        let p = plan(json!({"user": user(Some(NEW_TOKEN), md), "read": "never"}));
        assert_eq!(p.outcome, Outcome::Replaced, "{code}");
        assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
    }
}

#[test]
fn a_value_copied_from_another_user_is_never_rebound() {
    let theirs = seal_for(TOKEN, &primary(), "google-oauth2|victim");
    let md = json!({SEALED_KEY: {GOOGLE_PROVIDER: theirs.clone()}, LEGACY_KEY: null});
    let p = plan(
        json!({"user": user(None, md), "connectionStrategy": "google-oauth2", "loginsCount": 5}),
    );
    assert!(p.metadata_writes.is_empty());
    assert_eq!(p.offline_access, Some(OfflineAccess::Missing));
    // Without a valid value, a read is worth making: Auth0 may hold a token of our own.
    assert!(p.read_user);
}

#[test]
fn legacy_plaintext_is_sealed_then_deleted_in_the_same_plan() {
    let p = plan(
        json!({"user": user(None, json!({LEGACY_KEY: TOKEN, "plan": "pro"})), "read": "never"}),
    );
    assert_eq!(p.outcome, Outcome::Migrated);
    assert_eq!(
        p.metadata_writes.iter().map(|w| w.key).collect::<Vec<_>>(),
        [SEALED_KEY, LEGACY_KEY]
    );
    assert_eq!(p.metadata_writes[1].value, Json::Null);
    assert_eq!(written_token(&p, &primary(), USER_ID), TOKEN);
}

#[test]
fn legacy_values_that_are_not_tokens_are_never_sealed() {
    // The seed rule's createCipher('aes-256-cbc') advice wrote hex of whole AES blocks.
    let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    for (legacy, code) in [
        (json!(hex), "ERR_LEGACY_ENCRYPTED"),
        (json!(hex.to_uppercase()), "ERR_LEGACY_ENCRYPTED"),
        (json!("1//bad token with\nnewline"), "ERR_TOKEN_INVALID"),
        (json!(["1//x"]), "ERR_TOKEN_INVALID"),
    ] {
        let p =
            plan(json!({"user": user(None, json!({LEGACY_KEY: legacy.clone()})), "read": "never"}));
        assert!(
            p.metadata_writes.is_empty(),
            "{legacy}: left exactly as it is"
        );
        assert_eq!(p.notices, [code]);
        assert_eq!(p.outcome, Outcome::Missing);
        // Also next to a fresh token: that one is sealed, the legacy value stays.
        let p = plan(
            json!({"user": user(Some(TOKEN), json!({LEGACY_KEY: legacy.clone()})), "read": "never"}),
        );
        assert_eq!(
            p.metadata_writes.iter().map(|w| w.key).collect::<Vec<_>>(),
            [SEALED_KEY],
            "{legacy}"
        );
    }
    // Hex that is not whole blocks is not that ciphertext; a Google token is not hex.
    assert!(!is_cbc_hex("abc123"));
    assert!(!is_cbc_hex(TOKEN));
    assert!(is_cbc_hex(hex));
}

#[test]
fn legacy_plaintext_next_to_a_valid_value_is_deleted() {
    let md = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}, LEGACY_KEY: "1//old-plain"});
    let p = plan(json!({"user": user(None, md), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Unchanged);
    assert_eq!(
        p.metadata_writes,
        [MetadataWrite {
            key: LEGACY_KEY,
            value: Json::Null
        }]
    );
}

#[test]
fn legacy_plaintext_stays_when_nothing_valid_can_be_stored() {
    // The stored value does not open and no fresh token came: sealing the plaintext
    // would overwrite it, and deleting the plaintext would lose the only readable copy.
    let md = json!({SEALED_KEY: {GOOGLE_PROVIDER: "garbage"}, LEGACY_KEY: TOKEN});
    let p = plan(json!({"user": user(None, md), "read": "never"}));
    assert!(p.metadata_writes.is_empty());
    // A legacy value that is not a token is bad input: never deleted.
    let p = plan(json!({"user": user(None, json!({LEGACY_KEY: 12})), "read": "never"}));
    assert!(p.metadata_writes.is_empty());
    assert_eq!(p.notices, ["ERR_TOKEN_INVALID"]);
    // A fresh token seals and then removes a legacy token.
    let p =
        plan(json!({"user": user(Some(NEW_TOKEN), json!({LEGACY_KEY: TOKEN})), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Sealed);
    assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
    assert_eq!(p.metadata_writes[1].key, LEGACY_KEY);
}

#[test]
fn users_without_google_are_left_alone() {
    let p = plan(json!({
        "user": {"user_id": "auth0|1", "identities": [{"provider": "auth0", "user_id": "1"}],
                 "app_metadata": {LEGACY_KEY: "1//someone-else's"}},
        "connectionStrategy": "auth0", "loginsCount": 1, "claimNamespace": "https://app.example.com/"
    }));
    assert_eq!(p.outcome, Outcome::NoIdentity);
    assert!(p.metadata_writes.is_empty() && p.claims.is_empty() && !p.read_user);
    assert_eq!(p.offline_access, None);
}

#[test]
fn google_user_without_any_token_is_missing() {
    let p = plan(
        json!({"user": user(None, json!({})), "read": "never", "claimNamespace": "https://app.example.com/"}),
    );
    assert_eq!(p.outcome, Outcome::Missing);
    assert_eq!(p.offline_access, Some(OfflineAccess::Missing));
    assert_eq!(
        p.claims,
        [Claim {
            name: "https://app.example.com/google_offline_access".into(),
            value: ClaimValue::Status(OfflineAccess::Missing)
        }]
    );
}

#[test]
fn linked_google_identity_binds_to_the_primary_user() {
    let linked = json!({
        "user_id": "auth0|primary",
        "identities": [{"provider": "auth0", "user_id": "primary", "connection": "Username-Password-Authentication"},
                       google_identity(Some(TOKEN))],
        "app_metadata": {}
    });
    let p = plan(json!({"user": linked, "read": "never"}));
    assert_eq!(written_token(&p, &primary(), "auth0|primary"), TOKEN);
}

#[test]
fn fresh_user_tokens_are_used_and_must_be_the_same_user() {
    let action_user = user(None, json!({}));
    let fresh = user(Some(TOKEN), json!({}));
    let p = plan(
        json!({"user": action_user, "freshUser": fresh, "connectionStrategy": "google-oauth2", "loginsCount": 1}),
    );
    assert!(!p.read_user, "a read already happened");
    assert_eq!(written_token(&p, &primary(), USER_ID), TOKEN);

    let mut stranger = user(Some(TOKEN), json!({}));
    stranger["user_id"] = json!("google-oauth2|stranger");
    let p = plan(json!({"user": action_user, "freshUser": stranger, "read": "never"}));
    assert!(p.metadata_writes.is_empty());
    assert_eq!(p.notices, ["ERR_INPUT_INVALID"]);
}

#[test]
fn read_only_when_the_login_could_carry_a_token() {
    let valid = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let base = |extra: Value| {
        let mut input = json!({"user": user(None, valid.clone()), "connectionStrategy": "google-oauth2", "loginsCount": 7});
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        plan(input).read_user
    };
    assert!(!base(json!({})), "returning login with a valid value");
    assert!(base(json!({"loginsCount": 1})), "first login");
    assert!(base(json!({"authorizeQuery": {"prompt": "login consent"}})));
    assert!(base(
        json!({"authorizeQuery": {"approval_prompt": "force"}})
    ));
    assert!(base(
        json!({"authorizeQuery": {"connection_scope": "https://www.googleapis.com/auth/drive.file"}})
    ));
    assert!(!base(
        json!({"authorizeQuery": {"prompt": "login", "connection_scope": " "}})
    ));
    assert!(!base(json!({"authorizeQuery": {"prompt": "noconsent"}})));
    assert!(base(json!({"read": "always"})));
    assert!(!base(json!({"read": "never", "loginsCount": 1})));
    assert!(
        !base(json!({"connectionStrategy": "auth0", "loginsCount": 1})),
        "not through Google"
    );
    assert!(!base(
        json!({"connectionStrategy": "auth0", "read": "always"})
    ));
    // No valid value and nothing to migrate: read. Legacy plaintext to migrate: no read.
    let p = plan(
        json!({"user": user(None, json!({})), "connectionStrategy": "google-oauth2", "loginsCount": 4}),
    );
    assert!(p.read_user);
    let p = plan(
        json!({"user": user(None, json!({LEGACY_KEY: TOKEN})), "connectionStrategy": "google-oauth2", "loginsCount": 4}),
    );
    assert!(!p.read_user);
    assert_eq!(
        p.outcome,
        Outcome::Migrated,
        "the plan is complete even without the read"
    );
}

#[test]
fn claim_namespace_is_checked() {
    for ns in [
        "https://app.example.com/",
        "http://localhost:3000/",
        "https://example.org/claims/",
    ] {
        let p = plan(json!({"user": user(None, json!({})), "read": "never", "claimNamespace": ns}));
        assert_eq!(p.claims.len(), 1, "{ns}");
        assert!(p.notices.is_empty());
    }
    for ns in [
        "app.example.com/",
        "https://auth0.com/",
        "https://tenant.us.auth0.com/",
        "https://x.webtask.io/",
        "https://WEBTASK.RUN/",
        "https://",
        "ftp://example.com/",
    ] {
        let p = plan(json!({"user": user(None, json!({})), "read": "never", "claimNamespace": ns}));
        assert!(p.claims.is_empty(), "{ns}");
        assert_eq!(p.notices, ["ERR_NAMESPACE_INVALID"]);
    }
}

/// The shape a shim sends for a user given as JSON.
#[cfg(feature = "removals")]
fn shape_of(user: &Value) -> Value {
    let names = |v: &Value| v.as_object().map(|o| json!(o.keys().collect::<Vec<_>>()));
    json!({
        "root": names(user),
        "identities": user["identities"].as_array().map(|ids| ids.iter().map(names).collect::<Vec<_>>()),
        "appMetadata": names(&user["app_metadata"]),
    })
}

#[test]
#[cfg(feature = "removals")] // the shape and its removals
fn the_plan_says_what_to_remove_including_root_mirrors() {
    let mut u = user(Some(TOKEN), json!({LEGACY_KEY: TOKEN, "plan": "pro"}));
    // Auth0 merges app_metadata into the root of the user in Rules and Actions.
    u["refresh_token"] = json!(TOKEN);
    u["sealed_refresh_tokens"] = json!({"google-oauth2": "x"});
    u["plan"] = json!("pro");
    let p = plan(json!({"user": u.clone(), "shape": shape_of(&u), "read": "never"}));
    let names = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>();
    assert_eq!(
        p.removals.expect("asked for"),
        crate::sanitize::Removals {
            root: names(&["refresh_token", "sealed_refresh_tokens"]),
            identities: Some(vec![Some(names(&["access_token", "refresh_token"]))]),
            app_metadata: Some(names(&["refresh_token"])),
        }
    );
}

#[test]
fn input_and_user_shapes_are_typed_errors() {
    let bad_inputs = [
        (json!([]), Error::InputInvalid),
        (
            json!({"user": user(None, json!({})), "read": "sometimes"}),
            Error::InputInvalid,
        ),
        (
            json!({"user": user(None, json!({})), "loginsCount": -1}),
            Error::InputInvalid,
        ),
        (
            json!({"user": user(None, json!({})), "loginsCount": "1"}),
            Error::InputInvalid,
        ),
        (
            json!({"user": user(None, json!({})), "typo": true}),
            Error::InputInvalid,
        ),
        (json!({"read": "never"}), Error::UserInvalid),
        (
            json!({"user": {"user_id": "x", "identities": "nope"}}),
            Error::UserInvalid,
        ),
    ];
    for (input, expected) in bad_inputs {
        assert_eq!(
            LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON")).map(|_| ()),
            Err(expected),
            "{input}"
        );
    }
    // A sealed map that is not an object is not overwritten.
    let p = plan_with(
        &primary(),
        json!({"user": user(Some(TOKEN), json!({SEALED_KEY: "str"})), "read": "never"}),
    );
    assert_eq!(p.map(|_| ()), Err(Error::UserInvalid));
    // A user id that cannot be bound.
    let mut u = user(Some(TOKEN), json!({}));
    u["user_id"] = json!("");
    assert_eq!(
        plan_with(&primary(), json!({"user": u})).map(|_| ()),
        Err(Error::UserIdInvalid)
    );
    // ... but only for a user with an identity of a configured provider: nothing is
    // bound for anyone else, so nothing fails (a deny-mode login is not refused).
    for id in ["", "auth0|a\nb"] {
        let database = json!({"user_id": id, "identities": [{"provider": "auth0", "connection": "db", "user_id": "a"}]});
        let p = plan_with(&primary(), json!({"user": database})).expect("plans");
        assert_eq!(p.outcome, Outcome::NoIdentity);
    }
}

fn migration(keys: &KeyRing, user: Value) -> Migration {
    let user = User::from_value(Json::parse(&user.to_string()).expect("JSON")).expect("user");
    plan_migration(&user, keys, NOW, || Ok(Nonce::from_bytes([3; 12])), None).expect("plans")
}

#[test]
fn migration_seals_plaintext_bound_to_the_user_and_keeps_other_members() {
    let md = json!({LEGACY_KEY: TOKEN, "plan": "pro", SEALED_KEY: {"github": "other"}});
    let Migration::Patch {
        app_metadata,
        sealed,
    } = migration(&primary(), user(None, md))
    else {
        panic!("expected a patch")
    };
    assert!(sealed);
    let patch = sj(&Json::Object(app_metadata));
    assert_eq!(patch[LEGACY_KEY], Value::Null);
    assert!(
        patch.get("plan").is_none(),
        "a merge patch carries only what changes"
    );
    assert_eq!(patch[SEALED_KEY]["github"], "other");
    let value = patch[SEALED_KEY][GOOGLE_PROVIDER].as_str().expect("sealed");
    assert_eq!(
        jwe::open(value, &primary(), USER_ID)
            .expect("opens")
            .expose_secret(),
        TOKEN
    );
}

#[test]
fn migration_without_a_google_identity_still_seals() {
    let u = json!({"user_id": "auth0|unlinked", "identities": [{"provider": "auth0"}], "app_metadata": {LEGACY_KEY: TOKEN}});
    assert!(matches!(
        migration(&primary(), u),
        Migration::Patch { sealed: true, .. }
    ));
}

#[test]
fn migration_only_deletes_plaintext_next_to_a_valid_value() {
    let md = json!({LEGACY_KEY: TOKEN, SEALED_KEY: {GOOGLE_PROVIDER: seal_for(NEW_TOKEN, &primary(), USER_ID)}});
    let Migration::Patch {
        app_metadata,
        sealed,
    } = migration(&primary(), user(None, md))
    else {
        panic!("expected a patch")
    };
    assert!(!sealed);
    assert_eq!(sj(&Json::Object(app_metadata)), json!({LEGACY_KEY: null}));
}

#[test]
fn migration_skips_what_it_must_not_touch() {
    let unreadable = json!({LEGACY_KEY: TOKEN, SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &ring(&[("k1", 9)]), USER_ID)}});
    assert_eq!(
        migration(&primary(), user(None, unreadable)),
        Migration::Skip("ERR_DECRYPT")
    );
    let foreign = json!({LEGACY_KEY: TOKEN, SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), "google-oauth2|other")}});
    assert_eq!(
        migration(&primary(), user(None, foreign)),
        Migration::Skip("ERR_SUBJECT_MISMATCH")
    );
    assert_eq!(
        migration(&primary(), user(None, json!({LEGACY_KEY: 5}))),
        Migration::Skip("ERR_TOKEN_INVALID")
    );
    assert_eq!(
        migration(&primary(), user(None, json!({"plan": "pro"}))),
        Migration::NothingToDo
    );
}

#[test]
fn consent_in_the_transaction_prompt_also_reads() {
    let valid = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let base =
        json!({"user": user(None, valid), "connectionStrategy": "google-oauth2", "loginsCount": 7});
    let mut par = base.clone();
    par["transactionPrompt"] = json!(["consent"]);
    assert!(
        plan(par).read_user,
        "a pushed authorization request carries prompt only here"
    );
    let mut login_only = base.clone();
    login_only["transactionPrompt"] = json!(["login"]);
    assert!(!plan(login_only).read_user);
    // One entry holding the space-delimited list, as the query's prompt does.
    let mut listed = base.clone();
    listed["transactionPrompt"] = json!(["login consent"]);
    assert!(plan(listed).read_user);
    let mut silent = base.clone();
    silent["transactionPrompt"] = json!(["none login"]);
    silent["loginsCount"] = json!(1);
    assert!(!plan(silent).read_user, "prompt=none never reads");
    let mut bad = base;
    bad["transactionPrompt"] = json!([1]);
    assert_eq!(
        LoginInput::from_value(Json::parse(&bad.to_string()).expect("JSON")).map(|_| ()),
        Err(Error::InputInvalid)
    );
}

#[test]
#[cfg(not(feature = "removals"))]
fn without_the_removals_feature_a_shape_is_refused() {
    let u = user(Some(TOKEN), json!({}));
    let input = json!({"user": u.clone(), "shape": {"root": ["user_id"]}, "read": "never"});
    assert_eq!(
        LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON")).map(|_| ()),
        Err(Error::InputInvalid)
    );
}

#[test]
#[cfg(feature = "removals")] // the shape and its removals
fn without_a_shape_there_are_no_removals() {
    let p = plan(json!({"user": user(Some(TOKEN), json!({})), "read": "never"}));
    assert_eq!(p.removals, None);
    assert_eq!(
        p.outcome,
        Outcome::Sealed,
        "everything else is planned as usual"
    );
}

#[test]
fn a_broken_key_set_only_fails_logins_that_need_keys() {
    let input = |u: Value| {
        LoginInput::from_value(
            Json::parse(&json!({"user": u, "read": "never"}).to_string()).expect("JSON"),
        )
        .expect("input")
    };
    let database =
        json!({"user_id": "auth0|1", "identities": [{"provider": "auth0"}], "app_metadata": {}});
    #[allow(unused_mut)] // mut only to set the shape
    let mut without_keys = input(database.clone());
    #[cfg(feature = "removals")]
    {
        without_keys.shape = Some(
            crate::sanitize::UserShape::from_value(
                Json::parse(&shape_of(&database).to_string()).expect("JSON"),
            )
            .expect("shape"),
        );
    }
    let p = plan_login(&without_keys, Err(Error::KeySetEmpty), NOW, || {
        Ok(Nonce::from_bytes([0; 12]))
    })
    .expect("plans");
    assert_eq!(
        (p.outcome, p.notices.clone()),
        (Outcome::NoIdentity, vec!["ERR_KEYSET_EMPTY"])
    );
    #[cfg(feature = "removals")]
    assert!(p.removals.is_some(), "still told what to remove");
    let google = plan_login(
        &input(user(Some(TOKEN), json!({}))),
        Err(Error::KeyLength { index: 0 }),
        NOW,
        || Ok(Nonce::from_bytes([0; 12])),
    );
    assert_eq!(google.map(|_| ()), Err(Error::KeyLength { index: 0 }));
}

/// A returning Action login of a Google user with `app_metadata`, plus `extra`.
fn action_login(app_metadata: Value, extra: Value) -> LoginPlan {
    let mut input = json!({"user": user(None, app_metadata), "connectionStrategy": "google-oauth2",
                           "loginsCount": 7, "federatedAt": NOW - 2});
    for (k, v) in extra.as_object().expect("object") {
        input[k] = v.clone();
    }
    plan(input)
}

#[test]
fn executions_that_did_not_go_to_google_never_read() {
    // Nothing stored: a login through Google would read (the user may have a token now).
    assert!(action_login(json!({}), json!({})).read_user);
    for silent in [
        json!({"protocol": "oauth2-refresh-token"}),
        json!({"protocol": "oauth2-refresh-token", "loginsCount": 1, "read": "always"}),
        json!({"authorizeQuery": {"prompt": "none"}}),
        json!({"transactionPrompt": ["none"]}),
        // An existing session: the federated method was recorded long before this run.
        json!({"federatedAt": NOW - FEDERATED_RECENT_SECONDS - 1, "read": "always"}),
    ] {
        let p = action_login(json!({}), silent.clone());
        assert!(!p.read_user, "{silent}");
        assert_eq!(p.offline_access, Some(OfflineAccess::Missing));
    }
    assert!(
        action_login(
            json!({}),
            json!({"federatedAt": NOW - FEDERATED_RECENT_SECONDS})
        )
        .read_user
    );
}

#[test]
fn a_read_that_found_no_token_is_not_repeated_until_consent_or_the_interval() {
    // The read found the Google identity without a token: recorded under tokenseal.
    let read = user(None, json!({}));
    let p = action_login(json!({"plan": "pro"}), json!({"freshUser": read}));
    assert_eq!(p.outcome, Outcome::Missing);
    assert_eq!(
        p.metadata_writes,
        [MetadataWrite {
            key: STATE_KEY,
            value: jv!({NO_TOKEN_AT: {GOOGLE_PROVIDER: NOW}})
        }]
    );
    let recorded = json!({"plan": "pro", STATE_KEY: {NO_TOKEN_AT: {GOOGLE_PROVIDER: NOW - 60}}});
    // The next logins do not read, and write nothing.
    let p = action_login(recorded.clone(), json!({}));
    assert!(!p.read_user && p.metadata_writes.is_empty());
    // A consent or scope request, or a first login, reads anyway.
    assert!(
        action_login(
            recorded.clone(),
            json!({"authorizeQuery": {"prompt": "consent"}})
        )
        .read_user
    );
    assert!(action_login(recorded.clone(), json!({"loginsCount": 1})).read_user);
    // After the interval (configurable), reads again.
    let old = json!({STATE_KEY: {NO_TOKEN_AT: {GOOGLE_PROVIDER: NOW - DEFAULT_RECHECK_SECONDS}}});
    assert!(action_login(old, json!({})).read_user);
    assert!(action_login(recorded.clone(), json!({"recheckSeconds": 30})).read_user);
    // A read that found a token seals it and drops the record; other records stay.
    let both =
        json!({STATE_KEY: {NO_TOKEN_AT: {GOOGLE_PROVIDER: NOW - 60, "waad": 5}, "other": 1}});
    let p = action_login(both, json!({"freshUser": user(Some(TOKEN), json!({}))}));
    assert_eq!(p.outcome, Outcome::Sealed);
    assert_eq!(
        p.metadata_writes[1],
        MetadataWrite {
            key: STATE_KEY,
            value: jv!({NO_TOKEN_AT: {"waad": 5}, "other": 1})
        }
    );
    let p = action_login(recorded, json!({"freshUser": user(Some(TOKEN), json!({}))}));
    assert_eq!(
        p.metadata_writes[1],
        MetadataWrite {
            key: STATE_KEY,
            value: Json::Null
        }
    );
}

#[test]
fn two_google_identities_with_tokens_are_reported_and_the_documented_one_is_captured() {
    let mut second = google_identity(Some(NEW_TOKEN));
    second["user_id"] = json!("2002");
    let linked = json!({
        "user_id": USER_ID,
        "identities": [google_identity(Some(TOKEN)), second],
        "app_metadata": {}
    });
    let p = plan(json!({"user": linked, "read": "never"}));
    assert_eq!(p.notices, ["ERR_IDENTITY_AMBIGUOUS"]);
    assert_eq!(written_token(&p, &primary(), USER_ID), TOKEN, "the primary");
    // A primary of another provider: the first Google identity.
    let mut second = google_identity(Some(NEW_TOKEN));
    second["user_id"] = json!("2002");
    let linked = json!({
        "user_id": "auth0|p",
        "identities": [{"provider": "auth0", "user_id": "p"}, second, google_identity(Some(TOKEN))],
    });
    let p = plan(json!({"user": linked, "read": "never"}));
    assert_eq!(p.notices, ["ERR_IDENTITY_AMBIGUOUS"]);
    assert_eq!(written_token(&p, &primary(), "auth0|p"), NEW_TOKEN);
}

#[test]
fn migration_of_the_old_rules_ciphertext_needs_its_password() {
    let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let u = user(None, json!({LEGACY_KEY: hex}));
    assert_eq!(
        migration(&primary(), u.clone()),
        Migration::Skip("ERR_LEGACY_ENCRYPTED")
    );
    let user = User::from_value(Json::parse(&u.to_string()).expect("JSON")).expect("user");
    let opens = |value: &str| {
        assert_eq!(value, hex, "the stored ciphertext is what is decrypted");
        RefreshToken::new(TOKEN)
    };
    let Migration::Patch {
        app_metadata,
        sealed,
    } = plan_migration(
        &user,
        &primary(),
        NOW,
        || Ok(Nonce::from_bytes([3; 12])),
        Some(&opens),
    )
    .expect("plans")
    else {
        panic!("expected a patch")
    };
    assert!(sealed);
    let value = app_metadata[SEALED_KEY][GOOGLE_PROVIDER]
        .as_str()
        .expect("sealed");
    assert_eq!(
        jwe::open(value, &primary(), USER_ID)
            .expect("opens")
            .expose_secret(),
        TOKEN
    );
    assert_eq!(app_metadata[LEGACY_KEY], Json::Null);
    let refuses = |_: &str| Err(Error::LegacyDecrypt);
    assert_eq!(
        plan_migration(
            &user,
            &primary(),
            NOW,
            || Ok(Nonce::from_bytes([3; 12])),
            Some(&refuses)
        )
        .expect("plans"),
        Migration::Skip("ERR_LEGACY_DECRYPT")
    );
}

#[test]
fn migration_and_a_login_without_a_fresh_token_decide_alike() {
    // One implementation: for every stored state, the migration writes what a Rule login
    // that brings no token would write.
    let other = ring(&[("k1", 9)]);
    let rotated = ring(&[("k2", 2), ("k1", 1)]);
    let stored_values = [
        None,
        Some(json!(seal_for(NEW_TOKEN, &primary(), USER_ID))),
        Some(json!(seal_for(NEW_TOKEN, &other, USER_ID))),
        Some(json!(seal_for(
            NEW_TOKEN,
            &primary(),
            "google-oauth2|other"
        ))),
    ];
    for keys in [primary(), rotated] {
        for stored in &stored_values {
            let mut md = json!({LEGACY_KEY: TOKEN, SEALED_KEY: {"github": "x"}});
            if let Some(value) = stored {
                md[SEALED_KEY][GOOGLE_PROVIDER] = value.clone();
            }
            let login = plan_with(
                &keys,
                json!({"user": user(None, md.clone()), "read": "never"}),
            )
            .expect("plans");
            let migration = migration(&keys, user(None, md));
            match migration {
                Migration::Patch {
                    app_metadata,
                    sealed,
                } => {
                    let written: Vec<&str> = login.metadata_writes.iter().map(|w| w.key).collect();
                    let patched: Vec<&str> = app_metadata.iter().map(|(k, _)| k).collect();
                    assert_eq!(written, patched, "{stored:?}");
                    assert_eq!(sealed, login.outcome == Outcome::Migrated);
                }
                Migration::Skip(code) => {
                    assert!(login.metadata_writes.is_empty(), "{stored:?}");
                    assert_eq!(login.notices, [code]);
                }
                Migration::NothingToDo => panic!("there is plaintext"),
            }
        }
    }
}

#[test]
fn migrated_plaintext_is_captured_so_a_rotation_after_it_is_protected() {
    // The old rule copied Auth0's identity token: the migrated value records it.
    let p = plan(json!({"user": user(None, json!({LEGACY_KEY: TOKEN})), "read": "never"}));
    let migrated = p.metadata_writes[0].value[GOOGLE_PROVIDER]
        .as_str()
        .expect("sealed")
        .to_owned();
    let capture = jwe::inspect(&migrated)
        .expect("header")
        .capture
        .expect("a record");
    assert_eq!(
        capture.matches(&RefreshToken::new(TOKEN).expect("valid"), &primary()),
        Some(true)
    );
    // A backend then rotates it; a scope login whose identity still holds the old token
    // (Google was not asked for consent, so nothing new came) keeps the rotated one.
    const T2: &str = "1//0g-rotated-after-migration";
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: rotated_by_backend(&migrated, T2)}});
    let p = plan(json!({"user": user(Some(TOKEN), stored),
                        "authorizeQuery": {"connection_scope": "https://www.googleapis.com/auth/drive.file"}}));
    assert_eq!(p.outcome, Outcome::Unchanged);
}

#[test]
fn a_rotated_value_without_a_record_is_never_replaced_by_an_identity_copy() {
    // A value sealed by an earlier version (no record), then rotated by a backend.
    const T2: &str = "1//0g-rotated-from-an-old-value";
    let old = seal_for(TOKEN, &primary(), USER_ID);
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: rotated_by_backend(&old, T2)}});
    for extra in [
        json!({"authorizeQuery": {"connection_scope": "x"}}),
        json!({"authorizeQuery": {"approval_prompt": "force"}}),
        json!({"transactionPrompt": ["consent"]}),
        json!({"loginsCount": 1}),
    ] {
        let mut input = json!({"user": user(Some(TOKEN), stored.clone()), "read": "never"});
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        assert_eq!(plan(input).outcome, Outcome::Unchanged, "{extra}");
    }
}

#[test]
fn lazy_rotation_refreshes_the_record_so_the_old_key_can_be_retired() {
    const T2: &str = "1//0g-rotated-by-the-backend";
    let old = ring(&[("k1", 1)]);
    let promoted = ring(&[("k2", 2), ("k1", 1)]);
    let retired = ring(&[("k2", 2)]);
    let captured = plan_with(
        &old,
        json!({"user": user(Some(TOKEN), json!({})), "read": "never"}),
    )
    .expect("plans")
    .metadata_writes[0]
        .value[GOOGLE_PROVIDER]
        .as_str()
        .expect("sealed")
        .to_owned();
    let t2 = jwe::seal_rotated(
        &RefreshToken::new(T2).expect("valid"),
        &captured,
        &old,
        USER_ID,
        None,
        NOW,
        Nonce::from_bytes([8; 12]),
    )
    .expect("seals");
    // A Rule login after the promotion: the identity shows the captured token T1.
    let p = plan_with(
        &promoted,
        json!({"user": user(Some(TOKEN), json!({SEALED_KEY: {GOOGLE_PROVIDER: t2}})), "read": "never"}),
    )
    .expect("plans");
    assert_eq!(p.outcome, Outcome::Rotated);
    let resealed = sj(&p.metadata_writes[0].value);
    let header = jwe::inspect(resealed[GOOGLE_PROVIDER].as_str().expect("sealed")).expect("header");
    assert_eq!(
        (
            header.kid.as_str(),
            header.capture.as_ref().map(|c| c.kid.as_str()),
            header.src
        ),
        ("k2", Some("k2"), Some(jwe::Source::Rotation)),
        "nothing names k1 any more"
    );
    // k1 retired: a scope login with the stale T1 still keeps T2.
    let p = plan_with(
        &retired,
        json!({"user": user(Some(TOKEN), json!({SEALED_KEY: resealed})), "authorizeQuery": {"connection_scope": "x"}}),
    )
    .expect("plans");
    assert_eq!(p.outcome, Outcome::Unchanged);
    assert!(p.metadata_writes.is_empty());
}

const NAMESPACE: &str = "https://app.example.com/";

/// A user with a Google identity (token `TOKEN`, stored sealed), an Entra ID identity and
/// two custom OAuth 2.0 connections, `acme-idp` and `other-idp`, each with a token, plus
/// the old rule's plaintext.
fn many_providers_user(stored: Value) -> Value {
    json!({
        "user_id": USER_ID,
        "identities": [
            google_identity(Some(TOKEN)),
            {"provider": "waad", "connection": "contoso", "user_id": "w1", "refresh_token": "0.AAAA-entra"},
            {"provider": "oauth2", "connection": "acme-idp", "user_id": "acme-idp|5", "refresh_token": "acme-rt"},
            {"provider": "oauth2", "connection": "other-idp", "user_id": "other-idp|6", "refresh_token": "other-rt"}
        ],
        "app_metadata": stored
    })
}

fn plan_many(input: Value) -> LoginPlan {
    plan_with(&primary(), input).expect("plans")
}

#[test]
fn every_configured_provider_is_sealed_under_its_key_in_one_write() {
    let keys = primary();
    let google_value = seal_for(TOKEN, &keys, USER_ID);
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: google_value.clone(), "bitbucket": "kept as it is"},
                        LEGACY_KEY: "1//0g-legacy-plaintext"});
    let p = plan_many(json!({
        "user": many_providers_user(stored),
        "providers": ["google-oauth2", "waad", "acme-idp"],
        "connectionStrategy": "google-oauth2", "loginsCount": 5, "claimNamespace": NAMESPACE
    }));
    assert_eq!(
        p.outcome,
        Outcome::Unchanged,
        "the first configured provider's"
    );
    let outcomes: Vec<_> = p
        .providers
        .iter()
        .map(|o| (o.key.as_str(), o.outcome, o.offline_access))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("google-oauth2", Outcome::Unchanged, OfflineAccess::Stored),
            ("waad", Outcome::Sealed, OfflineAccess::Stored),
            ("acme-idp", Outcome::Sealed, OfflineAccess::Stored),
        ]
    );
    // The plaintext's deletion (Google's valid value stays), and one write of the sealed
    // map holding every provider's value and the entry of a provider not configured here.
    let keys_written: Vec<_> = p.metadata_writes.iter().map(|w| w.key).collect();
    assert_eq!(keys_written, [LEGACY_KEY, SEALED_KEY]);
    let map = &p.metadata_writes[1].value;
    assert_eq!(map[GOOGLE_PROVIDER].as_str(), Some(google_value.as_str()));
    assert_eq!(map["bitbucket"].as_str(), Some("kept as it is"));
    assert!(map.get("other-idp").is_none(), "not configured");
    for (key, token) in [("waad", "0.AAAA-entra"), ("acme-idp", "acme-rt")] {
        let sealed = map[key].as_str().expect("sealed under its key");
        let opened = jwe::open_for(sealed, &keys, USER_ID, Some(key))
            .expect("bound to the primary user and the provider");
        assert_eq!(opened.expose_secret(), token);
        assert_eq!(
            jwe::open(sealed, &keys, USER_ID),
            Err(crate::OpenError::ProviderMismatch),
            "not as Google's"
        );
    }
    assert_eq!(
        p.claims,
        vec![
            Claim {
                name: format!("{NAMESPACE}google_offline_access"),
                value: ClaimValue::Status(OfflineAccess::Stored),
            },
            Claim {
                name: format!("{NAMESPACE}offline_access"),
                value: ClaimValue::ByProvider(vec![
                    ("google-oauth2".into(), OfflineAccess::Stored),
                    ("waad".into(), OfflineAccess::Stored),
                    ("acme-idp".into(), OfflineAccess::Stored),
                ]),
            },
        ]
    );
}

#[test]
fn without_configured_providers_only_google_is_planned_and_claimed() {
    let p = plan_many(json!({
        "user": many_providers_user(json!({})), "connectionStrategy": "waad",
        "loginsCount": 5, "claimNamespace": NAMESPACE
    }));
    assert_eq!(p.providers.len(), 1);
    let map = &p.metadata_writes[0].value;
    assert!(map.get("waad").is_none());
    assert_eq!(
        p.claims,
        vec![Claim {
            name: format!("{NAMESPACE}google_offline_access"),
            value: ClaimValue::Status(OfflineAccess::Stored),
        }]
    );
    assert!(
        !p.read_user,
        "a login through Entra does not read for Google"
    );
}

#[test]
fn a_user_without_any_configured_identity_is_left_alone() {
    let p = plan_many(json!({
        "user": user(Some(TOKEN), json!({})), "providers": ["waad", "acme-idp"],
        "connectionStrategy": "waad", "claimNamespace": NAMESPACE
    }));
    assert_eq!(
        (p.outcome, p.offline_access, p.providers.len()),
        (Outcome::NoIdentity, None, 0)
    );
    assert!(p.metadata_writes.is_empty() && p.claims.is_empty() && !p.read_user);
}

#[test]
fn custom_connections_are_told_apart_by_their_names() {
    let input = |name: &str, strategy: &str| {
        json!({"user": many_providers_user(json!({})), "providers": ["other-idp"],
               "connectionStrategy": strategy, "connectionName": name, "loginsCount": 5})
    };
    let p = plan_many(input("acme-idp", "oauth2"));
    let map = &p.metadata_writes[0].value;
    let sealed = map["other-idp"]
        .as_str()
        .expect("sealed under the connection name");
    assert_eq!(
        jwe::open_for(sealed, &primary(), USER_ID, Some("other-idp"))
            .expect("opens")
            .expose_secret(),
        "other-rt"
    );
    assert!(map.get("acme-idp").is_none() && map.get("oauth2").is_none());
    // A read is for a login through this connection, which issues a token every time.
    let reads = |name: &str, strategy: &str| {
        let mut user = many_providers_user(json!({}));
        user["identities"][3]["refresh_token"] = Value::Null; // as event.user shows it
        let p = plan_many(json!({"user": user, "providers": ["other-idp"],
            "connectionStrategy": strategy, "connectionName": name, "loginsCount": 5,
            "recheckSeconds": 0}));
        p.read_user
    };
    assert!(reads("other-idp", "oauth2"));
    assert!(!reads("acme-idp", "oauth2"));
    assert!(!reads("other-idp", "waad"));
}

#[test]
fn providers_that_issue_a_token_at_every_login_read_at_every_login_through_them() {
    let keys = primary();
    let stored = json!({SEALED_KEY: {
        GOOGLE_PROVIDER: seal_for(TOKEN, &keys, USER_ID),
        "waad": seal_as("0.AAAA-entra", &keys, USER_ID, "waad")
    }});
    let reads = |extra: Value| {
        let mut input = json!({"user": many_providers_user(stored.clone()),
            "providers": ["google-oauth2", "waad"], "loginsCount": 5});
        for (name, value) in extra.as_object().expect("an object") {
            input[name] = value.clone();
        }
        plan_many(input).read_user
    };
    assert!(reads(json!({"connectionStrategy": "waad"})));
    assert!(
        !reads(json!({"connectionStrategy": "google-oauth2"})),
        "Google issues one at consent"
    );
    assert!(!reads(
        json!({"connectionStrategy": "waad", "authorizeQuery": {"prompt": "none"}})
    ));
    assert!(!reads(
        json!({"connectionStrategy": "waad", "protocol": REFRESH_TOKEN_PROTOCOL})
    ));
    // A read that found no Entra token holds the next ones back for recheckSeconds,
    // unless the login asks for consent.
    let no_token = |at: u64, extra: Value| {
        let mut user = many_providers_user(json!({"tokenseal": {"no_token_at": {"waad": at}}}));
        user["identities"][1]["refresh_token"] = Value::Null;
        let mut input = json!({"user": user, "providers": ["waad"], "loginsCount": 5,
                               "connectionStrategy": "waad", "recheckSeconds": 3600});
        for (name, value) in extra.as_object().expect("an object") {
            input[name] = value.clone();
        }
        plan_many(input).read_user
    };
    assert!(!no_token(NOW - 60, json!({})), "recently found nothing");
    assert!(no_token(NOW - 3601, json!({})), "the interval passed");
    assert!(no_token(
        NOW - 60,
        json!({"authorizeQuery": {"prompt": "consent"}})
    ));
}

#[test]
fn a_stale_copy_never_overwrites_a_rotation_of_a_rotating_provider() {
    // Entra rotates at every refresh: the backend stored the successor of the token the
    // login captured, and Auth0 still shows that first token at the next logins.
    let keys = primary();
    let entra_user = |token: &str, stored: Value| {
        json!({"user_id": USER_ID, "identities": [
            {"provider": "waad", "connection": "contoso", "user_id": "w1", "refresh_token": token}],
            "app_metadata": stored})
    };
    let first = plan_many(
        json!({"user": entra_user("0.first", json!({})), "providers": ["waad"],
                                 "connectionStrategy": "waad", "read": "never"}),
    );
    let captured = first.metadata_writes[0].value["waad"]
        .as_str()
        .expect("sealed")
        .to_owned();
    let rotated = jwe::seal_rotated(
        &RefreshToken::new("0.second").expect("valid"),
        &captured,
        &keys,
        USER_ID,
        Some("waad"),
        NOW - 5,
        Nonce::from_bytes([6; 12]),
    )
    .expect("seals");
    let again = plan_many(json!({
        "user": entra_user("0.first", json!({SEALED_KEY: {"waad": rotated}})),
        "providers": ["waad"], "connectionStrategy": "waad", "read": "never"
    }));
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert!(again.metadata_writes.is_empty());
    // A token Auth0 received since (a new login's code exchange) does replace it.
    let renewed = plan_many(json!({
        "user": entra_user("0.third", json!({SEALED_KEY: {"waad": captured}})),
        "providers": ["waad"], "connectionStrategy": "waad", "read": "never"
    }));
    assert_eq!(renewed.outcome, Outcome::Replaced);
}

#[test]
fn configured_providers_must_be_keys() {
    for providers in [
        json!([]),
        json!(["oauth2"]),
        json!(["bad name"]),
        json!([7]),
        json!("waad"),
    ] {
        let input = json!({"user": user(Some(TOKEN), json!({})), "providers": providers});
        assert!(
            matches!(
                LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON")),
                Err(Error::InputInvalid)
            ),
            "{providers}"
        );
    }
}

/// `app_metadata` after the app cleared `sealed` ([`plan_clear`]), as the backend writes it.
fn cleared(app_metadata: Value) -> Value {
    cleared_for(app_metadata, &Connection::google())
}

/// `app_metadata` after the app cleared `connection`'s value.
fn cleared_for(app_metadata: Value, connection: &Connection) -> Value {
    let metadata = Json::parse(&app_metadata.to_string()).expect("JSON");
    let writes = plan_clear(metadata.as_object().expect("object"), connection).expect("plans");
    let mut after = app_metadata;
    for write in writes {
        match write.value {
            Json::Null => {
                after.as_object_mut().expect("object").remove(write.key);
            }
            value => after[write.key] = sj(&value),
        }
    }
    after
}

#[test]
fn a_clear_removes_the_value_and_records_its_capture_other_members_kept() {
    let sealed = captured_from(TOKEN);
    let header = jwe::inspect(&sealed).expect("header");
    let capture = header.capture.expect("captured at login");
    let other = seal_as(NEW_TOKEN, &primary(), USER_ID, "waad");
    let before = json!({"plan": "pro", SEALED_KEY: {GOOGLE_PROVIDER: sealed, "waad": other.clone()},
                        STATE_KEY: {NO_TOKEN_AT: {"waad": 5}}});
    let after = cleared(before);
    assert_eq!(
        after,
        json!({"plan": "pro", SEALED_KEY: {"waad": other},
               STATE_KEY: {NO_TOKEN_AT: {"waad": 5},
                           CLEARED: {GOOGLE_PROVIDER: {"cap": jwe::fingerprint_text(&capture), "cap_kid": "k1"}}}})
    );
    // The last value: sealed_refresh_tokens goes. A value without a record leaves {}.
    let after =
        cleared(json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}}));
    assert_eq!(after, json!({STATE_KEY: {CLEARED: {GOOGLE_PROVIDER: {}}}}));
    // Nothing stored: nothing written. A map that is not an object: refused.
    let empty = Json::parse(r#"{"plan":"pro"}"#).expect("JSON");
    assert_eq!(
        plan_clear(empty.as_object().expect("object"), &Connection::google()),
        Ok(vec![])
    );
    let odd = Json::parse(r#"{"sealed_refresh_tokens":"x"}"#).expect("JSON");
    assert_eq!(
        plan_clear(odd.as_object().expect("object"), &Connection::google()),
        Err(Error::UserInvalid)
    );
}

#[test]
fn auth0s_copy_of_a_cleared_token_is_never_sealed_again() {
    let after =
        cleared(json!({"plan": "pro", SEALED_KEY: {GOOGLE_PROVIDER: captured_from(TOKEN)}}));
    // The Action's next login reads (nothing valid is stored) and finds Auth0's copy of
    // the cleared token: nothing is sealed, the claim says missing, and the read counts
    // as one that found nothing, so the next logins do not read again.
    let first = action_login(after.clone(), json!({}));
    assert!(first.read_user);
    assert_eq!(first.offline_access, Some(OfflineAccess::Missing));
    let p = action_login(
        after.clone(),
        json!({"freshUser": user(Some(TOKEN), json!({}))}),
    );
    assert_eq!(
        (p.outcome, p.offline_access),
        (Outcome::Missing, Some(OfflineAccess::Missing))
    );
    assert_eq!(
        p.metadata_writes
            .iter()
            .map(|w| (w.key, sj(&w.value)))
            .collect::<Vec<_>>(),
        [(
            STATE_KEY,
            json!({NO_TOKEN_AT: {GOOGLE_PROVIDER: NOW}, CLEARED: after[STATE_KEY][CLEARED]})
        )]
    );
    // A rule sees the identity's token directly: the same.
    let p = plan(json!({"user": user(Some(TOKEN), after.clone()), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Missing);
    assert!(p.metadata_writes.is_empty());
    // A consent brings a new token: sealed, and the record goes.
    let p = action_login(
        after.clone(),
        json!({"authorizeQuery": {"prompt": "consent"}, "freshUser": user(Some(NEW_TOKEN), json!({}))}),
    );
    assert_eq!(p.outcome, Outcome::Sealed);
    assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
    assert_eq!(
        p.metadata_writes[1],
        MetadataWrite {
            key: STATE_KEY,
            value: Json::Null
        }
    );
    // Any token that is not the cleared one is new, whatever the login.
    let p = plan(json!({"user": user(Some(NEW_TOKEN), after), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Sealed);
}

#[test]
fn a_cleared_value_without_a_record_lets_only_a_login_that_may_bring_a_token_seal() {
    let after =
        cleared(json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}}));
    let returning = action_login(
        after.clone(),
        json!({"freshUser": user(Some(TOKEN), json!({}))}),
    );
    assert_eq!(returning.outcome, Outcome::Missing);
    let consent = action_login(
        after.clone(),
        json!({"authorizeQuery": {"prompt": "consent"}, "freshUser": user(Some(NEW_TOKEN), json!({}))}),
    );
    assert_eq!(consent.outcome, Outcome::Sealed);
    // A record under a key no longer in the ring cannot be checked: the same rule.
    let mut unknown_kid = after;
    unknown_kid[STATE_KEY][CLEARED][GOOGLE_PROVIDER] =
        json!({"cap": "AAAAAAAAAAAAAAAAAAAAAA", "cap_kid": "retired"});
    let p = action_login(
        unknown_kid,
        json!({"freshUser": user(Some(TOKEN), json!({}))}),
    );
    assert_eq!(p.outcome, Outcome::Missing);
}

#[test]
fn migration_leaves_plaintext_beside_a_cleared_record_alone() {
    let keys = primary();
    let after = cleared(json!({SEALED_KEY: {GOOGLE_PROVIDER: captured_from(TOKEN)}}));
    let mut u = user(None, after);
    u["app_metadata"][LEGACY_KEY] = json!(TOKEN);
    assert_eq!(
        migration(&keys, u),
        Migration::Skip(Error::ReconsentRequired.code())
    );
}

#[test]
fn a_cleared_token_of_a_provider_that_issues_one_at_every_login_holds_back_no_read() {
    // Entra sealed at a login through its connection, then cleared by the app.
    let waad = Connection::parse("waad").expect("a key");
    let sealing = plan_many(json!({
        "user": many_providers_user(json!({})), "providers": ["waad"],
        "connectionStrategy": "waad", "connectionName": "contoso", "loginsCount": 5
    }));
    let stored = sj(&sealing.metadata_writes[0].value);
    let after = cleared_for(json!({SEALED_KEY: stored}), &waad);
    assert!(after[STATE_KEY][CLEARED]["waad"]["cap"].is_string());
    // A read that finds only Auth0's copy of the cleared token: nothing sealed, and no
    // "no token" record, so the next login through the connection (which brings a new
    // token) reads again.
    let input = || {
        let mut user = many_providers_user(after.clone());
        user["identities"] = json!([user["identities"][1].clone()]);
        json!({"user": user, "providers": ["waad"], "connectionStrategy": "waad",
               "connectionName": "contoso", "loginsCount": 5, "federatedAt": NOW - 2})
    };
    let mut fresh = input();
    fresh["freshUser"] = fresh["user"].clone();
    let p = plan_many(fresh);
    assert_eq!(p.providers[0].outcome, Outcome::Missing);
    assert!(p.metadata_writes.is_empty(), "{:?}", p.metadata_writes);
    assert!(plan_many(input()).read_user);
}

#[test]
fn a_clear_deletes_the_old_rules_plaintext_left_beside_a_value_that_did_not_open() {
    let other_ring = ring(&[("k9", 9)]);
    let unreadable = seal_for(TOKEN, &other_ring, USER_ID);
    let before =
        json!({SEALED_KEY: {GOOGLE_PROVIDER: unreadable}, LEGACY_KEY: TOKEN, "plan": "pro"});
    assert_eq!(
        cleared(before),
        json!({"plan": "pro", STATE_KEY: {CLEARED: {GOOGLE_PROVIDER: {}}}})
    );
    // Only a plaintext token goes: what a login leaves (not a token, the old rule's hex
    // ciphertext) stays, and a valid value beside it changes nothing to that.
    let valid = seal_for(TOKEN, &primary(), USER_ID);
    for kept in [
        json!({"app": "data"}),
        json!(42),
        json!(""),
        json!("C0FFEE00".repeat(8)),
    ] {
        let before =
            json!({SEALED_KEY: {GOOGLE_PROVIDER: valid.clone()}, LEGACY_KEY: kept.clone()});
        assert_eq!(cleared(before)[LEGACY_KEY], kept);
    }
    // A plaintext token alone (not migrated yet) is cleared too: deleted, and a record
    // without a fingerprint, so a login seals only a first or consent login's token.
    assert_eq!(
        cleared(json!({LEGACY_KEY: TOKEN, "plan": "pro"})),
        json!({"plan": "pro", STATE_KEY: {CLEARED: {GOOGLE_PROVIDER: {}}}})
    );
    // Another provider's clear leaves Google's plaintext alone.
    let waad = Connection::parse("waad").expect("a key");
    let before = json!({SEALED_KEY: {"waad": seal_as(NEW_TOKEN, &primary(), USER_ID, "waad")}, LEGACY_KEY: TOKEN});
    assert_eq!(cleared_for(before, &waad)[LEGACY_KEY], json!(TOKEN));
}
