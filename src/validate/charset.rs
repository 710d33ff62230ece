//! The character classes that names, keys and paths are held to: each string that reaches a
//! config file or a shell script must be carried as is by the syntax it lands in.

/// `[A-Za-z0-9._-]`: Kubernetes label names and values, Secret keys, and the Sentinel master
/// name (written bare into `sentinel monitor` and shell command lines).
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `[A-Za-z0-9._/-]`: a relative path that is one shell word and one kustomize resource.
pub(super) fn is_path_char(c: char) -> bool {
    is_name_char(c) || c == '/'
}

/// `[a-z0-9-]`: a DNS-1123 label.
pub(super) fn is_dns_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// `[0-9a-f]`: a digit of an image digest.
pub(super) fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}
