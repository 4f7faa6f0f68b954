//! Percent-encoding of the values tokenseal puts in requests: form bodies (Google's
//! token endpoint) and URLs (the Management API's query strings and user-id path
//! segments). One byte set for all of them, so that no two encoders can disagree.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` as an `application/x-www-form-urlencoded` value (WHATWG URL §5.2,
/// the urlencoded serializer): ASCII letters and digits and `*-._` as they are, space as
/// `+`, every other byte as `%XX`. Also right for a URL query value.
pub fn form_value(value: &str, out: &mut String) {
    encode(value, "+", out);
}

/// An `application/x-www-form-urlencoded` body of `pairs`, in order, zeroized on drop:
/// the bodies tokenseal sends hold refresh tokens and client secrets.
#[must_use]
pub fn form_body(pairs: &[(&str, &str)]) -> zeroize::Zeroizing<String> {
    let mut body = zeroize::Zeroizing::new(String::new());
    for (name, value) in pairs {
        if !body.is_empty() {
            body.push('&');
        }
        form_value(name, &mut body);
        body.push('=');
        form_value(value, &mut body);
    }
    body
}

/// `value` as one URL path segment (RFC 3986 §3.3): the same bytes as [`form_value`]
/// stay as they are, and a space is `%20`, since `+` is literal in a path.
#[must_use]
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    encode(value, "%20", &mut out);
    out
}

fn encode(value: &str, space: &str, out: &mut String) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push_str(space),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_follow_the_whatwg_serializer() {
        let mut out = String::new();
        form_value("a b+c/d*e~é|_:", &mut out);
        assert_eq!(out, "a+b%2Bc%2Fd*e%7E%C3%A9%7C_%3A");
    }

    #[test]
    fn path_segments_encode_spaces_and_separators() {
        assert_eq!(path_segment("auth0|a b/c"), "auth0%7Ca%20b%2Fc");
        assert_eq!(path_segment("google-oauth2|1234"), "google-oauth2%7C1234");
    }
}
