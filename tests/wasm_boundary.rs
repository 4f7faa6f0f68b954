//! The crate's behaviour through its JavaScript boundary, run in Node by
//! `wasm-pack test --node`: every export, every error code as `.code` on a JS `Error`,
//! and the hostile inputs that must not trap the module.
#![cfg(all(target_arch = "wasm32", feature = "wasm-full"))]

use js_sys::{Object, Reflect, JSON};
use serde_json::{json, Value};
use tokenseal::wasm;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const USER: &str = "google-oauth2|1001";
const TOKEN: &str = "1//0g-wasm-boundary-token";
const K_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const K_B: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8";

fn seal(token: &str, keys: &str, user: &str) -> Result<String, JsValue> {
    wasm::seal(token.into(), keys.into(), user.into(), None)
}

fn open(sealed: &str, keys: &str, user: &str) -> Result<String, JsValue> {
    wasm::open(sealed.into(), keys.into(), user.into(), None)
}

fn inspect(sealed: &str) -> Result<JsValue, JsValue> {
    wasm::inspect(sealed.into())
}

fn plan_login(input: JsValue, keys: &str) -> Result<JsValue, JsValue> {
    wasm::plan_login(input, keys.into())
}

fn ring(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, k)| json!({"kty": "oct", "kid": kid, "k": k}))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn ring_a() -> String {
    ring(&[("a", K_A)])
}

fn js(value: Value) -> JsValue {
    JSON::parse(&value.to_string()).expect("valid JSON")
}

fn rust(value: &JsValue) -> Value {
    serde_json::from_str(&String::from(JSON::stringify(value).expect("stringifies"))).expect("JSON")
}

/// The `.code` of a thrown error, checking it is a real `Error` named TokenSealError
/// whose message and text hold no secret.
fn code(error: JsValue) -> String {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "throws an Error object"
    );
    let e: js_sys::Error = error.clone().into();
    assert_eq!(String::from(e.name()), "TokenSealError");
    let text = String::from(e.to_string());
    for secret in [TOKEN, K_A, K_B] {
        assert!(!text.contains(secret), "error text leaks a secret: {text}");
    }
    Reflect::get(&error, &"code".into())
        .expect("has code")
        .as_string()
        .expect("code is a string")
}

fn sealed_a() -> String {
    seal(TOKEN, &ring_a(), USER).expect("seals")
}

fn with_header(sealed: &str, header: Value) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let rest = &sealed[sealed.find('.').expect("dot")..];
    format!(
        "{}{rest}",
        Base64UrlUnpadded::encode_string(header.to_string().as_bytes())
    )
}

fn google_user(token: Option<&str>, app_metadata: Value) -> Value {
    let mut identity = json!({"provider": "google-oauth2", "connection": "google-oauth2", "user_id": "1001", "isSocial": true});
    if let Some(t) = token {
        identity["refresh_token"] = json!(t);
    }
    json!({"user_id": USER, "identities": [identity], "app_metadata": app_metadata, "nickname": "ada"})
}

fn plan(input: Value) -> Value {
    rust(&plan_login(js(input), &ring_a()).expect("plans"))
}

#[wasm_bindgen_test]
fn seal_then_open_round_trips() {
    assert_eq!(open(&sealed_a(), &ring_a(), USER).expect("opens"), TOKEN);
}

#[wasm_bindgen_test]
fn sealed_value_is_a_compact_dir_jwe() {
    let sealed = sealed_a();
    let parts: Vec<&str> = sealed.split('.').collect();
    assert_eq!((parts.len(), parts[1]), (5, ""));
    let header = rust(&inspect(&sealed).expect("inspects"));
    assert_eq!(header["typ"], "tokenseal.v1+jwe");
    assert_eq!(
        (header["alg"].clone(), header["enc"].clone()),
        (json!("dir"), json!("A256GCM"))
    );
    assert_eq!(
        (header["kid"].clone(), header["sub"].clone()),
        (json!("a"), json!(USER))
    );
    assert!(
        header["iat"].as_u64().is_some_and(|t| t > 1_700_000_000),
        "iat comes from the JS clock"
    );
    assert!(!header.to_string().contains(TOKEN));
}

#[wasm_bindgen_test]
fn every_seal_uses_a_fresh_iv() {
    let (a, b) = (sealed_a(), sealed_a());
    assert_ne!(a.split('.').nth(2), b.split('.').nth(2));
}

#[wasm_bindgen_test]
fn open_for_another_user_is_subject_mismatch() {
    assert_eq!(
        code(open(&sealed_a(), &ring_a(), "auth0|other").expect_err("bound")),
        "ERR_SUBJECT_MISMATCH"
    );
}

#[wasm_bindgen_test]
fn open_with_a_retired_key_is_key_unknown() {
    assert_eq!(
        code(open(&sealed_a(), &ring(&[("b", K_B)]), USER).expect_err("no kid a")),
        "ERR_KEY_UNKNOWN"
    );
}

#[wasm_bindgen_test]
fn open_with_the_wrong_key_is_opaque_decrypt() {
    assert_eq!(
        code(open(&sealed_a(), &ring(&[("a", K_B)]), USER).expect_err("wrong key")),
        "ERR_DECRYPT"
    );
}

#[wasm_bindgen_test]
fn malformed_values_are_sealed_malformed() {
    for bad in [
        "",
        "a.b.c",
        "x..y.z.w",
        &sealed_a().replacen("..", ".e30.", 1),
    ] {
        assert_eq!(
            code(open(bad, &ring_a(), USER).expect_err("malformed")),
            "ERR_SEALED_MALFORMED"
        );
    }
}

#[wasm_bindgen_test]
fn header_version_and_algorithm_errors() {
    let s = sealed_a();
    let base =
        json!({"typ": "tokenseal.v1+jwe", "alg": "dir", "enc": "A256GCM", "kid": "a", "sub": USER});
    let mut no_typ = base.clone();
    no_typ.as_object_mut().expect("object").remove("typ");
    let mut v9 = base.clone();
    v9["typ"] = json!("tokenseal.v9+jwe");
    let mut alg = base.clone();
    alg["alg"] = json!("RSA-OAEP");
    for (header, expected) in [
        (no_typ, "ERR_HEADER_INVALID"),
        (v9, "ERR_VERSION_UNSUPPORTED"),
        (alg, "ERR_ALG_UNSUPPORTED"),
    ] {
        assert_eq!(
            code(open(&with_header(&s, header), &ring_a(), USER).expect_err("bad header")),
            expected
        );
    }
}

#[wasm_bindgen_test]
fn a_rewritten_subject_fails_authentication() {
    let forged = with_header(
        &sealed_a(),
        json!({"typ": "tokenseal.v1+jwe", "alg": "dir", "enc": "A256GCM", "kid": "a", "sub": "auth0|thief"}),
    );
    assert_eq!(
        code(open(&forged, &ring_a(), "auth0|thief").expect_err("AAD")),
        "ERR_DECRYPT"
    );
}

#[wasm_bindgen_test]
fn key_set_errors_each_have_a_code() {
    let one = |jwk: Value| json!({ "keys": [jwk] }).to_string();
    let cases = [
        ("{nope".to_owned(), "ERR_KEYSET_JSON"),
        (json!({"keys": []}).to_string(), "ERR_KEYSET_EMPTY"),
        (
            one(json!({"kty": "RSA", "kid": "a", "k": K_A})),
            "ERR_KEY_TYPE",
        ),
        (
            one(json!({"kty": "oct", "kid": "a", "k": "AAEC"})),
            "ERR_KEY_LENGTH",
        ),
        (
            one(json!({"kty": "oct", "kid": "a", "k": "not base64!"})),
            "ERR_KEY_ENCODING",
        ),
        (one(json!({"kty": "oct", "k": K_A})), "ERR_KEY_KID_MISSING"),
        (
            one(json!({"kty": "oct", "kid": "a", "k": K_A, "alg": "HS256"})),
            "ERR_KEY_ALG",
        ),
        (ring(&[("a", K_A), ("a", K_B)]), "ERR_KEY_KID_DUPLICATE"),
    ];
    for (keys, expected) in cases {
        assert_eq!(
            code(seal(TOKEN, &keys, USER).expect_err("bad keys")),
            expected,
            "{expected}"
        );
        assert_eq!(
            code(open("a..b.c.d", &keys, USER).expect_err("bad keys")),
            expected
        );
    }
}

#[wasm_bindgen_test]
fn invalid_tokens_and_user_ids_are_refused() {
    for token in ["", "has\nnewline", &"t".repeat(1 << 20)] {
        assert_eq!(
            code(seal(token, &ring_a(), USER).expect_err("bad token")),
            "ERR_TOKEN_INVALID"
        );
    }
    assert_eq!(
        code(seal(TOKEN, &ring_a(), "").expect_err("empty sub")),
        "ERR_USER_ID_INVALID"
    );
}

#[wasm_bindgen_test]
fn rotation_opens_old_values_and_seals_with_the_new_primary() {
    let old = sealed_a();
    let rotated = ring(&[("b", K_B), ("a", K_A)]);
    assert_eq!(
        open(&old, &rotated, USER).expect("old key still opens"),
        TOKEN
    );
    let new = seal(TOKEN, &rotated, USER).expect("seals");
    assert_eq!(rust(&inspect(&new).expect("inspects"))["kid"], "b");
}

#[wasm_bindgen_test]
fn inspect_rejects_junk() {
    assert_eq!(
        code(inspect("junk").expect_err("junk")),
        "ERR_SEALED_MALFORMED"
    );
}

#[wasm_bindgen_test]
fn inspect_returns_iat_as_a_number_even_past_safe_integers() {
    // Any u64 `iat` opens, so any must inspect: 2^60 is past 2^53 but exact as a double.
    for iat in [json!(1_700_000_000_u64), json!(1_u64 << 60)] {
        let header = json!({"typ": "tokenseal.v1+jwe", "alg": "dir", "enc": "A256GCM", "kid": "a", "sub": USER, "iat": iat});
        let shown = inspect(&with_header(&sealed_a(), header)).expect("inspects");
        let iat_js = Reflect::get(&shown, &"iat".into()).expect("has iat");
        assert_eq!(
            iat_js.as_f64(),
            iat.as_u64().map(|n| n as f64),
            "iat is a JS number"
        );
        assert_eq!(rust(&shown)["sub"], USER);
    }
    let header =
        json!({"typ": "tokenseal.v1+jwe", "alg": "dir", "enc": "A256GCM", "kid": "a", "sub": USER});
    let shown = inspect(&with_header(&sealed_a(), header)).expect("inspects");
    assert!(
        !Reflect::has(&shown, &"iat".into()).expect("object"),
        "no iat, no field"
    );
}

#[wasm_bindgen_test]
fn sanitize_removes_tokens_and_keeps_the_rest() {
    let mut user = google_user(
        Some(TOKEN),
        json!({"refresh_token": TOKEN, "sealed_refresh_tokens": {"google-oauth2": "x"}, "plan": "pro"}),
    );
    user["identities"][0]["access_token"] = json!("ya29.secret-access");
    user["identities"][0]["id_token"] = json!("eyJ.secret.id");
    user["identities"][0]["expires_in"] = json!(3599);
    let clean = rust(&wasm::sanitize(js(user)).expect("sanitizes"));
    let text = clean.to_string();
    assert!(
        !text.contains(TOKEN) && !text.contains("ya29") && !text.contains("eyJ.secret"),
        "{text}"
    );
    assert_eq!(clean["app_metadata"], json!({"plan": "pro"}));
    assert_eq!(clean["nickname"], "ada");
    assert_eq!(clean["identities"][0]["isSocial"], true);
}

#[wasm_bindgen_test]
fn sanitize_does_not_touch_a_frozen_input() {
    let user = js(google_user(Some(TOKEN), json!({})));
    let identities = Reflect::get(&user, &"identities".into()).expect("identities");
    let first = Reflect::get(&identities, &0.into()).expect("first");
    Object::freeze(&first.clone().into());
    Object::freeze(&user.clone().into());
    let clean = rust(&wasm::sanitize(user.clone()).expect("sanitizes a frozen user"));
    assert!(clean["identities"][0].get("refresh_token").is_none());
    assert_eq!(
        Reflect::get(&first, &"refresh_token".into())
            .expect("still there")
            .as_string()
            .as_deref(),
        Some(TOKEN)
    );
}

#[wasm_bindgen_test]
fn sanitize_refuses_non_objects_and_cycles() {
    assert_eq!(
        code(wasm::sanitize(JsValue::from_str("str")).expect_err("string")),
        "ERR_USER_INVALID"
    );
    assert_eq!(
        code(wasm::sanitize(JsValue::UNDEFINED).expect_err("undefined")),
        "ERR_USER_INVALID"
    );
    let cyclic = Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).expect("set");
    assert_eq!(
        code(wasm::sanitize(cyclic.into()).expect_err("cycle")),
        "ERR_USER_INVALID"
    );
}

#[wasm_bindgen_test]
fn deep_nesting_is_an_error_and_the_module_survives() {
    let deep = format!(
        r#"{{"user_id":"x","deep":{}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let value = JSON::parse(&deep).expect("JS parses deep JSON");
    assert_eq!(
        code(wasm::sanitize(value.clone()).expect_err("too deep")),
        "ERR_USER_INVALID"
    );
    let input = Object::new();
    Reflect::set(&input, &"user".into(), &value).expect("set");
    assert_eq!(
        code(plan_login(input.into(), &ring_a()).expect_err("too deep")),
        "ERR_INPUT_INVALID"
    );
    // The instance did not trap: it still works.
    assert_eq!(
        open(&sealed_a(), &ring_a(), USER).expect("still works"),
        TOKEN
    );
}

#[wasm_bindgen_test]
fn arguments_of_the_wrong_type_are_typed_errors_not_faults() {
    let keys: JsValue = ring_a().into();
    let number = JsValue::from_f64(12345.0);
    let cases = [
        (
            wasm::seal(number.clone(), keys.clone(), USER.into(), None),
            "ERR_TOKEN_INVALID",
        ),
        (
            wasm::seal(TOKEN.into(), number.clone(), USER.into(), None),
            "ERR_KEYSET_JSON",
        ),
        (
            wasm::seal(TOKEN.into(), keys.clone(), Object::new().into(), None),
            "ERR_USER_ID_INVALID",
        ),
        (
            wasm::open(
                sealed_a().into(),
                keys.clone(),
                JsValue::from_f64(7.0),
                None,
            ),
            "ERR_USER_ID_INVALID",
        ),
        (
            wasm::open(JsValue::UNDEFINED, keys.clone(), USER.into(), None),
            "ERR_SEALED_MALFORMED",
        ),
        (
            wasm::open(sealed_a().into(), JsValue::NULL, USER.into(), None),
            "ERR_KEYSET_JSON",
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(code(result.expect_err("wrong type")), expected);
    }
    assert_eq!(
        code(wasm::inspect(JsValue::TRUE).expect_err("bool")),
        "ERR_SEALED_MALFORMED"
    );
    assert_eq!(
        code(
            wasm::plan_login(js(json!({"user": google_user(None, json!({}))})), number)
                .expect_err("keys")
        ),
        "ERR_KEYSET_JSON"
    );
    assert_eq!(
        open(&sealed_a(), &ring_a(), USER).expect("still works"),
        TOKEN
    );
}

#[wasm_bindgen_test]
fn a_changed_key_set_is_parsed_again() {
    // The boundary caches the parsed ring by its text: a new text must not reuse it.
    let sealed = sealed_a();
    assert_eq!(open(&sealed, &ring_a(), USER).expect("opens"), TOKEN);
    assert_eq!(
        code(open(&sealed, &ring(&[("a", K_B)]), USER).expect_err("other key")),
        "ERR_DECRYPT"
    );
    assert_eq!(
        code(open(&sealed, "{}", USER).expect_err("bad set")),
        "ERR_KEYSET_JSON"
    );
    assert_eq!(open(&sealed, &ring_a(), USER).expect("opens again"), TOKEN);
}

#[wasm_bindgen_test]
fn plan_first_rule_login_seals_with_camel_case_fields() {
    let p =
        plan(json!({"user": google_user(Some(TOKEN), json!({"plan": "pro"})), "read": "never"}));
    let mut names: Vec<&str> = p
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "claims",
            "metadataWrites",
            "notices",
            "offlineAccess",
            "outcome",
            "providers",
            "readUser",
            "removals"
        ]
    );
    assert_eq!(
        p["providers"],
        json!([{"key": "google-oauth2", "outcome": "sealed", "offlineAccess": "stored"}])
    );
    assert_eq!(
        (p["outcome"].clone(), p["readUser"].clone()),
        (json!("sealed"), json!(false))
    );
    assert_eq!(p["offlineAccess"], "stored");
    assert_eq!(p["metadataWrites"][0]["key"], "sealed_refresh_tokens");
    let sealed = p["metadataWrites"][0]["value"]["google-oauth2"]
        .as_str()
        .expect("sealed string");
    assert_eq!(open(sealed, &ring_a(), USER).expect("opens"), TOKEN);
    assert_eq!(p["metadataWrites"].as_array().map(Vec::len), Some(1));
    assert_eq!(p["removals"], Value::Null, "no shape sent, no removals");
    assert!(!p.to_string().contains(TOKEN));
}

#[wasm_bindgen_test]
fn plan_with_a_shape_says_what_to_remove() {
    let user = google_user(Some(TOKEN), json!({"plan": "pro", "refresh_token": TOKEN}));
    let shape = json!({
        "root": ["user_id", "identities", "app_metadata", "refresh_token"],
        "identities": [["provider", "connection", "user_id", "refresh_token"]],
        "appMetadata": ["plan", "refresh_token"]
    });
    let p = plan(json!({"user": user, "shape": shape, "read": "never"}));
    assert_eq!(
        p["removals"],
        json!({"root": ["refresh_token"], "identities": [["refresh_token"]], "appMetadata": ["refresh_token"]})
    );
    let bad = plan_login(
        js(json!({"user": google_user(None, json!({})), "shape": {"root": 1}})),
        &ring_a(),
    );
    assert_eq!(code(bad.expect_err("bad shape")), "ERR_INPUT_INVALID");
}

#[wasm_bindgen_test]
fn login_fields_name_what_the_decision_reads() {
    assert_eq!(
        rust(&wasm::login_fields().expect("fields")),
        json!({"user": ["user_id", "identities", "app_metadata"],
               "identity": ["provider", "connection", "user_id", "refresh_token"],
               "appMetadata": ["sealed_refresh_tokens", "refresh_token", "tokenseal"],
               "query": ["prompt", "approval_prompt", "connection_scope"]})
    );
}

#[wasm_bindgen_test]
fn the_token_life_crosses_typed() {
    let grant = wasm::parse_refresh_response(
        200,
        r#"{"access_token":"ya29.a","expires_in":10,"token_type":"Bearer","refresh_token_expires_in":20}"#,
        100.0,
        None,
    )
    .expect("a grant");
    assert_eq!(rust(&grant)["refreshTokenExpiresAt"], json!(120));
    for (body, expected) in [
        (
            r#"{"error":"invalid_grant","error_description":"reauth related error (invalid_rapt)"}"#,
            "ERR_RECONSENT_REQUIRED",
        ),
        (r#"{"error":"admin_policy_enforced"}"#, "ERR_ADMIN_POLICY"),
        (r#"{"error":"invalid_client"}"#, "ERR_CLIENT_REJECTED"),
    ] {
        let error = wasm::parse_refresh_response(400, body, 100.0, None).expect_err("refused");
        assert_eq!(code(error), expected, "{body}");
    }
    // Entra's own refusals are read through its entry, and only there.
    let interaction = r#"{"error":"interaction_required"}"#;
    assert_eq!(
        code(
            wasm::parse_refresh_response(400, interaction, 100.0, Some("waad".into()))
                .expect_err("refused")
        ),
        "ERR_RECONSENT_REQUIRED"
    );
    assert_eq!(
        code(wasm::parse_refresh_response(400, interaction, 100.0, None).expect_err("refused")),
        "ERR_PROVIDER_REJECTED"
    );
    assert_eq!(
        code(
            wasm::parse_refresh_response(400, interaction, 100.0, Some("oauth2".into()))
                .expect_err("not a key")
        ),
        "ERR_CONFIG_INVALID"
    );
    let missing = wasm::missing_scopes(
        JsValue::from_str("openid email"),
        js(json!([
            "email",
            "https://www.googleapis.com/auth/drive.file"
        ])),
    )
    .expect("names");
    assert_eq!(
        rust(&missing),
        json!(["https://www.googleapis.com/auth/drive.file"])
    );
    assert_eq!(
        code(wasm::missing_scopes(JsValue::from(5), js(json!([]))).expect_err("not a scope")),
        "ERR_INPUT_INVALID"
    );
    assert!(wasm::parse_revoke_response(200, "", None).is_ok());
    assert_eq!(
        code(wasm::parse_revoke_response(0, "", Some("acme-idp".into())).expect_err("no answer")),
        "ERR_PROVIDER_UNAVAILABLE"
    );
    assert!(wasm::endpoint_allowed(
        "https://oauth2.googleapis.com/token"
    ));
    assert!(!wasm::endpoint_allowed(
        "http://oauth2.googleapis.com/token"
    ));
}

#[wasm_bindgen_test]
fn refresh_states_keep_the_refresh_token_inside_and_hand_out_sealed_rotations() {
    let keys = ring_a();
    let mut states = wasm::refresh_states(js(
        json!({"provider": "acme-idp", "clientId": "c", "clientSecret": "s", "scope": "openid offline_access"}),
    ))
    .expect("a client");
    let stored = wasm::seal(
        TOKEN.into(),
        keys.as_str().into(),
        USER.into(),
        Some("acme-idp".into()),
    )
    .expect("seals");
    let app_metadata = js(json!({"sealed_refresh_tokens": {"acme-idp": stored}}));
    states
        .begin(USER, app_metadata.clone(), None, keys.as_str().into())
        .expect("opens");
    let request = rust(&states.refresh_request(USER).expect("a request"));
    let body = request["body"].as_str().expect("a body");
    assert!(body.starts_with("grant_type=refresh_token&refresh_token="));
    assert!(body.ends_with("&scope=openid+offline_access"), "{body}");
    // A custom connection's client authenticates with HTTP Basic by default.
    assert_eq!(request["authorization"], json!("Basic Yzpz"));
    let answer = r#"{"access_token":"ya29.n","expires_in":60,"token_type":"Bearer","refresh_token":"1//rotated"}"#;
    let finished = rust(
        &states
            .finish(
                USER,
                200,
                answer,
                keys.as_str().into(),
                js_sys::Date::now() / 1000.0,
            )
            .expect("a grant"),
    );
    assert_eq!(finished["accessToken"], json!("ya29.n"));
    assert!(finished.get("refreshToken").is_none(), "{finished}");
    assert_eq!(finished["unsaved"]["replaces"], json!(stored));
    let successor = finished["unsaved"]["sealed"]
        .as_str()
        .expect("sealed")
        .to_owned();
    let opened = wasm::open(
        successor.as_str().into(),
        keys.as_str().into(),
        USER.into(),
        Some("acme-idp".into()),
    );
    assert_eq!(opened.expect("opens"), "1//rotated");
    states.saved(USER);
    assert!(states.unsaved(USER).expect("a view").is_null());
    // The successor serves a user whose copy still shows the stored value; a cleared
    // user takes nothing.
    assert!(states
        .shared_grant_serves(USER, app_metadata.clone(), &successor, keys.as_str().into())
        .expect("a decision"));
    assert!(!states
        .shared_grant_serves(USER, js(json!({})), &successor, keys.as_str().into())
        .expect("a decision"));
    assert_eq!(states.sealed(USER), Some(successor));
    let requests = rust(
        &states
            .revoke_requests(USER, app_metadata, keys.as_str().into())
            .expect("requests"),
    );
    assert_eq!(requests.as_array().map(Vec::len), Some(2));
    // Without a client: Google's states, the credentials per call, as before clients.
    let mut google = wasm::refresh_states(JsValue::UNDEFINED).expect("Google's");
    let google_metadata = js(json!({"sealed_refresh_tokens": {"google-oauth2": sealed_a()}}));
    google
        .begin(USER, google_metadata.clone(), None, keys.as_str().into())
        .expect("opens");
    let body = google.refresh_request_body(USER, "c", "s").expect("a body");
    assert!(body.ends_with("&client_id=c&client_secret=s"), "{body}");
    assert_eq!(
        code(google.refresh_request(USER).expect_err("no client")),
        "ERR_CONFIG_INCOMPLETE"
    );
    let bodies = google
        .revoke_request_bodies(USER, google_metadata, keys.as_str().into(), "c", "s")
        .expect("bodies");
    assert_eq!(rust(&bodies).as_array().map(Vec::len), Some(1));
    assert!(
        wasm::refresh_states(js(json!({"provider": "waad", "clientId": "c"}))).is_err(),
        "a client needs its secret"
    );
    assert_eq!(
        code(
            states
                .begin(USER, js(json!({})), None, keys.as_str().into())
                .expect_err("nothing stored")
        ),
        "ERR_SEALED_MISSING"
    );
}

#[wasm_bindgen_test]
fn the_provider_table_crosses_as_the_backends_read_it() {
    let table = rust(&wasm::provider_table().expect("table"));
    assert_eq!(table["sealedKey"], json!("sealed_refresh_tokens"));
    assert_eq!(table["defaultSkewSeconds"], json!(60));
    assert_eq!(
        table["providers"]["google-oauth2"],
        json!({
            "key": "google-oauth2",
            "name": "Google",
            "auth0Provider": "google-oauth2",
            "keyedByConnection": false,
            "claimName": "google_offline_access",
            "newTokenEveryLogin": false,
            "reconsentParams": {"access_type": "offline", "prompt": "consent"},
            "consentScopes": [],
            "tokenEndpoint": "https://oauth2.googleapis.com/token",
            "revokeEndpoint": "https://oauth2.googleapis.com/revoke",
            "tokenEndpointAuthMethod": "client_secret_post",
            "refreshNeedsScope": false,
            "rotates": false
        })
    );
    let acme = rust(&wasm::provider_info_of("acme-idp").expect("a custom connection"));
    assert_eq!(
        (&acme["key"], &acme["auth0Provider"]),
        (&json!("acme-idp"), &json!("oauth2"))
    );
    assert_eq!(
        code(wasm::provider_info_of("oauth2").expect_err("not a key")),
        "ERR_CONFIG_INVALID"
    );
}

#[wasm_bindgen_test]
fn endpoints_resolve_from_options_and_a_discovery_answer() {
    let issuer = "https://id.example.com";
    let document = json!({"issuer": issuer, "token_endpoint": "https://id.example.com/token",
                          "token_endpoint_auth_methods_supported": ["client_secret_post"]})
    .to_string();
    let endpoints = rust(
        &wasm::resolve_endpoints(
            "acme-idp",
            js(json!({"issuer": issuer, "clientSecret": "never read"})),
            js(json!({"status": 200, "body": document})),
        )
        .expect("resolves"),
    );
    assert_eq!(
        endpoints,
        json!({"key": "acme-idp", "tokenEndpoint": "https://id.example.com/token",
               "revokeEndpoint": null, "tokenEndpointAuthMethod": "client_secret_post",
               "scope": null})
    );
    for (discovery, expected) in [
        (JsValue::NULL, "ERR_CONFIG_INCOMPLETE"),
        (
            js(json!({"status": 0, "body": ""})),
            "ERR_PROVIDER_UNAVAILABLE",
        ),
        (
            js(json!({"status": 200, "body": "{}"})),
            "ERR_DISCOVERY_INVALID",
        ),
        (js(json!({"status": "200"})), "ERR_INPUT_INVALID"),
    ] {
        assert_eq!(
            code(
                wasm::resolve_endpoints("acme-idp", js(json!({"issuer": issuer})), discovery)
                    .expect_err("refused")
            ),
            expected
        );
    }
    assert_eq!(
        rust(
            &wasm::reconsent_authorize_params(
                "acme-idp",
                js(json!({"connectionScope": "email, offline_access"}))
            )
            .expect("params")
        ),
        json!({"connection": "acme-idp", "prompt": "consent", "connection_scope": "offline_access,email"})
    );
    assert_eq!(
        rust(
            &wasm::reconsent_authorize_params("google-oauth2", JsValue::UNDEFINED).expect("params")
        ),
        json!({"connection": "google-oauth2", "access_type": "offline", "prompt": "consent"})
    );
    assert_eq!(
        code(
            wasm::reconsent_authorize_params("waad", js(json!({"connectionScope": 5})))
                .expect_err("not scopes")
        ),
        "ERR_INPUT_INVALID"
    );
    assert_eq!(
        wasm::discovery_url("acme-idp", js(json!({"issuer": "https://id.example.com/"})))
            .expect("a URL")
            .as_deref(),
        Some("https://id.example.com/.well-known/openid-configuration")
    );
    assert_eq!(
        code(
            wasm::discovery_url("waad", js(json!({"issuer": "https://id.example.com"})))
                .expect_err("Entra needs a scope")
        ),
        "ERR_CONFIG_INCOMPLETE"
    );
}

#[wasm_bindgen_test]
fn cache_entries_and_rotated_values_cross_the_boundary() {
    let keys = ring_a();
    let entry = wasm::seal_cache_entry(
        "m2m.jwt.token".into(),
        keys.as_str().into(),
        "tokenseal:m2m:x".into(),
    )
    .expect("seals");
    assert_eq!(
        wasm::open_cache_entry(
            entry.as_str().into(),
            keys.as_str().into(),
            "tokenseal:m2m:x".into()
        )
        .expect("opens"),
        "m2m.jwt.token"
    );
    let other = wasm::open_cache_entry(
        entry.as_str().into(),
        keys.as_str().into(),
        "tokenseal:m2m:y".into(),
    );
    assert_eq!(code(other.expect_err("bound")), "ERR_SUBJECT_MISMATCH");
    assert_eq!(
        code(wasm::open_cache_entry(5.into(), keys.as_str().into(), "k".into()).expect_err("type")),
        "ERR_SEALED_MALFORMED"
    );

    let p = plan(json!({"user": google_user(Some(TOKEN), json!({})), "read": "never"}));
    let captured = p["metadataWrites"][0]["value"]["google-oauth2"]
        .as_str()
        .expect("sealed")
        .to_owned();
    let rotated = wasm::seal_rotated(
        "1//rotated".into(),
        captured.as_str().into(),
        keys.as_str().into(),
        USER.into(),
        None,
    )
    .expect("seals");
    let header = rust(&inspect(&rotated).expect("header"));
    let captured_header = rust(&inspect(&captured).expect("header"));
    assert_eq!(
        (header["src"].clone(), captured_header["src"].clone()),
        (json!("rotation"), json!("login"))
    );
    assert_eq!(header["cap"], captured_header["cap"]);
    assert_eq!(header["cap_kid"], "a");
    assert_eq!(open(&rotated, &keys, USER).expect("opens"), "1//rotated");
    let refused = wasm::seal_rotated(
        "1//x".into(),
        "junk".into(),
        keys.as_str().into(),
        USER.into(),
        None,
    );
    // Another provider's value is sealed bound to it, and opens only as its own.
    let entra = wasm::seal(
        TOKEN.into(),
        keys.as_str().into(),
        USER.into(),
        Some("waad".into()),
    )
    .expect("seals");
    assert_eq!(
        rust(&inspect(&entra).expect("header"))["idp"],
        json!("waad")
    );
    assert_eq!(
        wasm::open(
            entra.as_str().into(),
            keys.as_str().into(),
            USER.into(),
            Some("waad".into())
        )
        .expect("opens"),
        TOKEN
    );
    assert_eq!(
        code(open(&entra, &keys, USER).expect_err("not Google's")),
        "ERR_PROVIDER_MISMATCH"
    );
    assert_eq!(
        code(refused.expect_err("previous must open")),
        "ERR_SEALED_MALFORMED"
    );
}

#[wasm_bindgen_test]
fn plan_returning_login_does_nothing() {
    let stored = json!({"sealed_refresh_tokens": {"google-oauth2": sealed_a()}});
    let p = plan(
        json!({"user": google_user(None, stored), "connectionStrategy": "google-oauth2", "loginsCount": 12}),
    );
    assert_eq!(p["outcome"], "unchanged");
    assert_eq!(p["metadataWrites"], json!([]));
    assert_eq!(p["readUser"], false);
}

#[wasm_bindgen_test]
fn plan_asks_for_a_read_then_uses_the_fresh_user() {
    let action_user = google_user(None, json!({}));
    let first =
        plan(json!({"user": action_user, "connectionStrategy": "google-oauth2", "loginsCount": 1}));
    assert_eq!(first["readUser"], true);
    assert_eq!(first["offlineAccess"], "missing");
    let second = plan(
        json!({"user": action_user, "freshUser": google_user(Some(TOKEN), json!({})),
                             "connectionStrategy": "google-oauth2", "loginsCount": 1}),
    );
    assert_eq!(
        (second["readUser"].clone(), second["outcome"].clone()),
        (json!(false), json!("sealed"))
    );
}

#[wasm_bindgen_test]
fn plan_migrates_legacy_plaintext() {
    let p =
        plan(json!({"user": google_user(None, json!({"refresh_token": TOKEN})), "read": "never"}));
    assert_eq!(p["outcome"], "migrated");
    assert_eq!(
        p["metadataWrites"][1],
        json!({"key": "refresh_token", "value": null})
    );
    assert_eq!(p["metadataWrites"].as_array().map(Vec::len), Some(2));
}

#[wasm_bindgen_test]
fn plan_sets_the_namespaced_claim() {
    let p = plan(
        json!({"user": google_user(None, json!({})), "read": "never", "claimNamespace": "https://app.example.com/"}),
    );
    assert_eq!(
        p["claims"],
        json!([{"name": "https://app.example.com/google_offline_access", "value": "missing"}])
    );
    let p = plan(
        json!({"user": google_user(None, json!({})), "read": "never", "claimNamespace": "https://x.auth0.com/"}),
    );
    assert_eq!(
        (p["claims"].clone(), p["notices"].clone()),
        (json!([]), json!(["ERR_NAMESPACE_INVALID"]))
    );
}

#[wasm_bindgen_test]
fn plan_input_errors_are_typed() {
    let bad_input = plan_login(
        js(json!({"user": google_user(None, json!({})), "read": "sometimes"})),
        &ring_a(),
    );
    assert_eq!(code(bad_input.expect_err("bad read")), "ERR_INPUT_INVALID");
    let bad_user = plan_login(js(json!({"user": {"identities": []}})), &ring_a());
    assert_eq!(code(bad_user.expect_err("no user_id")), "ERR_USER_INVALID");
    let bad_keys = plan_login(js(json!({"user": google_user(None, json!({}))})), "[]");
    assert_eq!(code(bad_keys.expect_err("bad keys")), "ERR_KEYSET_JSON");
}

#[wasm_bindgen_test]
fn plan_never_rebinds_a_value_copied_from_another_user() {
    let theirs = seal(TOKEN, &ring_a(), "google-oauth2|victim").expect("seals");
    let p = plan(
        json!({"user": google_user(None, json!({"sealed_refresh_tokens": {"google-oauth2": theirs}})), "read": "never"}),
    );
    assert_eq!(
        (p["metadataWrites"].clone(), p["offlineAccess"].clone()),
        (json!([]), json!("missing"))
    );
    assert_eq!(p["notices"], json!(["ERR_SUBJECT_MISMATCH"]));
}

#[wasm_bindgen_test]
fn generated_key_sets_are_valid_and_distinct() {
    let a: Value = serde_json::from_str(&wasm::generate_key_set().expect("rng")).expect("JSON");
    let b: Value = serde_json::from_str(&wasm::generate_key_set().expect("rng")).expect("JSON");
    assert_eq!(a["keys"][0]["kty"], "oct");
    assert_eq!(a["keys"][0]["alg"], "A256GCM");
    assert_ne!(a["keys"][0]["kid"], b["keys"][0]["kid"]);
    assert_ne!(a["keys"][0]["k"], b["keys"][0]["k"]);
    let sealed = seal(TOKEN, &a.to_string(), USER).expect("usable");
    assert_eq!(
        code(open(&sealed, &b.to_string(), USER).expect_err("other key")),
        "ERR_KEY_UNKNOWN"
    );
}
