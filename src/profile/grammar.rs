//! Grammars of the profile's strings that both the JSON Schema (as `pattern`s, ECMA 262) and
//! the tool (with the `regex` crate) apply. Written in the subset both dialects read alike:
//! classes, groups, alternation and counted repetition, no look-around, no `\w`.

use std::sync::LazyLock;

use regex::Regex;

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

static IMAGE_RE: LazyLock<Regex> = LazyLock::new(|| compile(IMAGE));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("a grammar constant compiles: {e}"))
}

/// Whether `image` is an OCI image reference.
pub fn is_image(image: &str) -> bool {
    IMAGE_RE.is_match(image)
}

#[cfg(test)]
mod tests {
    use super::*;

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
