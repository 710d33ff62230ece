//! Images: an OCI reference the kubelet can pull, and a Redis new enough for hostnames.

use super::Check;
use super::charset::is_lower_hex;
use crate::diagnostic::Finding;
use crate::profile::defaults;
use crate::profile::grammar;

/// Oldest Redis with `replica-announce-ip` hostnames, `resolve-hostnames` /
/// `announce-hostnames` and re-resolution of a restarted pod's new IP (7.0.8 fixed Sentinel
/// keeping a stale IP for a hostname).
const MIN_REDIS: (u64, u64, u64) = (7, 0, 8);
/// distribution/reference's limit on a repository name.
const MAX_IMAGE_NAME: usize = 255;

impl Check<'_> {
    pub(super) fn image(&mut self) {
        const PATH: &str = "spec.image";
        let image = self
            .profile
            .spec
            .image
            .as_deref()
            .unwrap_or(defaults::DEFAULT_IMAGE);
        if let Some(finding) = self.image_reference(PATH, image, "redis:7.2.5-alpine") {
            return self.push(finding);
        }
        let (reference, digest) = match image.split_once('@') {
            Some((reference, digest)) => (reference, Some(digest)),
            None => (image, None),
        };
        let last_part = reference.rsplit('/').next().unwrap_or(reference);
        let tag = last_part.split_once(':').map(|(_, tag)| tag);
        let minimum = format!(
            "Redis {}.{}.{} or later",
            MIN_REDIS.0, MIN_REDIS.1, MIN_REDIS.2
        );
        match tag.and_then(redis_version) {
            Some(version) if version < MIN_REDIS => {
                self.error(PATH, "the image is older than Redis 7.0.8", |f| {
                    f.found(image).valid(format!(
                        "{minimum}, e.g. `redis:7.2.5-alpine`: older Sentinels cannot announce \
                         hostnames and keep a restarted pod's old IP"
                    ))
                });
            }
            Some((_, minor, patch)) if minor == u64::MAX || patch == u64::MAX => {
                self.warning(
                    PATH,
                    "the image tag names a Redis line, not a release",
                    |f| {
                        f.found(image).help(format!(
                            "pin the patch release, e.g. `redis:7.2.5-alpine`: a node may hold an \
                             old image of this line, and it must be {minimum}"
                        ))
                    },
                );
            }
            Some(_) => {}
            None if digest.is_some() => {
                self.warning(
                    PATH,
                    "the Redis version of an image pinned by digest cannot be checked",
                    |f| {
                        f.found(image)
                            .help(format!("make sure the digest is {minimum}"))
                    },
                );
            }
            None => {
                self.warning(PATH, "the image tag names no Redis version", |f| {
                    f.found(image).help(format!(
                        "pin a version tag such as `redis:7.2.5-alpine`: a moving tag changes \
                         what runs without a change here, and must be {minimum}"
                    ))
                });
            }
        }
    }

    /// An image reference the kubelet can pull: the OCI reference grammar, and a repository
    /// name of at most 255 characters.
    pub(super) fn image_reference(
        &self,
        path: &str,
        image: &str,
        example: &str,
    ) -> Option<Finding> {
        let name = image.split('@').next().unwrap_or(image);
        let name = match name.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => name,
            _ => name,
        };
        let problem = if !grammar::is_image(image) {
            image_problem(image)
        } else if name.len() > MAX_IMAGE_NAME {
            format!(
                "a repository name of {} characters, more than {MAX_IMAGE_NAME}",
                name.len()
            )
        } else {
            return None;
        };
        Some(
            self.map
                .error(path, format!("invalid image reference: {problem}"))
                .found(image)
                .valid(format!(
                    "an OCI image reference `[registry[:port]/]name[:tag][@sha256:<64 hex digits>]` \
                     with a lowercase name, e.g. `{example}`"
                )),
        )
    }
}

/// The likeliest reason an image is not an OCI reference, in the user's terms.
fn image_problem(image: &str) -> String {
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let tags = last.split(':').count() - 1;
    if image.is_empty() {
        "empty".into()
    } else if reference.is_empty() {
        "no repository name".into()
    } else if let Some(digest) = digest.filter(|d| {
        !(d.strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(is_lower_hex))
            || d.strip_prefix("sha512:")
                .is_some_and(|h| h.len() == 128 && h.bytes().all(is_lower_hex)))
    }) {
        format!(
            "the digest `{digest}` is not `sha256:` and 64 (or `sha512:` and 128) lowercase hex digits"
        )
    } else if tags > 1 {
        "more than one `:tag`".into()
    } else if last.ends_with(':') {
        "a `:` without a tag".into()
    } else if reference
        .split(':')
        .next()
        .is_some_and(|n| n.chars().any(|c| c.is_ascii_uppercase()))
        && !reference.contains('/')
    {
        "uppercase letters in the repository name".into()
    } else {
        "not `[registry[:port]/]name[:tag][@digest]`".into()
    }
}

/// `7.2.5-alpine` → (7, 2, 5). A tag naming only `7.2` or `7` floats to the newest patch
/// release of that line, so missing parts count as the highest.
pub(super) fn redis_version(tag: &str) -> Option<(u64, u64, u64)> {
    let version = tag.split('-').next()?;
    let mut parts = version.split('.');
    let mut next = |required: bool| match parts.next() {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u64>().ok(),
        None if !required => Some(u64::MAX),
        _ => None,
    };
    let version = (next(true)?, next(false)?, next(false)?);
    parts.next().is_none().then_some(version)
}
