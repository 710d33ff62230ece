//! Grammars of the profile's strings that both the JSON Schema (as `pattern`s, ECMA 262) and
//! the tool apply. Written in the subset both dialects read alike: classes, groups,
//! alternation and counted repetition, no look-around, no `\w`.
//!
//! The tool matches [`IMAGE`] with [`is_image`], a hand-written matcher of the same language:
//! compiling the pattern with the `regex` crate cost a fifth of a render. The tests hold the
//! two to the same answer on every string of a small alphabet up to six characters and on a
//! hundred thousand generated near-references.

/// An OCI image reference as the distribution spec defines it (`distribution/reference`):
/// `[domain[:port]/]path[:tag][@digest]`, lowercase path components joined by `.`, `_`, `__`
/// or dashes, a tag of at most 128 word characters, dots and dashes, and a digest registries
/// actually issue (`sha256:` + 64 or `sha512:` + 128 lowercase hex digits).
pub const IMAGE: &str = concat!(
    "^",
    // domain: host components, an optional port, then a slash.
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?",
    // path components.
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*",
    // tag.
    r"(?::[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?",
    // digest.
    r"(?:@(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?",
    "$"
);

/// A Kubernetes resource quantity (`k8s.io/apimachinery/pkg/api/resource`): a non-negative
/// decimal number and a binary, decimal or exponent suffix. Whether its value fits a field
/// (whole bytes, a minimum) is the tool's to judge.
pub const QUANTITY: &str =
    r"^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$";

/// A Secret or ConfigMap key: `[-._a-zA-Z0-9]+`, but not `.` or `..` and not starting with
/// `..` (the kubelet's own names in a volume).
pub const SECRET_KEY: &str = r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$";

/// A Sentinel master name: written bare into sentinel.conf and shell command lines.
pub const MASTER_NAME: &str = r"^[A-Za-z0-9._-]+$";

/// A DNS-1123 label.
pub const DNS_LABEL: &str = r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$";

/// A DNS-1123 subdomain (its length, at most 253, is a `maxLength` beside it).
pub const DNS_SUBDOMAIN: &str =
    r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$";

/// A CronJob schedule: five fields of numbers, names, `*`, `?`, ranges, lists and steps, or
/// an `@` macro. The value ranges per field and the order of range ends are the tool's to
/// judge (see `validate::cron`); this only fixes the shape.
pub const CRON: &str = concat!(
    r"^(?:@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)",
    r"|(?:(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?",
    r"(?:,(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?)*",
    r"(?: (?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?",
    r"(?:,(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?)*){4}))$"
);

/// Whether `image` is an OCI image reference: matches [`IMAGE`].
pub fn is_image(image: &str) -> bool {
    // `@` appears only before the digest, `:` after the last `/` only before the tag (a
    // registry port is always followed by a `/`), and no part contains the next one's
    // delimiter, so each cut is the only possible one.
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    if !digest.is_none_or(is_digest) {
        return false;
    }
    let last = reference.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match reference[last..].find(':') {
        Some(colon) => reference.split_at(last + colon),
        None => (reference, ""),
    };
    if !tag.is_empty() && !is_tag(&tag[1..]) {
        return false;
    }
    // With a registry the first segment is its host (and port); without, it is a path
    // component. Either reading that fits is a match.
    is_path(name)
        || name
            .split_once('/')
            .is_some_and(|(domain, path)| is_domain(domain) && is_path(path))
}

/// `sha256:` and 64, or `sha512:` and 128, lowercase hex digits.
fn is_digest(digest: &str) -> bool {
    let hex = |digits: &str, len: usize| {
        digits.len() == len
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match digest.split_once(':') {
        Some(("sha256", digits)) => hex(digits, 64),
        Some(("sha512", digits)) => hex(digits, 128),
        _ => false,
    }
}

/// A word character, then at most 127 word characters, dots and dashes.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    (1..=128).contains(&bytes.len())
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// Components separated by `/`.
fn is_path(path: &str) -> bool {
    path.split('/').all(is_path_component)
}

/// Runs of `[a-z0-9]` joined by exactly one of `.`, `_`, `__` or a run of dashes.
fn is_path_component(component: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    bytes
        .split(|b| alnum(b))
        .filter(|separator| !separator.is_empty())
        .all(|separator| {
            matches!(separator, b"." | b"_" | b"__") || separator.iter().all(|&b| b == b'-')
        })
}

/// Host components of `[a-zA-Z0-9-]` (no dash first or last) joined by dots, and an optional
/// `:` and port number.
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let port_fits =
        port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    port_fits
        && host.split('.').all(|component| {
            let bytes = component.as_bytes();
            let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
                return false;
            };
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    fn compile(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("a grammar constant compiles: {e}"))
    }

    /// Every string over `alphabet` of at most `max` characters.
    fn all_strings(alphabet: &[&str], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn the_image_matcher_agrees_with_the_image_pattern() {
        let pattern = compile(IMAGE);
        let mut checked = 0;
        let mut matched = 0;
        let mut agree = |candidate: &str| {
            let expected = pattern.is_match(candidate);
            assert_eq!(is_image(candidate), expected, "{candidate:?}");
            checked += 1;
            matched += usize::from(expected);
        };
        // Every short string of the characters that matter to the grammar (one of each
        // class: lowercase, uppercase, digit, each delimiter, and one outside).
        for candidate in all_strings(&["a", "B", "0", ".", "_", "-", "/", ":", "@", " "], 5) {
            agree(&candidate);
        }
        for candidate in all_strings(&["a", "_", "-", ".", "/", ":"], 6) {
            agree(&candidate);
        }
        // Near-references: real parts (registry, port, path, tag, digest) and broken ones,
        // glued at random; a fixed xorshift seed keeps the run repeatable.
        let hex64 = "0f".repeat(32);
        let hex128 = "a9".repeat(64);
        let long_tag = "t".repeat(128);
        let parts: Vec<String> = vec![
            "redis".into(),
            "library".into(),
            "Registry.Example.com".into(),
            "localhost".into(),
            "a-".into(),
            "-b".into(),
            "my--img".into(),
            "a__b".into(),
            "a___b".into(),
            "a._b".into(),
            "x.y".into(),
            "/".into(),
            "//".into(),
            ":".into(),
            ":5000".into(),
            ":7.2.5-alpine".into(),
            ":_x".into(),
            ":.x".into(),
            format!(":{long_tag}"),
            format!(":{long_tag}x"),
            "@".into(),
            format!("@sha256:{hex64}"),
            format!("@sha512:{hex128}"),
            format!("@sha256:{}", &hex128[..66]),
            format!("@sha256:{}", hex64.to_uppercase()),
            "@sha1:00".into(),
            "7".into(),
            "É".into(),
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100_000 {
            let count = 1 + usize::try_from(next() % 6).unwrap_or(0);
            let candidate: String = (0..count)
                .map(|_| parts[usize::try_from(next()).unwrap_or(0) % parts.len()].as_str())
                .collect();
            agree(&candidate);
        }
        // Both answers must be common, or the agreement says little.
        assert!(
            checked > 200_000 && matched > 5_000 && checked - matched > 100_000,
            "{checked} checked, {matched} matched"
        );
    }

    #[test]
    fn every_grammar_compiles() {
        for pattern in [
            IMAGE,
            QUANTITY,
            SECRET_KEY,
            MASTER_NAME,
            DNS_LABEL,
            DNS_SUBDOMAIN,
            CRON,
        ] {
            compile(pattern);
        }
    }

    #[test]
    fn image_references() {
        let digest = format!("sha256:{}", "0f".repeat(32));
        for good in [
            "redis".to_string(),
            "redis:7.2.5-alpine".into(),
            "library/redis:7.2.5".into(),
            "registry.local:5000/team/redis:7.0.8".into(),
            "localhost/redis_server:7.2.5".into(),
            format!("redis@{digest}"),
            format!("redis:7.2.5@{digest}"),
            "Registry.Example.com/redis:7.2.5".into(),
        ] {
            assert!(is_image(&good), "{good} rejected");
        }
        for bad in [
            "",
            "Redis:7.2.5",
            "redis:7.2.5@sha256:xyz",
            "redis:7.2.5:7.2.5",
            "redis:",
            "@",
            "redis@",
            "redis:7.2.5@sha256:0f",
            "-redis:7",
            "redis/:7",
            "redis:7 ",
            "redis:.7",
        ] {
            assert!(!is_image(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn secret_keys_and_quantities() {
        let key = compile(SECRET_KEY);
        for good in ["password", ".hidden", "a..b", "tls.crt", "-x", "_"] {
            assert!(key.is_match(good), "{good}");
        }
        for bad in [".", "..", "..x", "", "a/b", "a b"] {
            assert!(!key.is_match(bad), "{bad:?}");
        }
        let quantity = compile(QUANTITY);
        for good in ["5Gi", "5G", "100m", "1e3", ".5", "5.", "1E-2"] {
            assert!(quantity.is_match(good), "{good}");
        }
        for bad in ["5GB", "5gi", "", "-1", "1.2.3", "e3", "5 Gi"] {
            assert!(!quantity.is_match(bad), "{bad:?}");
        }
    }
}
