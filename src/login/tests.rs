//! Tests of the login decision, one rule of `plan_login`'s contract at a time.

use serde_json::{json, Value};

use crate::json::Json;

use super::*;
use crate::test_support::ring;

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
    // The Rule's full app_metadata carries the same write.
    assert_eq!(
        p.app_metadata.expect("changed")[SEALED_KEY],
        p.metadata_writes[0].value
    );
}

#[test]
fn same_token_again_changes_nothing() {
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let p = plan(json!({"user": user(Some(TOKEN), stored), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Unchanged);
    assert!(p.metadata_writes.is_empty());
    assert_eq!(p.app_metadata, None);
    assert_eq!(p.offline_access, Some(OfflineAccess::Stored));
}

#[test]
fn randomness_is_drawn_only_for_a_seal() {
    let keys = primary();
    let draws = std::cell::Cell::new(0);
    let plan_drawing = |input: Value, result: Result<Nonce>| {
        let input = LoginInput::from_value(Json::parse(&input.to_string()).expect("JSON"))
            .expect("valid input");
        plan_login(&input, Ok(&keys), NOW, || {
            draws.set(draws.get() + 1);
            result
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
        json!({"user": user(Some(NEW_TOKEN), stored), "read": "never"}),
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

#[test]
fn a_different_token_replaces_the_stored_one() {
    let stored = json!({SEALED_KEY: {GOOGLE_PROVIDER: seal_for(TOKEN, &primary(), USER_ID)}});
    let p = plan(json!({"user": user(Some(NEW_TOKEN), stored), "read": "never"}));
    assert_eq!(p.outcome, Outcome::Replaced);
    assert_eq!(written_token(&p, &primary(), USER_ID), NEW_TOKEN);
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
    let md = p.app_metadata.expect("changed");
    assert_eq!(md["plan"], "pro");
    assert_eq!(md[SEALED_KEY]["github"], "opaque-other-value");
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
    let md = p.app_metadata.expect("changed");
    assert_eq!(
        (md[LEGACY_KEY].clone(), md["plan"].clone()),
        (Json::Null, Json::from("pro"))
    );
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
    assert_eq!(p.outcome, Outcome::NotGoogle);
    assert!(p.metadata_writes.is_empty() && p.claims.is_empty() && !p.read_user);
    assert_eq!(p.offline_access, None);
    // Still sanitized for the client.
    assert_eq!(
        sj(&p.sanitized_user.as_ref().expect("asked for")["app_metadata"]),
        json!({})
    );
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
            value: OfflineAccess::Missing
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

#[test]
fn the_plan_carries_a_sanitized_user() {
    let p = plan(
        json!({"user": user(Some(TOKEN), json!({LEGACY_KEY: TOKEN, "plan": "pro"})), "read": "never"}),
    );
    let text = p.sanitized_user.as_ref().expect("asked for").to_text();
    assert!(!text.contains(TOKEN) && !text.contains("ya29"), "{text}");
    assert_eq!(
        sj(&p.sanitized_user.as_ref().expect("asked for")["app_metadata"]),
        json!({"plan": "pro"})
    );
    assert_eq!(
        p.sanitized_user.as_ref().expect("asked for")["email"],
        "ada@example.com"
    );
}

#[test]
fn the_sanitized_user_keeps_order_and_nulls() {
    let input = r#"{"user":{"z":1,"user_id":"google-oauth2|1001","identities":[{"provider":"google-oauth2","refresh_token":"1//x"}],"app_metadata":null,"a":2},"read":"never"}"#;
    let p = plan_login(
        &LoginInput::from_value(Json::parse(input).expect("JSON")).expect("input"),
        Ok(&primary()),
        NOW,
        || Ok(Nonce::from_bytes([1; 12])),
    )
    .expect("plans");
    assert_eq!(
        p.sanitized_user.as_ref().expect("asked for").to_text(),
        r#"{"z":1,"user_id":"google-oauth2|1001","identities":[{"provider":"google-oauth2"}],"app_metadata":null,"a":2}"#
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
}

#[test]
fn plans_serialize_with_camel_case_names() {
    let p = plan(
        json!({"user": user(Some(TOKEN), json!({})), "read": "never", "claimNamespace": "https://a.example/"}),
    );
    let v = serde_json::to_value(&p).expect("serializes");
    for key in [
        "readUser",
        "outcome",
        "metadataWrites",
        "appMetadata",
        "offlineAccess",
        "claims",
        "notices",
        "sanitizedUser",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(v["outcome"], "sealed");
    assert_eq!(v["offlineAccess"], "stored");
    assert_eq!(v["claims"][0]["value"], "stored");
}

fn migration(keys: &KeyRing, user: Value) -> Migration {
    let user = User::from_value(Json::parse(&user.to_string()).expect("JSON")).expect("user");
    plan_migration(&user, keys, NOW, Nonce::from_bytes([3; 12])).expect("plans")
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
    let mut bad = base;
    bad["transactionPrompt"] = json!([1]);
    assert_eq!(
        LoginInput::from_value(Json::parse(&bad.to_string()).expect("JSON")).map(|_| ()),
        Err(Error::InputInvalid)
    );
}

#[test]
fn the_sanitized_user_can_be_left_out() {
    let p = plan(json!({"user": user(Some(TOKEN), json!({})), "read": "never", "sanitize": false}));
    assert_eq!(p.sanitized_user, None);
    assert_eq!(
        p.outcome,
        Outcome::Sealed,
        "everything else is planned as usual"
    );
    assert_eq!(p.into_json()["sanitizedUser"], Json::Null);
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
    let p = plan_login(&input(database), Err(Error::KeySetEmpty), NOW, || {
        Ok(Nonce::from_bytes([0; 12]))
    })
    .expect("plans");
    assert_eq!(
        (p.outcome, p.notices.clone()),
        (Outcome::NotGoogle, vec!["ERR_KEYSET_EMPTY"])
    );
    assert!(p.sanitized_user.is_some());
    let google = plan_login(
        &input(user(Some(TOKEN), json!({}))),
        Err(Error::KeyLength { index: 0 }),
        NOW,
        || Ok(Nonce::from_bytes([0; 12])),
    );
    assert_eq!(google.map(|_| ()), Err(Error::KeyLength { index: 0 }));
}
